// The access file: which identity (a certificate's common name, real/tls.h) may do what,
// and for which tenant. The scheduler loads it at start (--access) and again on SIGHUP or
// when its modification time changes; docs/real/security.md is the user's guide.
//
//   identities:
//     alice:    {role: submitter, tenant: physics}
//     ops:      {role: operator}
//     worker-1: {role: worker}
//     grafana:  {role: viewer}
//
// Roles (role_allows):
//   submitter  submit jobs (they belong to its tenant, whatever the client sent), see,
//              wait on and cancel its own tenant's jobs, nothing else;
//   operator   everything: any tenant's jobs, the run's records, shutdown;
//   worker     register and report on the tasks it was given, nothing else;
//   viewer     read only: any task's status, the run's records; changes nothing.
// An identity not in the file is refused, as is one whose certificate is revoked.
//
// Parsing is strict: an unknown key, role, a missing or misplaced tenant, a name that is not
// an identity (real/tls.h valid_identity_name) is an Error naming the file, the line and the
// key; it never throws or crashes (fuzz/tls_fuzz.cc).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/expected.h"

namespace fulcrum::real {

enum class AccessRole { kOperator, kSubmitter, kWorker, kViewer };
std::string_view access_role_name(AccessRole role);
std::optional<AccessRole> parse_access_role(std::string_view name);

// What a request asks to do (the scheduler's handlers map each wire message to one).
enum class Action { kSubmit, kStatus, kWait, kCancel, kRecords, kShutdown, kRegister };
std::string_view action_name(Action action);
// Whether `role` may ask for `action` at all; a submitter is further limited to its own
// tenant's jobs (the scheduler checks that).
bool role_allows(AccessRole role, Action action);

struct Grant {
  AccessRole role = AccessRole::kViewer;
  std::string tenant;  // a submitter's; empty for the other roles
  bool operator==(const Grant&) const = default;
};

struct AccessPolicy {
  std::map<std::string, Grant> identities;
  const Grant* find(const std::string& name) const {
    auto it = identities.find(name);
    return it == identities.end() ? nullptr : &it->second;
  }
};

// `where` names the text in errors (the file's path).
Expected<AccessPolicy> parse_access(std::string_view text, const std::string& where);
Expected<AccessPolicy> load_access_file(const std::string& path);
// The YAML text of `policy`, as parse_access reads it (`fulcrum certs issue` writes it).
std::string format_access(const AccessPolicy& policy);

}  // namespace fulcrum::real
