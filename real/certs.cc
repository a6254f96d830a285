#include "real/certs.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "real/access.h"
#include "real/tls.h"

namespace fulcrum::real {
namespace {

struct PkeyFree { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
struct X509Free { void operator()(X509* x) const { X509_free(x); } };
struct CrlFree { void operator()(X509_CRL* c) const { X509_CRL_free(c); } };
struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using CrlPtr = std::unique_ptr<X509_CRL, CrlFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

namespace fs = std::filesystem;

constexpr long kCrlSeconds = 10L * 365 * 24 * 3600;

Expected<PkeyPtr> new_key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Error{"cannot make an EC P-256 key: " + openssl_error()};
  return key;
}

// Writes `text` to `path` through a temporary file and a rename, with `mode`; refuses to
// replace an existing file unless `replace`.
Expected<bool> write_file(const std::string& path, const std::string& text, mode_t mode, bool replace) {
  std::error_code ec;
  if (!replace && fs::exists(path, ec)) return Error{path + ": exists already (not overwritten)"};
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Error{tmp + ": cannot create: " + std::strerror(errno)};
  bool ok = ::fchmod(fd, mode) == 0;
  for (std::size_t done = 0; ok && done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Error{path + ": cannot write: " + std::strerror(errno)};
  }
  return true;
}

template <class F>
Expected<std::string> pem_of(F write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) return Error{"cannot encode PEM: " + openssl_error()};
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

Expected<PkeyPtr> read_key(const std::string& path) {
  auto text = read_small_file(path);
  if (!text) return Error{text.error()};
  BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Error{path + ": not a PEM private key: " + openssl_error()};
  return key;
}

Expected<X509Ptr> read_cert(const std::string& path) {
  auto text = read_small_file(path);
  if (!text) return Error{text.error()};
  BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return Error{path + ": not a PEM certificate: " + openssl_error()};
  return cert;
}

// A random positive 127-bit serial: unique without any state in the CA folder.
bool set_random_serial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
  bytes[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(bytes, sizeof bytes, nullptr);
  if (!bn) return false;
  const bool ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  return ok;
}

bool add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `name` with `key`, valid `days`, signed by `issuer_key` (self-signed
// when `issuer` is null).
Expected<X509Ptr> make_cert(const std::string& name, EVP_PKEY* key, int days, X509* issuer, EVP_PKEY* issuer_key,
                            bool ca, bool server) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1 || !set_random_serial(cert.get())) {
    return Error{"cannot make a certificate: " + openssl_error()};
  }
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300);  // a little slack for clocks
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 24 * 3600);
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("fulcrum"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(name.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : subject);
  X509_set_pubkey(cert.get(), key);
  X509* signer = issuer ? issuer : cert.get();
  bool ok = add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (ca) {
    ok = ok && add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
         add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = ok && add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always") &&
         add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE") &&
         add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature") &&
         add_extension(cert.get(), signer, NID_ext_key_usage, server ? "serverAuth,clientAuth" : "clientAuth");
  }
  if (!ok) return Error{"cannot add the certificate's extensions: " + openssl_error()};
  if (X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) == 0) {
    return Error{"cannot sign the certificate: " + openssl_error()};
  }
  return cert;
}

// A CRL of `revoked` certificates' serials (plus the new `add`, if any), signed by the CA.
Expected<std::string> make_crl(X509* ca, EVP_PKEY* ca_key, X509_CRL* previous, const ASN1_INTEGER* add) {
  CrlPtr crl(X509_CRL_new());
  if (!crl || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca)) != 1) {
    return Error{"cannot make a CRL: " + openssl_error()};
  }
  ASN1_TIME* now = X509_gmtime_adj(nullptr, -300);
  ASN1_TIME* next = X509_gmtime_adj(nullptr, kCrlSeconds);
  X509_CRL_set1_lastUpdate(crl.get(), now);
  X509_CRL_set1_nextUpdate(crl.get(), next);
  auto revoke = [&](const ASN1_INTEGER* serial, const ASN1_TIME* when) {
    X509_REVOKED* r = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(r, const_cast<ASN1_INTEGER*>(serial));
    X509_REVOKED_set_revocationDate(r, const_cast<ASN1_TIME*>(when));
    X509_CRL_add0_revoked(crl.get(), r);
  };
  if (previous) {
    STACK_OF(X509_REVOKED)* old = X509_CRL_get_REVOKED(previous);
    for (int i = 0; old && i < sk_X509_REVOKED_num(old); ++i) {
      const X509_REVOKED* r = sk_X509_REVOKED_value(old, i);
      if (add && ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(r), add) == 0) add = nullptr;  // already there
      revoke(X509_REVOKED_get0_serialNumber(r), X509_REVOKED_get0_revocationDate(r));
    }
  }
  if (add) revoke(add, now);
  ASN1_TIME_free(now);
  ASN1_TIME_free(next);
  X509_CRL_sort(crl.get());
  if (X509_CRL_sign(crl.get(), ca_key, EVP_sha256()) == 0) return Error{"cannot sign the CRL: " + openssl_error()};
  return pem_of([&](BIO* b) { return PEM_write_bio_X509_CRL(b, crl.get()); });
}

std::string in(const std::string& dir, const std::string& file) { return (fs::path(dir) / file).string(); }

}  // namespace

