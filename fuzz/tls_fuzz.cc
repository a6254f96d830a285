// The identity and permission inputs on arbitrary bytes (real/access.h, real/tls.h): the
// first byte chooses what the rest is —
//   0  an access file (YAML): parsed, and if valid, formatted and parsed back to the same;
//   1  a PEM certificate: its identity (common name, serial) or an Error;
//   2  a PEM CRL: its revoked serials or an Error;
//   3  the first bytes a client sends to the scheduler's TLS server (a ClientHello, or
//      anything): the handshake on memory buffers with the scheduler's real context, then
//      peer_identity; it must fail or wait for more, never crash.
// Never a crash, a hang, an exception or a sanitizer report.
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "real/access.h"
#include "real/certs.h"
#include "real/tls.h"

using namespace fulcrum::real;

namespace {

// The scheduler's server context, on a CA made once per process.
SSL_CTX* server_context() {
  static std::shared_ptr<asio::ssl::context> context = [] {
    const std::string dir = "/tmp/fulcrum_tls_fuzz_" + std::to_string(::getpid());
    std::filesystem::remove_all(dir);
    if (!certs_init(dir).ok() || !certs_issue(dir, "scheduler", "scheduler").ok()) std::abort();
    auto made = make_tls_context(tls_files_for(dir + "/scheduler.crt"), TlsSide::kServer);
    if (!made.ok()) std::abort();
    return *made;
  }();
  return context->native_handle();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      auto policy = parse_access(text, "fuzz.yaml");
      if (policy.ok()) {
        auto again = parse_access(format_access(*policy), "formatted");
        if (!again.ok() || again->identities != policy->identities) std::abort();
        for (const auto& [name, grant] : policy->identities) {
          if (!valid_identity_name(name)) std::abort();
          if ((grant.role == AccessRole::kSubmitter) == grant.tenant.empty()) std::abort();
        }
      } else if (policy.error().find("fuzz.yaml") == std::string::npos) {
        std::abort();  // every error names the file
      }
      break;
    }
    case 1: {
      auto id = certificate_identity(text, "fuzz.crt");
      if (id.ok() && !valid_identity_name(id->name)) std::abort();
      break;
    }
    case 2:
      (void)crl_serials(text, "fuzz.crl");
      break;
    case 3: {
      SSL* ssl = SSL_new(server_context());
      BIO* in = BIO_new(BIO_s_mem());
      BIO* out = BIO_new(BIO_s_mem());
      SSL_set_bio(ssl, in, out);
      SSL_set_accept_state(ssl);
      BIO_write(in, text.data(), static_cast<int>(text.size()));
      if (SSL_do_handshake(ssl) == 1) (void)peer_identity(ssl);
      char buffer[256];
      (void)SSL_read(ssl, buffer, sizeof buffer);
      SSL_free(ssl);
      ERR_clear_error();
      break;
    }
  }
  return 0;
}
