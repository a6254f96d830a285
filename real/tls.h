// Mutual TLS for every real-mode connection (docs/real/security.md).
//
// What this file is for: turning certificate files into Asio SSL contexts, and a finished
// handshake into the peer's proven identity. Both sides speak TLS 1.3 only and both
// present a certificate signed by the cluster's CA (`fulcrum certs`, real/certs.h):
//  - the scheduler (server) requires a client certificate chaining to the CA and, when the
//    CA's CRL is given, not revoked; a client that presents none finishes the handshake but
//    is refused with an ErrorReply on its first request (a clear message beats a TLS alert);
//  - workers and clients (TLS clients) require the scheduler's certificate to chain to the
//    same CA and to carry the serverAuth extended key usage. `fulcrum certs issue --role
//    scheduler` is the only way to get one, so a stolen worker or client certificate cannot
//    impersonate a scheduler. The scheduler is reached by IP address, so its name is not
//    checked against the certificate.
//
// The peer's identity is its certificate's subject common name, proven by the handshake;
// it is never a field the peer fills in. The access file (real/access.h) gives that name a
// role and a tenant.
//
// Files: `cert` a PEM certificate, `key` its PEM private key (group/others must not read
// it), `ca` the CA's PEM certificate, `crl` the CA's PEM CRL (optional). Every failure is an
// Error naming the file and what is wrong, never an exception or a crash.
#pragma once

#include <asio.hpp>
#include <asio/ssl.hpp>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "core/expected.h"

namespace fulcrum::real {

struct TlsFiles {
  std::string cert;  // empty: TLS off
  std::string key;
  std::string ca;
  std::string crl;   // optional (servers): revoked serials are refused
  bool enabled() const { return !cert.empty(); }
};

// The files beside a certificate as `fulcrum certs` lays them out: for DIR/NAME.crt, the
// key DIR/NAME.key, the CA DIR/ca.crt and the CRL DIR/ca.crl (if it exists). Explicit
// `key`, `ca` or `crl` (non-empty) win.
TlsFiles tls_files_for(const std::string& cert, const std::string& key = "", const std::string& ca = "",
                       const std::string& crl = "");

enum class TlsSide { kServer, kClient };

// An SSL context for one side: TLS 1.3 only, its certificate and key (checked to match;
// a client may have none: it verifies the scheduler and is refused by it),
// the CA as the only trust anchor, peer verification on, and on a server the CRL if given.
Expected<std::shared_ptr<asio::ssl::context>> make_tls_context(const TlsFiles& files, TlsSide side);

// Who a peer proved to be: its certificate's common name and serial (lower-case hex).
struct PeerIdentity {
  std::string name;
  std::string serial;
};
// The verified peer certificate of a finished handshake; nullopt if the peer sent none.
// An Error if it has no usable common name.
Expected<std::optional<PeerIdentity>> peer_identity(SSL* ssl);

// The identity in a PEM certificate (its CN and serial); an Error naming `where` if the
// text is not one certificate or has no usable common name. Used by `fulcrum certs` and
// fuzzed (fuzz/tls_fuzz.cc).
Expected<PeerIdentity> certificate_identity(std::string_view pem, const std::string& where);
// The serials (lower-case hex) a PEM CRL revokes; an Error naming `where` otherwise.
Expected<std::set<std::string>> crl_serials(std::string_view pem, const std::string& where);
// Reads a whole (small) file; an Error naming it.
Expected<std::string> read_small_file(const std::string& path, std::size_t limit = 1u << 20);

// A name usable as an identity and a file name: 1 to 64 of [A-Za-z0-9._@-], not starting
// with '.' or '-'.
bool valid_identity_name(std::string_view name);

// The last OpenSSL error as text (and clears the queue); `fallback` if there is none.
std::string openssl_error(const std::string& fallback = "unknown OpenSSL error");

}  // namespace fulcrum::real
