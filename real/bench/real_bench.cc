// real_bench: how fast the real-mode scheduler pushes no-op tasks through a local cluster.
//
//   real_bench FULCRUM_BINARY [--tasks N] [--workers 8] [--slots 1] [--batch 1000]
//              [--clients 1] [--window 4] [--warmup 2000] [--latency-seconds 5]
//              [--latency-tasks M] [--rate R] [--policy SPEC] [--queue-cap K]
//              [--journal-parent DIR] [--scheduler-wrapper "CMD ARGS"] [--no-latency] [--tls]
//
// It starts `FULCRUM_BINARY scheduler` (journal in a fresh mkdtemp folder under
// --journal-parent, default /tmp) and `--workers` worker daemons as child processes on
// 127.0.0.1, waits until every worker has registered, then runs two phases against that
// one scheduler. A no-op task is a kSleep TaskSpec of 0 flops: a zero-length timer on the
// worker.
//
// (a) Throughput. N tasks are submitted as jobs of --batch tasks over --clients
//     connections, each pipelined with at most --window Submits awaiting their Submitted
//     reply (one pre-encoded frame is re-sent, so the client spends almost no CPU). The
//     run ends when every task is terminal at the scheduler: the client waits on the last
//     2 x workers x slots tasks, then fetches the records (RecordsRequest) and waits on any
//     task still not terminal, until none is. tasks/s = N / (last task's end in the scheduler's records
//     - the client's wall-clock time just before its first send); the client-observed
//     figure (until the client knew) is printed beside it. Both clocks are the same
//     system clock of this machine. A --warmup job runs first and is not counted.
//
// (b) Latency at 50 % load. Single-task jobs are sent open-loop on one pipelined
//     connection at rate R = 0.5 x the throughput of (a) (or --rate), paced by the
//     steady clock (a sender that falls behind sends what is due at once, so the mean
//     rate holds), for --latency-seconds (or --latency-tasks). Reported, nearest-rank
//     p50/p99 over those tasks:
//       dispatch  = start - submit from the scheduler's records (but see the note it prints:
//                   most records carry the dispatch time as their start): submit is when the
//                   scheduler applied the job to its core, after the journal commit
//                   (fdatasync) of the batch that carried it; start is when it applied
//                   the worker's TaskStarted (which waits for the group commit of the
//                   batch it arrived in). It includes the policy's decision, the
//                   Dispatch frame to the worker, the worker's event loop, the TaskStarted
//                   frame back, and any queueing at the worker or in the scheduler loop.
//       accept    = scheduler submit - client send time: the Submit frame's trip, the
//                   scheduler's read and the journal's group commit (fdatasync).
//       rtt       = client send -> Submitted received (client steady clock): accept plus
//                   the reply's trip back.
//       response  = end - submit from the records: dispatch plus the no-op run and the
//                   TaskDone trip and its journal commit; an upper bound of dispatch.
//       run       = end - start from the records.
//       send->end = records end - client send time: what Dask's submit -> done measures,
//                   less the notice back to the client.
//     At 50 % load single-task jobs cost the scheduler several times what batched ones
//     do (a frame, a journal record and a reply each), so this is a heavier load than
//     half of (a)'s CPU.
//
// Also printed: the CPU seconds the scheduler, the workers and this client used in each
// phase (from /proc), and a probe of the journal disk's fdatasync latency.
//
// Every child process is stopped on every exit path (SIGTERM, then SIGKILL after 5 s,
// then reaped); children also get PR_SET_PDEATHSIG so that they die if this program is
// killed outright. The last line is machine-readable (RESULT key=value ...).
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "real/certs.h"
#include "real/tls.h"
#include "real/wire.h"

