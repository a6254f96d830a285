// Real mode's worker resources (issue 16, part 5): what `fulcrum worker` advertises, the
// dispatches it refuses, LocalQueue deciding what runs, and each task's request enforced
// (cgroups where the machine allows, rlimits otherwise) with an out-of-memory task
// reported failed with reason "oom".
//
// Processes are the fulcrum binary's daemons on 127.0.0.1 with kernel-picked ports, or a
// scheduler played by the test over a raw socket; every one is SIGKILLed and reaped at the
// end of its test, and temporary files live in a mkdtemp directory of the test's own.
#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "real/cgroups.h"
#include "real/client.h"
#include "real/executor.h"
#include "real/tests/loopback.h"
#include "real/wire.h"
#include "real/worker_daemon.h"
#include "real/worker_resources.h"

extern char** environ;

namespace fulcrum::real {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr double kMiB = 1 << 20;
constexpr double kGiB = 1 << 30;
// Allocates (and touches) 200 MB: python's bytearray zero-fills what it gets.
const std::string kAllocate200MB = "exec python3 -c 'b = bytearray(200 * 2**20); print(len(b))'";

// ---------------------------------------------------------------- parsers and flags --

TEST(WorkerResources, ByteSizesTakeDecimalAndBinaryUnits) {
  const std::pair<const char*, double> good[] = {
      {"0", 0},          {"1000", 1000},          {"512MiB", 512 * kMiB}, {"4GiB", 4 * kGiB},
      {"4Gi", 4 * kGiB}, {"4G", 4e9},             {"4GB", 4e9},           {" 1.5 GiB ", 1.5 * kGiB},
      {"2k", 2000},      {"1e9", 1e9},            {"3B", 3},              {"1TiB", 1024 * kGiB}};
  for (const auto& [text, bytes] : good) {
    auto parsed = parse_byte_size(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.error();
    EXPECT_DOUBLE_EQ(*parsed, bytes) << text;
  }
  // The scenario's parser (scenario/scenario.h): units are case-sensitive, `512m` refused.
  for (const char* bad : {"", "GiB", "-1G", "4 GB B", "4XB", "four", "nan", "1e999G", "4G4", "512m", "4gb"}) {
    auto parsed = parse_byte_size(bad);
    EXPECT_FALSE(parsed.ok()) << "'" << bad << "' was taken as " << (parsed.ok() ? *parsed : 0);
  }
  EXPECT_NE(parse_byte_size("4XB").error().find("unknown unit 'XB'"), std::string::npos) << parse_byte_size("4XB").error();
}

TEST(WorkerResources, ResourceListsAndLabels) {
  Resources r;
  ASSERT_TRUE(parse_resource_list("gpus=2,licence=4, fpga = 0.5", r).ok());
  EXPECT_EQ(r.gpus, 2);
  EXPECT_EQ(r.other, (std::map<std::string, double>{{"licence", 4}, {"fpga", 0.5}}));
  const std::pair<const char*, const char*> bad[] = {
      {"", "empty"},           {"gpus", "NAME=AMOUNT"},     {"gpus=-1", ">= 0"},         {"gpus=x", "not a number"},
      {"=2", "NAME=AMOUNT"},   {"gpus=1,gpus=2", "twice"},  {"cores=2", "--slots"},      {"memory=1G", "--memory"},
      {"gpus=1,", "NAME=AMOUNT"}, {"licence=inf", ">= 0"}};
  for (const auto& [text, why] : bad) {
    Resources x;
    auto ok = parse_resource_list(text, x);
    ASSERT_FALSE(ok.ok()) << text;
    EXPECT_NE(ok.error().find(why), std::string::npos) << text << ": " << ok.error();
  }
  auto label = parse_label("disk=ssd");
  ASSERT_TRUE(label.ok());
  EXPECT_EQ(*label, (std::pair<std::string, std::string>{"disk", "ssd"}));
  EXPECT_TRUE(parse_label("empty=").ok());
  EXPECT_FALSE(parse_label("disk").ok());
  EXPECT_FALSE(parse_label("=ssd").ok());
  EXPECT_NE(parse_label("zone=eu").error().find("--zone"), std::string::npos);
}

TEST(WorkerResources, FlagsFillTheSpecDetectingWhatIsNotGivenAndErrorsNameTheFlag) {
  const CgroupLayout layout = read_cgroup_layout();
  WorkerSpec detected;
  ASSERT_TRUE(apply_worker_resource_flags({}, layout, detected).ok());
  EXPECT_GE(detected.slots, 1);
  EXPECT_LE(detected.slots, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  EXPECT_GT(detected.resources.memory, 64 * kMiB) << "MemTotal (or the cgroup's limit) is the default";
  std::printf("detected here: %d cores, %s\n", detected.slots, format_bytes(detected.resources.memory).c_str());

  WorkerResourceFlags given;
  given.slots = 3;
  given.memory = "4GiB";
  given.resources = "gpus=2,licence=4";
  given.labels = {"disk=ssd", "arch=arm"};
  given.zone = "eu-west";
  WorkerSpec w;
  ASSERT_TRUE(apply_worker_resource_flags(given, layout, w).ok());
  EXPECT_EQ(w.slots, 3);
  EXPECT_EQ(w.resources.memory, 4 * kGiB);
  EXPECT_EQ(w.resources.gpus, 2);
  EXPECT_EQ(w.resources.other.at("licence"), 4);
  EXPECT_EQ(w.labels, (std::map<std::string, std::string>{{"disk", "ssd"}, {"arch", "arm"}}));
  EXPECT_EQ(w.zone, "eu-west");
  EXPECT_EQ(w.capacity().cores, 3);

  given.memory = "0";
  ASSERT_TRUE(apply_worker_resource_flags(given, layout, w).ok());
  EXPECT_EQ(w.resources.memory, 0) << "--memory 0: not limited";

  const std::pair<WorkerResourceFlags, const char*> bad[] = {
      {{.memory = "4 parsecs"}, "--memory: "},
      {{.resources = "gpus=two"}, "--resources: "},
      {{.labels = {"ssd"}}, "--label: "},
      {{.labels = {"a=1", "a=2"}}, "--label: 'a' is given twice"},
      {{.zone = "eu west"}, "--zone: "}};
  for (const auto& [flags, prefix] : bad) {
    WorkerSpec x;
    auto ok = apply_worker_resource_flags(flags, layout, x);
    ASSERT_FALSE(ok.ok()) << prefix;
    EXPECT_EQ(ok.error().rfind(prefix, 0), 0u) << ok.error();
  }
}

// ------------------------------------------------------------------- cgroup layout --

TEST(Cgroups, LayoutFromProcTextFindsEachHierarchyAndTheProcessGroupInIt) {
  // This machine's shape: v1 controllers, the memory one nested, plus an empty cgroup2.
  const std::string mountinfo =
      "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
      "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
      "41 30 0:38 / /mnt/with\\040space rw,relatime shared:5 - cgroup cgroup rw,pids\n";
  const std::string self = "9:name=systemd:/\n4:memory:/api/abc\n2:cpu,cpuacct:/\n1:pids:/p\n0::/\n";
  const CgroupLayout l = parse_cgroup_layout(mountinfo, self);
  EXPECT_EQ(l.v1.at("memory"), "/sys/fs/cgroup/memory/api/abc");
  EXPECT_EQ(l.v1_mount.at("memory"), "/sys/fs/cgroup/memory");
  EXPECT_EQ(l.v1.at("cpu"), "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(l.v1.at("pids"), "/mnt/with space/p") << "mountinfo's \\040 escapes and optional fields";
  EXPECT_EQ(l.v2, "/sys/fs/cgroup/unified");

  // A pure v2 host (systemd), and a container whose mount shows only its own subtree.
  const CgroupLayout v2 = parse_cgroup_layout("25 20 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n",
                                              "0::/user.slice/app.service\n");
  EXPECT_EQ(v2.v2, "/sys/fs/cgroup/user.slice/app.service");
  EXPECT_TRUE(v2.v1.empty());
  const CgroupLayout bound = parse_cgroup_layout("25 20 0:22 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
                                                 "0::/kubepods/pod1/c1\n");
  EXPECT_EQ(bound.v2, "/sys/fs/cgroup/c1");
  const CgroupLayout outside = parse_cgroup_layout("25 20 0:22 /other /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
                                                   "0::/kubepods/pod1/c1\n");
  EXPECT_EQ(outside.v2, "") << "a mount that does not show our group";
  EXPECT_TRUE(parse_cgroup_layout("garbage\n\n-\n1 2 3\n", "::::\n").v1.empty());
}

// -------------------------------------------------------------------- enforcement --

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/fulcrum-resources-XXXXXX";
    dir_ = ::mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(dir_); }
  const std::string& path() const { return dir_; }

 private:
  std::string dir_;
};

TEST(Enforcement, DetectionReturnsAModeSaysWhyAndNeverCrashes) {
  auto detected = Enforcer::create("auto");
  ASSERT_TRUE(detected.ok()) << detected.error();
  const EnforcementMode mode = (*detected)->mode();
  EXPECT_NE(mode, EnforcementMode::kNone) << "auto settles on cgroups or rlimits";
  EXPECT_EQ((*detected)->description().rfind(std::string(enforcement_name(mode)) + ":", 0), 0u)
      << (*detected)->description();
  std::printf("enforcement here: %s\n", (*detected)->description().c_str());
  const std::vector<std::string> groups = (*detected)->worker_groups();
  for (const std::string& g : groups) EXPECT_TRUE(std::filesystem::is_directory(g)) << g;
  detected->reset();
  for (const std::string& g : groups) EXPECT_FALSE(std::filesystem::exists(g)) << g << " outlived its worker";

  // No /proc to read (a locked-down container): rlimits, saying why; never a crash.
  TempDir tmp;
  const CgroupPaths nowhere{tmp.path() + "/no-mountinfo", tmp.path() + "/no-cgroup"};
  auto fallback = Enforcer::create("auto", nowhere);
  ASSERT_TRUE(fallback.ok());
  EXPECT_EQ((*fallback)->mode(), EnforcementMode::kRlimit);
  EXPECT_NE((*fallback)->description().find("no usable cgroup"), std::string::npos) << (*fallback)->description();
  EXPECT_NE((*fallback)->description().find("CPU is not limited"), std::string::npos);

  // A read-only or foreign cgroup tree: what it points at cannot be written.
  std::ofstream(tmp.path() + "/mountinfo") << "34 30 0:31 / " << tmp.path() << "/ro rw - cgroup cgroup rw,memory\n"
                                           << "40 30 0:37 / " << tmp.path() << "/v2 rw - cgroup2 cgroup2 rw\n";
  std::ofstream(tmp.path() + "/cgroup") << "4:memory:/a\n0::/b\n";
  const CgroupPaths fake{tmp.path() + "/mountinfo", tmp.path() + "/cgroup"};
  auto fake_auto = Enforcer::create("auto", fake);
  ASSERT_TRUE(fake_auto.ok());
  EXPECT_EQ((*fake_auto)->mode(), EnforcementMode::kRlimit) << (*fake_auto)->description();

  // Asked by name and missing: an error naming the flag, not a silent fallback.
  for (const char* want : {"cgroup", "cgroup_v1", "cgroup_v2"}) {
    auto e = Enforcer::create(want, nowhere);
    ASSERT_FALSE(e.ok()) << want;
    EXPECT_EQ(e.error().rfind(std::string("--enforce ") + want + ": ", 0), 0u) << e.error();
  }
  auto unknown = Enforcer::create("cgroups_please");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().find("--enforce: unknown mode"), std::string::npos);
  auto none = Enforcer::create("none");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ((*none)->mode(), EnforcementMode::kNone);
  auto nothing = (*none)->prepare(1, Resources{.cores = 1, .memory = kMiB});
  ASSERT_TRUE(nothing.ok());
  EXPECT_TRUE(nothing->empty());
}

// One command run by an Executor under an Enforcer, to its end.
struct Ran {
  TaskOutcome outcome;
  bool oom = false;
  std::string error;  // prepare() failed
};

Ran run_confined(Enforcer& enforcer, const std::string& command, const Resources& request,
                 const std::function<void(const Confinement&)>& while_prepared = {}) {
  asio::io_context io;
  Executor executor(io, 1e9);
  static std::uint64_t next_task = 100;
  const std::uint64_t task = ++next_task;
  Ran ran;
  auto confine = enforcer.prepare(task, request);
  if (!confine) {
    ran.error = confine.error();
    return ran;
  }
  if (while_prepared) while_prepared(*confine);
  bool done = false;
  executor.start(task, command_task(command, 60), [&](std::uint64_t t, TaskOutcome o) {
    ran.outcome = std::move(o);
    ran.oom = enforcer.finish(t, &ran.outcome);
    done = true;
  }, *confine);
  io.run();
  EXPECT_TRUE(done);
  return ran;
}

bool is_cgroup(EnforcementMode m) { return m == EnforcementMode::kCgroupV1 || m == EnforcementMode::kCgroupV2; }

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Enforcement, ATaskJoinsItsGroupsBeforeExecWithItsLimitsSet) {
  auto enforcer = Enforcer::create("auto");
  ASSERT_TRUE(enforcer.ok());
  Enforcer& e = **enforcer;
  const Resources request{.cores = 1.5, .memory = 48 * kMiB};
  if (!is_cgroup(e.mode())) {
    // rlimits: the address space is the request (ulimit -v counts KiB).
    const Ran ran = run_confined(e, "ulimit -v", request);
    EXPECT_EQ(ran.outcome.exit_code, 0) << ran.outcome.output;
    EXPECT_EQ(ran.outcome.output, std::to_string(static_cast<long long>(48 * 1024)) + "\n");
    return;
  }
  std::vector<std::string> dirs;
  const Ran ran = run_confined(e, "cat /proc/self/cgroup", request, [&](const Confinement& c) {
    for (const std::string& procs : c.cgroup_procs) dirs.push_back(procs.substr(0, procs.rfind('/')));
    ASSERT_FALSE(dirs.empty());
    if (e.mode() == EnforcementMode::kCgroupV1) {
      EXPECT_EQ(std::stod(slurp(dirs[0] + "/memory.limit_in_bytes")), 48 * kMiB);
      const std::string cpu = dirs.back();
      EXPECT_DOUBLE_EQ(std::stod(slurp(cpu + "/cpu.cfs_quota_us")), 1.5 * std::stod(slurp(cpu + "/cpu.cfs_period_us")));
    } else {
      EXPECT_EQ(std::stod(slurp(dirs[0] + "/memory.max")), 48 * kMiB);
      EXPECT_EQ(slurp(dirs[0] + "/cpu.max"), "150000 100000\n");
    }
  });
  ASSERT_EQ(ran.error, "");
  EXPECT_EQ(ran.outcome.exit_code, 0) << ran.outcome.output;
  // /proc/self/cgroup names the task's group for every controller it was put in: cat
  // was in them from its first instruction.
  for (const std::string& dir : dirs) {
    const std::string name = dir.substr(dir.rfind('/') + 1);
    EXPECT_NE(ran.outcome.output.find(name), std::string::npos) << name << " not in\n" << ran.outcome.output;
    EXPECT_FALSE(std::filesystem::exists(dir)) << dir << " was not removed at the task's end";
  }
  EXPECT_EQ(ran.outcome.reason, "");
}

