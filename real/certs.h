// `fulcrum certs`: a small certificate authority for a test or a real cluster, made with
// OpenSSL's C API (no `openssl` command needed). docs/real/security.md is the user's guide.
//
// A CA folder DIR holds:
//   ca.key       the CA's private key (EC P-256, mode 0600): whoever has it can mint
//                identities; keep it off the cluster's machines
//   ca.crt       the CA's self-signed certificate (every daemon and client trusts it)
//   ca.crl       the CA's certificate revocation list (the scheduler reads it; re-signed
//                by each revoke)
//   access.yaml  identities -> role and tenant (real/access.h); `issue` adds each identity
//   NAME.crt     an identity's certificate (CN = NAME, signed by the CA) and
//   NAME.key     its private key (EC P-256, mode 0600)
//
// Certificates carry the extended key usage clientAuth, and a scheduler's (role
// "scheduler") also serverAuth: clients and workers accept only a serverAuth certificate
// from the scheduler (real/tls.h), so no other identity can pose as one.
//
// Contract: every function returns an Error naming the file and what went wrong; none
// overwrites a key or certificate that exists (init refuses a DIR with a ca.key, issue a
// NAME that has a certificate); files are written to a temporary name and renamed, keys
// with mode 0600.
#pragma once

#include <string>

#include "core/expected.h"

namespace fulcrum::real {

// Creates DIR (mode 0700) if needed and the CA in it: ca.key, ca.crt, an empty ca.crl and
// an access.yaml with no identities. `days`: how long the CA is valid.
Expected<bool> certs_init(const std::string& dir, int days = 3650);

// Issues NAME's key and certificate. `role`: scheduler, operator, submitter, worker or
// viewer; all but scheduler are also written to DIR/access.yaml (with `tenant`, required
// for a submitter). Returns the path of the certificate.
Expected<std::string> certs_issue(const std::string& dir, const std::string& name, const std::string& role,
                                  const std::string& tenant = "", int days = 825);

// Adds NAME's certificate to DIR/ca.crl (re-signed; valid for ten years, so that a CRL
// nobody refreshed never starts failing every handshake).
Expected<bool> certs_revoke(const std::string& dir, const std::string& name);

}  // namespace fulcrum::real