namespace {

using namespace fulcrum;
using namespace fulcrum::real;
using Steady = std::chrono::steady_clock;

// --- time -------------------------------------------------------------------------------

// The scheduler stamps its records with the system clock in seconds; so does this.
double wall() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
double since(Steady::time_point t0) { return std::chrono::duration<double>(Steady::now() - t0).count(); }

// --- child processes ------------------------------------------------------------------------

// Fixed storage so that the signal handler can reach the pids without allocating.
constexpr int kMaxChildren = 256;
pid_t g_children[kMaxChildren];
std::atomic<int> g_child_count{0};
char g_tmpdir[256] = "";

void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// SIGTERM everything, give it `grace_ms`, SIGKILL the rest, reap all. Async-signal-safe.
void stop_children(long grace_ms) {
  const int n = g_child_count.load();
  for (int i = 0; i < n; ++i) {
    if (g_children[i] > 0) ::kill(g_children[i], SIGTERM);
  }
  for (long waited = 0;; waited += 5) {
    bool any = false;
    for (int i = 0; i < n; ++i) {
      if (g_children[i] <= 0) continue;
      const pid_t r = ::waitpid(g_children[i], nullptr, WNOHANG);
      if (r == g_children[i] || (r < 0 && errno == ECHILD)) {
        g_children[i] = 0;
      } else {
        any = true;
      }
    }
    if (!any) break;
    if (waited >= grace_ms) {
      for (int i = 0; i < n; ++i) {
        if (g_children[i] > 0) {
          ::kill(g_children[i], SIGKILL);
          ::waitpid(g_children[i], nullptr, 0);
          g_children[i] = 0;
        }
      }
      break;
    }
    sleep_ms(5);
  }
  g_child_count.store(0);
}

void remove_tmpdir() {
  if (g_tmpdir[0] == '\0') return;
  std::error_code ignored;
  std::filesystem::remove_all(g_tmpdir, ignored);
  g_tmpdir[0] = '\0';
}

// What the temporary folder holds (files first, then folders, deepest first), spelled out
// beforehand so that a signal handler can remove it with unlink/rmdir alone.
constexpr int kTmpPaths = 9;
char g_tmp_paths[kTmpPaths][320];
void plan_tmp_paths(const std::string& dir) {
  const char* names[kTmpPaths] = {"/journal/journal.log", "/journal/epoch", "/journal/epoch.tmp", "/port", "/port.tmp",
                                  "/fdatasync-probe", "/journal", "", nullptr};
  for (int i = 0; i < kTmpPaths; ++i) {
    g_tmp_paths[i][0] = '\0';
    if (names[i]) std::snprintf(g_tmp_paths[i], sizeof g_tmp_paths[i], "%s%s", dir.c_str(), names[i]);
  }
}

extern "C" void on_fatal_signal(int sig) {
  stop_children(2000);
  for (int i = 0; i < kTmpPaths; ++i) {
    if (g_tmp_paths[i][0] != '\0' && ::unlink(g_tmp_paths[i]) != 0) ::rmdir(g_tmp_paths[i]);
  }
  ::_exit(128 + sig);
}

// Stops the children and removes the temporary folder when it goes out of scope, on
// every path out of main (return, exception).
struct Cleanup {
  ~Cleanup() {
    stop_children(5000);
    remove_tmpdir();
  }
};

pid_t spawn(const std::vector<std::string>& args) {
  if (g_child_count.load() >= kMaxChildren) return -1;
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    // Children get the default dispositions back.
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGHUP, SIG_DFL);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "real_bench: cannot start %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  g_children[g_child_count.load()] = pid;
  g_child_count.fetch_add(1);
  return pid;
}

bool alive(pid_t pid) { return ::waitpid(pid, nullptr, WNOHANG) == 0; }

// utime + stime of a process, in seconds (from /proc/PID/stat).
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  double utime = 0, stime = 0;
  for (int i = 3; fields >> f; ++i) {  // field 3 is the state
    if (i == 14) utime = std::atof(f.c_str());
    if (i == 15) {
      stime = std::atof(f.c_str());
      break;
    }
  }
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double self_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec * 1e-6;
}

// --- a raw, pipelined connection to the scheduler -------------------------------------------

// --tls: the client context every connection uses (null: plain TCP). TLS connections are
// non-blocking and each OpenSSL call holds the connection's mutex, since a sender thread and
// a receiver thread share one (an SSL object is not safe for concurrent calls).
std::shared_ptr<asio::ssl::context> g_tls;