void expect_oom(const Ran& ran, EnforcementMode mode) {
  EXPECT_EQ(ran.error, "");
  EXPECT_NE(ran.outcome.exit_code, 0) << ran.outcome.output;
  EXPECT_TRUE(ran.oom);
  EXPECT_EQ(ran.outcome.reason, "oom") << ran.outcome.output;
  EXPECT_NE(ran.outcome.output.find("[out of memory: "), std::string::npos) << ran.outcome.output;
  EXPECT_NE(ran.outcome.output.find(std::string(enforcement_name(mode))), std::string::npos) << ran.outcome.output;
  EXPECT_EQ(ran.outcome.output.find("209715200\n"), std::string::npos) << "the allocation succeeded:\n" << ran.outcome.output;
}

TEST(Enforcement, ATaskOverItsMemoryIsStoppedAndReportedOomByTheDetectedMode) {
  auto enforcer = Enforcer::create("auto");
  ASSERT_TRUE(enforcer.ok());
  std::printf("mode: %s\n", std::string(enforcement_name((*enforcer)->mode())).c_str());
  // Whatever the machine offers (cgroups here, rlimits in a container without them).
  expect_oom(run_confined(**enforcer, kAllocate200MB, {.cores = 1, .memory = 32 * kMiB}), (*enforcer)->mode());
  // The same program within its request runs to its end, not marked.
  const Ran fits = run_confined(**enforcer, "exec python3 -c 'b = bytearray(8 * 2**20); print(len(b))'",
                                {.cores = 1, .memory = 128 * kMiB});
  EXPECT_EQ(fits.outcome.exit_code, 0) << fits.outcome.output;
  EXPECT_EQ(fits.outcome.reason, "");
  EXPECT_FALSE(fits.oom);
  // A task asking no memory is not limited by it.
  const Ran unlimited = run_confined(**enforcer, kAllocate200MB, {.cores = 1});
  EXPECT_EQ(unlimited.outcome.exit_code, 0) << unlimited.outcome.output;
  // A failure that is not about memory is not called one.
  const Ran plain = run_confined(**enforcer, "echo no; exit 3", {.cores = 1, .memory = 32 * kMiB});
  EXPECT_EQ(plain.outcome.exit_code, 3);
  EXPECT_EQ(plain.outcome.reason, "");
}

