#include "real/client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "real/auth.h"
#include "real/connection.h"
#include "real/tls.h"

namespace fulcrum::real {

Expected<std::unique_ptr<Client>> Client::connect(const std::string& text, double connect_timeout,
                                                  const std::string& secret) {
  return connect(text, connect_timeout, ClientCredentials{secret, nullptr});
}

Expected<std::unique_ptr<Client>> Client::connect(const std::string& text, double connect_timeout,
                                                  const ClientCredentials& credentials) {
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
      // Non-blocking from here: every wait is a poll with a deadline (TLS included).
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
      std::unique_ptr<Client> client(new Client(fd));
      if (credentials.tls) {
        if (auto ok = client->start_tls(credentials.tls); !ok) return Error{"scheduler at " + text + ": " + ok.error()};
      }
      if (!credentials.secret.empty()) {
        if (auto ok = client->authenticate(credentials.secret); !ok) {
          return Error{"scheduler at " + text + ": " + ok.error()};
        }
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

bool Client::wait_for(short events, std::chrono::steady_clock::time_point deadline, bool forever) {
  for (;;) {
    int wait_ms = -1;
    if (!forever) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      wait_ms = static_cast<int>(std::min<long long>(left.count(), 1 << 30));
    }
    pollfd p{fd_, events, 0};
    const int ready = ::poll(&p, 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready > 0) return true;
  }
}

// The reason OpenSSL gives for the last failure, and what it means for a user.
// OpenSSL writes with write(2), which raises SIGPIPE on a connection the scheduler closed
// (and kills a CLI that did not ignore it); a send() has MSG_NOSIGNAL, SSL_write has not.
// The signal is blocked in this thread around each TLS call and a pending one consumed,
// without touching the process's disposition.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigpending(&pending_before_);
    pthread_sigmask(SIG_BLOCK, &pipe, &old_);
  }
  ~SigpipeGuard() {
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) && !sigismember(&pending_before_, SIGPIPE)) {
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      timespec zero{0, 0};
      sigtimedwait(&pipe, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t old_, pending_before_;
};

static std::string tls_failure(SSL* ssl, int ret) {
  const int err = SSL_get_error(ssl, ret);
  if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN) {
    std::string why = openssl_error("");
    return why.empty() ? "the scheduler closed the connection" : why;
  }
  std::string why = openssl_error();
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) why += std::string(": ") + X509_verify_cert_error_string(verify);
  // Alerts the scheduler sends about our certificate.
  if (why.find("alert certificate revoked") != std::string::npos) {
    why += " (this identity's certificate is revoked)";
  } else if (why.find("alert") != std::string::npos) {
    why += " (the scheduler refused this certificate)";
  }
  return why;
}

Expected<bool> Client::start_tls(const std::shared_ptr<asio::ssl::context>& context) {
  tls_context_ = context;
  ERR_clear_error();
  ssl_ = SSL_new(context->native_handle());
  if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1) return Error{"TLS: " + openssl_error()};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(static_cast<int>(kAuthTimeout));
  for (;;) {
    SigpipeGuard guard;
    const int ret = SSL_connect(ssl_);
    if (ret == 1) break;
    const int err = SSL_get_error(ssl_, ret);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      if (!wait_for(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, false)) {
        return Error{"authentication failed: no TLS handshake within 5 s (is the scheduler running without --cert?)"};
      }
      continue;
    }
    std::string why = tls_failure(ssl_, ret);
    if (why.find("wrong version number") != std::string::npos) {
      why += " (is the scheduler running without --cert? it does not speak TLS)";
    } else if (why == "the scheduler closed the connection") {
      why += " (a standby replica, or a scheduler without --cert)";
    }
    return Error{"authentication failed: TLS handshake: " + why};
  }
  return true;
}

Client::~Client() {
  if (ssl_) SSL_free(ssl_);  // no close_notify: the scheduler treats either end alike
  ::close(fd_);
}

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
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (std::size_t done = 0; done < frame.size();) {
    if (ssl_) {
      SigpipeGuard guard;
      // SSL_write is retried with the same arguments until it takes the whole frame
      // (partial writes are off by default).
      const int n = SSL_write(ssl_, frame.data() + done, static_cast<int>(std::min<std::size_t>(frame.size() - done, 1 << 30)));
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      const int err = SSL_get_error(ssl_, n);
      if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) &&
          wait_for(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, false)) {
        continue;
      }
      return Error{"send to the scheduler failed: " + tls_failure(ssl_, n)};
    }
    const ssize_t n = ::send(fd_, frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_for(POLLOUT, deadline, false)) continue;
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

Expected<std::size_t> Client::read_some(char* buffer, std::size_t size, bool& again) {
  again = false;
  if (ssl_) {
    SigpipeGuard guard;  // a read may write (a key update's answer)
    const int n = SSL_read(ssl_, buffer, static_cast<int>(size));
    if (n > 0) return static_cast<std::size_t>(n);
    const int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      again = true;
      return std::size_t{0};
    }
    if (err == SSL_ERROR_ZERO_RETURN) return std::size_t{0};
    if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return std::size_t{0};  // closed without close_notify
    return Error{"receive from the scheduler failed: " + tls_failure(ssl_, n)};
  }
  const ssize_t n = ::recv(fd_, buffer, size, 0);
  if (n >= 0) return static_cast<std::size_t>(n);
  if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
    again = true;
    return std::size_t{0};
  }
  return Error{std::string("receive from the scheduler failed: ") + std::strerror(errno)};
}

Expected<Message> Client::receive(double timeout) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                              std::chrono::duration<double>(std::min(timeout, 1e9)));
  char buffer[64 * 1024];
  for (;;) {
    auto next = reader_.next();
    if (!next) {
      return Error{"bad reply from the scheduler: " + next.error() +
                   (ssl_ ? "" : " (does the scheduler require TLS? pass --cert)")};
    }
    if (next->has_message) return std::move(next->message);
    bool again = false;
    auto n = read_some(buffer, sizeof buffer, again);
    if (!n) return Error{n.error()};
    if (again) {
      if (!wait_for(POLLIN, deadline, timeout < 0)) {
        return Error{"no reply from the scheduler within " + std::to_string(timeout) + " s"};
      }
      continue;
    }
    if (*n == 0) {
      return Error{std::string("the scheduler closed the connection") +
                   (ssl_ ? "" : " (if it requires TLS, pass --cert; see docs/real/security.md)")};
    }
    reader_.feed(buffer, *n);
  }
}

}  // namespace fulcrum::real
