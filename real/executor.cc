#include "real/executor.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>

namespace fulcrum::real {

namespace {

using Clock = std::chrono::steady_clock;

// How often a child is checked when no pidfd can watch it.
constexpr auto kExitPollPeriod = std::chrono::milliseconds(10);
// After the shell exited, at most this much is read from the pipe. Its group is dead, so
// only a process that left the group (setsid) can still write; it must not keep the
// task from ending.
constexpr std::size_t kDrainLimit = 1 << 20;
// Exit code of a task that could not be started (the shell's "cannot execute").
constexpr std::int32_t kStartFailed = 127;
constexpr std::int32_t kTimedOut = 124;

// Seconds into a clock duration, bounded so that absurd inputs (inf, NaN, negative) neither
// overflow the conversion nor go back in time. 1e9 s is ~32 years.
Clock::duration ToDuration(double seconds) {
  if (!(seconds > 0)) return Clock::duration::zero();
  seconds = std::min(seconds, 1e9);
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

std::string TimedOutLine(double seconds) {
  char line[64];
  std::snprintf(line, sizeof line, "[timed out after %g s]\n", seconds);
  return line;
}

// Whether `pid`, our child, has exited (it stays waitable: WNOWAIT).
bool HasExited(pid_t pid) {
  siginfo_t info;
  info.si_pid = 0;  // the only portable way to tell "nothing yet" (see waitid(2))
  while (::waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno != EINTR) return true;  // ECHILD: already reaped by someone else
  }
  return info.si_pid != 0;
}

// Reaps `pid`, waiting for it if needed, and returns its exit code (-N: signal N).
std::int32_t Reap(pid_t pid) {
  siginfo_t info;
  std::memset(&info, 0, sizeof info);
  while (::waitid(P_PID, pid, &info, WEXITED) != 0) {
    // ECHILD: someone else reaped it (see the header's REQUIRES); the status is lost.
    if (errno != EINTR) return -SIGKILL;
  }
  if (info.si_code == CLD_EXITED) return info.si_status;
  return -info.si_status;  // CLD_KILLED, CLD_DUMPED
}

// Keeps a CPU busy until `deadline` or until `stop` is set. The clock and the flag are
// checked every few microseconds, which costs nothing next to the work.
void Burn(Clock::time_point deadline, const std::atomic<bool>& stop) {
  double x = 1.0;
  while (!stop.load(std::memory_order_relaxed) && Clock::now() < deadline) {
    for (int i = 0; i < 4096; ++i) x = x * 0.999999 + 1e-6;
  }
  volatile double sink = x;  // keeps the loop from being optimized away
  (void)sink;
}

// What the confined child needs, prepared by the parent (the child allocates nothing),
// and where it says why it gave up: it shares the parent's memory (CLONE_VM).
struct ConfinedChild {
  char* const* argv;
  char* const* envp;
  int out;
  const char* const* procs;
  std::size_t procs_count;
  std::uint64_t address_space;
  // Set by the child when a step fails: 1 cgroup, 2 rlimit, 3 stdio, 4 exec.
  int step = 0, error = 0, index = 0;
};

int RunConfinedChild(void* arg) {
  ConfinedChild& c = *static_cast<ConfinedChild*>(arg);
  auto fail = [&c](int step, int index) {
    c.step = step;
    c.error = errno;
    c.index = index;
    ::_exit(kStartFailed);
  };
  ::setpgid(0, 0);
  char digits[24];
  int n = 0;
  for (pid_t self = ::getpid(); self > 0; self /= 10) digits[n++] = static_cast<char>('0' + self % 10);
  char text[24];
  for (int i = 0; i < n; ++i) text[i] = digits[n - 1 - i];
  text[n] = '\n';
  for (std::size_t i = 0; i < c.procs_count; ++i) {
    const int fd = ::open(c.procs[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, text, static_cast<std::size_t>(n + 1)) != n + 1) fail(1, static_cast<int>(i));
    ::close(fd);
  }
  if (c.address_space > 0) {
    const rlimit limit{static_cast<rlim_t>(c.address_space), static_cast<rlim_t>(c.address_space)};
    if (::setrlimit(RLIMIT_AS, &limit) != 0) fail(2, 0);
  }
  if (::dup2(c.out, STDOUT_FILENO) < 0 || ::dup2(c.out, STDERR_FILENO) < 0) fail(3, 0);
  const int null = ::open("/dev/null", O_RDONLY);
  if (null < 0) fail(3, 1);
  if (null != STDIN_FILENO) {
    if (::dup2(null, STDIN_FILENO) < 0) fail(3, 1);
    ::close(null);
  }
  // Everything above 2 goes (the daemon's sockets, journal...).
  if (::close_range(STDERR_FILENO + 1, ~0U, 0) != 0) {
    rlimit files{};  // close_range needs Linux >= 5.9: close them one by one
    const rlim_t last = ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < 65536 ? files.rlim_cur : 65536;
    for (rlim_t fd = STDERR_FILENO + 1; fd < last; ++fd) ::close(static_cast<int>(fd));
  }
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);  // EINVAL for glibc's own: fine
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve("/bin/sh", c.argv, c.envp);
  fail(4, 0);
  return kStartFailed;
}

// Starts `/bin/sh -c command` as posix_spawn would below (own process group, stdout and
// stderr to `out`, stdin /dev/null, descriptors above 2 closed, default signal
// dispositions and an empty mask), confined first: it joins `confine`'s cgroups and sets
// its RLIMIT_AS between clone and exec. Returns "" and sets `pid`, or what failed.
// Like glibc's posix_spawn, the child is a clone(CLONE_VM | CLONE_VFORK) on a stack of its
// own: no copy of the daemon's memory (a fork costs milliseconds more), and this thread
// waits until the child has exec'd or given up. The child calls only async-signal-safe
// functions and allocates nothing (other threads' locks are not its own).
// The daemon's environment with `extra` (NAME=value) over it. The pointers live as long
// as `extra` and environ.
std::vector<char*> Environment(const std::vector<std::string>& extra) {
  std::vector<char*> out;
  for (const std::string& e : extra) out.push_back(const_cast<char*>(e.c_str()));
  for (char** e = environ; *e != nullptr; ++e) {
    const bool shadowed = std::any_of(extra.begin(), extra.end(), [&](const std::string& x) {
      const std::size_t eq = x.find('=');
      return std::strncmp(*e, x.c_str(), eq == std::string::npos ? x.size() : eq + 1) == 0;
    });
    if (!shadowed) out.push_back(*e);
  }
  out.push_back(nullptr);
  return out;
}

std::string SpawnConfined(char* const argv[], int out, const Confinement& confine, pid_t* pid) {
  std::vector<const char*> procs;
  for (const std::string& p : confine.cgroup_procs) procs.push_back(p.c_str());
  const std::vector<char*> envp = Environment(confine.env);
  ConfinedChild child{argv, envp.data(), out, procs.data(), procs.size(), confine.address_space};
  constexpr std::size_t kStack = 256 * 1024;
  void* stack = ::mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return std::string("mmap: ") + std::strerror(errno);
  // No signal handler of the daemon may run in the child: everything is blocked across
  // the clone and the child unblocks only after resetting every disposition.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t started = ::clone(RunConfinedChild, static_cast<char*>(stack) + kStack,
                                CLONE_VM | CLONE_VFORK | SIGCHLD, &child);
  const int clone_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::munmap(stack, kStack);
  if (started < 0) return std::string("clone: ") + std::strerror(clone_errno);
  if (child.step == 0) {
    *pid = started;
    return "";
  }
  Reap(started);
  const std::string why = std::strerror(child.error);
  switch (child.step) {
    case 1:
      return "joining cgroup " + confine.cgroup_procs.at(static_cast<std::size_t>(child.index)) + ": " + why;
    case 2:
      return "setrlimit(RLIMIT_AS, " + std::to_string(confine.address_space) + "): " + why;
    case 3:
      return "setting up stdin/stdout: " + why;
    default:
      return "exec /bin/sh: " + why;
  }
}

}  // namespace

