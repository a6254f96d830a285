// Real mode end to end on loopback: the fulcrum binary's scheduler and worker daemons,
// driven by the blocking Client. Ports are picked by the kernel; every process started is
// stopped (SIGKILL at the end of each test, then reaped).
#include <gtest/gtest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <poll.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <set>
#include <optional>
#include <stdexcept>
#include <thread>

#include "real/client.h"
#include "real/journal.h"
#include "real/tests/loopback.h"

extern char** environ;

namespace fulcrum::real {
namespace {

using namespace std::chrono_literals;

class Cluster {
 public:
  Cluster() {
    binary_ = FULCRUM_BINARY;
    char pattern[] = "/tmp/fulcrum-test-XXXXXX";
    dir_ = ::mkdtemp(pattern);
  }
  ~Cluster() {
    for (auto& [name, pid] : pids_) kill_and_reap(pid);
    std::filesystem::remove_all(dir_);
  }

  // Starts the scheduler; `port` 0 picks a free one. Returns "127.0.0.1:PORT".
  std::string start_scheduler(int port = 0, const std::vector<std::string>& extra = {}) {
    const std::string port_file = dir_ + "/port";
    std::filesystem::remove(port_file);
    std::vector<std::string> args{binary_, "scheduler", "--listen", "127.0.0.1:" + std::to_string(port),
                                  "--journal", dir_ + "/journal", "--port-file", port_file, "--grace", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    pids_["scheduler"] = spawn(args);
    std::string text;
    for (auto deadline = std::chrono::steady_clock::now() + 10s; text.empty();) {
      if (std::ifstream in(port_file); in) in >> text;
      if (std::chrono::steady_clock::now() > deadline) {
        // Nothing after this can work; unwinding stops every process started so far.
        throw std::runtime_error("the scheduler did not start");
      }
      std::this_thread::sleep_for(5ms);
    }
    endpoint_ = "127.0.0.1:" + text;
    return endpoint_;
  }
  void start_worker(const std::string& name, int slots = 1) { start_worker_at(endpoint_, name, slots); }
  void start_worker_at(const std::string& scheduler, const std::string& name, int slots = 1) {
    pids_[name] = spawn({binary_, "worker", "--scheduler", scheduler, "--name", name, "--slots", std::to_string(slots)});
  }
  void kill(const std::string& name) {
    kill_and_reap(pids_.at(name));
    pids_.erase(name);
  }
  std::unique_ptr<Client> client() {
    auto c = Client::connect(endpoint_);
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error());
    return c.ok() ? std::move(*c) : nullptr;
  }
  void wait_for_workers(std::size_t n) {
    auto c = client();
    for (auto deadline = std::chrono::steady_clock::now() + 10s;;) {
      auto r = c->call(RecordsRequest{});
      ASSERT_TRUE(r.ok()) << r.error();
      if (std::get<RecordsReply>(*r).workers.size() >= n) return;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "workers did not register";
      std::this_thread::sleep_for(10ms);
    }
  }
  const std::string& dir() const { return dir_; }
  int port() const { return std::stoi(endpoint_.substr(endpoint_.rfind(':') + 1)); }

