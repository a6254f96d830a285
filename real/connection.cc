#include "real/connection.h"

#include <charconv>

namespace fulcrum::real {

Connection::Connection(asio::ip::tcp::socket socket, std::uint32_t max_frame)
    : socket_(std::move(socket)), reader_(max_frame) {
  asio::error_code ec;
  const auto remote = socket_.remote_endpoint(ec);
  peer_ = ec ? "?" : remote.address().to_string() + ":" + std::to_string(remote.port());
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

void Connection::start(OnMessage on_message, OnClose on_close) {
  on_message_ = std::move(on_message);
  on_close_ = std::move(on_close);
  read_more();
}

void Connection::send(const Message& m) {
  if (!open_) return;
  encode_frame(m, outbox_);
  if (writing_) return;
  // The write starts once this turn of the event loop is over, so that the frames one
  // turn produces leave in one system call.
  writing_ = true;
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->write_more(); });
}

void Connection::close(const std::string& reason) {
  if (!open_) return;
  open_ = false;
  asio::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  if (on_close_) {
    auto cb = std::move(on_close_);
    on_close_ = nullptr;
    cb(reason);
  }
  on_message_ = nullptr;
}

void Connection::read_more() {
  socket_.async_read_some(asio::buffer(read_buffer_), [self = shared_from_this()](asio::error_code ec, std::size_t n) {
    if (!self->open_) return;
    if (ec) {
      self->close(ec == asio::error::eof ? "" : ec.message());
      return;
    }
    self->reader_.feed(self->read_buffer_, n);
    for (;;) {
      auto next = self->reader_.next();
      if (!next) {
        self->close("protocol error: " + next.error());
        return;
      }
      if (!next->has_message) break;
      self->on_message_(std::move(next->message));
      if (!self->open_) return;
    }
    self->read_more();
  });
}

void Connection::write_more() {
  if (outbox_.empty() || !open_) {
    writing_ = false;
    return;
  }
  writing_ = true;
  inflight_.swap(outbox_);
  outbox_.clear();
  asio::async_write(socket_, asio::buffer(inflight_), [self = shared_from_this()](asio::error_code ec, std::size_t) {
    self->inflight_.clear();
    if (ec) {
      self->close(ec.message());
      return;
    }
    self->write_more();
  });
}

Expected<Endpoint> parse_endpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return Error{"'" + text + "' is not HOST:PORT"};
  Endpoint e;
  e.host = text.substr(0, colon);
  const std::string port = text.substr(colon + 1);
  unsigned value = 0;
  auto [end, err] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (err != std::errc() || end != port.data() + port.size() || value > 65535) {
    return Error{"'" + text + "': port '" + port + "' is not a number from 0 to 65535"};
  }
  e.port = static_cast<std::uint16_t>(value);
  return e;
}

}  // namespace fulcrum::real