struct Executor::Run {
  explicit Run(std::uint64_t task, TaskKind kind, Done done)
      : task(task), kind(kind), done(std::move(done)) {}
  ~Run() {
    // Normally joined already; this keeps every path (even an exception) from
    // destroying a joinable std::thread.
    if (thread.joinable()) {
      stop->store(true);
      thread.join();
    }
  }

  const std::uint64_t task;
  const TaskKind kind;
  Done done;
  bool cancelled = false;
  double timeout = 0;  // seconds, 0: none
  bool timed_out = false;
  std::optional<asio::steady_timer> timer;  // command: timeout; sleep: its end

  // kCommand. pid is also the process group id; it cannot be reused before we reap it,
  // so signalling the group is safe until `reaped`.
  pid_t pid = -1;
  bool reaped = false;
  std::int32_t exit_code = 0;
  std::optional<asio::posix::stream_descriptor> pidfd;  // readable once the child exited
  std::optional<asio::steady_timer> exit_poll;          // when there is no pidfd
  std::optional<asio::posix::stream_descriptor> pipe;   // reset once read to the end
  std::array<char, 16 * 1024> buffer;
  std::string tail;         // the last bytes of output, at least kMaxOutputBytes if any
  std::uint64_t total = 0;  // bytes of output seen

  // kBurn.
  std::shared_ptr<std::atomic<bool>> stop = std::make_shared<std::atomic<bool>>(false);
  std::thread thread;
  // A burn's thread is no work the io_context knows of; this keeps run() from returning
  // before the burn ends.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;

