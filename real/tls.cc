#include "real/tls.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace fulcrum::real {
namespace {

struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
struct X509Free { void operator()(X509* x) const { X509_free(x); } };
struct CrlFree { void operator()(X509_CRL* c) const { X509_CRL_free(c); } };
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using CrlPtr = std::unique_ptr<X509_CRL, CrlFree>;

std::string serial_hex(const ASN1_INTEGER* serial) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(serial, nullptr);
  if (!bn) return "";
  char* hex = BN_bn2hex(bn);
  std::string out = hex ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Expected<PeerIdentity> identity_of(X509* cert) {
  X509_NAME* subject = X509_get_subject_name(cert);
  const int index = subject ? X509_NAME_get_index_by_NID(subject, NID_commonName, -1) : -1;
  if (index < 0) return Error{"the certificate has no common name"};
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) return Error{"the certificate's common name is not text"};
  std::string name(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  if (!valid_identity_name(name)) {
    return Error{"the certificate's common name is not an identity (1 to 64 of A-Z a-z 0-9 . _ @ -)"};
  }
  return PeerIdentity{name, serial_hex(X509_get0_serialNumber(cert))};
}

// A file the context reads must exist and be readable; checked first so that the error
// names the file rather than OpenSSL's "system lib".
Expected<bool> readable(const std::string& flag, const std::string& path) {
  if (path.empty()) return Error{flag + ": no file given"};
  if (::access(path.c_str(), R_OK) != 0) return Error{flag + " " + path + ": cannot read: " + std::strerror(errno)};
  return true;
}

}  // namespace

std::string openssl_error(const std::string& fallback) {
  unsigned long last = 0;
  while (unsigned long e = ERR_get_error()) last = e;
  if (last == 0) return fallback;
  char text[256];
  ERR_error_string_n(last, text, sizeof text);
  // "error:0A000086:SSL routines::certificate verify failed": the reason is what helps.
  std::string s = text;
  const auto colon = s.rfind(':');
  return colon == std::string::npos ? s : s.substr(colon + 1);
}

bool valid_identity_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] == '.' || name[0] == '-') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-' || c == '@';
    if (!ok) return false;
  }
  return true;
}

TlsFiles tls_files_for(const std::string& cert, const std::string& key, const std::string& ca, const std::string& crl) {
  TlsFiles f;
  f.cert = cert;
  if (cert.empty()) return f;
  const std::filesystem::path p(cert);
  const std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  f.key = !key.empty() ? key : std::filesystem::path(p).replace_extension(".key").string();
  f.ca = !ca.empty() ? ca : (dir / "ca.crt").string();
  if (!crl.empty()) {
    f.crl = crl;
  } else if (std::error_code ec; std::filesystem::exists(dir / "ca.crl", ec)) {
    f.crl = (dir / "ca.crl").string();
  }
  return f;
}

Expected<std::string> read_small_file(const std::string& path, std::size_t limit) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{path + ": cannot open: " + std::strerror(errno)};
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return Error{path + ": cannot read: " + why};
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > limit) {
      ::close(fd);
      return Error{path + ": larger than " + std::to_string(limit) + " bytes"};
    }
  }
  ::close(fd);
  return out;
}

Expected<std::shared_ptr<asio::ssl::context>> make_tls_context(const TlsFiles& files, TlsSide side) {
  ERR_clear_error();
  // A client may verify the scheduler without a certificate of its own (it will be
  // refused, in words, by a scheduler that requires one).
  const bool own = side == TlsSide::kServer || !files.cert.empty();
  if (own) {
    if (auto ok = readable("--cert", files.cert); !ok) return Error{ok.error()};
    if (auto ok = readable("--key", files.key); !ok) return Error{ok.error()};
  }
  if (auto ok = readable("--ca", files.ca); !ok) return Error{ok.error()};
  struct stat st {};
  if (own && ::stat(files.key.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    return Error{"--key " + files.key + ": group or others can access it; a private key must be private: chmod 600 " +
                 files.key};
  }
  auto ctx = std::make_shared<asio::ssl::context>(side == TlsSide::kServer ? asio::ssl::context::tls_server
                                                                           : asio::ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION);
  // No session tickets: connections are long-lived, and a ticket the server never needs
  // is one more message each client must read past.
  SSL_CTX_set_num_tickets(native, 0);
  if (own && SSL_CTX_use_certificate_chain_file(native, files.cert.c_str()) != 1) {
    return Error{"--cert " + files.cert + ": not a PEM certificate: " + openssl_error()};
  }
  if (own && SSL_CTX_use_PrivateKey_file(native, files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Error{"--key " + files.key + ": not a PEM private key: " + openssl_error()};
  }
  if (own && SSL_CTX_check_private_key(native) != 1) {
    return Error{"--key " + files.key + ": does not match the certificate " + files.cert};
  }
  if (SSL_CTX_load_verify_locations(native, files.ca.c_str(), nullptr) != 1) {
    return Error{"--ca " + files.ca + ": not a PEM CA certificate: " + openssl_error()};
  }
  if (side == TlsSide::kServer && !files.crl.empty()) {
    auto text = read_small_file(files.crl, 64u << 20);
    if (!text) return Error{"--crl " + text.error()};
    BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
    CrlPtr crl(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!crl) return Error{"--crl " + files.crl + ": not a PEM CRL: " + openssl_error()};
    X509_STORE* store = SSL_CTX_get_cert_store(native);
    if (X509_STORE_add_crl(store, crl.get()) != 1) return Error{"--crl " + files.crl + ": " + openssl_error()};
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  }
  // A server asks for a certificate but does not fail the handshake without one, so that
  // it can tell such a client why in words (real/scheduler_handlers.cc); one that is sent
  // must verify. A client always requires the scheduler's.
  ctx->set_verify_mode(side == TlsSide::kServer ? asio::ssl::verify_peer
                                                : asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  return ctx;
}

Expected<std::optional<PeerIdentity>> peer_identity(SSL* ssl) {
  X509Ptr cert(SSL_get1_peer_certificate(ssl));
  if (!cert) return std::optional<PeerIdentity>{};
  if (SSL_get_verify_result(ssl) != X509_V_OK) {
    return Error{std::string("certificate not verified: ") + X509_verify_cert_error_string(SSL_get_verify_result(ssl))};
  }
  auto id = identity_of(cert.get());
  if (!id) return Error{id.error()};
  return std::optional<PeerIdentity>(std::move(*id));
}

Expected<PeerIdentity> certificate_identity(std::string_view pem, const std::string& where) {
  if (pem.size() > (1u << 20)) return Error{where + ": larger than 1 MiB: not a certificate"};
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) {
    ERR_clear_error();
    return Error{where + ": not a PEM certificate"};
  }
  auto id = identity_of(cert.get());
  if (!id) return Error{where + ": " + id.error()};
  return *id;
}

Expected<std::set<std::string>> crl_serials(std::string_view pem, const std::string& where) {
  if (pem.size() > (64u << 20)) return Error{where + ": larger than 64 MiB: not a CRL"};
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  CrlPtr crl(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!crl) {
    ERR_clear_error();
    return Error{where + ": not a PEM CRL"};
  }
  std::set<std::string> out;
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  for (int i = 0; revoked && i < sk_X509_REVOKED_num(revoked); ++i) {
    out.insert(serial_hex(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i))));
  }
  return out;
}

}  // namespace fulcrum::real
