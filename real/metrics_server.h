// A minimal HTTP/1.1 server for GET /metrics on a daemon's io_context.
//
// One request per connection: the request head is read (at most 8 KiB, within 5 s),
// `GET /metrics` (any query string) gets 200 and the exposition rendered right then,
// another path 404, another method 405 (with Allow: GET), anything unparsable 400; the
// connection is closed after the response (a lingering close: the rest of the input is
// read and dropped until the client closes, within the same 5 s). At most 32 connections
// at once; more are refused by closing them at once.
//
// Also a blocking fetch of such an endpoint (for `fulcrum top` and tests).
#pragma once

#include <asio.hpp>

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "core/expected.h"

namespace fulcrum::real {

class MetricsServer {
 public:
  using Render = std::function<std::string()>;
  MetricsServer(asio::io_context& io, Render render);
  ~MetricsServer();
  // Binds HOST:PORT (port 0: a free one) and starts accepting.
  Expected<bool> start(const std::string& host, std::uint16_t port);
  std::uint16_t port() const { return port_; }
  // Stops accepting and closes every connection; the io_context then holds no work of it.
  void stop();

  struct Session;

 private:
  void accept();

  asio::io_context& io_;
  std::shared_ptr<struct MetricsShared> shared_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
};

// The options' shared bits: --metrics-port (-1: off), --metrics-host, --metrics-port-file.
// Starts `server` on them and writes the port file; returns the port (0 when off).
struct MetricsEndpoint {
  int port = -1;
  std::string host;       // empty: the daemon's own default
  std::string port_file;  // written (atomically) once listening
};
Expected<bool> start_metrics(MetricsServer& server, const MetricsEndpoint& where, const std::string& default_host,
                             const std::string& who);

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};
// GET http://HOST:PORT/PATH (HOST an IP address), waiting at most `timeout` seconds.
Expected<HttpResponse> http_get(const std::string& host, std::uint16_t port, const std::string& path,
                                double timeout = 5);
// "http://HOST:PORT/PATH", "HOST:PORT/PATH" or "HOST:PORT" (path /metrics) into its parts.
struct Url {
  std::string host;
  std::uint16_t port = 0;
  std::string path;
};
Expected<Url> parse_metrics_url(const std::string& text);

}  // namespace fulcrum::real