class Conn {
 public:
  static std::unique_ptr<Conn> open(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      throw std::runtime_error("cannot connect to the scheduler: " + why);
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::unique_ptr<Conn> conn(new Conn(fd));
    if (g_tls) {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
      conn->ssl_ = SSL_new(g_tls->native_handle());
      SSL_set_fd(conn->ssl_, fd);
      for (;;) {
        const int r = SSL_connect(conn->ssl_);
        if (r == 1) break;
        const int err = SSL_get_error(conn->ssl_, r);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
          throw std::runtime_error("TLS handshake: " + fulcrum::real::openssl_error());
        }
        pollfd p{fd, static_cast<short>(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
        ::poll(&p, 1, 1000);
      }
    }
    return conn;
  }
  ~Conn() {
    if (ssl_) SSL_free(ssl_);
    ::close(fd_);
  }

  // Whole frames only; safe to call from one thread while another receives.
  void send_bytes(const std::string& bytes) {
    for (std::size_t done = 0; done < bytes.size();) {
      if (ssl_) {
        int n, err = 0;
        {
          std::lock_guard lock(mu_);
          n = SSL_write(ssl_, bytes.data() + done, static_cast<int>(bytes.size() - done));
          if (n <= 0) err = SSL_get_error(ssl_, n);
        }
        if (n > 0) {
          done += static_cast<std::size_t>(n);
        } else if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
          pollfd p{fd_, static_cast<short>(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
          ::poll(&p, 1, 100);
        } else {
          throw std::runtime_error("TLS send to the scheduler failed: " + fulcrum::real::openssl_error());
        }
        continue;
      }
      const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error(std::string("send to the scheduler failed: ") + std::strerror(errno));
      done += static_cast<std::size_t>(n);
    }
  }
  void send(const Message& m) {
    std::string frame;
    encode_frame(m, frame);
    send_bytes(frame);
  }
  // The next message; an ErrorReply or a timeout throws.
  Message receive(double timeout = 120) {
    const auto deadline = Steady::now() + std::chrono::duration<double>(timeout);
    for (;;) {
      auto next = reader_.next();
      if (!next) throw std::runtime_error("bad frame from the scheduler: " + next.error());
      if (next->has_message) {
        if (auto* e = std::get_if<ErrorReply>(&next->message)) throw std::runtime_error("scheduler: " + e->message);
        return std::move(next->message);
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now()).count();
      if (left <= 0) throw std::runtime_error("no reply from the scheduler within " + std::to_string(timeout) + " s");
      if (ssl_) {
        int n, err = 0;
        {
          std::lock_guard lock(mu_);
          n = SSL_read(ssl_, buffer_.data(), static_cast<int>(buffer_.size()));
          if (n <= 0) err = SSL_get_error(ssl_, n);
        }
        if (n > 0) {
          reader_.feed(buffer_.data(), static_cast<std::size_t>(n));
          continue;
        }
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
          throw std::runtime_error("TLS receive from the scheduler failed: " + fulcrum::real::openssl_error("closed"));
        }
        pollfd p{fd_, POLLIN, 0};
        ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
        continue;
      }
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
      if (ready <= 0) continue;
      const ssize_t n = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) throw std::runtime_error("the scheduler closed the connection");
      if (n < 0) throw std::runtime_error(std::string("receive failed: ") + std::strerror(errno));
      reader_.feed(buffer_.data(), static_cast<std::size_t>(n));
    }
  }
  template <class T>
  T call(const Message& m, double timeout = 120) {
    send(m);
    Message reply = receive(timeout);
    if (auto* r = std::get_if<T>(&reply)) return std::move(*r);
    throw std::runtime_error("unexpected reply " + std::string(message_name(reply)));
  }

 private:
  explicit Conn(int fd) : fd_(fd), reader_(1u << 31), buffer_(256 * 1024) {}
  int fd_;
  SSL* ssl_ = nullptr;
  std::mutex mu_;
  FrameReader reader_;  // records of a long run exceed the default 16 MiB frame limit
  std::vector<char> buffer_;
};

// --- helpers ---------------------------------------------------------------------------------

const TaskSpec kNoop = synthetic_task(TaskKind::kSleep, 0);

std::string submit_frame(std::size_t tasks) {
  std::string frame;
  encode_frame(Submit{{std::vector<TaskSpec>(tasks, kNoop)}}, frame);
  return frame;
}

// Nearest-rank percentile (as the project's summaries use). REQUIRES: sorted, non-empty.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return NAN;
  std::size_t rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

struct Range {
  std::uint64_t first = 0, count = 0;
};

// Waits until every task in `ranges` is terminal; returns the records (all tasks) and the
// wall time at which the client knew. It first waits on the `tail` highest task ids (the
// last ones queued at each worker, most likely to end last; pipelined, so at most `tail`
// waiters at the scheduler), so that usually one records fetch confirms the rest.
RecordsReply wait_all_terminal(Conn& control, const std::vector<Range>& ranges, std::uint64_t tail, double& known_at,
                               int& record_fetches) {
  std::vector<std::uint64_t> ids;
  for (const Range& r : ranges) {
    for (std::uint64_t t = r.first + (r.count > tail ? r.count - tail : 0); t < r.first + r.count; ++t) ids.push_back(t);
  }
  std::sort(ids.begin(), ids.end());
  if (ids.size() > tail) ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(tail));
  for (std::uint64_t t : ids) control.send(StatusRequest{t, true});
  for (std::size_t i = 0; i < ids.size(); ++i) {
    Message m = control.receive(600);
    if (!std::holds_alternative<TaskStatus>(m)) throw std::runtime_error("expected TaskStatus, got " + std::string(message_name(m)));
  }
  known_at = wall();
  record_fetches = 0;
  for (;;) {
    RecordsReply records = control.call<RecordsReply>(RecordsRequest{}, 600);
    ++record_fetches;
    std::vector<std::uint64_t> open;
    for (const Range& r : ranges) {
      for (std::uint64_t t = r.first; t < r.first + r.count; ++t) {
        if (t >= records.tasks.size()) throw std::runtime_error("records miss task " + std::to_string(t));
        if (!is_terminal(records.tasks[t].state)) open.push_back(t);
      }
    }
    if (open.empty()) return records;
    for (std::uint64_t t : open) control.call<TaskStatus>(StatusRequest{t, true}, 600);
    known_at = wall();
  }
}