TEST(Enforcement, TheRlimitFallbackStopsATaskOverItsMemory) {
  auto enforcer = Enforcer::create("rlimit");
  ASSERT_TRUE(enforcer.ok());
  ASSERT_EQ((*enforcer)->mode(), EnforcementMode::kRlimit);
  expect_oom(run_confined(**enforcer, kAllocate200MB, {.cores = 1, .memory = 32 * kMiB}), EnforcementMode::kRlimit);
  // Without python: GNU tail holding one 200 MB line.
  expect_oom(run_confined(**enforcer, "head -c 200M /dev/zero | tail", {.cores = 1, .memory = 32 * kMiB}),
             EnforcementMode::kRlimit);
}

TEST(Enforcement, ACgroupStopsATaskOverItsMemoryWhenTheMachineHasOne) {
  auto enforcer = Enforcer::create("cgroup");
  if (!enforcer.ok()) {
    // Not a skip: the rlimit test above holds this machine's tasks to their memory.
    std::printf("no cgroup here (%s): the rlimit fallback is what enforces\n", enforcer.error().c_str());
    auto fallback = Enforcer::create("auto");
    ASSERT_TRUE(fallback.ok());
    EXPECT_EQ((*fallback)->mode(), EnforcementMode::kRlimit);
    return;
  }
  const EnforcementMode mode = (*enforcer)->mode();
  ASSERT_TRUE(is_cgroup(mode));
  expect_oom(run_confined(**enforcer, kAllocate200MB, {.cores = 1, .memory = 32 * kMiB}), mode);
  // Without python, a pipeline: the kernel kills tail, the shell reports its death.
  expect_oom(run_confined(**enforcer, "head -c 200M /dev/zero | tail", {.cores = 1, .memory = 32 * kMiB}), mode);
}

