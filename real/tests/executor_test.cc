#include "real/executor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <asio.hpp>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fulcrum::real {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Bounds are generous on purpose: a bug fails a test instead of hanging it, and a slow
// machine does not.
constexpr auto kBound = 10s;

struct Finished {
  int calls = 0;
  std::uint64_t task = 0;
  TaskOutcome outcome;
  Clock::time_point at;
};

Executor::Done Record(Finished& f) {
  return [&f](std::uint64_t task, TaskOutcome outcome) {
    ++f.calls;
    f.task = task;
    f.outcome = std::move(outcome);
    f.at = Clock::now();
  };
}

TaskSpec Command(std::string command, double timeout = 0) {
  TaskSpec d;
  d.kind = TaskKind::kCommand;
  d.command = std::move(command);
  d.timeout = timeout;
  return d;
}

TaskSpec Synthetic(TaskKind kind, double flops, double timeout = 0) {
  TaskSpec d;
  d.kind = kind;
  d.flops = flops;
  d.timeout = timeout;
  return d;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Runs `io` until `done()` holds or `bound` passed; returns done().
bool RunUntil(asio::io_context& io, const std::function<bool()>& done,
              Clock::duration bound = kBound) {
  Clock::time_point deadline = Clock::now() + bound;
  while (!done() && Clock::now() < deadline) {
    io.restart();
    io.run_for(20ms);
    if (io.stopped()) std::this_thread::sleep_for(1ms);  // idle: don't spin
  }
  return done();
}

// Runs `io` until it has no work left (or `bound`); returns how long that took.
double RunIdle(asio::io_context& io, Clock::duration bound = kBound) {
  Clock::time_point start = Clock::now();
  io.restart();
  io.run_for(bound);
  return Seconds(Clock::now() - start);
}

// No process `pid` at all: reaped. What we require of our own children.
bool Vanished(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

// Dead: vanished, or a zombie. A killed grandchild is reparented to init or a
// subreaper, which may be slow to reap it (or, in a container, never do).
bool Dead(pid_t pid) {
  if (Vanished(pid)) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  std::size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() &&
         (line[paren + 2] == 'Z' || line[paren + 2] == 'X');
}

bool EventuallyDead(pid_t pid) {
  Clock::time_point deadline = Clock::now() + 5s;
  while (!Dead(pid) && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  return Dead(pid);
}

std::vector<pid_t> Pids(const std::string& text) {
  std::vector<pid_t> pids;
  std::istringstream in(text);
  long pid;
  while (in >> pid) pids.push_back(static_cast<pid_t>(pid));
  return pids;
}

// A file name unique to this process and object, unlinked when it goes out of scope (also
// when an assertion ends the test early).
struct TempPath {
  TempPath()
      : path(::testing::TempDir() + "executor_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)) {}
  ~TempPath() { ::unlink(path.c_str()); }
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;
  const std::string path;
  static inline int counter = 0;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs one task to its end and returns what `done` got.
Finished RunOne(const TaskSpec& desc, double speed = 1e9) {
  asio::io_context io;
  Executor executor(io, speed);
  Finished f;
  executor.start(7, desc, Record(f));
  EXPECT_EQ(f.calls, 0) << "done called from inside start()";
  EXPECT_TRUE(RunUntil(io, [&] { return f.calls > 0; }));
  RunIdle(io);
  EXPECT_EQ(f.calls, 1);
  EXPECT_EQ(f.task, 7u);
  EXPECT_EQ(executor.running(), 0u);
  return f;
}

TEST(ExecutorTest, EchoHello) {
  Finished f = RunOne(Command("echo hello"));
  EXPECT_EQ(f.outcome, (TaskOutcome{0, "hello\n"}));
}

TEST(ExecutorTest, ExitCode) { EXPECT_EQ(RunOne(Command("exit 3")).outcome.exit_code, 3); }

TEST(ExecutorTest, StderrCapturedWithStdout) {
  Finished f = RunOne(Command("echo out; echo err >&2; echo out2"));
  EXPECT_EQ(f.outcome, (TaskOutcome{0, "out\nerr\nout2\n"}));
}

TEST(ExecutorTest, KilledBySignal) {
  EXPECT_EQ(RunOne(Command("kill -9 $$")).outcome.exit_code, -9);
}

TEST(ExecutorTest, StdinIsDevNull) {
  Finished f = RunOne(Command("cat; echo end"));
  EXPECT_EQ(f.outcome, (TaskOutcome{0, "end\n"}));
}

TEST(ExecutorTest, Timeout) {
  Clock::time_point start = Clock::now();
  Finished f = RunOne(Command("sleep 5 & echo $!; wait", 0.2));
  EXPECT_LT(Seconds(f.at - start), 2.0);
  EXPECT_EQ(f.outcome.exit_code, 124);
  std::vector<pid_t> pids = Pids(f.outcome.output);
  ASSERT_FALSE(pids.empty()) << f.outcome.output;
  EXPECT_TRUE(f.outcome.output.ends_with("\n[timed out after 0.2 s]\n")) << f.outcome.output;
  EXPECT_TRUE(EventuallyDead(pids[0]));
}

TEST(ExecutorTest, HugeOutputKeepsTheTail) {
  Finished f = RunOne(Command("head -c 1000000 /dev/zero | tr '\\0' x; printf END"));
  EXPECT_EQ(f.outcome.exit_code, 0);
  EXPECT_LE(f.outcome.output.size(), kMaxOutputBytes + 64);
  std::string header = "[... " + std::to_string(1000003 - kMaxOutputBytes) + " bytes cut]\n";
  EXPECT_EQ(f.outcome.output,
            header + std::string(kMaxOutputBytes - 3, 'x') + "END");
}

TEST(ExecutorTest, OutputJustUnderTheBoundIsKeptWhole) {
  Finished f = RunOne(Command("head -c " + std::to_string(kMaxOutputBytes) +
                              " /dev/zero | tr '\\0' y"));
  EXPECT_EQ(f.outcome.output, std::string(kMaxOutputBytes, 'y'));
}

TEST(ExecutorTest, CancelRunningCommand) {
  asio::io_context io;
  Executor executor(io, 1e9);
  const TempPath temp;
  const std::string& path = temp.path;
  Finished f;
  executor.start(1, Command("echo $$ > " + path + "; sleep 30 & echo $! >> " + path + "; wait"),
                 Record(f));
  ASSERT_TRUE(RunUntil(io, [&] { return Pids(ReadFile(path)).size() == 2; }));
  std::vector<pid_t> pids = Pids(ReadFile(path));
  EXPECT_TRUE(executor.cancel(1));
  EXPECT_FALSE(executor.cancel(1));
  EXPECT_EQ(executor.running(), 0u);
  // The loop reaps the shell (no zombie) and then has nothing left to do.
  EXPECT_LT(RunIdle(io), 2.0);
  EXPECT_TRUE(Vanished(pids[0]));
  EXPECT_TRUE(EventuallyDead(pids[1]));
  EXPECT_EQ(f.calls, 0);
}

TEST(ExecutorTest, CancelUnknownOrFinished) {
  asio::io_context io;
  Executor executor(io, 1e9);
  EXPECT_FALSE(executor.cancel(5));
  Finished f;
  executor.start(5, Command("true"), Record(f));
  ASSERT_TRUE(RunUntil(io, [&] { return f.calls > 0; }));
  EXPECT_FALSE(executor.cancel(5));
}

TEST(ExecutorTest, GrandchildHoldingThePipe) {
  Clock::time_point start = Clock::now();
  Finished f = RunOne(Command("sleep 3 & echo $!"));
  EXPECT_LT(Seconds(f.at - start), 2.0);
  EXPECT_EQ(f.outcome.exit_code, 0);
  std::vector<pid_t> pids = Pids(f.outcome.output);
  ASSERT_EQ(pids.size(), 1u) << f.outcome.output;
  EXPECT_TRUE(EventuallyDead(pids[0]));  // left-overs die with the task
}

TEST(ExecutorTest, EarlyClosedOutputWaitsForExit) {
  Clock::time_point start = Clock::now();
  Finished f = RunOne(Command("echo before; exec >&- 2>&-; sleep 0.3; exit 5"));
  EXPECT_GE(Seconds(f.at - start), 0.25);
  EXPECT_EQ(f.outcome, (TaskOutcome{5, "before\n"}));
}

TEST(ExecutorTest, Burn) {
  Clock::time_point start = Clock::now();
  Finished f = RunOne(Synthetic(TaskKind::kBurn, 0.2e9), 1e9);
  double took = Seconds(f.at - start);
  EXPECT_GE(took, 0.15);
  EXPECT_LE(took, 1.5);
  EXPECT_EQ(f.outcome, (TaskOutcome{0, ""}));
}

TEST(ExecutorTest, ConcurrentBurns) {
  asio::io_context io;
  Executor executor(io, 1e9);
  std::vector<Finished> f(4);
  Clock::time_point start = Clock::now();
  for (std::uint64_t i = 0; i < f.size(); ++i) {
    executor.start(i, Synthetic(TaskKind::kBurn, 0.2e9), Record(f[i]));
  }
  EXPECT_EQ(executor.running(), 4u);
  EXPECT_EQ(executor.running_tasks(), (std::vector<std::uint64_t>{0, 1, 2, 3}));
  ASSERT_TRUE(RunUntil(io, [&] { return executor.running() == 0; }));
  for (std::uint64_t i = 0; i < f.size(); ++i) {
    EXPECT_EQ(f[i].calls, 1);
    EXPECT_EQ(f[i].task, i);
    double took = Seconds(f[i].at - start);
    EXPECT_GE(took, 0.15);
    EXPECT_LE(took, 1.5);
  }
}

TEST(ExecutorTest, Sleep) {
  Clock::time_point start = Clock::now();
  Finished f = RunOne(Synthetic(TaskKind::kSleep, 0.4e9), 2e9);
  double took = Seconds(f.at - start);
  EXPECT_GE(took, 0.15);
  EXPECT_LE(took, 1.5);
  EXPECT_EQ(f.outcome, (TaskOutcome{0, ""}));
}

TEST(ExecutorTest, SpeedFactorSlowsLaterTasks) {
  asio::io_context io;
  Executor executor(io, 1e9);
  executor.set_speed_factor(4);
  Finished sleep, burn;
  Clock::time_point start = Clock::now();
  executor.start(1, Synthetic(TaskKind::kSleep, 0.05e9), Record(sleep));
  executor.start(2, Synthetic(TaskKind::kBurn, 0.05e9), Record(burn));
  ASSERT_TRUE(RunUntil(io, [&] { return executor.running() == 0; }));
  for (const Finished* f : {&sleep, &burn}) {
    double took = Seconds(f->at - start);
    EXPECT_GE(took, 0.15);
    EXPECT_LE(took, 1.5);
  }
}

TEST(ExecutorTest, SyntheticTimeout) {
  for (TaskKind kind : {TaskKind::kSleep, TaskKind::kBurn}) {
    Clock::time_point start = Clock::now();
    Finished f = RunOne(Synthetic(kind, 100e9, 0.2), 1e9);
    EXPECT_LT(Seconds(f.at - start), 2.0);
    EXPECT_EQ(f.outcome, (TaskOutcome{124, "[timed out after 0.2 s]\n"}));
  }
}

TEST(ExecutorTest, CancelSyntheticTasks) {
  asio::io_context io;
  Executor executor(io, 1e9);
  Finished burn, sleep;
  executor.start(1, Synthetic(TaskKind::kBurn, 30e9), Record(burn));
  executor.start(2, Synthetic(TaskKind::kSleep, 30e9), Record(sleep));
  RunUntil(io, [] { return false; }, 50ms);
  EXPECT_TRUE(executor.cancel(1));
  EXPECT_TRUE(executor.cancel(2));
  EXPECT_EQ(executor.running(), 0u);
  // The burn thread stops and is joined on the loop; then nothing is left to do.
  EXPECT_LT(RunIdle(io), 2.0);
  EXPECT_EQ(burn.calls, 0);
  EXPECT_EQ(sleep.calls, 0);
}

TEST(ExecutorTest, DoneIsNeverCalledFromStart) {
  asio::io_context io;
  Executor executor(io, 1e9);
  std::vector<Finished> f(3);
  executor.start(0, Command("true"), Record(f[0]));
  executor.start(1, Synthetic(TaskKind::kBurn, 0), Record(f[1]));
  executor.start(2, Synthetic(TaskKind::kSleep, 0), Record(f[2]));
  for (const Finished& x : f) EXPECT_EQ(x.calls, 0);
  ASSERT_TRUE(RunUntil(io, [&] { return executor.running() == 0; }));
  for (const Finished& x : f) EXPECT_EQ(x.calls, 1);
}

TEST(ExecutorTest, DoneMayStartTheNextTask) {
  asio::io_context io;
  Executor executor(io, 1e9);
  std::vector<std::uint64_t> order;
  std::function<void(std::uint64_t, TaskOutcome)> next = [&](std::uint64_t task, TaskOutcome) {
    order.push_back(task);
    if (task < 3) {
      executor.start(task + 1, task % 2 ? Command("true") : Synthetic(TaskKind::kSleep, 0),
                     next);
    }
  };
  executor.start(0, Synthetic(TaskKind::kBurn, 0), next);
  ASSERT_TRUE(RunUntil(io, [&] { return order.size() == 4; }));
  EXPECT_EQ(order, (std::vector<std::uint64_t>{0, 1, 2, 3}));
}

TEST(ExecutorTest, DoneMayDestroyTheExecutor) {
  asio::io_context io;
  auto executor = std::make_unique<Executor>(io, 1e9);
  const TempPath temp;
  const std::string& path = temp.path;
  Finished other;
  executor->start(1, Command("echo $$ > " + path + "; exec sleep 30"), Record(other));
  ASSERT_TRUE(RunUntil(io, [&] { return Pids(ReadFile(path)).size() == 1; }));
  bool done = false;
  executor->start(2, Command("echo hi"), [&](std::uint64_t, TaskOutcome) {
    done = true;
    executor.reset();
  });
  ASSERT_TRUE(RunUntil(io, [&] { return done; }));
  EXPECT_LT(RunIdle(io), 2.0);
  EXPECT_EQ(other.calls, 0);
  EXPECT_TRUE(Vanished(Pids(ReadFile(path))[0]));
}

TEST(ExecutorTest, DestructorKillsEverything) {
  asio::io_context io;
  const TempPath temp;
  const std::string& path = temp.path;
  std::vector<Finished> f(3);
  std::vector<pid_t> pids;
  {
    Executor executor(io, 1e9);
    executor.start(1, Command("echo $$ > " + path + "; sleep 30 & echo $! >> " + path + "; wait"),
                   Record(f[0]));
    executor.start(2, Synthetic(TaskKind::kBurn, 30e9), Record(f[1]));
    executor.start(3, Synthetic(TaskKind::kSleep, 30e9), Record(f[2]));
    ASSERT_TRUE(RunUntil(io, [&] { return Pids(ReadFile(path)).size() == 2; }));
    pids = Pids(ReadFile(path));
  }  // ~Executor
  EXPECT_TRUE(Vanished(pids[0]));  // reaped by the destructor, no zombie
  EXPECT_TRUE(EventuallyDead(pids[1]));
  // Handlers left in the queue find nothing to do.
  EXPECT_LT(RunIdle(io), 2.0);
  for (const Finished& x : f) EXPECT_EQ(x.calls, 0);
}

TEST(ExecutorTest, KillAllLeavesItUsable) {
  asio::io_context io;
  Executor executor(io, 1e9);
  Finished a, b;
  executor.start(1, Command("sleep 30"), Record(a));
  executor.start(2, Synthetic(TaskKind::kBurn, 30e9), Record(b));
  Clock::time_point start = Clock::now();
  executor.kill_all();
  EXPECT_LT(Seconds(Clock::now() - start), 2.0);
  EXPECT_EQ(executor.running(), 0u);
  Finished c;
  executor.start(1, Command("echo again"), Record(c));
  ASSERT_TRUE(RunUntil(io, [&] { return c.calls > 0; }));
  EXPECT_EQ(c.outcome, (TaskOutcome{0, "again\n"}));
  RunIdle(io);
  EXPECT_EQ(a.calls, 0);
  EXPECT_EQ(b.calls, 0);
}

TEST(ExecutorTest, TwoExecutorsShareAProcess) {
  asio::io_context io;
  Executor one(io, 1e9), two(io, 1e9);
  Finished a, b;
  one.start(1, Command("sleep 0.2; echo one"), Record(a));
  two.start(1, Command("echo two; exit 4"), Record(b));
  ASSERT_TRUE(RunUntil(io, [&] { return a.calls > 0 && b.calls > 0; }));
  EXPECT_EQ(a.outcome, (TaskOutcome{0, "one\n"}));
  EXPECT_EQ(b.outcome, (TaskOutcome{4, "two\n"}));
}

TEST(ExecutorTest, ManyShortCommands) {
  asio::io_context io;
  Executor executor(io, 1e9);
  std::vector<Finished> f(50);
  for (std::uint64_t i = 0; i < f.size(); ++i) {
    executor.start(i, Command("echo " + std::to_string(i) + "; exit " + std::to_string(i % 7)),
                   Record(f[i]));
  }
  ASSERT_TRUE(RunUntil(io, [&] { return executor.running() == 0; }));
  for (std::uint64_t i = 0; i < f.size(); ++i) {
    EXPECT_EQ(f[i].calls, 1);
    EXPECT_EQ(f[i].outcome, (TaskOutcome{static_cast<std::int32_t>(i % 7),
                                         std::to_string(i) + "\n"}));
  }
}

}  // namespace
}  // namespace fulcrum::real