struct Options {
  std::string binary;
  std::uint64_t tasks = 200000;
  int workers = 8;
  int slots = 1;
  std::uint64_t batch = 1000;
  int clients = 1;
  int window = 4;
  std::uint64_t warmup = 2000;
  double latency_seconds = 5;
  std::uint64_t latency_tasks = 0;  // 0: rate x latency_seconds
  double rate = 0;                  // 0: half the measured throughput
  std::string policy;               // "": the scheduler's default
  std::string queue_cap;            // "": the scheduler's default
  std::string journal_parent = "/tmp";
  std::string scheduler_wrapper;
  bool latency = true;
  bool tls = false;  // --tls: mutual TLS on every connection (a CA made in the journal folder)
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "real_bench: %s\n"
               "usage: real_bench FULCRUM_BINARY [--tasks N] [--workers 8] [--slots 1] [--batch 1000]\n"
               "       [--clients 1] [--window 4] [--warmup 2000] [--latency-seconds 5] [--latency-tasks M]\n"
               "       [--rate R] [--policy SPEC] [--queue-cap K] [--journal-parent DIR]\n"
               "       [--scheduler-wrapper \"CMD ARGS\"] [--no-latency] [--tls]\n",
               why.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) usage(a + " needs a value");
      return args[++i];
    };
    auto number = [&]() -> double {
      const std::string v = value();
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(d >= 0)) usage(a + ": '" + v + "' is not a non-negative number");
      return d;
    };
    if (a == "--tasks") o.tasks = static_cast<std::uint64_t>(number());
    else if (a == "--workers") o.workers = static_cast<int>(number());
    else if (a == "--slots") o.slots = static_cast<int>(number());
    else if (a == "--batch") o.batch = static_cast<std::uint64_t>(number());
    else if (a == "--clients") o.clients = static_cast<int>(number());
    else if (a == "--window") o.window = static_cast<int>(number());
    else if (a == "--warmup") o.warmup = static_cast<std::uint64_t>(number());
    else if (a == "--latency-seconds") o.latency_seconds = number();
    else if (a == "--latency-tasks") o.latency_tasks = static_cast<std::uint64_t>(number());
    else if (a == "--rate") o.rate = number();
    else if (a == "--policy") o.policy = value();
    else if (a == "--queue-cap") o.queue_cap = value();
    else if (a == "--journal-parent") o.journal_parent = value();
    else if (a == "--scheduler-wrapper") o.scheduler_wrapper = value();
    else if (a == "--no-latency") o.latency = false;
    else if (a == "--tls") o.tls = true;
    else if (a == "-h" || a == "--help") usage("help");
    else if (!a.empty() && a[0] == '-') usage("unknown option " + a);
    else if (o.binary.empty()) o.binary = a;
    else usage("unexpected argument " + a);
  }
  if (o.binary.empty()) usage("FULCRUM_BINARY is required");
  if (o.tasks == 0 || o.batch == 0 || o.workers < 1 || o.slots < 1 || o.clients < 1 || o.window < 1) {
    usage("--tasks, --batch, --workers, --slots, --clients and --window must be positive");
  }
  if (o.workers + 1 > kMaxChildren) usage("too many workers");
  return o;
}

std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// p50 / p99 of `n` appends of 100 bytes each followed by fdatasync, in a file under `dir`:
// what one group commit of the journal costs on this disk right now (it varies a lot on a
// shared virtual disk).
std::pair<double, double> probe_fdatasync(const std::string& dir, int n = 200) {
  const std::string path = dir + "/fdatasync-probe";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return {NAN, NAN};
  const std::string bytes(100, 'x');
  std::vector<double> t;
  for (int i = 0; i < n; ++i) {
    if (::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) break;
    const auto t0 = Steady::now();
    if (::fdatasync(fd) != 0) break;
    t.push_back(since(t0));
  }
  ::close(fd);
  ::unlink(path.c_str());
  std::sort(t.begin(), t.end());
  return {percentile(t, 50), percentile(t, 99)};
}

struct CpuSnapshot {
  double scheduler = 0, workers = 0, self = 0;
};
CpuSnapshot cpu_now(pid_t scheduler, const std::vector<pid_t>& workers) {
  CpuSnapshot s;
  s.scheduler = cpu_seconds(scheduler);
  for (pid_t w : workers) s.workers += cpu_seconds(w);
  s.self = self_cpu_seconds();
  return s;
}

// --- phase (a): throughput -----------------------------------------------------------------

