#include "real/connection.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>

namespace fulcrum::real {

Connection::Connection(asio::ip::tcp::socket socket, std::uint32_t max_frame)
    : socket_(std::move(socket)), reader_(max_frame), max_frame_(max_frame) {
  asio::error_code ec;
  const auto remote = socket_.remote_endpoint(ec);
  peer_ = ec ? "?" : remote.address().to_string() + ":" + std::to_string(remote.port());
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

void Connection::require_auth(std::string secret, bool server, AuthRole role, double timeout) {
  handshake_ = server ? Handshake::server(std::move(secret)) : Handshake::peer(std::move(secret), role);
  auth_server_ = server;
  auth_timeout_ = timeout;
}

void Connection::start(OnMessage on_message, OnClose on_close) {
  on_message_ = std::move(on_message);
  on_close_ = std::move(on_close);
  if (handshake_) {
    // An unauthenticated peer gets no large buffers, and no more than the timeout.
    reader_.set_max_frame(std::min(kMaxAuthFrame, max_frame_));
    auth_timer_ = std::make_unique<asio::steady_timer>(socket_.get_executor());
    auth_timer_->expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(auth_timeout_)));
    auth_timer_->async_wait([self = shared_from_this()](asio::error_code ec) {
      if (ec || !self->open_ || self->authenticated_) return;
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%g", self->auth_timeout_);
      self->close(std::string("authentication failed: no handshake within ") + seconds + " s" +
                  (self->auth_server_ ? "" : " (is the scheduler running without --secret-file?)"));
    });
    auto first = handshake_->start();
    if (!first) {
      close("authentication failed: " + first.error());
      return;
    }
    if (*first) queue_frame(**first);
  }
  read_more();
}

void Connection::send(const Message& m) {
  if (!open_) return;
  if (handshake_ && !authenticated_) {
    encode_frame(m, held_);  // sent once authenticated
    return;
  }
  queue_frame(m);
}

void Connection::queue_frame(const Message& m) {
  encode_frame(m, outbox_);
  kick_writer();
}

void Connection::kick_writer() {
  if (writing_) return;
  // The write starts once this turn of the event loop is over, so that the frames one
  // turn produces leave in one system call.
  writing_ = true;
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->write_more(); });
}

bool Connection::authenticate(const Message& m) {
  auto reply = handshake_->on_message(m);
  if (!reply) {
    close(reply.error());
    return false;
  }
  if (*reply) queue_frame(**reply);
  if (handshake_->done()) {
    authenticated_ = true;
    if (auth_server_) peer_role_ = handshake_->peer_role();
    reader_.set_max_frame(max_frame_);
    if (auth_timer_) auth_timer_->cancel();
    if (!held_.empty()) {
      outbox_ += held_;
      held_.clear();
      kick_writer();
    }
  }
  return true;
}

void Connection::close(const std::string& reason) {
  if (!open_) return;
  open_ = false;
  if (auth_timer_) auth_timer_->cancel();
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
      if (self->handshake_ && !self->authenticated_) {
        // Nothing reaches the daemon before the handshake is done.
        if (!self->authenticate(next->message)) return;
        continue;
      }
      if (!self->handshake_ && std::holds_alternative<Challenge>(next->message)) {
        self->close("authentication failed: the scheduler requires authentication (--secret-file)");
        return;
      }
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
