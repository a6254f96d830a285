#include "real/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "real/auth.h"
#include "real/connection.h"

namespace fulcrum::real {

Expected<std::unique_ptr<Client>> Client::connect(const std::string& text, double connect_timeout,
                                                  const std::string& secret) {
  auto endpoint = parse_endpoint(text);
  if (!endpoint) return Error{endpoint.error()};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(endpoint->port);
  if (::inet_pton(AF_INET, endpoint->host.c_str(), &addr.sin_addr) != 1) {
    return Error{"'" + endpoint->host + "' is not an IPv4 address"};
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(connect_timeout);
  std::string last_error;
  for (;;) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Error{std::string("socket: ") + std::strerror(errno)};
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::unique_ptr<Client> client(new Client(fd));
      if (!secret.empty()) {
        if (auto ok = client->authenticate(secret); !ok) return Error{"scheduler at " + text + ": " + ok.error()};
      }
      return client;
    }
    last_error = std::strerror(errno);
    ::close(fd);
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Error{"cannot connect to the scheduler at " + text + ": " + last_error};
}

Client::~Client() { ::close(fd_); }

Expected<bool> Client::authenticate(const std::string& secret) {
  Handshake handshake = Handshake::peer(secret, AuthRole::kClient);
  if (auto started = handshake.start(); !started) return Error{started.error()};
  // The scheduler's answers are small until then.
  reader_.set_max_frame(kMaxAuthFrame);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(kAuthTimeout);
  while (!handshake.done()) {
    const double left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
    auto m = left > 0 ? receive(left) : Expected<Message>(Error{"no reply"});
    if (!m) {
      if (m.error().rfind("no reply", 0) != 0) return Error{m.error()};
      return Error{"authentication failed: no handshake within 5 s (is the scheduler running without --secret-file?)"};
    }
    auto reply = handshake.on_message(*m);
    if (!reply) return Error{reply.error()};
    if (*reply) {
      if (auto sent = send_message(**reply); !sent) return sent;
    }
  }
  reader_.set_max_frame(1u << 30);
  return true;
}

Expected<bool> Client::send_message(const Message& m) {
  std::string frame;
  encode_frame(m, frame);
  for (std::size_t done = 0; done < frame.size();) {
    const ssize_t n = ::send(fd_, frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error{std::string("send to the scheduler failed: ") + std::strerror(errno)};
    done += static_cast<std::size_t>(n);
  }
  return true;
}

Expected<Message> Client::call(const Message& request, double timeout) {
  refused_ = false;
  if (auto sent = send_message(request); !sent) return Error{sent.error()};
  auto reply = receive(timeout);
  if (!reply) return reply;
  refused_ = std::holds_alternative<ErrorReply>(*reply) || std::holds_alternative<Challenge>(*reply);
  if (auto* error = std::get_if<ErrorReply>(&*reply)) return Error{error->message};
  if (std::holds_alternative<Challenge>(*reply)) {
    return Error{"the scheduler requires authentication: pass --secret-file with its secret"};
  }
  return reply;
}

Expected<Message> Client::receive(double timeout) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
  char buffer[64 * 1024];
  for (;;) {
    auto next = reader_.next();
    if (!next) return Error{"bad reply from the scheduler: " + next.error()};
    if (next->has_message) return std::move(next->message);
    int wait_ms = -1;
    if (timeout >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Error{"no reply from the scheduler within " + std::to_string(timeout) + " s"};
      wait_ms = static_cast<int>(std::min<long long>(left.count(), 1 << 30));
    }
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;  // the deadline check above reports it
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return Error{"the scheduler closed the connection"};
    if (n < 0) return Error{std::string("receive from the scheduler failed: ") + std::strerror(errno)};
    reader_.feed(buffer, static_cast<std::size_t>(n));
  }
}

}  // namespace fulcrum::real