struct ThroughputResult {
  std::uint64_t tasks = 0;
  double first_send = 0;        // wall
  double last_submitted = 0;    // wall: last Submitted reply
  double last_end = 0;          // wall: max end in the records
  double known_at = 0;          // wall: when the client knew all were terminal
  std::uint64_t not_finished = 0;
  int record_fetches = 0;
  CpuSnapshot cpu;              // CPU seconds spent during the phase
};

ThroughputResult run_throughput(std::uint16_t port, const Options& o, std::uint64_t n, pid_t scheduler,
                                const std::vector<pid_t>& workers) {
  const std::uint64_t full_jobs = n / o.batch;
  const std::uint64_t rest = n % o.batch;
  const std::string full_frame = submit_frame(o.batch);
  const std::string rest_frame = rest ? submit_frame(rest) : std::string();
  const std::uint64_t jobs = full_jobs + (rest ? 1 : 0);

  std::vector<std::unique_ptr<Conn>> conns;
  for (int c = 0; c < o.clients; ++c) conns.push_back(Conn::open(port));
  auto control = Conn::open(port);

  std::mutex mu;
  std::vector<Range> ranges;
  std::atomic<bool> failed{false};
  std::string failure;
  std::atomic<bool> go{false};
  double last_submitted = 0;

  struct Window {
    std::mutex mu;
    std::condition_variable cv;
    int outstanding = 0;
  };
  std::vector<std::unique_ptr<Window>> windows;
  for (int c = 0; c < o.clients; ++c) windows.push_back(std::make_unique<Window>());

  auto fail = [&](const std::string& why) {
    std::lock_guard lock(mu);
    if (!failed.exchange(true)) failure = why;
  };

  std::vector<std::thread> threads;
  for (int c = 0; c < o.clients; ++c) {
    // Jobs c, c + clients, c + 2 clients, ...
    std::uint64_t mine = 0;
    for (std::uint64_t j = static_cast<std::uint64_t>(c); j < jobs; j += static_cast<std::uint64_t>(o.clients)) ++mine;
    Conn& conn = *conns[c];
    Window& win = *windows[c];
    threads.emplace_back([&, c, mine] {  // sender
      try {
        while (!go.load()) std::this_thread::yield();
        for (std::uint64_t k = 0; k < mine && !failed.load(); ++k) {
          const std::uint64_t job = static_cast<std::uint64_t>(c) + k * static_cast<std::uint64_t>(o.clients);
          {
            std::unique_lock lock(win.mu);
            win.cv.wait(lock, [&] { return win.outstanding < o.window || failed.load(); });
            ++win.outstanding;
          }
          conn.send_bytes(job < full_jobs ? full_frame : rest_frame);
        }
      } catch (const std::exception& e) {
        fail(e.what());
      }
    });
    threads.emplace_back([&, mine] {  // receiver
      try {
        for (std::uint64_t k = 0; k < mine && !failed.load(); ++k) {
          Message m = conn.receive(600);
          auto* s = std::get_if<Submitted>(&m);
          if (!s) throw std::runtime_error("expected Submitted, got " + std::string(message_name(m)));
          const double t = wall();
          {
            std::lock_guard lock(mu);
            ranges.push_back({s->first_task, s->count});
            last_submitted = std::max(last_submitted, t);
          }
          {
            std::lock_guard lock(win.mu);
            --win.outstanding;
          }
          win.cv.notify_one();
        }
      } catch (const std::exception& e) {
        fail(e.what());
        std::lock_guard lock(win.mu);
        win.cv.notify_all();
      }
    });
  }

  ThroughputResult r;
  r.tasks = n;
  const CpuSnapshot cpu0 = cpu_now(scheduler, workers);
  r.first_send = wall();
  go.store(true);
  for (std::thread& t : threads) t.join();
  if (failed.load()) throw std::runtime_error("throughput phase: " + failure);
  r.last_submitted = last_submitted;

  const std::uint64_t tail = 2 * static_cast<std::uint64_t>(o.workers) * static_cast<std::uint64_t>(o.slots);
  RecordsReply records = wait_all_terminal(*control, ranges, tail, r.known_at, r.record_fetches);
  const CpuSnapshot cpu1 = cpu_now(scheduler, workers);
  r.cpu = {cpu1.scheduler - cpu0.scheduler, cpu1.workers - cpu0.workers, cpu1.self - cpu0.self};
  for (const Range& g : ranges) {
    for (std::uint64_t t = g.first; t < g.first + g.count; ++t) {
      const TaskRecord& rec = records.tasks[t];
      r.last_end = std::max(r.last_end, rec.end);
      if (rec.state != TaskState::kFinished) ++r.not_finished;
    }
  }
  return r;
}

// --- phase (b): latency at a paced rate ------------------------------------------------------