Expected<bool> certs_init(const std::string& dir, int days) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error{dir + ": cannot create: " + ec.message()};
  ::chmod(dir.c_str(), 0700);
  if (fs::exists(in(dir, "ca.key"), ec)) return Error{in(dir, "ca.key") + ": a CA exists already in " + dir};
  auto key = new_key();
  if (!key) return Error{key.error()};
  auto cert = make_cert("fulcrum-ca", key->get(), days, nullptr, nullptr, /*ca=*/true, false);
  if (!cert) return Error{cert.error()};
  auto key_pem = pem_of([&](BIO* b) { return PEM_write_bio_PrivateKey(b, key->get(), nullptr, nullptr, 0, nullptr, nullptr); });
  auto cert_pem = pem_of([&](BIO* b) { return PEM_write_bio_X509(b, cert->get()); });
  auto crl_pem = make_crl(cert->get(), key->get(), nullptr, nullptr);
  if (!key_pem || !cert_pem || !crl_pem) return Error{"cannot encode the CA: " + openssl_error()};
  if (auto w = write_file(in(dir, "ca.key"), *key_pem, 0600, false); !w) return w;
  if (auto w = write_file(in(dir, "ca.crt"), *cert_pem, 0644, true); !w) return w;
  if (auto w = write_file(in(dir, "ca.crl"), *crl_pem, 0644, true); !w) return w;
  if (!fs::exists(in(dir, "access.yaml"), ec)) {
    if (auto w = write_file(in(dir, "access.yaml"), format_access({}), 0644, false); !w) return w;
  }
  return true;
}

Expected<std::string> certs_issue(const std::string& dir, const std::string& name, const std::string& role,
                                  const std::string& tenant, int days) {
  if (!valid_identity_name(name) || name == "ca") {
    return Error{"'" + name + "' is not an identity name (1 to 64 of A-Z a-z 0-9 . _ @ -, not 'ca')"};
  }
  const bool server = role == "scheduler";
  const auto access_role = parse_access_role(role);
  if (!server && !access_role) return Error{"--role: '" + role + "' is not scheduler, operator, submitter, worker or viewer"};
  if (access_role == AccessRole::kSubmitter && tenant.empty()) return Error{"--tenant: a submitter needs a tenant"};
  if (!tenant.empty() && access_role != AccessRole::kSubmitter) return Error{"--tenant: only a submitter has a tenant"};
  if (!tenant.empty() && !valid_identity_name(tenant)) return Error{"--tenant: '" + tenant + "' is not a tenant name"};
  if (days <= 0) return Error{"--days: must be positive"};
  auto ca_key = read_key(in(dir, "ca.key"));
  if (!ca_key) return Error{ca_key.error() + " (run `fulcrum certs init " + dir + "` first)"};
  auto ca = read_cert(in(dir, "ca.crt"));
  if (!ca) return Error{ca.error()};
  std::error_code ec;
  const std::string cert_path = in(dir, name + ".crt");
  if (fs::exists(cert_path, ec)) return Error{cert_path + ": exists already (revoke it and issue another name)"};
  // The access file first: a broken one stops us before a certificate is written.
  AccessPolicy access;
  const std::string access_path = in(dir, "access.yaml");
  if (access_role && fs::exists(access_path, ec)) {
    auto loaded = load_access_file(access_path);
    if (!loaded) return Error{loaded.error()};
    access = std::move(*loaded);
  }
  auto key = new_key();
  if (!key) return Error{key.error()};
  auto cert = make_cert(name, key->get(), days, ca->get(), ca_key->get(), false, server);
  if (!cert) return Error{cert.error()};
  auto key_pem = pem_of([&](BIO* b) { return PEM_write_bio_PrivateKey(b, key->get(), nullptr, nullptr, 0, nullptr, nullptr); });
  auto cert_pem = pem_of([&](BIO* b) { return PEM_write_bio_X509(b, cert->get()); });
  if (!key_pem || !cert_pem) return Error{"cannot encode the certificate: " + openssl_error()};
  if (auto w = write_file(in(dir, name + ".key"), *key_pem, 0600, true); !w) return Error{w.error()};
  if (auto w = write_file(cert_path, *cert_pem, 0644, false); !w) return Error{w.error()};
  if (access_role) {
    access.identities[name] = Grant{*access_role, tenant};
    if (auto w = write_file(access_path, format_access(access), 0644, true); !w) return Error{w.error()};
  }
  return cert_path;
}

Expected<bool> certs_revoke(const std::string& dir, const std::string& name) {
  if (!valid_identity_name(name)) return Error{"'" + name + "' is not an identity name"};
  auto ca_key = read_key(in(dir, "ca.key"));
  if (!ca_key) return Error{ca_key.error()};
  auto ca = read_cert(in(dir, "ca.crt"));
  if (!ca) return Error{ca.error()};
  auto cert = read_cert(in(dir, name + ".crt"));
  if (!cert) return Error{cert.error()};
  CrlPtr previous;
  if (auto text = read_small_file(in(dir, "ca.crl"), 64u << 20)) {
    BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
    previous.reset(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    if (!previous) return Error{in(dir, "ca.crl") + ": not a PEM CRL: " + openssl_error()};
  }
  auto crl = make_crl(ca->get(), ca_key->get(), previous.get(), X509_get0_serialNumber(cert->get()));
  if (!crl) return Error{crl.error()};
  return write_file(in(dir, "ca.crl"), *crl, 0644, true);
}

}  // namespace fulcrum::real