  void append(const char* data, std::size_t n) {
    total += n;
    tail.append(data, n);
    // Trimming only past twice the bound keeps appends amortized O(n).
    if (tail.size() > 2 * kMaxOutputBytes) tail.erase(0, tail.size() - kMaxOutputBytes);
  }

  std::string output() const {
    if (total <= kMaxOutputBytes) return tail;
    return "[... " + std::to_string(total - kMaxOutputBytes) + " bytes cut]\n" +
           tail.substr(tail.size() - kMaxOutputBytes);
  }
};

Executor::Executor(asio::io_context& io, double speed) : io_(io), speed_(speed) {
  assert(speed > 0);
}

Executor::~Executor() { kill_all(); }

void Executor::start(std::uint64_t task, const TaskSpec& desc, Done done, const Confinement& confine) {
  assert(!runs_.contains(task));
  auto r = std::make_shared<Run>(task, desc.kind, std::move(done));
  r->timeout = desc.timeout > 0 ? desc.timeout : 0;
  runs_[task] = r;
  switch (desc.kind) {
    case TaskKind::kCommand:
      start_command(r, desc, confine);
      return;
    case TaskKind::kBurn:
    case TaskKind::kSleep: {
      double seconds = desc.flops / speed_ * speed_factor_;
      if (!(seconds > 0)) seconds = 0;
      if (r->timeout > 0 && seconds > r->timeout) {
        seconds = r->timeout;
        r->timed_out = true;
      }
      if (desc.kind == TaskKind::kBurn) {
        start_burn(r, seconds);
      } else {
        start_sleep(r, seconds);
      }
      return;
    }
  }
  fail_soon(r, "unknown task kind " + std::to_string(static_cast<int>(desc.kind)));
}

void Executor::fail_soon(const std::shared_ptr<Run>& r, std::string why) {
  asio::post(io_, [this, weak = std::weak_ptr<Run>(r), why = std::move(why)] {
    std::shared_ptr<Run> r = weak.lock();
    if (!r || r->cancelled) return;
    finish(r, TaskOutcome{kStartFailed, "[could not start: " + why + "]\n"});
  });
}

