// Mutual authentication on a shared secret (docs/real/security.md).
//
// When the scheduler has a secret, every connection starts with a challenge-response
// handshake before anything else is processed:
//
//   scheduler -> peer       Challenge{server_nonce}                   32 random bytes
//   peer      -> scheduler  Auth{role, client_nonce, mac}             client_nonce: 32 random bytes
//       mac = HMAC-SHA256(secret, "fulcrum-auth-v1" || role || server_nonce || client_nonce)
//   scheduler -> peer       AuthOk{HMAC-SHA256(secret, "fulcrum-auth-v1-server" || server_nonce || client_nonce)}
//
// role is "worker" or "client" (6 bytes each; every part has a fixed length, so the
// concatenation is unambiguous). The scheduler compares the MAC in constant time and the
// peer verifies AuthOk before it sends anything else, so a peer without the secret cannot
// join, and a fake scheduler without it cannot command workers. Both nonces enter both
// MACs: an Auth or AuthOk recorded on one connection is worthless on another. Traffic is
// neither encrypted nor integrity-protected after the handshake: mutual TLS (real/tls.h)
// is the stronger mode, and the secret may be combined with it.
//
// Handshake is the state machine of one side, shared by the asynchronous Connection and
// the blocking Client.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/expected.h"
#include "real/wire.h"

namespace fulcrum::real {

inline constexpr std::size_t kNonceBytes = 32;
inline constexpr std::size_t kMacBytes = 32;
inline constexpr std::size_t kMinSecretBytes = 16;
inline constexpr std::size_t kMaxSecretBytes = 4096;
inline constexpr double kAuthTimeout = 5;           // seconds for the whole handshake
inline constexpr std::uint32_t kMaxAuthFrame = 1024;  // the largest frame accepted before it

std::string_view role_name(AuthRole role);

// Reads a secret file: its bytes, less one trailing "\n" or "\r\n". Refused, with an
// Error naming the file: a file that cannot be read or is not a regular file, one that
// group or others may read or write (like ssh: chmod 600), an empty one, one shorter than
// kMinSecretBytes or longer than kMaxSecretBytes.
Expected<std::string> read_secret_file(const std::string& path);
// Writes a new secret file (mode 0600, must not exist): 32 random bytes as 64 hex digits
// and a newline. Returns the secret as read_secret_file would.
Expected<std::string> write_secret_file(const std::string& path);

// n bytes from OpenSSL's CSPRNG (RAND_bytes); an Error if it fails.
Expected<std::string> random_bytes(std::size_t n);
std::string client_mac(std::string_view secret, AuthRole role, std::string_view server_nonce,
                       std::string_view client_nonce);
std::string server_mac(std::string_view secret, std::string_view server_nonce, std::string_view client_nonce);
// Constant-time comparison (CRYPTO_memcmp); different lengths are unequal.
bool macs_equal(std::string_view a, std::string_view b);

class Handshake {
 public:
  // The scheduler's side: start() gives the Challenge to send.
  static Handshake server(std::string secret);
  // A worker's or client's side: waits for the Challenge.
  static Handshake peer(std::string secret, AuthRole role);

  // The first message to send, if this side speaks first (the server); an Error if no
  // nonce could be drawn.
  Expected<std::optional<Message>> start();
  // Feeds one received message. Returns the message to send in answer, if any; an Error
  // (the reason to close the connection) on anything but the expected message with a
  // valid MAC. done() once authenticated.
  Expected<std::optional<Message>> on_message(const Message& m);
  bool done() const { return state_ == State::kDone; }
  // Server side, once done: the role the peer authenticated as.
  AuthRole peer_role() const { return role_; }

 private:
  enum class State { kStart, kAwaitAuth, kAwaitChallenge, kAwaitAuthOk, kDone, kFailed };
  Handshake(std::string secret, bool server, AuthRole role);
  std::string secret_;
  bool server_;
  AuthRole role_;
  State state_ = State::kStart;
  std::string server_nonce_, client_nonce_;
};

}  // namespace fulcrum::real
