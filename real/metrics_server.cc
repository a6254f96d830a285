#include "real/metrics_server.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "real/connection.h"

namespace fulcrum::real {

namespace {
constexpr std::size_t kMaxRequestHead = 8192;
constexpr std::size_t kMaxSessions = 32;
constexpr auto kRequestTimeout = std::chrono::seconds(5);
}  // namespace

// What the server and its sessions share: sessions outlive neither the render callback's
// owner nor the server, because they reach both only through a weak_ptr to this.
struct MetricsShared {
  MetricsServer::Render render;
  std::set<std::shared_ptr<MetricsServer::Session>> sessions;
};

struct MetricsServer::Session : std::enable_shared_from_this<Session> {
  Session(asio::ip::tcp::socket s, std::weak_ptr<MetricsShared> shared)
      : socket(std::move(s)), timer(socket.get_executor()), buffer(kMaxRequestHead), shared(std::move(shared)) {}

  void start() {
    timer.expires_after(kRequestTimeout);
    timer.async_wait([self = shared_from_this()](asio::error_code ec) {
      if (!ec) self->finish();
    });
    asio::async_read_until(socket, buffer, "\r\n\r\n", [self = shared_from_this()](asio::error_code ec, std::size_t) {
      if (ec == asio::error::not_found) {
        self->respond(431, "Request Header Fields Too Large", "request head over 8 KiB\n");
      } else if (ec) {
        self->finish();
      } else {
        self->handle();
      }
    });
  }

  void handle() {
    std::string head(asio::buffers_begin(buffer.data()), asio::buffers_end(buffer.data()));
    const std::string request_line = head.substr(0, head.find("\r\n"));
    const std::size_t a = request_line.find(' ');
    const std::size_t b = a == std::string::npos ? a : request_line.find(' ', a + 1);
    if (b == std::string::npos || request_line.find(' ', b + 1) != std::string::npos ||
        !request_line.substr(b + 1).starts_with("HTTP/1.")) {
      respond(400, "Bad Request", "bad request line\n");
      return;
    }
    const std::string method = request_line.substr(0, a);
    std::string target = request_line.substr(a + 1, b - a - 1);
    target = target.substr(0, target.find('?'));
    if (target != "/metrics") {
      respond(404, "Not Found", "only /metrics is served here\n");
    } else if (method != "GET") {
      respond(405, "Method Not Allowed", "only GET\n");
    } else {
      auto s = shared.lock();
      if (!s) {
        finish();
        return;
      }
      respond(200, "OK", s->render());
    }
  }

  void respond(int status, const char* reason, std::string body) {
    const char* type = status == 200 ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8";
    out = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: " + type +
          "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + (status == 405 ? "Allow: GET\r\n" : "") +
          "Connection: close\r\n\r\n" + body;
    asio::async_write(socket, asio::buffer(out), [self = shared_from_this()](asio::error_code ec, std::size_t) {
      if (ec) {
        self->finish();
        return;
      }
      // A lingering close: closing with unread input (a body, an oversized head) would
      // reset the connection and could destroy the response before the client read it.
      asio::error_code ignored;
      self->socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
      self->drain();
    });
  }

  void drain() {
    socket.async_read_some(asio::buffer(discard), [self = shared_from_this()](asio::error_code ec, std::size_t) {
      if (ec) {
        self->finish();
      } else {
        self->drain();
      }
    });
  }

  void finish() {
    asio::error_code ec;
    timer.cancel();
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket.close(ec);
    if (auto s = shared.lock()) s->sessions.erase(shared_from_this());
  }