// ------------------------------------------------------------- the worker daemon --

// Processes of one test: SIGKILLed and reaped when it ends.
class Processes {
 public:
  ~Processes() {
    for (pid_t pid : pids_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  void kill(pid_t pid) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    std::erase(pids_, pid);
  }
  pid_t spawn(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
      throw std::runtime_error("cannot start " + args[0]);
    }
    pids_.push_back(pid);
    return pid;
  }
  // The worker's exit status if it ended within `seconds` (its flags were refused).
  std::optional<int> exit_status(pid_t pid, double seconds) {
    for (auto deadline = Clock::now() + std::chrono::duration<double>(seconds); Clock::now() < deadline;) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        std::erase(pids_, pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
  }

 private:
  std::vector<pid_t> pids_;
};

std::vector<std::string> worker_args(int port, const std::string& name, std::vector<std::string> extra) {
  std::vector<std::string> args{FULCRUM_BINARY, "worker", "--scheduler", "127.0.0.1:" + std::to_string(port),
                                "--name", name, "--heartbeat", "0.2"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// A scheduler played by the test: accepts one worker, reads its Register, dispatches.
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
  Register accept_worker() {
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) throw std::runtime_error("the worker did not connect");
    conn_ = ::accept(listener_, nullptr, nullptr);
    auto first = receive(10);
    if (!first || !std::holds_alternative<Register>(*first)) throw std::runtime_error("expected Register");
    send(Welcome{0, 1});
    return std::get<Register>(*first);
  }
  void send(const Message& m) {
    std::string frame;
    encode_frame(m, frame);
    ASSERT_EQ(::send(conn_, frame.data(), frame.size(), MSG_NOSIGNAL), static_cast<ssize_t>(frame.size()));
  }
  void dispatch(std::uint64_t task, const TaskSpec& spec) { send(Dispatch{1, task, spec}); }
  // The next message other than a Heartbeat; nullopt on timeout or when the worker closed.
  std::optional<Message> receive(double timeout) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout);
    for (;;) {
      auto next = reader_.next();
      if (!next.ok()) return std::nullopt;
      if (next->has_message) {
        if (std::holds_alternative<Heartbeat>(next->message)) continue;
        return std::move(next->message);
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{conn_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::recv(conn_, buffer, sizeof buffer, 0);
      if (n <= 0) return std::nullopt;
      reader_.feed(buffer, static_cast<std::size_t>(n));
    }
  }

  // Start and end of each task, in seconds since `origin`, until `count` have ended.
  struct Span {
    double start = -1, end = -1;
    TaskOutcome outcome;
  };
  std::map<std::uint64_t, Span> run_until_done(std::size_t count, Clock::time_point origin, double timeout = 30) {
    std::map<std::uint64_t, Span> spans;
    std::size_t ended = 0;
    while (ended < count) {
      auto m = receive(timeout);
      if (!m) break;
      const double now = std::chrono::duration<double>(Clock::now() - origin).count();
      if (const auto* s = std::get_if<TaskStarted>(&*m)) spans[s->task].start = now;
      if (auto* d = std::get_if<TaskDone>(&*m)) {
        spans[d->task].end = now;
        spans[d->task].outcome = std::move(d->outcome);
        ++ended;
      }
    }
    return spans;
  }

 private:
  int listener_ = -1, conn_ = -1, port_ = 0;
  FrameReader reader_;
};

TEST(WorkerDaemonResources, RegistersItsResourcesLabelsAndZone) {
  Processes processes;
  FakeScheduler fake;
  processes.spawn(worker_args(fake.port(), "rich", {"--slots", "3", "--memory", "1.5GiB", "--resources",
                                                    "gpus=2,licence=4", "--label", "disk=ssd", "--label", "arch=arm",
                                                    "--zone", "eu"}));
  const WorkerSpec w = fake.accept_worker().worker;
  EXPECT_EQ(w.name, "rich");
  EXPECT_EQ(w.slots, 3);
  EXPECT_EQ(w.resources.memory, 1.5 * kGiB);
  EXPECT_EQ(w.resources.gpus, 2);
  EXPECT_EQ(w.resources.other, (std::map<std::string, double>{{"licence", 4}}));
  EXPECT_EQ(w.labels, (std::map<std::string, std::string>{{"disk", "ssd"}, {"arch", "arm"}}));
  EXPECT_EQ(w.zone, "eu");

  // Nothing given: the machine's cores and memory.
  FakeScheduler fake2;
  processes.spawn(worker_args(fake2.port(), "plain", {}));
  const WorkerSpec plain = fake2.accept_worker().worker;
  WorkerSpec detected;
  ASSERT_TRUE(apply_worker_resource_flags({}, read_cgroup_layout(), detected).ok());
  EXPECT_EQ(plain.slots, detected.slots);
  EXPECT_EQ(plain.resources.memory, detected.resources.memory);
  EXPECT_EQ(plain.resources.gpus, 0);
  EXPECT_TRUE(plain.labels.empty());
  EXPECT_EQ(plain.zone, "");
}

TEST(WorkerDaemonResources, BadFlagsAreRefusedNamingTheFlag) {
  Processes processes;
  const std::pair<std::vector<std::string>, const char*> bad[] = {
      {{"--memory", "4 parsecs"}, "error: --memory: "},
      {{"--resources", "gpus"}, "error: --resources: "},
      {{"--resources", "gpus=-2"}, "error: --resources: "},
      {{"--label", "ssd"}, "error: --label: "},
      {{"--enforce", "magic"}, "error: --enforce: "}};
  TempDir tmp;
  for (const auto& [flags, message] : bad) {
    const std::string err = tmp.path() + "/stderr";
    std::vector<std::string> args = worker_args(1, "bad", flags);
    // Through a shell for the redirection; exec keeps the pid the worker's.
    std::string line = "exec";
    for (const std::string& a : args) line += " '" + a + "'";
    const pid_t pid = processes.spawn({"/bin/sh", "-c", line + " 2>" + err});
    EXPECT_EQ(processes.exit_status(pid, 10), std::optional<int>(2)) << line;
    const std::string text = slurp(err);
    EXPECT_NE(text.find(message), std::string::npos) << line << " said:\n" << text;
  }
}

TaskSpec sleeping(double seconds, Resources request) {
  TaskSpec t = command_task("sleep " + std::to_string(seconds));
  t.request = std::move(request);
  return t;
}

TEST(WorkerDaemonResources, RefusesADispatchThatCanNeverFitNamingTheDimension) {
  Processes processes;
  FakeScheduler fake;
  processes.spawn(worker_args(fake.port(), "small", {"--slots", "2", "--memory", "1GiB", "--resources", "gpus=2"}));
  fake.accept_worker();
  const auto origin = Clock::now();
  fake.dispatch(1, sleeping(0, {.cores = 1, .gpus = 3}));
  fake.dispatch(2, sleeping(0, {.cores = 1, .memory = 2 * kGiB}));
  fake.dispatch(3, sleeping(0, {.cores = 4}));
  fake.dispatch(4, sleeping(0, {.cores = 1, .other = {{"licence", 1}}}));
  fake.dispatch(5, sleeping(0, {.cores = 2, .memory = kGiB, .gpus = 2}));  // the whole worker: fits
  auto spans = fake.run_until_done(5, origin);
  const std::map<std::uint64_t, std::string> dimension = {{1, "gpus 3"}, {2, "memory 2 GiB"}, {3, "cores 4"},
                                                          {4, "licence 1"}};
  for (const auto& [task, what] : dimension) {
    const auto& s = spans[task];
    EXPECT_LT(s.start, 0) << "task " << task << " was started";
    ASSERT_GE(s.end, 0) << "task " << task << " was not reported";
    EXPECT_LT(s.end, 5) << "refused at once";
    EXPECT_EQ(s.outcome.exit_code, kRefusedExitCode);
    EXPECT_EQ(s.outcome.reason, "unfit");
    EXPECT_NE(s.outcome.output.find("asks for " + what), std::string::npos) << s.outcome.output;
    EXPECT_NE(s.outcome.output.find("can never run here"), std::string::npos) << s.outcome.output;
  }
  EXPECT_GE(spans[5].start, 0);
  EXPECT_EQ(spans[5].outcome.exit_code, 0) << spans[5].outcome.output;
  EXPECT_EQ(spans[5].outcome.reason, "");
}

// Most tasks running at once, from their start/end times.
int peak_overlap(const std::map<std::uint64_t, FakeScheduler::Span>& spans) {
  std::vector<std::pair<double, int>> events;
  for (const auto& [task, s] : spans) {
    events.emplace_back(s.start, +1);
    events.emplace_back(s.end, -1);
  }
  std::sort(events.begin(), events.end());  // an end before a start at the same instant
  int now = 0, peak = 0;
  for (const auto& [t, d] : events) peak = std::max(peak, now += d);
  return peak;
}

TEST(WorkerDaemonResources, LocalQueueStartsOnlyWhatFitsInFifoOrder) {
  Processes processes;
  FakeScheduler fake;
  processes.spawn(worker_args(fake.port(), "two-cores", {"--slots", "2", "--memory", "1GiB"}));
  fake.accept_worker();
  // Three 1-core tasks on 2 cores: two run, the third waits for one of them.
  auto origin = Clock::now();
  for (std::uint64_t t = 1; t <= 3; ++t) fake.dispatch(t, sleeping(0.4, {.cores = 1}));
  auto spans = fake.run_until_done(3, origin);
  ASSERT_EQ(spans.size(), 3u);
  for (const auto& [task, s] : spans) ASSERT_EQ(s.outcome.exit_code, 0) << s.outcome.output;
  EXPECT_EQ(peak_overlap(spans), 2);
  EXPECT_GE(spans[3].start, std::min(spans[1].end, spans[2].end) - 0.01) << "the third started before a core was free";
  EXPECT_LT(spans[2].start, spans[1].end) << "the first two ran together";

  // Memory counts as much as cores: two tasks of 600 MiB never run together in 1 GiB;
  // and FIFO: the 1-core task behind them waits its turn though a core is free.
  origin = Clock::now();
  fake.dispatch(11, sleeping(0.3, {.cores = 1, .memory = 600 * kMiB}));
  fake.dispatch(12, sleeping(0.3, {.cores = 1, .memory = 600 * kMiB}));
  fake.dispatch(13, sleeping(0.3, {.cores = 1}));
  spans = fake.run_until_done(3, origin);
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_GE(spans[12].start, spans[11].end - 0.01) << "600 MiB + 600 MiB ran in 1 GiB";
  EXPECT_GE(spans[13].start, spans[12].start - 0.01) << "a later task overtook the head of the queue";
}

TEST(WorkerDaemonResources, OutOfMemoryTaskReportedWithReasonOomInEachMode) {
  auto detected = Enforcer::create("auto");
  ASSERT_TRUE(detected.ok());
  std::vector<std::string> modes = {"rlimit", std::string(enforcement_name((*detected)->mode()))};
  detected->reset();
  if (modes[1] == "rlimit") modes.pop_back();
  for (const std::string& mode : modes) {
    SCOPED_TRACE(mode);
    Processes processes;
    FakeScheduler fake;
    processes.spawn(worker_args(fake.port(), "w-" + mode, {"--slots", "2", "--enforce", mode}));
    fake.accept_worker();
    TaskSpec hog = command_task(kAllocate200MB);
    hog.request = {.cores = 1, .memory = 32 * kMiB};
    fake.dispatch(7, hog);
    TaskSpec fine = command_task("echo fine");
    fine.request = {.cores = 1, .memory = 32 * kMiB};
    fake.dispatch(8, fine);
    auto spans = fake.run_until_done(2, Clock::now());
    const TaskOutcome& oom = spans[7].outcome;
    EXPECT_NE(oom.exit_code, 0) << oom.output;
    EXPECT_EQ(oom.reason, "oom") << oom.output;
    EXPECT_NE(oom.output.find("(" + mode + ")"), std::string::npos) << oom.output;
    EXPECT_EQ(spans[8].outcome, (TaskOutcome{0, "fine\n", ""}));
  }
}

// With the real scheduler: what it sees of workers, and a failed attempt retried.
class Cluster {
 public:
  Cluster() = default;
  std::string start_scheduler(const std::vector<std::string>& extra = {}) {
    const std::string port_file = dir_.path() + "/port";
    std::filesystem::remove(port_file);
    std::vector<std::string> args{FULCRUM_BINARY, "scheduler", "--listen", "127.0.0.1:" + std::to_string(port_),
                                  "--journal", dir_.path() + "/journal", "--port-file", port_file, "--grace", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    scheduler_ = processes_.spawn(args);
    std::string text;
    for (auto deadline = Clock::now() + 10s; text.empty();) {
      if (std::ifstream in(port_file); in) in >> text;
      if (Clock::now() > deadline) throw std::runtime_error("the scheduler did not start");
      std::this_thread::sleep_for(5ms);
    }
    port_ = std::stoi(text);
    return text;
  }
  int port() const { return port_; }
  // SIGKILLs the scheduler and starts another on the same journal and port.
  void restart_scheduler() {
    processes_.kill(scheduler_);
    start_scheduler();
  }
  void start_worker(const std::string& name, const std::vector<std::string>& extra) {
    processes_.spawn(worker_args(port_, name, extra));
  }
  std::unique_ptr<Client> client() {
    auto c = Client::connect("127.0.0.1:" + std::to_string(port_));
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error());
    return c.ok() ? std::move(*c) : nullptr;
  }
  void wait_for_workers(Client& c, std::size_t n) {
    for (auto deadline = Clock::now() + 10s;;) {
      auto r = c.call(RecordsRequest{});
      ASSERT_TRUE(r.ok()) << r.error();
      if (std::get<RecordsReply>(*r).workers.size() >= n) return;
      ASSERT_LT(Clock::now(), deadline) << "workers did not register";
      std::this_thread::sleep_for(10ms);
    }
  }

