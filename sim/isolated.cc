#include "sim/isolated.h"

#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <string>
#include <type_traits>

namespace fulcrum::sim {
namespace {

static_assert(std::is_trivially_copyable_v<TaskRecord>);
static_assert(std::is_trivially_copyable_v<Summary>);

// A byte buffer writer/reader for the child-to-parent message. Both ends are the same
// binary, so plain values are copied as bytes.
class Writer {
 public:
  template <class T> void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void put_string(const std::string& s) {
    put<std::uint64_t>(s.size());
    bytes_ += s;
  }
  template <class T> void put_vector(const std::vector<T>& v) {
    put<std::uint64_t>(v.size());
    bytes_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

class Reader {
 public:
  explicit Reader(const std::string& bytes) : bytes_(bytes) {}
  template <class T> bool get(T& v) {
    if (pos_ + sizeof v > bytes_.size()) return false;
    std::memcpy(&v, bytes_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return true;
  }
  bool get_string(std::string& s) {
    std::uint64_t n = 0;
    if (!get(n) || pos_ + n > bytes_.size()) return false;
    s.assign(bytes_, pos_, n);
    pos_ += n;
    return true;
  }
  template <class T> bool get_vector(std::vector<T>& v) {
    std::uint64_t n = 0;
    if (!get(n) || n > (bytes_.size() - pos_) / sizeof(T)) return false;
    v.resize(n);
    std::memcpy(v.data(), bytes_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return true;
  }

 private:
  const std::string& bytes_;
  std::size_t pos_ = 0;
};

std::string encode(const Expected<RunRecords>& result) {
  Writer w;
  w.put<std::uint8_t>(result.ok() ? 1 : 0);
  if (!result.ok()) {
    w.put_string(result.error());
    return w.bytes();
  }
  const RunRecords& r = result.value();
  w.put_vector(r.tasks);
  w.put<std::uint64_t>(r.jobs.size());
  for (const JobRecord& j : r.jobs) {
    w.put(j.id);
    w.put_string(j.name);
    w.put(j.submit);
    w.put(j.start);
    w.put(j.end);
    w.put(j.tasks);
    w.put(j.processors);
    w.put(j.critical_path);
    w.put(j.success);
  }
  w.put<std::uint64_t>(r.workers.size());
  for (const WorkerRecord& wr : r.workers) {
    w.put_string(wr.name);
    w.put_string(wr.group);
    w.put(wr.speed);
    w.put(wr.slots);
    w.put(wr.tasks);
    w.put(wr.busy_time);
    w.put(wr.utilisation);
  }
  w.put<std::uint64_t>(r.events.size());
  for (const EventRecord& e : r.events) {
    w.put(e.time);
    w.put_string(e.kind);
    w.put_string(e.host);
    w.put_string(e.detail);
    w.put(e.alert);
  }
  w.put(r.summary);
  return w.bytes();
}

Expected<RunRecords> decode(const std::string& bytes) {
  Reader r(bytes);
  std::uint8_t ok = 0;
  if (!r.get(ok)) return Error{"simulation process sent no result"};
  if (!ok) {
    std::string message;
    if (!r.get_string(message)) return Error{"simulation process sent a truncated error"};
    return Error{message};
  }
  RunRecords records;
  std::uint64_t workers = 0;
  std::uint64_t jobs = 0;
  bool good = r.get_vector(records.tasks) && r.get(jobs);
  for (std::uint64_t i = 0; good && i < jobs; ++i) {
    JobRecord j;
    good = r.get(j.id) && r.get_string(j.name) && r.get(j.submit) && r.get(j.start) && r.get(j.end) && r.get(j.tasks) &&
           r.get(j.processors) && r.get(j.critical_path) && r.get(j.success);
    records.jobs.push_back(std::move(j));
  }
  good = good && r.get(workers);
  for (std::uint64_t i = 0; good && i < workers; ++i) {
    WorkerRecord wr;
    good = r.get_string(wr.name) && r.get_string(wr.group) && r.get(wr.speed) && r.get(wr.slots) &&
           r.get(wr.tasks) && r.get(wr.busy_time) && r.get(wr.utilisation);
    records.workers.push_back(std::move(wr));
  }
  std::uint64_t events = 0;
  good = good && r.get(events);
  for (std::uint64_t i = 0; good && i < events; ++i) {
    EventRecord e;
    good = r.get(e.time) && r.get_string(e.kind) && r.get_string(e.host) && r.get_string(e.detail) && r.get(e.alert);
    records.events.push_back(std::move(e));
  }
  good = good && r.get(records.summary);
  if (!good) return Error{"simulation process sent a truncated result"};
  return records;
}

bool write_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

namespace {

constexpr int kProgressPollMs = 100;

// Progress shared between a child and its parent: the child stores, the parent polls.
// Lives in a MAP_SHARED page so the parent can report progress in its own process (the
// Python module calls back into the interpreter there, never in the forked child).
struct SharedProgress {
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> total{0};
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

// A forked simulation: its pid, the read end of its pipe, what it sent so far, and (when
// the caller wants progress) the shared progress page.
struct Child {
  pid_t pid = -1;
  int fd = -1;
  std::string bytes;
  SharedProgress* progress = nullptr;
};

Expected<Child> start_child(const Scenario& scenario, bool with_progress) {
  SharedProgress* shared = nullptr;
  if (with_progress) {
    void* page = ::mmap(nullptr, sizeof(SharedProgress), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) return Error{std::string("cannot map a progress page: ") + std::strerror(errno)};
    shared = new (page) SharedProgress;
  }
  int fds[2];
  if (::pipe(fds) != 0) {
    if (shared) ::munmap(shared, sizeof(SharedProgress));
    return Error{std::string("cannot create a pipe: ") + std::strerror(errno)};
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    if (shared) ::munmap(shared, sizeof(SharedProgress));
    return Error{std::string("cannot fork the simulation: ") + std::strerror(errno)};
  }
  if (pid == 0) {
    ::close(fds[0]);
    ProgressFn report;
    if (shared) {
      report = [shared](std::uint64_t done, std::uint64_t total) {
        shared->total.store(total, std::memory_order_relaxed);
        shared->done.store(done, std::memory_order_release);
      };
    }
    std::string bytes;
    try {
      bytes = encode(run_simulation_in_process(scenario, report));
    } catch (const std::exception& e) {
      bytes = encode(Error{std::string("simulation failed: ") + e.what()});
    }
    const bool written = write_all(fds[1], bytes);
    ::close(fds[1]);
    // _exit: the child must not run the parent's atexit handlers or flush its buffers.
    ::_exit(written ? 0 : 1);
  }
  ::close(fds[1]);
  return Child{pid, fds[0], {}, shared};
}

// Reaps a child whose pipe reached its end and decodes what it sent.
Expected<RunRecords> finish_child(Child& child) {
  ::close(child.fd);
  if (child.progress) ::munmap(child.progress, sizeof(SharedProgress));
  int status = 0;
  while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    return Error{"simulation process died of signal " + std::to_string(WTERMSIG(status)) + " (" +
                 strsignal(WTERMSIG(status)) + ")"};
  }
  return decode(child.bytes);
}

// Reads what is available; false at the end of the pipe.
bool read_some(Child& child) {
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(child.fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    child.bytes.append(buffer, static_cast<std::size_t>(n));
    return true;
  }
}

}  // namespace

Expected<RunRecords> simulate(const Scenario& scenario, const ProgressFn& progress) {
  auto child = start_child(scenario, static_cast<bool>(progress));
  if (!child) return Error{child.error()};
  std::uint64_t reported = 0;
  for (;;) {
    pollfd p{child->fd, POLLIN, 0};
    // Without a progress callback, block; with one, wake up to report what the child did.
    const int ready = ::poll(&p, 1, progress ? kProgressPollMs : -1);
    if (progress) {
      const std::uint64_t done = child->progress->done.load(std::memory_order_acquire);
      if (done != reported) {
        reported = done;
        progress(done, child->progress->total.load(std::memory_order_relaxed));
      }
    }
    if (ready < 0 && errno != EINTR) break;
    if (ready > 0 && !read_some(*child)) break;
  }
  return finish_child(*child);
}

std::vector<Expected<RunRecords>> simulate_many(const std::vector<Scenario>& scenarios, unsigned jobs,
                                                const std::function<void(std::size_t)>& done) {
  std::vector<Expected<RunRecords>> results(scenarios.size(), Error{"not run"});
  std::map<int, std::pair<std::size_t, Child>> running;  // fd -> (run index, child)
  std::size_t next = 0;
  jobs = std::max(1u, jobs);
  while (next < scenarios.size() || !running.empty()) {
    while (next < scenarios.size() && running.size() < jobs) {
      auto child = start_child(scenarios[next], false);
      if (!child) {
        results[next] = Error{child.error()};
        if (done) done(next);
      } else {
        running.emplace(child->fd, std::make_pair(next, std::move(*child)));
      }
      ++next;
    }
    if (running.empty()) continue;
    std::vector<pollfd> fds;
    for (const auto& [fd, entry] : running) fds.push_back({fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) break;
    for (const pollfd& p : fds) {
      if (p.revents == 0) continue;
      auto it = running.find(p.fd);
      if (read_some(it->second.second)) continue;
      const std::size_t index = it->second.first;
      results[index] = finish_child(it->second.second);
      running.erase(it);
      if (done) done(index);
    }
  }
  return results;
}

}  // namespace fulcrum::sim
