// One framed TCP connection on an Asio io_context: reads frames into messages, queues
// outgoing frames, and reports a clean close or a protocol error once.
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
  // Starts reading. REQUIRES: called once.
  void start(OnMessage on_message, OnClose on_close);
  void send(const Message& m);
  // Closes now; `on_close` is called with `reason` unless it already was.
  void close(const std::string& reason);
  bool open() const { return open_; }
  const std::string& peer() const { return peer_; }
  // The role the peer authenticated as (server side, once authenticated); nullopt without
  // authentication.
  std::optional<AuthRole> peer_role() const { return authenticated_ ? peer_role_ : std::nullopt; }

 private:
  void read_more();
  void write_more();
  void queue_frame(const Message& m);
  void kick_writer();
  // Handles a message received before authentication; false if the connection closed.
  bool authenticate(const Message& m);

  asio::ip::tcp::socket socket_;
  FrameReader reader_;
  std::string peer_;
  OnMessage on_message_;
  OnClose on_close_;
  std::string outbox_;    // frames waiting for the write in flight to finish
  std::string inflight_;  // the frames being written
  bool writing_ = false;
  bool open_ = true;
  std::uint32_t max_frame_;
  // Authentication: the handshake while it runs, what send() got meanwhile, the deadline.
  std::optional<Handshake> handshake_;
  bool auth_server_ = false;
  bool authenticated_ = false;
  std::optional<AuthRole> peer_role_;
  std::string held_;
  double auth_timeout_ = kAuthTimeout;
  std::unique_ptr<asio::steady_timer> auth_timer_;
  char read_buffer_[64 * 1024];
};

// "HOST:PORT" into its parts; an Error names what is wrong.
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
};
Expected<Endpoint> parse_endpoint(const std::string& text);

}  // namespace fulcrum::real
