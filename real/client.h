// A blocking client of the scheduler daemon: one request, one reply. Used by the CLI's
// submit/status/cancel/wait commands, by `run --mode real` and by tests.
#pragma once

#include <memory>
#include <string>

#include "core/expected.h"
#include "real/wire.h"

namespace fulcrum::real {

class Client {
 public:
  // Connects to HOST:PORT (an IP address), trying for up to `connect_timeout` seconds.
  // With a `secret` (read_secret_file), authenticates as a client and verifies the
  // scheduler (real/auth.h) before returning; an Error says why that failed.
  static Expected<std::unique_ptr<Client>> connect(const std::string& endpoint, double connect_timeout = 5,
                                                   const std::string& secret = "");
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
  Expected<bool> send_message(const Message& m);
  // The next message (an ErrorReply is a message here), waiting at most `timeout` seconds
  // (< 0: forever).
  Expected<Message> receive(double timeout);
  Expected<bool> authenticate(const std::string& secret);
  int fd_;
  // Replies come from the scheduler, which the client trusts; a RecordsReply of a big run
  // is larger than the limit on what the scheduler accepts.
  FrameReader reader_{1u << 30};
  bool refused_ = false;
};

}  // namespace fulcrum::real
