// The scheduler daemon's security: loading the TLS context, the access file and the CRL;
// reloading them (SIGHUP, or a file's modification time changing) and cutting the
// connections of identities revoked; deciding whether a peer may send a request; the
// audit trail of state-changing requests; tenant scoping. docs/real/security.md.
//
// Without TLS (no --cert) every peer is trusted equally, as before: the shared secret, if
// any, proves only that a peer holds it. With TLS a peer is its certificate's common name,
// and the access file alone says what that name may do.
#include <cstdio>

#include "real/scheduler_daemon.h"

namespace fulcrum::real {

namespace {

bool is_loopback(const std::string& host) {
  return host.rfind("127.", 0) == 0 || host == "::1" || host == "localhost";
}

std::optional<Action> action_of(const Message& m) {
  if (std::holds_alternative<Register>(m)) return Action::kRegister;
  if (std::holds_alternative<Submit>(m)) return Action::kSubmit;
  if (const auto* s = std::get_if<StatusRequest>(&m)) return s->wait ? Action::kWait : Action::kStatus;
  if (std::holds_alternative<CancelRequest>(m)) return Action::kCancel;
  if (std::holds_alternative<RecordsRequest>(m)) return Action::kRecords;
  if (std::holds_alternative<ShutdownRequest>(m)) return Action::kShutdown;
  return std::nullopt;  // a registered worker's reports: its Register was the check
}

bool changes_state(Action a) {
  return a == Action::kSubmit || a == Action::kCancel || a == Action::kShutdown || a == Action::kRegister;
}

}  // namespace

Expected<bool> SchedulerDaemon::load_security() {
  auto endpoint = parse_endpoint(options_.listen);
  if (!endpoint) return Error{"--listen: " + endpoint.error()};
  const bool authenticated = options_.tls.enabled() || !secret_.empty();
  if (!authenticated && !is_loopback(endpoint->host)) {
    if (!options_.insecure) {
      return Error{"--listen " + options_.listen +
                   ": refusing to listen beyond loopback without authentication: anyone who can reach the port "
                   "could run commands on every worker. Set up TLS: `fulcrum certs init DIR`, `fulcrum certs issue DIR "
                   "scheduler --role scheduler`, then --cert DIR/scheduler.crt --access DIR/access.yaml (see "
                   "docs/real/security.md); or pass --insecure to run unauthenticated anyway"};
    }
  }
  if (options_.insecure && !authenticated) {
    // At every start, whatever --verbose says: an operator reading the log must see it.
    std::fprintf(stderr,
                 "fulcrum scheduler: WARNING: --insecure: listening on %s without authentication; anyone who can "
                 "reach it can run commands on every worker (docs/real/security.md)\n",
                 options_.listen.c_str());
  }
  if (!options_.tls.enabled()) {
    if (!options_.access_file.empty()) return Error{"--access needs --cert: identities come from TLS certificates"};
    return true;
  }
  if (options_.access_file.empty()) {
    return Error{"--cert needs --access FILE: the access file says what each identity may do (fulcrum certs "
                 "init writes DIR/access.yaml; docs/real/security.md)"};
  }
  access_mtime_ = mtime(options_.access_file);
  crl_mtime_ = mtime(options_.tls.crl);
  auto access = load_access_file(options_.access_file);
  if (!access) return Error{access.error()};
  std::set<std::string> revoked;
  if (!options_.tls.crl.empty()) {
    auto text = read_small_file(options_.tls.crl, 64u << 20);
    if (!text) return Error{"--crl " + text.error()};
    auto serials = crl_serials(*text, options_.tls.crl);
    if (!serials) return Error{"--crl " + serials.error()};
    revoked = std::move(*serials);
  }
  auto context = make_tls_context(options_.tls, TlsSide::kServer);
  if (!context) return Error{context.error()};
  tls_context_ = std::move(*context);
  access_ = std::move(*access);
  revoked_ = std::move(revoked);
  return true;
}

std::optional<std::filesystem::file_time_type> SchedulerDaemon::mtime(const std::string& path) const {
  if (path.empty()) return std::nullopt;
  std::error_code ec;
  const auto t = std::filesystem::last_write_time(path, ec);
  if (ec) return std::nullopt;
  return t;
}

void SchedulerDaemon::arm_reload_check() {
  if (!tls_context_ || options_.reload_check <= 0 || stopping_) return;
  if (!reload_timer_) reload_timer_ = std::make_unique<asio::steady_timer>(io_);
  reload_timer_->expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(options_.reload_check)));
  reload_timer_->async_wait([this](asio::error_code ec) {
    if (ec || stopping_) return;
    if (mtime(options_.access_file) != access_mtime_ || mtime(options_.tls.crl) != crl_mtime_) {
      if (auto r = reload(); !r) std::fprintf(stderr, "fulcrum scheduler: reload failed, kept the old settings: %s\n", r.error().c_str());
    }
    arm_reload_check();
  });
}