 private:
  pid_t spawn(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    EXPECT_EQ(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0) << args[0];
    return pid;
  }
  static void kill_and_reap(pid_t pid) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  std::string binary_, dir_, endpoint_;
  std::map<std::string, pid_t> pids_;
};

TaskSpec shell(const std::string& command) { return command_task(command); }

std::uint64_t submit(Client& c, const std::vector<TaskSpec>& tasks) {
  auto r = c.call(Submit{{tasks}});
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
  return r.ok() ? std::get<Submitted>(*r).first_task : ~0ull;
}

TaskStatus wait(Client& c, std::uint64_t task) {
  auto r = c.call(StatusRequest{task, true}, 60);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
  return r.ok() ? std::get<TaskStatus>(*r) : TaskStatus{};
}

TEST(RealMode, SubmitAndCompleteOnSeveralWorkers) {
  Cluster cluster;
  cluster.start_scheduler();
  for (int i = 0; i < 3; ++i) cluster.start_worker("w" + std::to_string(i), 2);
  cluster.wait_for_workers(3);
  auto c = cluster.client();
  std::vector<TaskSpec> tasks;
  for (int i = 0; i < 30; ++i) tasks.push_back(shell("sleep 0.05; echo task-" + std::to_string(i)));
  tasks.push_back(shell("echo oops >&2; exit 7"));
  const std::uint64_t first = submit(*c, tasks);
  std::map<std::string, int> per_worker;
  for (int i = 0; i < 30; ++i) {
    const TaskStatus s = wait(*c, first + i);
    EXPECT_EQ(s.state, "finished");
    EXPECT_EQ(s.outcome.exit_code, 0);
    EXPECT_EQ(s.outcome.output, "task-" + std::to_string(i) + "\n");
    ++per_worker[s.worker];
  }
  EXPECT_EQ(per_worker.size(), 3u) << "least_connections spreads 30 tasks over 3 workers";
  const TaskStatus failed = wait(*c, first + 30);
  EXPECT_EQ(failed.state, "failed");
  EXPECT_EQ(failed.outcome.exit_code, 7);
  EXPECT_EQ(failed.outcome.output, "oops\n");
  EXPECT_EQ(failed.attempts, 3u);  // retried up to --max-attempts
}

TEST(RealMode, AWorkerKilledMidTaskLosesNothing) {
  Cluster cluster;
  cluster.start_scheduler();
  cluster.start_worker("a");
  cluster.start_worker("b");
  cluster.wait_for_workers(2);
  auto c = cluster.client();
  const std::uint64_t t = submit(*c, {shell("sleep 0.5; echo survived")});
  std::string runner;
  for (auto deadline = std::chrono::steady_clock::now() + 5s; runner.empty();) {
    auto r = c->call(StatusRequest{t, false});
    ASSERT_TRUE(r.ok());
    if (std::get<TaskStatus>(*r).state == "running") runner = std::get<TaskStatus>(*r).worker;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(10ms);
  }
  cluster.kill(runner);
  const TaskStatus s = wait(*c, t);
  EXPECT_EQ(s.state, "finished");
  EXPECT_NE(s.worker, runner);
  EXPECT_EQ(s.attempts, 2u);
  EXPECT_EQ(s.outcome.output, "survived\n");
}

TEST(RealMode, ASchedulerKilledAndRestartedOnItsJournalLosesNothingAndRecordsOnce) {
  Cluster cluster;
  cluster.start_scheduler();
  const int port = cluster.port();
  cluster.start_worker("a", 2);
  cluster.start_worker("b", 2);
  cluster.wait_for_workers(2);
  std::uint64_t first = 0;
  const int n = 24;
  {
    auto c = cluster.client();
    std::vector<TaskSpec> tasks;
    for (int i = 0; i < n; ++i) tasks.push_back(shell("sleep 0.1; echo " + std::to_string(i)));
    first = submit(*c, tasks);
    wait(*c, first + 2);  // some have finished, some run, some wait
  }
  cluster.kill("scheduler");
  cluster.start_scheduler(port);  // same journal, same port: the workers reconnect by themselves
  auto c = cluster.client();
  for (int i = 0; i < n; ++i) {
    const TaskStatus s = wait(*c, first + i);
    EXPECT_EQ(s.state, "finished") << i;
    EXPECT_EQ(s.outcome.output, std::to_string(i) + "\n") << i;
  }
  auto records = c->call(RecordsRequest{});
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(std::get<RecordsReply>(*records).tasks.size(), static_cast<std::size_t>(n));
  cluster.kill("scheduler");
  // Exactly one completion per task in the journal itself.
  auto journal = Journal::open(cluster.dir() + "/journal");
  ASSERT_TRUE(journal.ok()) << journal.error();
  std::map<std::uint64_t, int> finished;
  ASSERT_TRUE((*journal)->replay([&](const JournalRecord& r) {
    if (const auto* f = std::get_if<TaskFinished>(&r)) ++finished[f->task];
  }).ok());
  EXPECT_EQ(finished.size(), static_cast<std::size_t>(n));
  for (const auto& [task, count] : finished) EXPECT_EQ(count, 1) << "task " << task;
}

TEST(RealMode, ASubmissionRetriedUnderItsRequestIdMakesOneJobEvenAcrossARestart) {
  Cluster cluster;
  cluster.start_scheduler();
  const int port = cluster.port();
  auto submitted = [&](const Submit& request) {
    auto c = cluster.client();
    auto r = c->call(request);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
    return r.ok() ? std::get<Submitted>(*r) : Submitted{};
  };
  const Submit first_try{{{shell("true"), shell("true")}}, "retry-me"};
  const Submitted a = submitted(first_try);
  // The same request, again (a client that lost the reply), also in one batch with others.
  const Submitted b = submitted(first_try);
  EXPECT_EQ(b.job, a.job);
  EXPECT_EQ(b.first_task, a.first_task);
  EXPECT_EQ(b.count, 2u);
  const Submitted other = submitted(Submit{{{shell("true")}}, "another"});
  EXPECT_NE(other.job, a.job);
  EXPECT_EQ(other.first_task, a.first_task + 2);
  const Submitted unnamed = submitted(Submit{{{shell("true")}}, ""});
  const Submitted unnamed_again = submitted(Submit{{{shell("true")}}, ""});
  EXPECT_NE(unnamed.job, unnamed_again.job) << "without a request id every submission is a job";

  // A restarted scheduler knows the name from its journal.
  cluster.kill("scheduler");
  cluster.start_scheduler(port);
  const Submitted after = submitted(first_try);
  EXPECT_EQ(after.job, a.job);
  EXPECT_EQ(after.first_task, a.first_task);
  auto c = cluster.client();
  auto records = c->call(RecordsRequest{});
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(std::get<RecordsReply>(*records).tasks.size(), 5u);
  auto reused = c->call(Submit{{{shell("false"), shell("true")}}, "retry-me"});
  ASSERT_FALSE(reused.ok()) << "a request id names one job";
  EXPECT_NE(reused.error().find("different job"), std::string::npos) << reused.error();
  auto too_long = c->call(Submit{{{shell("true")}}, std::string(kMaxRequestId + 1, 'x')});
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.error().find("request id"), std::string::npos) << too_long.error();
  EXPECT_TRUE(c->refused());
}

// A scheduler played by the test over a raw socket: what a worker does with messages of an
// older epoch than the newest it has seen (a deposed leader's late messages).
class FakeScheduler {
 public:
  FakeScheduler() {
    listener_ = testing::listen_loopback(port_);
    if (listener_ < 0) throw std::runtime_error("cannot listen on 127.0.0.1");
  }
  ~FakeScheduler() {
    if (conn_ >= 0) ::close(conn_);
    ::close(listener_);
  }
  int port() const { return port_; }
  // Accepts the worker's next connection and reads its Register.
  void accept_worker() {
    if (conn_ >= 0) ::close(conn_);
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) throw std::runtime_error("the worker did not connect");
    conn_ = ::accept(listener_, nullptr, nullptr);
    reader_ = FrameReader{};
    closed_ = false;
    auto first = receive(10);
    if (!first || !std::holds_alternative<Register>(*first)) throw std::runtime_error("expected Register");
  }
  void send(const Message& m) {
    std::string frame;
    encode_frame(m, frame);
    ASSERT_EQ(::send(conn_, frame.data(), frame.size(), MSG_NOSIGNAL), static_cast<ssize_t>(frame.size()));
  }
  // The next message other than a Heartbeat; nullopt on timeout or when the worker closed.
  std::optional<Message> receive(double timeout) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
    for (;;) {
      auto next = reader_.next();
      if (!next.ok()) return std::nullopt;
      if (next->has_message) {
        if (std::holds_alternative<Heartbeat>(next->message)) continue;
        return std::move(next->message);
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{conn_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::recv(conn_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        closed_ = true;
        return std::nullopt;
      }
      reader_.feed(buffer, static_cast<std::size_t>(n));
    }
  }
  bool closed() const { return closed_; }  // the worker closed the current connection

 private:
  bool closed_ = false;
  int listener_ = -1, conn_ = -1, port_ = 0;
  FrameReader reader_;
};

TEST(RealMode, AWorkerRefusesMessagesOfAnOlderEpochThanItHasSeen) {
  Cluster cluster;
  FakeScheduler fake;
  const std::string dir = cluster.dir();
  cluster.start_worker_at("127.0.0.1:" + std::to_string(fake.port()), "w");
  fake.accept_worker();
  fake.send(Welcome{0, 5});
  // A deposed leader (epoch 4) still talking, then the current one (epoch 5).
  fake.send(Dispatch{4, 1, shell("touch " + dir + "/from-epoch-4")});
  fake.send(Retire{4});
  fake.send(Dispatch{5, 2, shell("touch " + dir + "/from-epoch-5")});
  std::vector<std::uint64_t> reported;
  while (auto m = fake.receive(10)) {
    if (const auto* done = std::get_if<TaskDone>(&*m)) {
      reported.push_back(done->task);
      if (done->task == 2) break;
    } else if (const auto* started = std::get_if<TaskStarted>(&*m)) {
      reported.push_back(started->task);
    }
  }
  EXPECT_EQ(reported, (std::vector<std::uint64_t>{2, 2})) << "only epoch 5's task started and finished";
  EXPECT_TRUE(std::filesystem::exists(dir + "/from-epoch-5"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/from-epoch-4")) << "the older epoch's task ran";

  // The worker reconnects; a Welcome of an older epoch makes it close that connection.
  fake.accept_worker();
  fake.send(Welcome{0, 3});
  EXPECT_FALSE(fake.receive(5).has_value());
  EXPECT_TRUE(fake.closed()) << "the worker kept a connection welcomed in an older epoch";
  fake.accept_worker();  // it tries again, still alive (not retired by epoch 4's Retire)
}

TEST(RealMode, MalformedFramesAndGarbageDisturbNoOtherClient) {
  Cluster cluster;
  cluster.start_scheduler();
  cluster.start_worker("a");
  cluster.wait_for_workers(1);
  auto raw = [&](const std::string& bytes) {
    const int fd = testing::connect_loopback(cluster.port());
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
    return fd;
  };
  auto good = cluster.client();
  const int huge = raw(std::string("\xff\xff\xff\x7f", 4));              // a 2 GiB frame
  const int garbage = raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n");           // not our protocol
  const int bad_type = raw(std::string("\x02\x00\x00\x00", 4) + char(kWireVersion) + '\xee');  // unknown message type
  const int truncated = raw(std::string("\x10\x00\x00\x00\x01", 5));      // never completed
  for (int fd : {huge, garbage, bad_type}) {
    char byte;
    // The scheduler closes each offending connection: recv sees EOF or a reset.
    EXPECT_LE(::recv(fd, &byte, 1, 0), 0);
    ::close(fd);
  }
  const std::uint64_t t = submit(*good, {shell("echo fine")});
  EXPECT_EQ(wait(*good, t).state, "finished");
  ::close(truncated);
  auto again = cluster.client();
  EXPECT_EQ(wait(*again, t).outcome.output, "fine\n");
}

// A rigid job (docs/backfilling.md): its 4 members start together, one per 1-slot worker,
// and each finds its rank, the gang's size and every member's worker in its environment,
// as an MPI launcher would give them; a gang wider than the cluster is refused.
TEST(RealMode, AFourWideGangStartsTogetherAndEachMemberKnowsTheOthers) {
  Cluster cluster;
  cluster.start_scheduler(0, {"--queue-cap", "0"});
  for (int i = 0; i < 4; ++i) cluster.start_worker("g" + std::to_string(i));
  cluster.wait_for_workers(4);
  auto c = cluster.client();
  JobSpec gang;
  gang.gang = true;
  gang.tasks.assign(4, shell("echo \"$FULCRUM_RANK $FULCRUM_SIZE $FULCRUM_HOSTS\"; sleep 0.2"));
  auto r = c->call(Submit{gang});
  ASSERT_TRUE(r.ok()) << r.error();
  const std::uint64_t first = std::get<Submitted>(*r).first_task;
  std::set<std::string> workers;
  std::string hosts_seen;
  double start_min = 1e300, start_max = -1;
  for (std::uint64_t rank = 0; rank < 4; ++rank) {
    const TaskStatus s = wait(*c, first + rank);
    ASSERT_EQ(s.state, "finished") << s.outcome.output;
    std::istringstream out(s.outcome.output);
    std::uint64_t seen_rank = 9;
    int size = 0;
    std::string hosts;
    out >> seen_rank >> size >> hosts;
    EXPECT_EQ(seen_rank, rank);
    EXPECT_EQ(size, 4);
    if (hosts_seen.empty()) hosts_seen = hosts;
    EXPECT_EQ(hosts, hosts_seen) << "every member sees the same hosts, in rank order";
    // Its own worker is the rank-th of them.
    std::vector<std::string> names;
    std::stringstream list(hosts);
    for (std::string h; std::getline(list, h, ',');) names.push_back(h);
    ASSERT_EQ(names.size(), 4u) << hosts;
    EXPECT_EQ(names[rank], s.worker);
    workers.insert(s.worker);
    start_min = std::min(start_min, s.start);
    start_max = std::max(start_max, s.start);
  }
  EXPECT_EQ(workers.size(), 4u) << "one member per 1-slot worker";
  EXPECT_LT(start_max - start_min, 0.15) << "dispatched together: they start within one 0.2 s sleep of each other";

  JobSpec wide = gang;
  wide.tasks.resize(5, wide.tasks[0]);
  auto refused = c->call(Submit{wide});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("the gang of 5 tasks fits no set of workers at once"), std::string::npos)
      << refused.error();
}

// A member that fails stops the others (they would otherwise sleep 30 s) and the gang runs
// again whole, until its attempts run out: every member ends failed after 3 attempts.
TEST(RealMode, AGangMemberFailureStopsTheOthersAndRetriesTheGangWhole) {
  Cluster cluster;
  cluster.start_scheduler(0, {"--queue-cap", "0"});
  for (int i = 0; i < 3; ++i) cluster.start_worker("g" + std::to_string(i));
  cluster.wait_for_workers(3);
  auto c = cluster.client();
  JobSpec gang;
  gang.gang = true;
  gang.tasks.assign(3, shell("if [ \"$FULCRUM_RANK\" = 1 ]; then sleep 0.2; exit 3; fi; sleep 30"));
  auto r = c->call(Submit{gang});
  ASSERT_TRUE(r.ok()) << r.error();
  const std::uint64_t first = std::get<Submitted>(*r).first_task;
  const auto began = std::chrono::steady_clock::now();
  for (std::uint64_t m = 0; m < 3; ++m) {
    const TaskStatus s = wait(*c, first + m);
    EXPECT_EQ(s.state, "failed") << "member " << m;
    EXPECT_EQ(s.attempts, 3u) << "member " << m;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - began, 20s) << "the sleeping members were stopped";
}

}  // namespace
}  // namespace fulcrum::real