void Executor::start_command(const std::shared_ptr<Run>& r, const TaskSpec& desc, const Confinement& confine) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    fail_soon(r, std::string("pipe: ") + std::strerror(errno));
    return;
  }
  ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);

  if (!confine.empty()) {
    char sh[] = "sh";
    char dash_c[] = "-c";
    std::string command = desc.command;
    char* argv[] = {sh, dash_c, command.data(), nullptr};
    // The write end must not be 0..2 in the child, where dup2 onto itself would keep its
    // close-on-exec flag.
    if (fds[1] <= STDERR_FILENO) {
      const int moved = ::fcntl(fds[1], F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
      ::close(fds[1]);
      fds[1] = moved;
    }
    pid_t pid = -1;
    std::string error = fds[1] < 0 ? std::string("fcntl: ") + std::strerror(errno)
                                   : SpawnConfined(argv, fds[1], confine, &pid);
    if (fds[1] >= 0) ::close(fds[1]);
    if (!error.empty()) {
      ::close(fds[0]);
      fail_soon(r, error);
      return;
    }
    started_command(r, pid, fds[0]);
    return;
  }

  // posix_spawn (vfork-like in glibc) rather than fork: nothing runs in the child but
  // these actions and exec, and the burn threads make this process multi-threaded.
  // The dup2s come before the open of fd 0 so that a pipe end that happens to be fd 0,
  // 1 or 2 (the daemon closed its stdio) still ends up where it should; a dup2 onto
  // itself clears FD_CLOEXEC (POSIX, glibc >= 2.29).
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  // Descriptors the daemon opened without O_CLOEXEC (sockets...) stay out of tasks.
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
#endif

  // Its own process group, created before exec (so killpg works as soon as posix_spawn
  // returns); an empty signal mask and default dispositions, whatever the daemon
  // blocks or ignores (an ignored SIGPIPE would otherwise survive exec).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t signals;
  sigemptyset(&signals);
  posix_spawnattr_setsigmask(&attr, &signals);
  sigfillset(&signals);
  sigdelset(&signals, SIGKILL);
  sigdelset(&signals, SIGSTOP);
  posix_spawnattr_setsigdefault(&attr, &signals);

  char sh[] = "sh";
  char dash_c[] = "-c";
  std::string command = desc.command;
  char* argv[] = {sh, dash_c, command.data(), nullptr};
  pid_t pid = -1;
  const std::vector<char*> envp = Environment(confine.env);
  int error = ::posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);  // only the child writes; EOF comes when its side is all closed
  if (error != 0) {
    ::close(fds[0]);
    fail_soon(r, std::string("posix_spawn: ") + std::strerror(error));
    return;
  }
  started_command(r, pid, fds[0]);
}

void Executor::started_command(const std::shared_ptr<Run>& r, pid_t pid, int output) {
  r->pid = pid;
  r->pipe.emplace(io_, output);
  watch_exit(r);
  read_more(r);
  if (r->timeout > 0) {
    r->timer.emplace(io_, ToDuration(r->timeout));
    r->timer->async_wait([weak = std::weak_ptr<Run>(r)](const asio::error_code& ec) {
      std::shared_ptr<Run> r = weak.lock();
      if (ec || !r || r->cancelled || r->reaped) return;
      // A child that exited just before the deadline finished in time: its exit is
      // already on its way to on_exit.
      if (HasExited(r->pid)) return;
      ::killpg(r->pid, SIGKILL);
      r->timed_out = true;  // on_exit reports it once the child is reaped
    });
  }
}

void Executor::watch_exit(const std::shared_ptr<Run>& r) {
#ifdef SYS_pidfd_open
  // The child cannot have been reaped yet, so the pid names it even if it already exited
  // (then the pidfd is readable at once). Pidfds are always close-on-exec.
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, r->pid, 0));
  if (fd >= 0) {
    r->pidfd.emplace(io_, fd);
    // Armed right away: the Asio reactor is edge-triggered, and no event can have been
    // consumed since the descriptor was registered just above.
    r->pidfd->async_wait(asio::posix::descriptor_base::wait_read,
                         [this, weak = std::weak_ptr<Run>(r)](const asio::error_code& ec) {
                           std::shared_ptr<Run> r = weak.lock();
                           if (!r || ec == asio::error::operation_aborted) return;
                           // Readable is checked, not trusted: a wake-up while the child
                           // still runs (seen in real/tests/worker_resources_test.cc when
                           // short commands start and end fast: a stale edge of a closed
                           // pidfd whose number the new one took, it seems) would SIGKILL
                           // its group in on_exit. Such a child is polled instead.
                           if (!ec && HasExited(r->pid)) {
                             on_exit(r);
                           } else {
                             poll_exit(r);
                           }
                         });
    return;
  }