Expected<bool> SchedulerDaemon::reload() {
  if (!tls_context_) return true;  // nothing to reload without TLS
  // Load everything first: a broken file changes nothing.
  const auto access_mtime = mtime(options_.access_file);
  const auto crl_mtime = mtime(options_.tls.crl);
  access_mtime_ = access_mtime;  // a broken file is reported once, not every check
  crl_mtime_ = crl_mtime;
  auto access = load_access_file(options_.access_file);
  if (!access) return Error{access.error()};
  std::set<std::string> revoked;
  if (!options_.tls.crl.empty()) {
    auto text = read_small_file(options_.tls.crl, 64u << 20);
    if (!text) return Error{"--crl " + text.error()};
    auto serials = crl_serials(*text, options_.tls.crl);
    if (!serials) return Error{"--crl " + serials.error()};
    revoked = std::move(*serials);
  }
  auto context = make_tls_context(options_.tls, TlsSide::kServer);
  if (!context) return Error{context.error()};
  tls_context_ = std::move(*context);
  access_ = std::move(*access);
  revoked_ = std::move(revoked);
  ++reloads_;
  // Cut what is no longer allowed; a peer whose grant is unchanged keeps its connection.
  for (const auto& peer : std::vector<std::shared_ptr<Peer>>(peers_)) {
    const auto& id = peer->conn->identity();
    if (!id) continue;
    std::string why;
    if (revoked_.count(id->serial)) {
      why = "certificate of '" + id->name + "' revoked";
    } else if (peer->grant) {
      const Grant* now = access_.find(id->name);
      if (!now) {
        why = "identity '" + id->name + "' removed from the access file";
      } else if (!(*now == *peer->grant)) {
        why = "identity '" + id->name + "' changed role or tenant in the access file";
      }
    }
    if (why.empty()) continue;
    std::fprintf(stderr, "fulcrum scheduler: closed %s: %s\n", peer->conn->peer().c_str(), why.c_str());
    peer->conn->close("access revoked: " + why);
  }
  std::fprintf(stderr, "fulcrum scheduler: reloaded %s%s\n", options_.access_file.c_str(),
               options_.tls.crl.empty() ? "" : (" and " + options_.tls.crl).c_str());
  return true;
}

void SchedulerDaemon::audit(const Peer& peer, Action action, const std::string& target, bool accepted,
                            const std::string& reason) {
  if (!audit_) return;
  AuditEntry e;
  e.time = now();
  e.who = peer.who;
  if (peer.grant) {
    e.role = std::string(access_role_name(peer.grant->role));
    e.tenant = peer.grant->tenant;
  } else if (const auto role = peer.conn->peer_role()) {
    e.role = std::string(role_name(*role));  // proven by the shared secret, nothing more
  }
  e.peer = peer.conn->peer();
  e.action = std::string(action_name(action));
  e.target = target;
  e.accepted = accepted;
  e.reason = reason;
  audit_->append(e);
}

void SchedulerDaemon::refuse(const std::shared_ptr<Peer>& peer, std::optional<Action> action, const std::string& target,
                             const std::string& why, bool close) {
  ++refused_requests_;
  std::fprintf(stderr, "fulcrum scheduler: refused %s%s%s: %s\n", peer->conn->peer().c_str(),
               peer->who.empty() ? "" : " ", peer->who.c_str(), why.c_str());
  if (action && changes_state(*action)) audit(*peer, *action, target, false, why);
  // Answered after the commit that makes the audit entry durable.
  enqueue([peer, why, close] {
    peer->conn->send(ErrorReply{why});
    if (close) peer->conn->close_when_sent("refused: " + why);
  });
}

bool SchedulerDaemon::authorize(const std::shared_ptr<Peer>& peer, const Message& m) {
  if (!tls_context_) return true;
  const std::optional<Action> action = action_of(m);
  std::string target;
  if (const auto* r = std::get_if<Register>(&m)) target = r->worker.name;
  if (const auto* c = std::get_if<CancelRequest>(&m)) target = "task " + std::to_string(c->task);
  const auto& id = peer->conn->identity();
  if (!id) {
    refuse(peer, action, target,
           "this scheduler requires a client certificate: pass --cert FILE (made by `fulcrum certs issue DIR NAME "
           "--role ROLE`, with its key and the CA beside it; docs/real/security.md)",
           true);
    return false;
  }
  peer->who = id->name;
  if (!peer->grant) {
    const Grant* grant = access_.find(id->name);
    if (!grant || revoked_.count(id->serial)) {
      refuse(peer, action, target,
             grant ? "the certificate of '" + id->name + "' is revoked"
                   : "identity '" + id->name + "' is not in the access file (" + options_.access_file + ")",
             true);
      return false;
    }
    peer->grant = *grant;
  }
  if (!action || role_allows(peer->grant->role, *action)) return true;
  refuse(peer, action, target,
         "permission denied: '" + id->name + "' (" + std::string(access_role_name(peer->grant->role)) + ") may not " +
             std::string(action_name(*action)),
         /*close=*/*action == Action::kRegister);
  return false;
}

std::string SchedulerDaemon::tenant_refusal(const Peer& peer, std::uint64_t task, const char* verb) const {
  if (!peer.grant || peer.grant->role != AccessRole::kSubmitter) return "";
  const auto& table = core_->table();
  const JobId job = task < table.tasks.size() ? table.tasks[task].job : 0;
  const std::string& tenant = job < job_tenants_.size() ? job_tenants_[job] : std::string();
  if (tenant == peer.grant->tenant) return "";
  // The same words as for a task that does not exist would hide nothing (ids are
  // sequential); saying why helps the user who typed the wrong id.
  return "permission denied: '" + peer.who + "' (tenant " + peer.grant->tenant + ") may not " + verb + " task " +
         std::to_string(task) + ": it belongs to another tenant";
}

}  // namespace fulcrum::real