 private:
  TempDir dir_;
  Processes processes_;
  int port_ = 0;
  pid_t scheduler_ = -1;
};

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

TEST(WorkerDaemonResources, TheSchedulerPlacesByWhatWorkersAdvertise) {
  Cluster cluster;
  cluster.start_scheduler();
  cluster.start_worker("eu-gpu", {"--slots", "2", "--zone", "eu", "--resources", "gpus=1", "--label", "disk=ssd"});
  cluster.start_worker("us-plain", {"--slots", "2", "--zone", "us"});
  auto c = cluster.client();
  ASSERT_TRUE(c);
  cluster.wait_for_workers(*c, 2);
  std::vector<TaskSpec> tasks;
  for (int i = 0; i < 4; ++i) {
    TaskSpec in_eu = command_task("true");
    in_eu.require = {{"zone", "eu"}};
    tasks.push_back(in_eu);
    TaskSpec on_ssd = command_task("true");
    on_ssd.require = {{"disk", "ssd"}};
    tasks.push_back(on_ssd);
    TaskSpec gpu = command_task("true");
    gpu.request = {.cores = 1, .gpus = 1};
    tasks.push_back(gpu);
  }
  const std::uint64_t first = submit(*c, tasks);
  for (std::uint64_t t = first; t < first + tasks.size(); ++t) {
    const TaskStatus s = wait(*c, t);
    EXPECT_EQ(s.state, "finished") << s.outcome.output;
    EXPECT_EQ(s.worker, "eu-gpu") << "task " << t - first << " needs the zone, label or GPU only eu-gpu offers";
  }
}

TEST(WorkerDaemonResources, AnOutOfMemoryAttemptIsRetriedThenFailsWithReasonOom) {
  Cluster cluster;
  cluster.start_scheduler({"--max-attempts", "2"});
  cluster.start_worker("w", {"--slots", "2"});
  auto c = cluster.client();
  ASSERT_TRUE(c);
  cluster.wait_for_workers(*c, 1);
  TaskSpec hog = command_task("head -c 200M /dev/zero | tail");
  hog.request = {.cores = 1, .memory = 32 * kMiB};
  const TaskStatus s = wait(*c, submit(*c, {hog}));
  EXPECT_EQ(s.state, "failed");
  EXPECT_EQ(s.attempts, 2u) << "each out-of-memory attempt is a failed attempt, retried";
  EXPECT_EQ(s.outcome.reason, "oom") << s.outcome.output;
  EXPECT_NE(s.outcome.exit_code, 0);
}

// A worker played by the test: registers as `spec` and refuses every dispatch, as a worker
// does whose request check disagrees with the scheduler's (reason "unfit").
class RefusingWorker {
 public:
  RefusingWorker(int port, const WorkerSpec& spec) {
    fd_ = testing::connect_loopback(port);
    if (fd_ < 0) throw std::runtime_error("cannot connect to the scheduler");
    send(Register{spec, {}});
  }
  ~RefusingWorker() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  // Answers dispatches on a thread of its own until destroyed, heartbeating meanwhile.
  void start() {
    thread_ = std::thread([this] {
      while (!stop_) {
        send(Heartbeat{0});
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        char buffer[4096];
        const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n <= 0) return;
        reader_.feed(buffer, static_cast<std::size_t>(n));
        for (auto next = reader_.next(); next.ok() && next->has_message; next = reader_.next()) {
          if (const auto* d = std::get_if<Dispatch>(&next->message)) {
            ++refused_;
            send(TaskDone{d->task, TaskOutcome{kRefusedExitCode, "[refused by worker liar]\n", "unfit"}});
          }
        }
      }
    });
  }
  int refused() const { return refused_; }

