#include "real/auth.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fulcrum::real {
namespace {

constexpr std::string_view kClientLabel = "fulcrum-auth-v1";
constexpr std::string_view kServerLabel = "fulcrum-auth-v1-server";

std::string hmac_sha256(std::string_view key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), out, &length) == nullptr) {
    return {};  // never equal to a 32-byte MAC
  }
  return std::string(reinterpret_cast<const char*>(out), length);
}

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

std::string_view role_name(AuthRole role) { return role == AuthRole::kWorker ? "worker" : "client"; }

Expected<std::string> read_secret_file(const std::string& path) {
  const std::string where = "--secret-file " + path + ": ";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Error{where + "cannot open: " + std::strerror(errno)};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error{where + "not a regular file"};
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Error{where + "group or others can access it (mode " + octal_mode(st.st_mode) +
                 "); the secret must be private: chmod 600 " + path};
  }
  if (st.st_size > static_cast<off_t>(kMaxSecretBytes) + 2) {
    ::close(fd);
    return Error{where + "longer than " + std::to_string(kMaxSecretBytes) + " bytes: not a secret file?"};
  }
  std::string secret;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return Error{where + "cannot read: " + std::strerror(errno)};
    }
    if (n == 0) break;
    secret.append(buf, static_cast<std::size_t>(n));
    if (secret.size() > kMaxSecretBytes + 2) break;
  }
  ::close(fd);
  if (!secret.empty() && secret.back() == '\n') secret.pop_back();
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  if (secret.empty()) return Error{where + "the file is empty"};
  if (secret.size() < kMinSecretBytes) {
    return Error{where + "the secret is " + std::to_string(secret.size()) + " bytes; it must be at least " +
                 std::to_string(kMinSecretBytes) + " (e.g. head -c 32 /dev/urandom | base64)"};
  }
  if (secret.size() > kMaxSecretBytes) {
    return Error{where + "longer than " + std::to_string(kMaxSecretBytes) + " bytes: not a secret file?"};
  }
  return secret;
}

Expected<std::string> write_secret_file(const std::string& path) {
  auto bytes = random_bytes(32);
  if (!bytes) return Error{bytes.error()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string secret;
  for (unsigned char c : *bytes) {
    secret += kHex[c >> 4];
    secret += kHex[c & 15];
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Error{path + ": cannot create the secret file: " + std::strerror(errno)};
  const std::string text = secret + "\n";
  const bool ok = ::fchmod(fd, 0600) == 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) return Error{path + ": cannot write the secret file"};
  return secret;
}

Expected<std::string> random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return Error{"no random bytes from OpenSSL (RAND_bytes failed)"};
  }
  return out;
}

std::string client_mac(std::string_view secret, AuthRole role, std::string_view server_nonce,
                       std::string_view client_nonce) {
  std::string data;
  data.append(kClientLabel).append(role_name(role)).append(server_nonce).append(client_nonce);
  return hmac_sha256(secret, data);
}

std::string server_mac(std::string_view secret, std::string_view server_nonce, std::string_view client_nonce) {
  std::string data;
  data.append(kServerLabel).append(server_nonce).append(client_nonce);
  return hmac_sha256(secret, data);
}

bool macs_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Handshake::Handshake(std::string secret, bool server, AuthRole role)
    : secret_(std::move(secret)), server_(server), role_(role) {}

Handshake Handshake::server(std::string secret) { return Handshake(std::move(secret), true, AuthRole::kClient); }

Handshake Handshake::peer(std::string secret, AuthRole role) { return Handshake(std::move(secret), false, role); }

Expected<std::optional<Message>> Handshake::start() {
  if (!server_) {
    state_ = State::kAwaitChallenge;
    return std::optional<Message>();
  }
  auto nonce = random_bytes(kNonceBytes);
  if (!nonce) {
    state_ = State::kFailed;
    return Error{nonce.error()};
  }
  server_nonce_ = std::move(*nonce);
  state_ = State::kAwaitAuth;
  return std::optional<Message>(Challenge{server_nonce_});
}

Expected<std::optional<Message>> Handshake::on_message(const Message& m) {
  const State state = state_;
  state_ = State::kFailed;  // until proven otherwise
  auto unexpected = [&](std::string_view expected) {
    return Error{"authentication failed: expected " + std::string(expected) + ", got " + std::string(message_name(m))};
  };
  switch (state) {
    case State::kAwaitAuth: {
      const auto* auth = std::get_if<Auth>(&m);
      if (!auth) return unexpected("Auth");
      if (auth->client_nonce.size() != kNonceBytes) return Error{"authentication failed: a client nonce is 32 bytes"};
      if (!macs_equal(auth->mac, client_mac(secret_, auth->role, server_nonce_, auth->client_nonce))) {
        return Error{"authentication failed: wrong MAC from a " + std::string(role_name(auth->role)) +
                     " (a different secret, or a replayed answer)"};
      }
      role_ = auth->role;
      client_nonce_ = auth->client_nonce;
      state_ = State::kDone;
      return std::optional<Message>(AuthOk{server_mac(secret_, server_nonce_, client_nonce_)});
    }
    case State::kAwaitChallenge: {
      const auto* challenge = std::get_if<Challenge>(&m);
      if (!challenge) return unexpected("Challenge (is the scheduler running without --secret-file?)");
      if (challenge->server_nonce.size() != kNonceBytes) return Error{"authentication failed: a server nonce is 32 bytes"};
      auto nonce = random_bytes(kNonceBytes);
      if (!nonce) return Error{nonce.error()};
      server_nonce_ = challenge->server_nonce;
      client_nonce_ = std::move(*nonce);
      state_ = State::kAwaitAuthOk;
      return std::optional<Message>(Auth{role_, client_nonce_, client_mac(secret_, role_, server_nonce_, client_nonce_)});
    }
    case State::kAwaitAuthOk: {
      const auto* ok = std::get_if<AuthOk>(&m);
      if (!ok) return unexpected("AuthOk");
      if (!macs_equal(ok->mac, server_mac(secret_, server_nonce_, client_nonce_))) {
        return Error{"authentication failed: the scheduler's proof is wrong (it has a different secret)"};
      }
      state_ = State::kDone;
      return std::optional<Message>();
    }
    case State::kDone:
      state_ = State::kDone;
      return std::optional<Message>();
    default:
      return Error{"authentication failed: handshake not started or already failed"};
  }
}

}  // namespace fulcrum::real