#endif
  poll_exit(r);  // ENOSYS (kernel < 5.3), or a seccomp filter refused it
}

void Executor::poll_exit(const std::shared_ptr<Run>& r) {
  if (!r->exit_poll) r->exit_poll.emplace(io_);
  r->exit_poll->expires_after(kExitPollPeriod);
  r->exit_poll->async_wait([this, weak = std::weak_ptr<Run>(r)](const asio::error_code& ec) {
    std::shared_ptr<Run> r = weak.lock();
    if (ec || !r) return;
    if (HasExited(r->pid)) {
      on_exit(r);
    } else {
      poll_exit(r);
    }
  });
}

void Executor::on_exit(const std::shared_ptr<Run>& r) {
  if (r->cancelled) {  // killed by cancel(); only the reaping was left to do
    Reap(r->pid);
    r->reaped = true;
    retiring_.erase(r);
    return;
  }
  // The shell is a zombie, so its pid still names its group: whatever it left behind
  // (background jobs, maybe holding the pipe open) dies with the task.
  ::killpg(r->pid, SIGKILL);
  r->exit_code = Reap(r->pid);
  r->reaped = true;
  if (r->timer) r->timer->cancel();
  if (r->pipe) {
    // The read handler drains what is buffered and completes the task. Not drained
    // here: a read may have completed already, its handler (and data) still queued.
    r->pipe->cancel();
  } else {
    complete_command(r);
  }
}

void Executor::read_more(const std::shared_ptr<Run>& r) {
  r->pipe->async_read_some(
      asio::buffer(r->buffer),
      [this, weak = std::weak_ptr<Run>(r)](const asio::error_code& ec, std::size_t n) {
        std::shared_ptr<Run> r = weak.lock();
        if (!r || r->cancelled) return;
        r->append(r->buffer.data(), n);
        if (!ec && !r->reaped) {
          read_more(r);
          return;
        }
        if (ec != asio::error::eof && r->reaped) {
          // The shell exited: take what is buffered, without waiting for an EOF that a
          // process outside its group could hold off forever.
          int fd = r->pipe->native_handle();
          std::size_t drained = 0;
          while (drained < kDrainLimit) {
            ssize_t got = ::read(fd, r->buffer.data(), r->buffer.size());
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) break;  // EOF, EAGAIN or an error: nothing more to take now
            r->append(r->buffer.data(), static_cast<std::size_t>(got));
            drained += static_cast<std::size_t>(got);
          }
        }
        r->pipe.reset();
        // Not reaped yet (EOF first: the child closed its output early): on_exit
        // completes the task.
        if (r->reaped) complete_command(r);
      });
}

void Executor::complete_command(const std::shared_ptr<Run>& r) {
  TaskOutcome outcome{r->exit_code, r->output()};
  if (r->timed_out) {
    outcome.exit_code = kTimedOut;
    if (!outcome.output.empty() && outcome.output.back() != '\n') outcome.output += '\n';
    outcome.output += TimedOutLine(r->timeout);
  }
  finish(r, std::move(outcome));
}

void Executor::start_burn(const std::shared_ptr<Run>& r, double seconds) {
  r->work.emplace(asio::make_work_guard(io_));
  Clock::time_point deadline = Clock::now() + ToDuration(seconds);
  // The thread holds its own stop flag and the io_context, never the Executor or the
  // Run: those may be gone when it ends, which the posted handler checks on the loop.
  try {
    r->thread = std::thread([this, &io = io_, stop = r->stop, deadline,
                             weak = std::weak_ptr<Run>(r)] {
      Burn(deadline, *stop);
      asio::post(io, [this, weak] {
        if (std::shared_ptr<Run> r = weak.lock()) on_burn_end(r);
      });
    });
  } catch (const std::system_error& e) {
    r->work.reset();
    fail_soon(r, std::string("thread: ") + e.what());
  }
}

