#include "real/access.h"

#include <yaml-cpp/yaml.h>

#include "real/tls.h"

namespace fulcrum::real {
namespace {

std::string at_line(const std::string& where, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.line >= 0 ? where + ":" + std::to_string(mark.line + 1) : where;
}

}  // namespace

std::string_view access_role_name(AccessRole role) {
  switch (role) {
    case AccessRole::kOperator: return "operator";
    case AccessRole::kSubmitter: return "submitter";
    case AccessRole::kWorker: return "worker";
    case AccessRole::kViewer: return "viewer";
  }
  return "?";
}

std::optional<AccessRole> parse_access_role(std::string_view name) {
  for (AccessRole r : {AccessRole::kOperator, AccessRole::kSubmitter, AccessRole::kWorker, AccessRole::kViewer}) {
    if (access_role_name(r) == name) return r;
  }
  return std::nullopt;
}

std::string_view action_name(Action action) {
  switch (action) {
    case Action::kSubmit: return "submit";
    case Action::kStatus: return "status";
    case Action::kWait: return "wait";
    case Action::kCancel: return "cancel";
    case Action::kRecords: return "records";
    case Action::kShutdown: return "shutdown";
    case Action::kRegister: return "register";
  }
  return "?";
}

bool role_allows(AccessRole role, Action action) {
  switch (role) {
    case AccessRole::kOperator: return action != Action::kRegister;
    case AccessRole::kSubmitter:
      return action == Action::kSubmit || action == Action::kStatus || action == Action::kWait || action == Action::kCancel;
    case AccessRole::kWorker: return action == Action::kRegister;
    case AccessRole::kViewer: return action == Action::kStatus || action == Action::kWait || action == Action::kRecords;
  }
  return false;
}

Expected<AccessPolicy> parse_access(std::string_view text, const std::string& where) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Error{where + ":" + std::to_string(e.mark.line + 1) + ": not YAML: " + e.msg};
  }
  AccessPolicy policy;
  try {
    if (root.IsNull()) return policy;  // an empty file: nobody may do anything
    if (!root.IsMap()) return Error{where + ": expected a map with the key 'identities'"};
    for (const auto& top : root) {
      const std::string key = top.first.Scalar();
      if (key != "identities") return Error{at_line(where, top.first) + ": unknown key '" + key + "' (identities)"};
    }
    const YAML::Node ids = root["identities"];
    if (!ids || ids.IsNull()) return policy;
    if (!ids.IsMap()) return Error{at_line(where, ids) + ": identities: expected a map NAME: {role: ..., tenant: ...}"};
    for (const auto& entry : ids) {
      const std::string name = entry.first.IsScalar() ? entry.first.Scalar() : "";
      const std::string here = at_line(where, entry.first) + ": identities." + name;
      if (!valid_identity_name(name)) {
        return Error{at_line(where, entry.first) + ": '" + name +
                     "' is not an identity name (1 to 64 of A-Z a-z 0-9 . _ @ -, not starting with . or -)"};
      }
      if (policy.identities.count(name)) return Error{here + ": listed twice"};
      const YAML::Node& body = entry.second;
      if (!body.IsMap()) return Error{here + ": expected {role: submitter|operator|worker|viewer, tenant: NAME}"};
      Grant grant;
      bool has_role = false;
      for (const auto& field : body) {
        const std::string key = field.first.IsScalar() ? field.first.Scalar() : "";
        const std::string fhere = here + "." + key;
        if (!field.second.IsScalar()) return Error{at_line(where, field.second) + ": identities." + name + "." + key + ": expected a word"};
        const std::string value = field.second.Scalar();
        if (key == "role") {
          auto role = parse_access_role(value);
          if (!role) return Error{fhere + ": unknown role '" + value + "' (submitter, operator, worker, viewer)"};
          grant.role = *role;
          has_role = true;
        } else if (key == "tenant") {
          if (!valid_identity_name(value)) {
            return Error{fhere + ": '" + value + "' is not a tenant name (1 to 64 of A-Z a-z 0-9 . _ @ -)"};
          }
          grant.tenant = value;
        } else {
          return Error{fhere + ": unknown key '" + key + "' (role, tenant)"};
        }
      }
      if (!has_role) return Error{here + ": needs a role (submitter, operator, worker, viewer)"};
      if (grant.role == AccessRole::kSubmitter && grant.tenant.empty()) {
        return Error{here + ": a submitter needs a tenant (the tenant its jobs belong to)"};
      }
      if (grant.role != AccessRole::kSubmitter && !grant.tenant.empty()) {
        return Error{here + ".tenant: only a submitter has a tenant (a " + std::string(access_role_name(grant.role)) +
                     " acts on every tenant)"};
      }
      policy.identities.emplace(name, std::move(grant));
    }
  } catch (const YAML::Exception& e) {
    return Error{where + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg};
  }
  return policy;
}

Expected<AccessPolicy> load_access_file(const std::string& path) {
  auto text = read_small_file(path, 16u << 20);
  if (!text) return Error{"--access " + text.error()};
  return parse_access(*text, path);
}

std::string format_access(const AccessPolicy& policy) {
  std::string out = "# fulcrum access file (docs/real/security.md): identity -> role (submitter, operator, worker,\n"
                    "# viewer) and, for a submitter, tenant. The scheduler reloads it on SIGHUP or when it changes.\n"
                    "identities:\n";
  if (policy.identities.empty()) return "# fulcrum access file (docs/real/security.md)\nidentities: {}\n";
  for (const auto& [name, grant] : policy.identities) {
    out += "  " + name + ": {role: " + std::string(access_role_name(grant.role));
    if (!grant.tenant.empty()) out += ", tenant: " + grant.tenant;  // names need no quoting
    out += "}\n";
  }
  return out;
}

}  // namespace fulcrum::real