  asio::ip::tcp::socket socket;
  asio::steady_timer timer;
  asio::streambuf buffer;
  std::string out;
  char discard[4096];
  std::weak_ptr<MetricsShared> shared;
};

MetricsServer::MetricsServer(asio::io_context& io, Render render)
    : io_(io), shared_(std::make_shared<MetricsShared>()), acceptor_(io) {
  shared_->render = std::move(render);
}

MetricsServer::~MetricsServer() { stop(); }

Expected<bool> MetricsServer::start(const std::string& host, std::uint16_t port) {
  asio::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return Error{"'" + host + "' is not an IP address"};
  const asio::ip::tcp::endpoint ep(address, port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{host + ":" + std::to_string(port) + ": " + ec.message()};
  port_ = acceptor_.local_endpoint().port();
  accept();
  return true;
}

void MetricsServer::accept() {
  std::weak_ptr<MetricsShared> weak = shared_;
  acceptor_.async_accept([this, weak](asio::error_code ec, asio::ip::tcp::socket socket) {
    auto s = weak.lock();
    if (!s || stopped_ || ec == asio::error::operation_aborted) return;
    if (!ec) {
      if (s->sessions.size() >= kMaxSessions) {
        socket.close(ec);
      } else {
        auto session = std::make_shared<Session>(std::move(socket), weak);
        s->sessions.insert(session);
        session->start();
      }
    }
    accept();
  });
}

void MetricsServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  asio::error_code ec;
  acceptor_.close(ec);
  // Closing a session erases it from the set.
  for (auto& session : std::set<std::shared_ptr<Session>>(shared_->sessions)) session->finish();
  shared_->sessions.clear();
}

Expected<bool> start_metrics(MetricsServer& server, const MetricsEndpoint& where, const std::string& default_host,
                             const std::string& who) {
  if (where.port < 0) return true;
  if (where.port > 65535) return Error{"--metrics-port: must be 0..65535"};
  const std::string host = where.host.empty() ? default_host : where.host;
  if (auto r = server.start(host, static_cast<std::uint16_t>(where.port)); !r) return Error{"--metrics-port: " + r.error()};
  std::fprintf(stderr, "fulcrum %s: metrics on http://%s:%u/metrics\n", who.c_str(),
               host.find(':') != std::string::npos ? ("[" + host + "]").c_str() : host.c_str(), server.port());
  if (!where.port_file.empty()) {
    const std::string tmp = where.port_file + ".tmp";
    std::ofstream(tmp) << server.port() << "\n";
    std::rename(tmp.c_str(), where.port_file.c_str());
  }
  return true;
}

Expected<Url> parse_metrics_url(const std::string& text) {
  std::string rest = text;
  if (rest.starts_with("http://")) rest = rest.substr(7);
  if (rest.starts_with("https://")) return Error{text + ": https is not supported"};
  Url url;
  const std::size_t slash = rest.find('/');
  url.path = slash == std::string::npos ? "/metrics" : rest.substr(slash);
  auto endpoint = parse_endpoint(rest.substr(0, slash));
  if (!endpoint) return Error{text + ": " + endpoint.error()};
  url.host = endpoint->host;
  url.port = endpoint->port;
  return url;
}

Expected<HttpResponse> http_get(const std::string& host, std::uint16_t port, const std::string& path, double timeout) {
  asio::io_context io;
  asio::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return Error{"'" + host + "' is not an IP address"};
  asio::ip::tcp::socket socket(io);
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(port) +
                        "\r\nAccept: text/plain\r\nConnection: close\r\n\r\n";
  std::string received;
  std::array<char, 16384> chunk;
  asio::error_code failure;
  bool done = false;
  std::function<void()> read_more = [&] {
    socket.async_read_some(asio::buffer(chunk), [&](asio::error_code e, std::size_t n) {
      received.append(chunk.data(), n);
      if (e == asio::error::eof) {
        done = true;
      } else if (e) {
        failure = e;
      } else if (received.size() > (64u << 20)) {
        failure = asio::error::message_size;
      } else {
        read_more();
      }
    });
  };
  socket.async_connect({address, port}, [&](asio::error_code e) {
    if (e) {
      failure = e;
      return;
    }
    asio::async_write(socket, asio::buffer(request), [&](asio::error_code e2, std::size_t) {
      if (e2) {
        failure = e2;
      } else {
        read_more();
      }
    });
  });
  io.run_for(std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(timeout)));
  const std::string where = "http://" + host + ":" + std::to_string(port) + path + ": ";
  if (failure) return Error{where + failure.message()};
  if (!done) return Error{where + "no complete response within " + std::to_string(timeout) + " s"};
  const std::size_t head_end = received.find("\r\n\r\n");
  if (!received.starts_with("HTTP/1.") || head_end == std::string::npos) return Error{where + "not an HTTP response"};
  HttpResponse response;
  const std::size_t sp = received.find(' ');
  std::from_chars(received.data() + sp + 1, received.data() + received.size(), response.status);
  std::string head = received.substr(0, head_end);
  response.body = received.substr(head_end + 4);
  for (std::size_t pos = head.find("\r\n"); pos != std::string::npos; pos = head.find("\r\n", pos + 2)) {
    const std::string line = head.substr(pos + 2, head.find("\r\n", pos + 2) - pos - 2);
    std::string lower = line;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.starts_with("content-type:")) {
      response.content_type = line.substr(13);
      response.content_type.erase(0, response.content_type.find_first_not_of(' '));
    } else if (lower.starts_with("content-length:")) {
      std::size_t length = 0;
      const std::string v = line.substr(15);
      const std::size_t first = v.find_first_not_of(' ');
      std::from_chars(v.data() + first, v.data() + v.size(), length);
      if (length != response.body.size()) return Error{where + "the body is not Content-Length bytes long"};
    }
  }
  return response;
}

}  // namespace fulcrum::real