void Executor::on_burn_end(const std::shared_ptr<Run>& r) {
  r->thread.join();  // immediate: the thread's last act was posting this
  r->work.reset();
  if (r->cancelled) {
    retiring_.erase(r);
    return;
  }
  TaskOutcome outcome;
  if (r->timed_out) {
    outcome.exit_code = kTimedOut;
    outcome.output = TimedOutLine(r->timeout);
  }
  finish(r, std::move(outcome));
}

void Executor::start_sleep(const std::shared_ptr<Run>& r, double seconds) {
  if (seconds <= 0 && !r->timed_out) {
    // A no-op task: arming a timer that expires at once costs two timerfd_settime calls
    // (about 20 us here), ten times the scheduler's whole cost per task.
    asio::post(io_, [this, weak = std::weak_ptr<Run>(r)] {
      std::shared_ptr<Run> r = weak.lock();
      if (!r || r->cancelled) return;
      finish(r, TaskOutcome{});
    });
    return;
  }
  r->timer.emplace(io_, ToDuration(seconds));
  r->timer->async_wait([this, weak = std::weak_ptr<Run>(r)](const asio::error_code& ec) {
    std::shared_ptr<Run> r = weak.lock();
    if (ec || !r || r->cancelled) return;
    TaskOutcome outcome;
    if (r->timed_out) {
      outcome.exit_code = kTimedOut;
      outcome.output = TimedOutLine(r->timeout);
    }
    finish(r, std::move(outcome));
  });
}

void Executor::finish(const std::shared_ptr<Run>& r, TaskOutcome outcome) {
  auto it = runs_.find(r->task);
  assert(it != runs_.end() && it->second == r);
  if (it == runs_.end() || it->second != r) return;
  Done done = std::move(r->done);
  runs_.erase(it);
  done(r->task, std::move(outcome));  // last: it may start tasks or destroy the Executor
}

bool Executor::cancel(std::uint64_t task) {
  auto it = runs_.find(task);
  if (it == runs_.end()) return false;
  std::shared_ptr<Run> r = std::move(it->second);
  runs_.erase(it);
  r->cancelled = true;
  r->done = nullptr;
  r->timer.reset();  // its pending wait completes as aborted, finding the Run cancelled
  switch (r->kind) {
    case TaskKind::kCommand:
      r->pipe.reset();
      if (r->pid > 0 && !r->reaped) {
        ::killpg(r->pid, SIGKILL);
        // If it had exited already, its exit watch fired and is waiting in the queue,
        // or fires now; either way on_exit reaps it. Until then the Run retires.
        retiring_.insert(std::move(r));
      }
      break;
    case TaskKind::kBurn:
      r->stop->store(true);
      // The thread notices within microseconds and posts on_burn_end, which joins it
      // (off this call, so that cancel() never waits on a thread).
      if (r->thread.joinable()) retiring_.insert(std::move(r));
      break;
    case TaskKind::kSleep:
      break;
  }
  return true;
}

void Executor::set_speed_factor(double factor) {
  assert(factor >= 1);
  speed_factor_ = factor >= 1 ? factor : 1;
}

std::vector<std::uint64_t> Executor::running_tasks() const {
  std::vector<std::uint64_t> tasks;
  tasks.reserve(runs_.size());
  for (const auto& entry : runs_) tasks.push_back(entry.first);
  std::sort(tasks.begin(), tasks.end());
  return tasks;
}

void Executor::kill_all() {
  for (std::uint64_t task : running_tasks()) cancel(task);
  for (const std::shared_ptr<Run>& r : retiring_) {
    if (r->kind == TaskKind::kCommand && r->pid > 0 && !r->reaped) {
      Reap(r->pid);  // SIGKILLed by cancel(): this returns as soon as it is dead
      r->reaped = true;
    }
    if (r->thread.joinable()) {
      r->stop->store(true);
      r->thread.join();
    }
  }
  // Their pending handlers now find nothing and do nothing.
  retiring_.clear();
}

}  // namespace fulcrum::real
