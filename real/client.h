// A blocking client of the scheduler daemon: one request, one reply. Used by the CLI's
// submit/status/cancel/wait commands, by `run --mode real` and by tests.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <asio/ssl/context.hpp>

#include "core/expected.h"
#include "real/wire.h"

namespace fulcrum::real {

// How a client proves who it is: a shared secret (real/auth.h), TLS (a context from
// make_tls_context(files, TlsSide::kClient), real/tls.h), both, or neither.
struct ClientCredentials {
  std::string secret;
  std::shared_ptr<asio::ssl::context> tls;
};

class Client {
 public:
  // Connects to HOST:PORT (an IP address), trying for up to `connect_timeout` seconds.
  // With a `secret` (read_secret_file), authenticates as a client and verifies the
  // scheduler (real/auth.h) before returning; an Error says why that failed.
  static Expected<std::unique_ptr<Client>> connect(const std::string& endpoint, double connect_timeout = 5,
                                                   const std::string& secret = "");
  // The same with TLS when `credentials.tls` is set: the TLS handshake (the scheduler's
  // certificate verified, ours presented) comes before anything else.
  static Expected<std::unique_ptr<Client>> connect(const std::string& endpoint, double connect_timeout,
                                                   const ClientCredentials& credentials);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends `request` and waits for the reply (at most `timeout` seconds; < 0: forever).
  // An ErrorReply from the scheduler is returned as an Error with its message.
  Expected<Message> call(const Message& request, double timeout = 30);
  // Whether the last call's Error was the scheduler's answer (an ErrorReply, or a demand
  // to authenticate) rather than a failure to reach it or to hear back.
  bool refused() const { return refused_; }

 private:
  explicit Client(int fd) : fd_(fd) {}
  Expected<bool> start_tls(const std::shared_ptr<asio::ssl::context>& context);
  // Waits until fd_ is ready for `events` or the deadline passes (false).
  bool wait_for(short events, std::chrono::steady_clock::time_point deadline, bool forever);
  // One read: bytes, 0 at an orderly close, or an Error; "would block" is a read of
  // nothing (`again`).
  Expected<std::size_t> read_some(char* buffer, std::size_t size, bool& again);
  Expected<bool> send_message(const Message& m);
  // The next message (an ErrorReply is a message here), waiting at most `timeout` seconds
  // (< 0: forever).
  Expected<Message> receive(double timeout);
  Expected<bool> authenticate(const std::string& secret);
  int fd_;
  // TLS: the context (kept alive while ssl_ uses it) and the session over fd_.
  std::shared_ptr<asio::ssl::context> tls_context_;
  SSL* ssl_ = nullptr;
  // Replies come from the scheduler, which the client trusts; a RecordsReply of a big run
  // is larger than the limit on what the scheduler accepts.
  FrameReader reader_{1u << 30};
  bool refused_ = false;
};

}  // namespace fulcrum::real