 private:
  void send(const Message& m) {
    std::string frame;
    encode_frame(m, frame);
    (void)::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL);
  }
  int fd_ = -1;
  FrameReader reader_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> refused_{0};
};

// A refused dispatch is a failed attempt the scheduler retries elsewhere: every task runs
// once, on the worker that accepts it, and each refusal costs exactly one attempt.
TEST(WorkerDaemonResources, TheSchedulerRetriesARefusedDispatchWithoutLosingOrRepeatingIt) {
  TempDir dir;
  Cluster cluster;
  cluster.start_scheduler({"--policy", "round_robin", "--retry-backoff", "0", "--max-attempts", "10"});
  auto c = cluster.client();
  ASSERT_TRUE(c);
  WorkerSpec liar{"liar", "real", 1e9, 4, 0};
  RefusingWorker refusing(cluster.port(), liar);
  cluster.wait_for_workers(*c, 1);
  refusing.start();
  cluster.start_worker("honest", {"--slots", "2", "--quiet"});
  cluster.wait_for_workers(*c, 2);
  const std::string log = dir.path() + "/ran";
  std::vector<TaskSpec> tasks;
  for (int i = 0; i < 6; ++i) tasks.push_back(command_task("echo " + std::to_string(i) + " >> " + log));
  const std::uint64_t first = submit(*c, tasks);
  std::uint32_t retries = 0;
  for (std::uint64_t t = first; t < first + tasks.size(); ++t) {
    const TaskStatus s = wait(*c, t);
    EXPECT_EQ(s.state, "finished") << "task " << t << ": " << s.outcome.output;
    EXPECT_EQ(s.worker, "honest");
    retries += s.attempts - 1;
  }
  EXPECT_GE(refusing.refused(), 1) << "round robin gave the refusing worker some of the tasks";
  EXPECT_EQ(static_cast<std::uint32_t>(refusing.refused()), retries) << "each refusal is one more attempt, no more";
  std::ifstream in(log);
  std::map<std::string, int> runs;
  for (std::string line; std::getline(in, line);) ++runs[line];
  ASSERT_EQ(runs.size(), tasks.size());
  for (const auto& [line, count] : runs) EXPECT_EQ(count, 1) << "task " << line << " ran " << count << " times";
}