struct LatencyResult {
  double rate = 0;              // asked
  double achieved = 0;          // count / (last send - first send)
  std::uint64_t tasks = 0;
  std::uint64_t not_finished = 0;
  std::vector<double> dispatch, accept, rtt, response, run, e2e;  // seconds, sorted
  std::uint64_t start_is_dispatch = 0;  // records whose start equals their dispatch (= submit) time
  double send_lag_p99 = 0, send_lag_max = 0;                 // how late the pacer was
  CpuSnapshot cpu;
  double seconds = 0;
};

LatencyResult run_latency(std::uint16_t port, double rate, std::uint64_t count, std::uint64_t tail, pid_t scheduler,
                          const std::vector<pid_t>& workers) {
  const std::string frame = submit_frame(1);
  auto conn = Conn::open(port);
  auto control = Conn::open(port);
  std::vector<double> send_wall(count), send_steady(count), recv_steady(count), lag(count);
  std::vector<std::uint64_t> task(count);
  std::atomic<bool> failed{false};
  std::string failure;
  const auto t0 = Steady::now() + std::chrono::milliseconds(20);

  std::thread receiver([&] {
    try {
      for (std::uint64_t i = 0; i < count; ++i) {
        Message m = conn->receive(600);
        recv_steady[i] = since(t0);
        auto* s = std::get_if<Submitted>(&m);
        if (!s) throw std::runtime_error("expected Submitted, got " + std::string(message_name(m)));
        task[i] = s->first_task;
      }
    } catch (const std::exception& e) {
      failure = e.what();
      failed.store(true);
    }
  });

  LatencyResult r;
  r.rate = rate;
  r.tasks = count;
  const CpuSnapshot cpu0 = cpu_now(scheduler, workers);
  try {
    for (std::uint64_t i = 0; i < count && !failed.load(); ++i) {
      const auto due = t0 + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(i / rate));
      if (Steady::now() < due) std::this_thread::sleep_until(due);
      send_wall[i] = wall();
      send_steady[i] = since(t0);
      lag[i] = send_steady[i] - i / rate;
      conn->send_bytes(frame);
    }
  } catch (const std::exception& e) {
    failure = e.what();
    failed.store(true);
  }
  receiver.join();
  if (failed.load()) throw std::runtime_error("latency phase: " + failure);
  r.seconds = send_steady[count - 1] - send_steady[0];
  r.achieved = count > 1 ? (count - 1) / r.seconds : 0;

  std::vector<Range> ranges;
  for (std::uint64_t t : task) ranges.push_back({t, 1});
  double known_at = 0;
  int fetches = 0;
  RecordsReply records = wait_all_terminal(*control, ranges, tail, known_at, fetches);
  const CpuSnapshot cpu1 = cpu_now(scheduler, workers);
  r.cpu = {cpu1.scheduler - cpu0.scheduler, cpu1.workers - cpu0.workers, cpu1.self - cpu0.self};

  for (std::uint64_t i = 0; i < count; ++i) {
    const TaskRecord& rec = records.tasks[task[i]];
    if (rec.state != TaskState::kFinished) {
      ++r.not_finished;
      continue;
    }
    r.dispatch.push_back(rec.start - rec.submit);
    r.accept.push_back(rec.submit - send_wall[i]);
    r.response.push_back(rec.end - rec.submit);
    r.run.push_back(rec.end - rec.start);
    r.rtt.push_back(recv_steady[i] - send_steady[i]);
    r.e2e.push_back(rec.end - send_wall[i]);
    if (rec.start == rec.submit) ++r.start_is_dispatch;
  }
  for (auto* v : {&r.dispatch, &r.accept, &r.rtt, &r.response, &r.run, &r.e2e}) std::sort(v->begin(), v->end());
  std::sort(lag.begin(), lag.end());
  r.send_lag_p99 = percentile(lag, 99);
  r.send_lag_max = lag.back();
  return r;
}

// --- main ---------------------------------------------------------------------------------------

