#include "real/connection.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

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

Connection::~Connection() {
  if (tls_) SSL_free(tls_);
}

void Connection::use_tls(std::shared_ptr<asio::ssl::context> context, bool server, double timeout) {
  tls_context_ = std::move(context);
  tls_ = SSL_new(tls_context_->native_handle());
  tls_in_ = BIO_new(BIO_s_mem());
  tls_out_ = BIO_new(BIO_s_mem());
  SSL_set_bio(tls_, tls_in_, tls_out_);
  if (server) {
    SSL_set_accept_state(tls_);
  } else {
    SSL_set_connect_state(tls_);
  }
  tls_server_ = server;
  auth_timeout_ = handshake_ ? std::max(auth_timeout_, timeout) : timeout;
}

void Connection::arm_deadline() {
  auth_timer_ = std::make_unique<asio::steady_timer>(socket_.get_executor());
  auth_timer_->expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(auth_timeout_)));
  auth_timer_->async_wait([self = shared_from_this()](asio::error_code ec) {
    if (ec || !self->open_ || self->ready()) return;
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", self->auth_timeout_);
    if (self->tls_ && !self->tls_done_) {
      self->close(std::string("authentication failed: no TLS handshake within ") + seconds + " s" +
                  (self->tls_server_ ? "" : " (is the scheduler running without --cert?)"));
      return;
    }
    self->close(std::string("authentication failed: no handshake within ") + seconds + " s" +
                (self->auth_server_ ? "" : " (is the scheduler running without --secret-file?)"));
  });
}

void Connection::start(OnMessage on_message, OnClose on_close) {
  on_message_ = std::move(on_message);
  on_close_ = std::move(on_close);
  if (!handshake_ && !tls_) {
    read_more();
    return;
  }
  // An unauthenticated peer gets no large buffers, and no more than the timeout.
  reader_.set_max_frame(std::min(kMaxAuthFrame, max_frame_));
  arm_deadline();
  if (!tls_) {
    begin(true);
    return;
  }
  // A client's first flight (ClientHello); a server's call only waits for one.
  ERR_clear_error();
  const int r = SSL_do_handshake(tls_);
  if (r != 1 && SSL_get_error(tls_, r) != SSL_ERROR_WANT_READ) {
    tls_failed("authentication failed: TLS handshake: " + openssl_error());
    return;
  }
  kick_writer();
  read_more();
}

void Connection::tls_failed(const std::string& reason) {
  // The alert OpenSSL wrote (certificate revoked, unknown CA...) goes out first: the peer
  // reads why.
  closing_ = reason;
  if (auth_timer_) auth_timer_->cancel();
  kick_writer();
}

bool Connection::tls_input(const char* data, std::size_t n) {
  ERR_clear_error();
  BIO_write(tls_in_, data, static_cast<int>(n));
  if (!tls_done_) {
    const int r = SSL_do_handshake(tls_);
    if (r != 1) {
      if (SSL_get_error(tls_, r) == SSL_ERROR_WANT_READ) {
        kick_writer();  // our next flight, if any
        return true;
      }
      std::string why = openssl_error();
      const long verify = SSL_get_verify_result(tls_);
      if (verify != X509_V_OK) why += std::string(": ") + X509_verify_cert_error_string(verify);
      tls_failed("authentication failed: TLS handshake: " + why);
      return false;
    }
    auto id = peer_identity(tls_);
    if (!id) {
      tls_failed("authentication failed: " + id.error());
      return false;
    }
    identity_ = std::move(*id);
    tls_done_ = true;
    kick_writer();
    begin(false);
    if (!open_ || closing_) return false;
  }
  // Every record this read completed, decrypted at once.
  plain_.clear();
  char buffer[16 * 1024];
  for (;;) {
    const int got = SSL_read(tls_, buffer, sizeof buffer);
    if (got > 0) {
      plain_.append(buffer, static_cast<std::size_t>(got));
      continue;
    }
    const int err = SSL_get_error(tls_, got);
    if (err == SSL_ERROR_WANT_READ) break;
    if (err == SSL_ERROR_ZERO_RETURN) {
      close("");
      return false;
    }
    close("TLS: " + openssl_error());
    return false;
  }
  if (BIO_ctrl_pending(tls_out_) > 0) kick_writer();  // anything SSL_read had to answer
  return true;
}

void Connection::begin(bool read) {
  if (handshake_) {
    auto first = handshake_->start();
    if (!first) {
      close("authentication failed: " + first.error());
      return;
    }
    if (*first) queue_frame(**first);
  } else {
    reader_.set_max_frame(max_frame_);
    if (auth_timer_) auth_timer_->cancel();
    if (!held_.empty()) {
      outbox_ += held_;
      held_.clear();
      kick_writer();
    }
  }
  if (read) read_more();
}

void Connection::send(const Message& m) {
  if (!open_) return;
  if (!ready()) {
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

void Connection::close_when_sent(const std::string& reason) {
  if (!open_) return;
  closing_ = reason;
  if (!writing_ && outbox_.empty()) close(reason);
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
    self->on_read(ec, n);
  });
}

void Connection::on_read(asio::error_code ec, std::size_t n) {
  if (!open_ || closing_) return;
  if (ec) {
    close(ec == asio::error::eof ? "" : ec.message());
    return;
  }
  if (tls_) {
    // A peer that closes without close_notify is a close like any other here: frames are
    // length-prefixed, so a truncation cannot pass for a whole message.
    if (!tls_input(read_buffer_, n)) return;
    reader_.feed(plain_.data(), plain_.size());
  } else {
    reader_.feed(read_buffer_, n);
  }
  for (;;) {
    auto next = reader_.next();
    if (!next) {
      close("protocol error: " + next.error());
      return;
    }
    if (!next->has_message) break;
    if (handshake_ && !authenticated_) {
      // Nothing reaches the daemon before the handshake is done.
      if (!authenticate(next->message)) return;
      continue;
    }
    if (closing_) return;  // refused: nothing more is delivered
    if (!handshake_ && std::holds_alternative<Challenge>(next->message)) {
      close("authentication failed: the scheduler requires authentication (--secret-file)");
      return;
    }
    on_message_(std::move(next->message));
    if (!open_) return;
  }
  read_more();
}

void Connection::write_more() {
  if (!open_) {
    writing_ = false;
    return;
  }
  if (tls_) {
    // Frames are encrypted only once the handshake is done (before, the outbox holds
    // nothing: send() keeps them in held_); the handshake's own flights come out too.
    if (tls_done_ && !outbox_.empty()) {
      if (SSL_write(tls_, outbox_.data(), static_cast<int>(outbox_.size())) <= 0) {
        close("TLS: " + openssl_error());
        return;
      }
      outbox_.clear();
    }
    char buffer[16 * 1024];
    for (int got; (got = BIO_read(tls_out_, buffer, sizeof buffer)) > 0;) inflight_.append(buffer, static_cast<std::size_t>(got));
  } else {
    inflight_.swap(outbox_);
    outbox_.clear();
  }
  if (inflight_.empty()) {
    writing_ = false;
    if (closing_) close(*closing_);
    return;
  }
  writing_ = true;
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
