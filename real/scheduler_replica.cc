// The ZooKeeper half of the scheduler daemon (docs/real/ha-zookeeper.md): a replica joins
// the election under ROOT/election, follows the journal as a standby, and leads when its
// node is first in line.
//
// Contract: a deposed leader neither writes nor dispatches. Writes are fenced on
// ROOT/epoch's version (ZkJournal::set_fence), and commands go out only under a lease of
// 2/3 of the session timeout, renewed by every answered request (lease_ok()). Anything
// that leaves the replica unsure of its place fences it: it stops, and its owner
// (`fulcrum scheduler`) starts a fresh daemon that rejoins as a standby. A standby's
// transient ZooKeeper errors are retried for up to a session timeout first, so that a
// server's restart does not leave nobody to elect.
#include "real/scheduler_daemon.h"

#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace fulcrum::real {
namespace {

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Expected<bool> SchedulerDaemon::start_replica() {
  if (auto ok = check_zk_root(options_.zk_root); !ok) return ok;
  if (!(options_.zk_session_timeout > 0)) return Error{"--zk-session-timeout: must be positive"};
  // Bound now, so that the election node names where this replica will listen; it serves
  // only once it leads (ROOT/leader is what workers and clients read) and turns peers
  // away until then.
  if (auto b = bind(); !b) return b;
  accept();
  start_may_succeed_later_ = true;  // from here on, only ZooKeeper can fail us
  auto lost = session_lost_;
  auto zk = ZkClient::connect(options_.zk_hosts, options_.zk_session_timeout, 10, [this, lost](const ZkEvent& e) {
    // On the client's thread: the flag stops dispatching even before the loop sees it.
    if (e.session_lost()) lost->store(true);
    asio::post(io_, [this, e] { on_zk_event(e); });
  });
  if (!zk) return Error{zk.error()};
  zk_ = std::move(*zk);
  const std::string& root = options_.zk_root;
  if (auto ok = zk_prepare_root(*zk_, root); !ok) return ok;
  follower_ = std::make_unique<ZkJournal>(*zk_, root, options_.zk_snapshot_every);
  if (auto n = follower_->catch_up(true); !n) return Error{n.error()};
  // A create whose answer is lost fails start(); the node it may have made goes with this
  // session when the daemon is destroyed, before a fresh one tries again.
  auto node = zk_->create(root + "/election/n-", advertised_address(), ZOO_EPHEMERAL_SEQUENTIAL);
  if (!node) return Error{node.error()};
  election_node_ = node->substr(node->rfind('/') + 1);
  log("replica " + election_node_ + " at " + advertised_address() + ", ZooKeeper session timeout " +
      std::to_string(zk_->negotiated_timeout()) + " s; followed " + std::to_string(follower_->followed_records()) +
      " records");
  start_may_succeed_later_ = false;
  lease_timer_ = std::make_unique<asio::steady_timer>(io_);
  retry_timer_ = std::make_unique<asio::steady_timer>(io_);
  arm_lease_timer();
  check_election();
  return true;
}

bool SchedulerDaemon::lease_ok() const { return !session_lost_->load() && steady_ns() < lease_until_->load(); }

void SchedulerDaemon::arm_lease_timer() {
  if (stopping_ || !zk_) return;
  if (leading_ && !lease_ok()) {
    fence(session_lost_->load() ? "ZooKeeper session expired"
                                : "ZooKeeper session not confirmed within 2/3 of its timeout");
    return;
  }
  // A request answered proves the session alive until at least its send + the timeout
  // (the server heard us after that); we claim 2/3 of it, renewed 5 times a timeout.
  const double timeout = zk_->negotiated_timeout();
  const std::int64_t sent = steady_ns();
  auto lease = lease_until_;
  const auto until = sent + static_cast<std::int64_t>(timeout * 2.0 / 3.0 * 1e9);
  zk_->ping(options_.zk_root + "/epoch", [lease, until](bool ok) {
    if (!ok) return;
    std::int64_t cur = lease->load();
    while (cur < until && !lease->compare_exchange_weak(cur, until)) {
    }
  });
  lease_timer_->expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(timeout / 5)));
  lease_timer_->async_wait([this](asio::error_code ec) {
    if (!ec) arm_lease_timer();
  });
}

void SchedulerDaemon::fence(const std::string& reason) {
  if (stopping_) return;
  fatal_ = reason;
  std::fprintf(stderr, "fulcrum scheduler: %s in epoch %llu: %s; stopping\n", leading_ ? "leader fenced" : "standby stopping",
               static_cast<unsigned long long>(epoch_), reason.c_str());
  if (core_) write_event(now(), "fenced", "", reason, true);
  stop();
  // The loop ends here; `fulcrum scheduler` then starts a fresh daemon, which rejoins as a
  // standby (or, with --exit-on-fence, exits with status 3 for a supervisor).
  io_.stop();
}