// A task that fits no worker is refused at submission, naming the task and the dimension;
// it is failed with reason "unschedulable", its job's other tasks cancelled, and a
// restarted scheduler (replaying its journal before any worker is back) agrees.
TEST(WorkerDaemonResources, ASubmitThatFitsNoWorkerIsRefusedNamingTheTaskAndDimension) {
  Cluster cluster;
  cluster.start_scheduler();
  cluster.start_worker("small", {"--slots", "2", "--memory", "1GiB", "--label", "disk=ssd", "--quiet"});
  auto c = cluster.client();
  ASSERT_TRUE(c);
  cluster.wait_for_workers(*c, 1);
  TaskSpec fine = command_task("true");
  TaskSpec huge = command_task("true");
  huge.request = {.cores = 1, .memory = 4 * kGiB};
  auto reply = c->call(Submit{{{fine, huge}}});
  ASSERT_FALSE(reply.ok());
  EXPECT_NE(reply.error().find("task 1 fits no worker: memory"), std::string::npos) << reply.error();
  TaskSpec hdd = command_task("true");
  hdd.require = {{"disk", "hdd"}};
  reply = c->call(Submit{{{hdd}}});
  ASSERT_FALSE(reply.ok());
  EXPECT_NE(reply.error().find("task 2 fits no worker: no worker has disk=hdd"), std::string::npos) << reply.error();
  auto status = [&](Client& client, std::uint64_t t) {
    auto r = client.call(StatusRequest{t, false});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
    return r.ok() ? std::get<TaskStatus>(*r) : TaskStatus{};
  };
  auto check = [&](Client& client, const char* when) {
    EXPECT_EQ(status(client, 0).state, "cancelled") << when;
    const TaskStatus s = status(client, 1);
    EXPECT_EQ(s.state, "failed") << when;
    EXPECT_EQ(s.outcome.reason, "unschedulable") << when;
    EXPECT_NE(s.outcome.output.find("fits no worker: memory"), std::string::npos) << when << ": " << s.outcome.output;
    EXPECT_EQ(status(client, 2).outcome.reason, "unschedulable") << when;
  };
  check(*c, "live");
  c.reset();
  // The next scheduler replays the journal before the worker is back (it knows no worker,
  // so the core alone would let the tasks wait): the journaled failures hold.
  cluster.restart_scheduler();
  auto again = cluster.client();
  ASSERT_TRUE(again);
  check(*again, "after a restart");
}

