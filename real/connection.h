// One framed TCP connection on an Asio io_context: reads frames into messages, queues
// outgoing frames, and reports a clean close or a protocol error once.
//
// The bytes may go through TLS (use_tls, real/tls.h): the handshake runs first, and
// nothing is delivered or sent (send() holds frames) before it is done; the daemons see
// the same messages either way, plus the peer's proven identity.
//
// A Connection is owned through shared_ptr by the daemon that accepted or opened it; the
// callbacks run on the io_context's thread. After `on_close` the connection sends and
// delivers nothing more.
#pragma once

#include <asio.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "real/auth.h"
#include "real/tls.h"
#include "real/wire.h"

namespace fulcrum::real {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using OnMessage = std::function<void(Message&&)>;
  // `reason` is empty for an orderly close by the peer.
  using OnClose = std::function<void(const std::string& reason)>;

  Connection(asio::ip::tcp::socket socket, std::uint32_t max_frame = kDefaultMaxFrame);
  // Authenticates the connection first (real/auth.h): `server` challenges, else answers as
  // `role`. Until the handshake is done nothing reaches on_message, what send() is given
  // waits, and only small frames are accepted; a failure or `timeout` seconds without
  // success closes the connection with the reason. REQUIRES: before start().
  void require_auth(std::string secret, bool server, AuthRole role = AuthRole::kClient, double timeout = kAuthTimeout);
  // Runs TLS over the socket with `context` (make_tls_context), as the server or the
  // client; before the shared-secret handshake, if any. A handshake that fails (a
  // certificate not signed by the CA, revoked, not a scheduler's) or takes longer than
  // `timeout` seconds closes the connection with the reason. REQUIRES: before start().
  void use_tls(std::shared_ptr<asio::ssl::context> context, bool server, double timeout = kAuthTimeout);
  bool tls() const { return tls_ != nullptr; }
  ~Connection();
  // Starts reading. REQUIRES: called once.
  void start(OnMessage on_message, OnClose on_close);
  void send(const Message& m);
  // Closes now; `on_close` is called with `reason` unless it already was.
  void close(const std::string& reason);
  // Closes once what was sent so far has left (a refusal the peer should read); delivers
  // nothing more meanwhile.
  void close_when_sent(const std::string& reason);
  bool open() const { return open_; }
  const std::string& peer() const { return peer_; }
  // The role the peer authenticated as (server side, once authenticated); nullopt without
  // authentication.
  std::optional<AuthRole> peer_role() const { return authenticated_ ? peer_role_ : std::nullopt; }
  // With TLS, once its handshake is done: who the peer's certificate says it is (nullopt
  // if it sent none; a server still talks to it, to refuse it in words).
  const std::optional<PeerIdentity>& identity() const { return identity_; }

 private:
  void read_more();
  void write_more();
  void queue_frame(const Message& m);
  void kick_writer();
  // Handles a message received before authentication; false if the connection closed.
  bool authenticate(const Message& m);
  // After the TLS handshake (if any): the shared-secret handshake (if any), then reading.
  void begin(bool read);
  // TLS over memory buffers: the socket's bytes go into OpenSSL, and what it produces
  // comes out to the socket, so that one socket read of 64 KiB yields every frame it
  // carries in one turn of the event loop (as without TLS; asio::ssl::stream yields one
  // TLS record per read, which split the scheduler's group commits frame by frame).
  // Returns false if the connection closed or is closing.
  bool tls_input(const char* data, std::size_t n);
  void tls_failed(const std::string& reason);
  void on_read(asio::error_code ec, std::size_t n);
  void arm_deadline();
  // Whether frames may be written now: TLS and shared-secret handshakes done.
  bool ready() const { return (!tls_ || tls_done_) && (!handshake_ || authenticated_); }

  asio::ip::tcp::socket socket_;
  FrameReader reader_;
  std::string peer_;
  OnMessage on_message_;
  OnClose on_close_;
  std::string outbox_;    // frames waiting for the write in flight to finish
  std::string inflight_;  // the frames being written
  bool writing_ = false;
  bool open_ = true;
  std::optional<std::string> closing_;  // close_when_sent's reason
  std::uint32_t max_frame_;
  // Authentication: the handshake while it runs, what send() got meanwhile, the deadline.
  std::optional<Handshake> handshake_;
  bool auth_server_ = false;
  bool authenticated_ = false;
  std::optional<AuthRole> peer_role_;
  std::string held_;
  double auth_timeout_ = kAuthTimeout;
  std::unique_ptr<asio::steady_timer> auth_timer_;
  // TLS over socket_ (which stays the owner of the descriptor).
  std::shared_ptr<asio::ssl::context> tls_context_;
  SSL* tls_ = nullptr;      // owns its two memory BIOs
  BIO* tls_in_ = nullptr;   // ciphertext from the socket
  BIO* tls_out_ = nullptr;  // ciphertext for the socket
  std::string plain_;       // decrypted bytes of one read
  bool tls_server_ = false;
  bool tls_done_ = false;
  std::optional<PeerIdentity> identity_;
  char read_buffer_[64 * 1024];
};

// "HOST:PORT" into its parts; an Error names what is wrong.
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
};
Expected<Endpoint> parse_endpoint(const std::string& text);

}  // namespace fulcrum::real
