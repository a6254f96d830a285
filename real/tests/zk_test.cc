// High availability with ZooKeeper (docs/real/ha-zookeeper.md): the ZK
// journal and its fence, and failovers of scheduler replicas run as real processes
// (the fulcrum binary) against a ZooKeeper server started by real/tests/zk_fixture.h.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "real/client.h"
#include "real/tests/zk_fixture.h"
#include "real/zk.h"
#include "real/zk_journal.h"

namespace fulcrum::real {
namespace {

using namespace std::chrono_literals;
using testing::kill_and_reap;
using testing::spawn_logged;
using testing::ZkServer;

double wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

JournalRecord job(std::uint64_t id, const std::string& command) {
  return JobAccepted{id, 1.0 * id, {{command_task(command)}}};
}

TEST(ZkJournal, RoundTripBatchesAndFenceADeposedLeader) {
  ZkServer zk;
  auto a = ZkClient::connect(zk.hosts(), 5, 10);
  ASSERT_TRUE(a.ok()) << a.error();
  auto b = ZkClient::connect(zk.hosts(), 5, 10);
  ASSERT_TRUE(b.ok()) << b.error();
  const std::string root = "/t";
  ASSERT_TRUE(zk_prepare_root(**a, root).ok());

  auto ea = zk_take_epoch(**a, root);
  ASSERT_TRUE(ea.ok()) << ea.error();
  EXPECT_EQ(ea->epoch, 1u);
  ZkJournal ja(**a, root);
  ASSERT_TRUE(ja.replay([](const JournalRecord&) {}).ok());
  ja.set_fence(ea->version);
  ja.append(job(0, "echo a"));
  // Three records of 300 KB: more than one batch (each < 512 KB).
  for (int i = 1; i <= 3; ++i) ja.append(job(i, std::string(300 << 10, 'x')));
  auto c = ja.commit();
  ASSERT_TRUE(c.ok()) << c.error();
  auto batches = (*a)->children(root + "/journal");
  ASSERT_TRUE(batches.ok());
  EXPECT_GE(batches->size(), 2u);

  // A newer leader takes the epoch: the old one's next write fails whole.
  auto eb = zk_take_epoch(**b, root);
  ASSERT_TRUE(eb.ok());
  EXPECT_EQ(eb->epoch, 2u);
  ja.append(job(4, "echo from the deposed leader"));
  auto stale = ja.commit();
  ASSERT_FALSE(stale.ok());
  EXPECT_NE(stale.error().find("fenced"), std::string::npos) << stale.error();
  EXPECT_FALSE(ja.commit().ok()) << "a fenced journal stays broken";

  ZkJournal jb(**b, root);
  jb.set_fence(eb->version);
  std::vector<JournalRecord> seen;
  ASSERT_TRUE(jb.replay([&](const JournalRecord& r) { seen.push_back(r); }).ok());
  ASSERT_EQ(seen.size(), 4u);
  for (std::uint64_t i = 0; i < 4; ++i) EXPECT_EQ(std::get<JobAccepted>(seen[i]).job, i);
  jb.append(job(4, "echo b"));
  ASSERT_TRUE(jb.commit().ok());

  // A follower reads everything in order, the deposed leader's write absent.
  ZkJournal follower(**a, root);
  ASSERT_TRUE(follower.catch_up(false).ok());
  EXPECT_EQ(follower.followed_records(), 5u);
}

std::vector<std::uint64_t> job_ids(ZkJournal& j) {
  std::vector<std::uint64_t> ids;
  auto r = j.replay([&](const JournalRecord& rec) { ids.push_back(std::get<JobAccepted>(rec).job); });
  if (!r) throw std::runtime_error(r.error());
  return ids;
}

TEST(ZkJournal, SnapshotsCompactTheJournalAndEveryReaderSeesEachRecordOnce) {
  ZkServer zk;
  auto a = ZkClient::connect(zk.hosts(), 5, 10);
  ASSERT_TRUE(a.ok()) << a.error();
  auto b = ZkClient::connect(zk.hosts(), 5, 10);
  ASSERT_TRUE(b.ok()) << b.error();
  const std::string root = "/s";
  ASSERT_TRUE(zk_prepare_root(**a, root).ok());
  // The garbage a leader that died mid-snapshot leaves: the next snapshot removes it.
  ASSERT_TRUE((*a)->ensure(root + "/snapshots/0000009999/c-000000", "half").ok());

  auto epoch = zk_take_epoch(**a, root);
  ASSERT_TRUE(epoch.ok());
  ZkJournal leader(**a, root, /*snapshot_every=*/5);
  ASSERT_TRUE(leader.replay([](const JournalRecord&) {}).ok());
  leader.set_fence(epoch->version);
  ZkJournal steady(**b, root, 0);  // follows every third batch
  ZkJournal early(**b, root, 0);   // read two batches, then nothing until the end
  std::vector<std::uint64_t> expected;
  for (std::uint64_t i = 0; i < 25; ++i) {
    leader.append(job(i, "echo " + std::to_string(i)));
    ASSERT_TRUE(leader.commit().ok());
    expected.push_back(i);
    if (i % 3 == 0) {
      ASSERT_TRUE(steady.catch_up(false).ok());
    }
    if (i == 1) {
      ASSERT_TRUE(early.catch_up(false).ok());
    }
  }
  // After batches 5, 10 and 15, then 23: at least 5 batches apart, and only once the
  // history has grown by half since the last snapshot (23 - 15 = 8 >= 15 / 2).
  EXPECT_EQ(leader.snapshots_written(), 4u);
  auto batches = (*a)->children(root + "/journal");
  ASSERT_TRUE(batches.ok());
  EXPECT_EQ(batches->size(), 2u) << "the batches a snapshot covers are deleted";
  auto snapshots = (*a)->children(root + "/snapshots");
  ASSERT_TRUE(snapshots.ok());
  EXPECT_EQ(snapshots->size(), 1u) << "older snapshots and leftovers are deleted";

  EXPECT_EQ(job_ids(steady), expected);
  EXPECT_EQ(job_ids(early), expected);
  ZkJournal fresh(**b, root, 0);
  EXPECT_EQ(job_ids(fresh), expected);
  EXPECT_EQ(fresh.snapshots_read(), 1u);
  EXPECT_EQ(fresh.batches_read(), 2u) << "a new reader reads the snapshot and the batches after it only";

  // A new leader on a compacted journal goes on from it; so does the next reader.
  auto next = zk_take_epoch(**b, root);
  ASSERT_TRUE(next.ok());
  fresh.set_fence(next->version);
  fresh.append(job(25, "echo 25"));
  ASSERT_TRUE(fresh.commit().ok());
  expected.push_back(25);
  ZkJournal last(**a, root, 0);
  EXPECT_EQ(job_ids(last), expected);
}

// A compaction lands between a reader's read of the snapshot pointer and its listing of
// the batches, half done: the pointer moved and some of the batches it covers are gone,
// others not yet. The reader must not keep the batches it then sees, or it would have a
// hole where the deleted ones were; it reads again, from the new snapshot.
TEST(ZkJournal, AReaderOverlappingAHalfDoneCompactionMissesNothing) {
  ZkServer zk;
  auto a = ZkClient::connect(zk.hosts(), 5, 10);
  ASSERT_TRUE(a.ok()) << a.error();
  auto b = ZkClient::connect(zk.hosts(), 5, 10);
  ASSERT_TRUE(b.ok()) << b.error();
  const std::string root = "/race";
  ASSERT_TRUE(zk_prepare_root(**a, root).ok());
  auto epoch = zk_take_epoch(**a, root);
  ASSERT_TRUE(epoch.ok());
  ZkJournal leader(**a, root, 0);
  ASSERT_TRUE(leader.replay([](const JournalRecord&) {}).ok());
  leader.set_fence(epoch->version);
  std::string history;  // what a snapshot of batches 0..6 holds
  auto commit_job = [&](std::uint64_t i) {
    const JournalRecord r = job(i, "echo " + std::to_string(i));
    encode_record(r, history);
    leader.append(r);
    ASSERT_TRUE(leader.commit().ok());
  };
  commit_job(0);
  commit_job(1);
  ZkJournal reader(**b, root, 0);
  ASSERT_TRUE(reader.catch_up(false).ok());
  ASSERT_EQ(reader.followed_records(), 2u);
  for (std::uint64_t i = 2; i <= 6; ++i) commit_job(i);
  reader.set_before_listing([&, once = true]() mutable {
    if (!once) return;
    once = false;
    using Kind = ZkClient::Op::Kind;
    auto ok = (*a)->fenced_multi(root + "/epoch", epoch->version,
                                 {{root + "/snapshots/0000000006-x", "", 0, Kind::kCreate},
                                  {root + "/snapshots/0000000006-x/c-000000", history, 0, Kind::kCreate},
                                  {root + "/snapshot", "6 1 0000000006-x", 0, Kind::kSet},
                                  {root + "/journal/b-0000000002", "", 0, Kind::kRemove},
                                  {root + "/journal/b-0000000003", "", 0, Kind::kRemove}});
    ASSERT_TRUE(ok.ok()) << ok.error();
  });
  ASSERT_TRUE(reader.catch_up(false).ok());
  EXPECT_EQ(job_ids(reader), (std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(reader.snapshots_read(), 1u);

  // A new leader's commit with nothing in it writes no snapshot (it would only re-snapshot
  // the position the last one covers).
  ZkJournal next(**b, root, 1);
  ASSERT_EQ(job_ids(next).size(), 7u);
  auto second = zk_take_epoch(**b, root);
  ASSERT_TRUE(second.ok());
  next.set_fence(second->version);
  ASSERT_TRUE(next.commit().ok());
  EXPECT_EQ(next.snapshots_written(), 0u);
  // That commit finished the compaction the last leader left half done: the batches the
  // snapshot covers (0, 1, 4, 5, 6) are gone.
  auto left = (*b)->children(root + "/journal");
  ASSERT_TRUE(left.ok()) << left.error();
  EXPECT_EQ(*left, std::vector<std::string>{}) << "covered batches left behind";
  // Then one is due once the history has grown by half since the snapshot it read (7
  // records): after the 4th one-record batch, not before.
  for (std::uint64_t i = 7; i <= 10; ++i) {
    EXPECT_EQ(next.snapshots_written(), 0u) << "before batch " << i;
    next.append(job(i, "echo " + std::to_string(i)));
    ASSERT_TRUE(next.commit().ok());
  }
  EXPECT_EQ(next.snapshots_written(), 1u);
}

// Replicas, workers and a client on one ZooKeeper; every process is stopped at the end.
class Ha {
 public:
  explicit Ha(const std::string& hosts) : hosts_(hosts) {
    char pattern[] = "/tmp/fulcrum-ha-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    auto zk = ZkClient::connect(hosts_, 5, 10);
    if (!zk) throw std::runtime_error(zk.error());
    zk_ = std::move(*zk);
  }
  ~Ha() {
    for (auto& [name, pid] : pids_) kill_and_reap(pid);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void start_replica(const std::string& name, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{FULCRUM_BINARY, "scheduler", "--zk", hosts_, "--zk-root", root_, "--zk-session-timeout",
                                  "2", "--grace", "0.5", "--listen", "127.0.0.1:0", "--journal", dir_ + "/" + name,
                                  "--verbose"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    pids_[name] = spawn_logged(argv, dir_ + "/" + name + ".log");
  }
  void start_worker(const std::string& name, int slots) {
    pids_[name] = spawn_logged({FULCRUM_BINARY, "worker", "--zk", hosts_, "--zk-root", root_, "--name", name, "--slots",
                                std::to_string(slots), "--heartbeat", "0.2", "--verbose"},
                               dir_ + "/" + name + ".log");
  }
  pid_t pid(const std::string& name) const { return pids_.at(name); }
  void forget(const std::string& name) { pids_.erase(name); }
  const std::string& dir() const { return dir_; }
  // The leader record once one with an epoch above `above` is published.
  LeaderInfo wait_leader(std::uint64_t above, double timeout = 15) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
    for (;;) {
      if (auto node = zk_->get(root_ + "/leader"); node) {
        if (auto l = parse_leader(node->data); l && l->epoch > above) return *l;
      }
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("no leader above epoch " + std::to_string(above));
      std::this_thread::sleep_for(2ms);
    }
  }
  std::size_t replicas() { return children("/election"); }
  std::size_t children(const std::string& under_root) { return names(under_root).size(); }
  std::vector<std::string> names(const std::string& under_root) {
    auto c = zk_->children(root_ + under_root);
    return c ? *c : std::vector<std::string>{};
  }
  std::string data(const std::string& under_root) {
    auto node = zk_->get(root_ + under_root);
    return node ? node->data : "";
  }
  std::unique_ptr<Client> client(const LeaderInfo& l) {
    auto c = Client::connect(l.address);
    if (!c) throw std::runtime_error(c.error());
    return std::move(*c);
  }
  // Task ids of the job.
  std::vector<std::uint64_t> submit(const LeaderInfo& l, int n, const std::string& command) {
    std::vector<TaskSpec> tasks(n, command_task(command));
    auto reply = client(l)->call(Submit{{tasks}});
    if (!reply) throw std::runtime_error(reply.error());
    const auto& ok = std::get<Submitted>(*reply);
    std::vector<std::uint64_t> ids;
    for (std::uint32_t i = 0; i < ok.count; ++i) ids.push_back(ok.first_task + i);
    return ids;
  }
  std::size_t finished(const LeaderInfo& l) {
    auto reply = client(l)->call(RecordsRequest{});
    if (!reply) return 0;
    std::size_t n = 0;
    for (const auto& t : std::get<RecordsReply>(*reply).tasks) n += t.state == TaskState::kFinished;
    return n;
  }
  // TaskFinished records per task in the ZooKeeper journal.
  std::map<std::uint64_t, int> finished_records() {
    ZkJournal j(*zk_, root_);
    std::map<std::uint64_t, int> count;
    auto r = j.replay([&](const JournalRecord& rec) {
      if (auto* f = std::get_if<TaskFinished>(&rec)) ++count[f->task];
    });
    if (!r) throw std::runtime_error(r.error());
    return count;
  }
  // The time of the first `kind` event in a replica's events.csv (0: none).
  double event_time(const std::string& replica, const std::string& kind) {
    std::istringstream in(slurp(dir_ + "/" + replica + "/events.csv"));
    for (std::string line; std::getline(in, line);) {
      const auto comma = line.find(',');
      if (comma != std::string::npos && line.compare(comma + 1, kind.size() + 1, kind + ",") == 0) {
        return std::stod(line.substr(0, comma));
      }
    }
    return 0;
  }

 private:
  std::string hosts_, root_ = "/ha", dir_;
  std::unique_ptr<ZkClient> zk_;
  std::map<std::string, pid_t> pids_;
};

// Waits up to `timeout` for pid to exit; its wait status, or -1.
int wait_exit(pid_t pid, double timeout) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(5ms);
  }
}

template <class F>
bool eventually(F f, double timeout) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
  while (!f()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// Replicas A (the first leader, returned) and B standing by, and workers w1 and w2 with
// two slots each. Throws when the second replica does not join the election.
LeaderInfo start_two_replicas_and_workers(Ha& ha, const std::vector<std::string>& replica_args = {}) {
  ha.start_replica("a", replica_args);
  const LeaderInfo first = ha.wait_leader(0);
  ha.start_replica("b", replica_args);
  if (!eventually([&] { return ha.replicas() == 2; }, 10)) throw std::runtime_error("replica b did not join");
  ha.start_worker("w1", 2);
  ha.start_worker("w2", 2);
  return first;
}

// A job whose journal record ZooKeeper cannot hold is refused with the reason, and the
// leader serves on. (It used to fail the commit and fence the leader; the client's
// retries then fenced every leader after it.)
TEST(ZkFailover, AJobTooLargeForTheJournalIsRefusedAndTheLeaderServesOn) {
  ZkServer zk;
  Ha ha(zk.hosts());
  ha.start_replica("a");
  const LeaderInfo leader = ha.wait_leader(0);
  ha.start_worker("w1", 1);
  const std::vector<TaskSpec> big{command_task("true " + std::string(kZkMaxRecordBytes, 'x'))};
  auto c = ha.client(leader);
  auto reply = c->call(Submit{{big}, ""});
  ASSERT_FALSE(reply.ok());
  EXPECT_TRUE(c->refused());
  EXPECT_NE(reply.error().find("above the journal's limit"), std::string::npos) << reply.error();
  const auto ids = ha.submit(leader, 2, "true");
  ASSERT_TRUE(eventually([&] { return ha.finished(leader) == ids.size(); }, 15)) << slurp(ha.dir() + "/a.log");
  EXPECT_EQ(ha.wait_leader(0).epoch, leader.epoch);
  EXPECT_EQ(wait_exit(ha.pid("a"), 0), -1) << "replica a exited";
}

TEST(ZkFailover, LeaderKilledMidDispatchLosesNoTask) {
  ZkServer zk;
  Ha ha(zk.hosts());
  const LeaderInfo first = start_two_replicas_and_workers(ha);
  const auto ids = ha.submit(first, 24, "sleep 0.25");
  ASSERT_TRUE(eventually([&] { return ha.finished(first) >= 6; }, 15));

  const double killed = wall_now();
  kill_and_reap(ha.pid("a"));
  ha.forget("a");
  const LeaderInfo second = ha.wait_leader(first.epoch);
  const double elected = wall_now();
  ASSERT_TRUE(eventually([&] { return ha.finished(second) == ids.size(); }, 20)) << slurp(ha.dir() + "/b.log");

  for (const auto& [task, n] : ha.finished_records()) EXPECT_EQ(n, 1) << "task " << task;
  EXPECT_EQ(ha.finished_records().size(), ids.size());
  const double dispatched = ha.event_time("b", "first_dispatch");
  ASSERT_GT(dispatched, 0);
  // The session (2 s) expires at most a server tick (0.25 s) after it ran out.
  const double after_expiry = dispatched - (killed + 2.0);
  std::cout << "[ failover ] SIGKILL -> new leader published " << elected - killed << " s, -> first dispatch "
            << dispatched - killed << " s (" << after_expiry << " s after the 2 s session timeout)\n";
  RecordProperty("first_dispatch_after_session_expiry_s", std::to_string(after_expiry));
  EXPECT_LT(after_expiry, 2.0);
}

// On a 3-node ensemble, each server in turn is killed and restarted while a job runs: the
// replicas ride it out (their sessions move to another server, or a replica fenced by a
// lost session rejoins), snapshots and compaction run throughout, and no task is lost or
// completed twice.
TEST(ZkFailover, ZooKeeperServersKilledInTurnLoseNoTaskAndNoReplica) {
  testing::ZkEnsemble zk(3);
  Ha ha(zk.hosts());
  const LeaderInfo first = start_two_replicas_and_workers(ha, {"--zk-snapshot-every", "3"});
  const auto ids = ha.submit(first, 60, "sleep 0.2");
  for (int i = 0; i < 3; ++i) {
    zk.kill(i);
    std::this_thread::sleep_for(2500ms);
    zk.restart(i);
  }
  auto done = [&] {
    try {
      return ha.finished(ha.wait_leader(0, 5)) == ids.size();
    } catch (const std::exception&) {
      return false;
    }
  };
  ASSERT_TRUE(eventually(done, 40)) << slurp(ha.dir() + "/a.log") << slurp(ha.dir() + "/b.log");
  // A compaction cut short by a server's death (or its leader's deposition) is finished at
  // the leader's next commit: commit once more, with every server back.
  const LeaderInfo last = ha.wait_leader(0);
  const auto one_more = ha.submit(last, 1, "true");
  ASSERT_TRUE(eventually([&] { return ha.finished(last) == ids.size() + one_more.size(); }, 20));
  const auto records = ha.finished_records();
  EXPECT_EQ(records.size(), ids.size() + one_more.size());
  for (const auto& [task, n] : records) EXPECT_EQ(n, 1) << "task " << task;
  EXPECT_EQ(wait_exit(ha.pid("a"), 0), -1) << "replica a exited";
  EXPECT_EQ(wait_exit(ha.pid("b"), 0), -1) << "replica b exited";
  EXPECT_TRUE(eventually([&] { return ha.replicas() == 2; }, 10)) << "both replicas are in the election again";
  const std::string pointer = ha.data("/snapshot");
  ASSERT_NE(pointer, "") << "snapshots were written";
  const long long covered = std::stoll(pointer);
  for (const std::string& name : ha.names("/journal")) {
    EXPECT_GT(std::stoll(name.substr(2)), covered) << name << " is covered by the snapshot and was not deleted";
  }
  std::cout << "[ ensemble ] snapshot " << ha.data("/snapshot") << ", " << ha.children("/journal")
            << " batches after it, epoch " << ha.wait_leader(0).epoch << "\n";
}

TEST(ZkFailover, FrozenLeaderStopsBeforeTheNewLeaderDispatches) {
  ZkServer zk;
  Ha ha(zk.hosts());
  const LeaderInfo first = start_two_replicas_and_workers(ha);
  const auto ids = ha.submit(first, 30, "sleep 0.2");
  ASSERT_TRUE(eventually([&] { return ha.finished(first) >= 4; }, 15));

  // Frozen past its session timeout: ZooKeeper expires it and B takes over.
  const double frozen = wall_now();
  ASSERT_EQ(::kill(ha.pid("a"), SIGSTOP), 0);
  const LeaderInfo second = ha.wait_leader(first.epoch);
  ASSERT_TRUE(eventually([&] { return ha.event_time("b", "first_dispatch") > 0; }, 10));
  const double new_first_dispatch = ha.event_time("b", "first_dispatch");
  // Resumed, the old leader must notice it lost its session and stop without dispatching,
  // then rejoin, in the same process, as a standby behind the new leader.
  ASSERT_EQ(::kill(ha.pid("a"), SIGCONT), 0);
  ASSERT_TRUE(eventually([&] { return slurp(ha.dir() + "/a.log").find("rejoining as a standby") != std::string::npos; }, 5))
      << "the old leader kept running as a leader:\n" << slurp(ha.dir() + "/a.log");
  EXPECT_NE(slurp(ha.dir() + "/a.log").find("leader fenced"), std::string::npos);
  EXPECT_GT(ha.event_time("a", "fenced"), 0);
  ASSERT_TRUE(eventually([&] { return ha.replicas() == 2; }, 10)) << slurp(ha.dir() + "/a.log");
  EXPECT_EQ(wait_exit(ha.pid("a"), 0), -1) << "the old leader exited instead of rejoining";

  ASSERT_TRUE(eventually([&] { return ha.finished(second) == ids.size(); }, 20));
  for (const auto& [task, n] : ha.finished_records()) EXPECT_EQ(n, 1) << "task " << task;
  EXPECT_EQ(ha.finished_records().size(), ids.size());

  // On each worker: once a dispatch of the new epoch arrived, none of the old came (even
  // refused); and the old leader sent nothing after it was frozen.
  const std::regex line("(refused a )?dispatch of task (\\d+) (in|from older) epoch (\\d+)");
  for (const char* w : {"w1", "w2"}) {
    std::istringstream in(slurp(ha.dir() + "/" + w + ".log"));
    bool new_seen = false;
    for (std::string l; std::getline(in, l);) {
      std::smatch m;
      if (!std::regex_search(l, m, line)) continue;
      const std::uint64_t epoch = std::stoull(m[4]);
      if (epoch == second.epoch) new_seen = true;
      EXPECT_FALSE(new_seen && epoch < second.epoch) << w << ": " << l;
      EXPECT_FALSE(m[1].matched) << w << ": the old leader sent a dispatch after it was deposed: " << l;
    }
  }
  std::cout << "[ failover ] SIGSTOP -> new leader's first dispatch " << new_first_dispatch - frozen << " s\n";

  // The rejoined replica is a real standby: it takes over from B.
  kill_and_reap(ha.pid("b"));
  ha.forget("b");
  const LeaderInfo third = ha.wait_leader(second.epoch);
  const auto more = ha.submit(third, 4, "true");
  ASSERT_TRUE(eventually([&] { return ha.finished(third) == ids.size() + more.size(); }, 20)) << slurp(ha.dir() + "/a.log");
}

}  // namespace
}  // namespace fulcrum::real