std::vector<std::string> split(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

void print_cpu(const char* phase, const CpuSnapshot& c, std::uint64_t tasks, double seconds, int workers) {
  std::printf("  cpu during %s (%.2f s wall): scheduler %.2f s (%.0f %%, %.1f us/task), %d workers together %.2f s "
              "(%.0f %%, %.1f us/task), bench client %.2f s (%.1f us/task)\n",
              phase, seconds, c.scheduler, 100 * c.scheduler / seconds, 1e6 * c.scheduler / tasks, workers, c.workers,
              100 * c.workers / seconds, 1e6 * c.workers / tasks, c.self, 1e6 * c.self / tasks);
}

int run(const Options& o) {
  Cleanup cleanup;
  std::string pattern = o.journal_parent + "/fulcrum-bench-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp under " + o.journal_parent + ": " + std::strerror(errno));
  std::snprintf(g_tmpdir, sizeof g_tmpdir, "%s", pattern.c_str());
  plan_tmp_paths(pattern);
  const std::string dir = pattern;
  const std::string port_file = dir + "/port";

  std::printf("real_bench: %s, %d workers x %d slot(s), journal in %s, load average %s, %u cpus\n", o.binary.c_str(),
              o.workers, o.slots, dir.c_str(), loadavg().c_str(), std::thread::hardware_concurrency());

  std::vector<std::string> sargs = split(o.scheduler_wrapper);
  for (const std::string& a : {o.binary, std::string("scheduler"), std::string("--listen"), std::string("127.0.0.1:0"),
                               std::string("--journal"), dir + "/journal", std::string("--port-file"), port_file}) {
    sargs.push_back(a);
  }
  if (!o.policy.empty()) sargs.insert(sargs.end(), {"--policy", o.policy});
  if (!o.queue_cap.empty()) sargs.insert(sargs.end(), {"--queue-cap", o.queue_cap});
  std::vector<std::string> worker_tls;
  if (o.tls) {
    const std::string ca = dir + "/ca";
    if (auto ok = fulcrum::real::certs_init(ca); !ok) throw std::runtime_error(ok.error());
    for (const auto& [name, role] : {std::pair{"scheduler", "scheduler"}, {"worker", "worker"}, {"bench", "operator"}}) {
      if (auto ok = fulcrum::real::certs_issue(ca, name, role); !ok) throw std::runtime_error(ok.error());
    }
    auto context = fulcrum::real::make_tls_context(fulcrum::real::tls_files_for(ca + "/bench.crt"),
                                                   fulcrum::real::TlsSide::kClient);
    if (!context) throw std::runtime_error(context.error());
    g_tls = *context;
    sargs.insert(sargs.end(), {"--cert", ca + "/scheduler.crt", "--access", ca + "/access.yaml"});
    worker_tls = {"--cert", ca + "/worker.crt"};
  }
  const pid_t scheduler = spawn(sargs);
  if (scheduler < 0) throw std::runtime_error("cannot start the scheduler");
  std::string port_text;
  for (const auto deadline = Steady::now() + std::chrono::seconds(60); port_text.empty();) {
    if (std::ifstream in(port_file); in) in >> port_text;
    if (!port_text.empty()) break;
    if (!alive(scheduler)) throw std::runtime_error("the scheduler daemon exited at start");
    if (Steady::now() > deadline) throw std::runtime_error("the scheduler daemon did not start within 60 s");
    sleep_ms(5);
  }
  const std::uint16_t port = static_cast<std::uint16_t>(std::stoi(port_text));
  const std::string endpoint = "127.0.0.1:" + port_text;

  std::vector<pid_t> workers;
  for (int i = 0; i < o.workers; ++i) {
    std::vector<std::string> wargs{o.binary, "worker", "--scheduler", endpoint, "--name", "w" + std::to_string(i), "--slots",
                                   std::to_string(o.slots)};
    wargs.insert(wargs.end(), worker_tls.begin(), worker_tls.end());
    const pid_t w = spawn(wargs);
    if (w < 0) throw std::runtime_error("cannot start a worker");
    workers.push_back(w);
  }
  auto control = Conn::open(port);
  for (const auto deadline = Steady::now() + std::chrono::seconds(60);;) {
    auto records = control->call<RecordsReply>(RecordsRequest{});
    if (records.workers.size() >= static_cast<std::size_t>(o.workers)) break;
    if (!alive(scheduler)) throw std::runtime_error("the scheduler daemon exited");
    if (Steady::now() > deadline) throw std::runtime_error("the workers did not all register within 60 s");
    sleep_ms(10);
  }

  if (o.warmup > 0) {
    Options w = o;
    w.clients = 1;
    run_throughput(port, w, o.warmup, scheduler, workers);
  }

  const auto sync_before = probe_fdatasync(dir);

  // (a)
  const ThroughputResult a = run_throughput(port, o, o.tasks, scheduler, workers);
  const double span = a.last_end - a.first_send;
  const double tput = static_cast<double>(a.tasks) / span;
  const double tput_client = static_cast<double>(a.tasks) / (a.known_at - a.first_send);
  std::printf("\n(a) throughput: %llu no-op tasks, jobs of %llu, %d client connection(s) x window %d\n",
              static_cast<unsigned long long>(a.tasks), static_cast<unsigned long long>(o.batch), o.clients, o.window);
  std::printf("  %-44s %12.0f tasks/s   (%.3f s)\n", "first send -> last end (scheduler records)", tput, span);
  std::printf("  %-44s %12.0f tasks/s   (%.3f s, %d records fetch(es))\n", "first send -> client knew all terminal",
              tput_client, a.known_at - a.first_send, a.record_fetches);
  std::printf("  %-44s %12.0f tasks/s   (%.3f s)\n", "first send -> last Submitted (accept rate)",
              a.tasks / (a.last_submitted - a.first_send), a.last_submitted - a.first_send);
  std::printf("  not finished: %llu\n", static_cast<unsigned long long>(a.not_finished));
  print_cpu("(a)", a.cpu, a.tasks, a.known_at - a.first_send, o.workers);

  LatencyResult b;
  if (o.latency) {
    const double rate = o.rate > 0 ? o.rate : 0.5 * tput;
    const std::uint64_t count =
        o.latency_tasks > 0 ? o.latency_tasks : std::max<std::uint64_t>(100, static_cast<std::uint64_t>(rate * o.latency_seconds));
    b = run_latency(port, rate, count, 2 * static_cast<std::uint64_t>(o.workers) * static_cast<std::uint64_t>(o.slots),
                    scheduler, workers);
    std::printf("\n(b) latency at %.0f tasks/s (%s), %llu single-task jobs over %.2f s, achieved %.0f tasks/s;\n"
                "    pacer lateness p99 %.3f ms, max %.3f ms; not finished: %llu\n",
                rate, o.rate > 0 ? "--rate" : "50 % of (a)", static_cast<unsigned long long>(b.tasks), b.seconds,
                b.achieved, 1e3 * b.send_lag_p99, 1e3 * b.send_lag_max, static_cast<unsigned long long>(b.not_finished));
    std::printf("  %-12s %10s %10s %10s  %s\n", "latency", "p50 ms", "p99 ms", "max ms", "what it includes");
    auto row = [](const char* name, const std::vector<double>& v, const char* what) {
      std::printf("  %-12s %10.3f %10.3f %10.3f  %s\n", name, 1e3 * percentile(v, 50), 1e3 * percentile(v, 99),
                  v.empty() ? NAN : 1e3 * v.back(), what);
    };
    row("dispatch", b.dispatch, "records: start - submit (accepted after journal commit -> TaskStarted applied)");
    row("accept", b.accept, "records submit - client send: frame trip + scheduler read + group commit (fdatasync)");
    row("submit rtt", b.rtt, "client: send -> Submitted received (accept + reply trip)");
    row("response", b.response, "records: end - submit (dispatch + no-op + TaskDone trip + its journal commit)");
    row("run", b.run, "records: end - start");
    row("send->end", b.e2e, "client send -> records end (accept + response; cf. Dask's submit -> done)");
    std::printf("  note: %llu of %zu records (%.1f %%) have start == submit: the scheduler stamps a task's start when\n"
                "  it reads TaskDone, from the TaskStarted already applied or else from the dispatch time; when both\n"
                "  frames arrive in one batch the start recorded is the dispatch time, so 'dispatch' reads 0 for them.\n"
                "  'response' (end - submit) bounds the true dispatch latency from above.\n",
                static_cast<unsigned long long>(b.start_is_dispatch), b.dispatch.size(),
                b.dispatch.empty() ? 0.0 : 100.0 * b.start_is_dispatch / b.dispatch.size());
    print_cpu("(b)", b.cpu, b.tasks, b.seconds, o.workers);
  }

  const auto sync_after = probe_fdatasync(dir);
  std::printf("\nfdatasync probe in %s (100 B appends): p50 %.3f / p99 %.3f ms before (a), p50 %.3f / p99 %.3f ms "
              "after; load average now %s\n",
              o.journal_parent.c_str(), 1e3 * sync_before.first, 1e3 * sync_before.second, 1e3 * sync_after.first,
              1e3 * sync_after.second, loadavg().c_str());

  std::printf("\nRESULT fulcrum_tasks_per_s=%.0f fulcrum_tasks=%llu", tput, static_cast<unsigned long long>(a.tasks));
  if (o.latency) {
    std::printf(" rate=%.0f dispatch_p50_ms=%.3f dispatch_p99_ms=%.3f response_p50_ms=%.3f response_p99_ms=%.3f"
                " rtt_p50_ms=%.3f rtt_p99_ms=%.3f e2e_p50_ms=%.3f e2e_p99_ms=%.3f",
                b.rate, 1e3 * percentile(b.dispatch, 50), 1e3 * percentile(b.dispatch, 99), 1e3 * percentile(b.response, 50),
                1e3 * percentile(b.response, 99), 1e3 * percentile(b.rtt, 50), 1e3 * percentile(b.rtt, 99),
                1e3 * percentile(b.e2e, 50), 1e3 * percentile(b.e2e, 99));
  }
  std::printf("\n");
  std::fflush(stdout);
  try {
    control->call<Ack>(ShutdownRequest{}, 5);
  } catch (const std::exception&) {
    // stop_children() below takes care of it.
  }
  return (a.not_finished == 0 && b.not_finished == 0) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  struct sigaction sa{};
  sa.sa_handler = on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(s, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "real_bench: error: %s\n", e.what());
    return 1;
  }
}