// What a shell command prints on stdout (stderr too, with 2>&1 in it).
std::string output_of(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, p)) > 0;) out.append(buffer, n);
    ::pclose(p);
  }
  return out;
}

// `fulcrum submit --file` takes each task's request, require and spread; `fulcrum status`
// prints why a failed task failed.
TEST(WorkerDaemonResources, JobFilesCarryRequestsAndStatusPrintsTheReason) {
  TempDir dir;
  Cluster cluster;
  cluster.start_scheduler({"--max-attempts", "1"});
  cluster.start_worker("plain", {"--slots", "2", "--zone", "us", "--quiet"});
  cluster.start_worker("ssd", {"--slots", "2", "--memory", "1GiB", "--label", "disk=ssd", "--zone", "eu", "--quiet"});
  auto c = cluster.client();
  ASSERT_TRUE(c);
  cluster.wait_for_workers(*c, 2);
  const std::string file = dir.path() + "/job.json";
  std::ofstream(file) << R"({"tasks": [
    {"command": "echo fast", "request": {"cores": 2, "memory": "256MiB"}, "require": {"disk": "ssd"}},
    {"command": "echo west", "require": {"zone": "us"}, "spread": "zone"},
    {"command": "head -c 200M /dev/zero | tail", "request": {"memory": "32MiB"}, "require": {"zone": "eu"}}
  ]})";
  const std::string scheduler = " --scheduler 127.0.0.1:" + std::to_string(cluster.port());
  EXPECT_EQ(output_of(std::string(FULCRUM_BINARY) + " submit" + scheduler + " --file " + file), "0\n1\n2\n");
  const TaskStatus fast = wait(*c, 0), west = wait(*c, 1), hog = wait(*c, 2);
  EXPECT_EQ(fast.worker, "ssd");
  EXPECT_EQ(west.worker, "plain");
  EXPECT_EQ(hog.worker, "ssd");
  EXPECT_EQ(hog.outcome.reason, "oom") << hog.outcome.output;
  const std::string status = output_of(std::string(FULCRUM_BINARY) + " status" + scheduler + " 2");
  EXPECT_NE(status.find("task 2 (job 0): failed on ssd, attempts 1, exit code "), std::string::npos) << status;
  EXPECT_NE(status.find(", reason oom\n"), std::string::npos) << status;
  EXPECT_NE(status.find("[out of memory: "), std::string::npos) << status;
  // A command's own request: refused at submission when no worker has it.
  const std::string refused =
      output_of(std::string(FULCRUM_BINARY) + " submit" + scheduler + " --request cores=1,gpus=1 -- true 2>&1");
  EXPECT_NE(refused.find("error: Submit: task 3 fits no worker: gpus"), std::string::npos) << refused;
}

TEST(WorkerDaemonResources, MetricsSayHowRequestsAreEnforcedAndWhatIsOffered) {
  asio::io_context io;
  WorkerOptions options;
  options.scheduler = "127.0.0.1:1";  // nobody: it keeps retrying, which is fine here
  options.worker.name = "m";
  options.worker.slots = 2;
  options.worker.resources = {.memory = 2 * kGiB, .gpus = 1, .other = {{"licence", 3}}};
  WorkerDaemon daemon(io, options);
  ASSERT_TRUE(daemon.start().ok());
  const std::string text = daemon.render_metrics();
  const std::string mode(enforcement_name(daemon.enforcement()));
  EXPECT_NE(daemon.enforcement(), EnforcementMode::kNone);
  EXPECT_NE(text.find("fulcrum_worker_enforcement{mode=\"" + mode + "\"} 1\n"), std::string::npos) << text;
  for (EnforcementMode other : kEnforcementModes) {
    if (other == daemon.enforcement()) continue;
    EXPECT_NE(text.find("fulcrum_worker_enforcement{mode=\"" + std::string(enforcement_name(other)) + "\"} 0\n"),
              std::string::npos);
  }
  EXPECT_NE(text.find("fulcrum_worker_capacity{resource=\"cores\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("fulcrum_worker_capacity{resource=\"memory\"} 2147483648\n"), std::string::npos) << text;
  EXPECT_NE(text.find("fulcrum_worker_capacity{resource=\"licence\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("fulcrum_worker_free{resource=\"gpus\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("fulcrum_worker_tasks_oom_total 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("fulcrum_worker_tasks_refused_total 0\n"), std::string::npos) << text;
  daemon.stop();
  io.run_for(100ms);
}

}  // namespace
}  // namespace fulcrum::real