void SchedulerDaemon::on_zk_event(const ZkEvent& e) {
  if (stopping_) return;
  if (e.session_lost()) {
    fence("ZooKeeper session expired");
    return;
  }
  if (e.is_session()) {
    log("ZooKeeper session state " + std::to_string(e.state));
    return;
  }
  if (leading_) return;
  const std::string& root = options_.zk_root;
  if (e.path == root + "/journal") {
    // A standby stays warm: it reads each batch as the leader writes it.
    if (auto n = follower_->catch_up(true); !n) standby_trouble("following the journal: " + n.error());
  } else if (e.path.rfind(root + "/election/", 0) == 0) {
    check_election();
  }
}

void SchedulerDaemon::check_election() {
  if (leading_ || stopping_) return;
  const std::string dir = options_.zk_root + "/election";
  auto names = zk_->children(dir);
  if (!names) {
    standby_trouble("election: " + names.error());
    return;
  }
  // Same prefix, zero-padded sequence numbers: name order is creation order.
  std::sort(names->begin(), names->end());
  auto me = std::find(names->begin(), names->end(), election_node_);
  if (me == names->end()) {
    fence("election: our node " + election_node_ + " is gone (session lost)");
    return;
  }
  if (me == names->begin()) {
    become_leader();
    return;
  }
  // Watch only the predecessor: one replica wakes when a node goes, not all of them.
  const std::string predecessor = dir + "/" + *std::prev(me);
  auto there = zk_->exists(predecessor, true);
  if (!there) {
    standby_trouble("election: " + there.error());
  } else if (!*there) {
    asio::post(io_, [this] { check_election(); });  // gone between the two reads
  } else {
    trouble_since_ = 0;
    log("standby behind " + predecessor);
  }
}

void SchedulerDaemon::standby_trouble(const std::string& what) {
  if (stopping_ || leading_) return;
  const std::int64_t now_ns = steady_ns();
  if (trouble_since_ == 0) trouble_since_ = now_ns;
  if (session_lost_->load() || now_ns - trouble_since_ > static_cast<std::int64_t>(zk_->negotiated_timeout() * 1e9)) {
    fence(what);
    return;
  }
  log("standby: " + what + "; trying again");
  retry_timer_->expires_after(std::chrono::milliseconds(200));
  retry_timer_->async_wait([this](asio::error_code ec) {
    if (!ec) resync();
  });
}

void SchedulerDaemon::resync() {
  if (stopping_ || leading_) return;
  if (auto n = follower_->catch_up(true); !n) {
    standby_trouble("following the journal: " + n.error());
    return;
  }
  check_election();
}

void SchedulerDaemon::become_leader() {
  const std::string& root = options_.zk_root;
  const std::int64_t sent = steady_ns();
  auto epoch = zk_take_epoch(*zk_, root);
  if (!epoch) {
    // Not leading yet, nothing sent: an epoch taken whose answer was lost only makes the
    // next one higher.
    standby_trouble("taking the epoch: " + epoch.error());
    return;
  }
  trouble_since_ = 0;
  lease_until_->store(sent + static_cast<std::int64_t>(zk_->negotiated_timeout() * 2.0 / 3.0 * 1e9));
  // Every write the server answers renews the lease too, so that a long snapshot (many
  // writes in a row on this thread, no ping) does not let it lapse.
  zk_->set_on_answered([lease = lease_until_, window = static_cast<std::int64_t>(zk_->negotiated_timeout() * 2.0 / 3.0 * 1e9)](
                           std::int64_t sent_ns) {
    const std::int64_t until = sent_ns + window;
    std::int64_t cur = lease->load();
    while (cur < until && !lease->compare_exchange_weak(cur, until)) {
    }
  });
  epoch_ = epoch->epoch;
  follower_->set_fence(epoch->version);
  // From here on no older leader can write: replay() reads the journal's final tail.
  zk_journal_ = follower_.get();
  journal_ = std::move(follower_);
  leading_ = true;
  if (auto served = serve(); !served) {
    fence("starting to lead: " + served.error());
    return;
  }
  const std::string data = advertised_address() + " " + std::to_string(epoch_);
  int rc = 0;
  auto published = zk_->fenced_multi(root + "/epoch", epoch->version, {{root + "/leader", data, ZOO_EPHEMERAL}}, &rc);
  if (!published && rc == zk_node_exists()) {
    // A deposed leader's node that has not gone yet: replace it, still fenced.
    published = zk_->fenced_multi(root + "/epoch", epoch->version,
                                  {{root + "/leader", "", 0, ZkClient::Op::Kind::kRemove}, {root + "/leader", data, ZOO_EPHEMERAL}}, &rc);
  }
  if (!published) {
    fence("publishing " + root + "/leader: " + published.error());
    return;
  }
  std::fprintf(stderr, "fulcrum scheduler: leading %s as epoch %llu at %s\n", root.c_str(),
               static_cast<unsigned long long>(epoch_), advertised_address().c_str());
}

}  // namespace fulcrum::real
