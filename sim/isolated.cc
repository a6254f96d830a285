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

#include "core/codec.h"

namespace fulcrum::sim {
namespace {

static_assert(std::is_trivially_copyable_v<TaskRecord>);

// The child-to-parent message: the records and the summary through their field lists
// (core/codec.h), except the task rows, which are trivially copyable and copied as bytes
// (both ends are the same binary; a million task rows copy in one memcpy).
template <class T> void put_raw(std::string& out, const std::vector<T>& v) {
  static_assert(std::is_trivially_copyable_v<T>);
  const std::uint64_t n = v.size();
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(reinterpret_cast<const char*>(v.data()), n * sizeof(T));
}

std::string encode(const Expected<RunRecords>& result) {
  std::string out;
  BinaryWriter w(out);
  w.put<std::uint8_t>(result.ok() ? 1 : 0);
  if (!result.ok()) {
    w.put(result.error());
    return out;
  }
  const RunRecords& r = result.value();
  w.put(r.jobs);
  w.put(r.workers);
  w.put(r.events);
  w.put(r.tenants);
  w.put(r.summary);
  put_raw(out, r.tasks);
  return out;
}

template <class T> bool get_raw(std::string_view bytes, std::size_t& pos, std::vector<T>& v) {
  std::uint64_t n = 0;
  if (bytes.size() - pos < sizeof n) return false;
  std::memcpy(&n, bytes.data() + pos, sizeof n);
  pos += sizeof n;
  if (n > (bytes.size() - pos) / sizeof(T)) return false;
  v.resize(n);
  std::memcpy(v.data(), bytes.data() + pos, n * sizeof(T));
  pos += n * sizeof(T);
  return true;
}

Expected<RunRecords> decode(const std::string& bytes) {
  if (bytes.empty()) return Error{"simulation process sent no result"};
  std::string_view view(bytes);
  BinaryReader r(view.substr(1));
  if (bytes[0] != 1) {
    std::string message;
    r.get(message);
    if (r.failed()) return Error{"simulation process sent a truncated error"};
    return Error{message};
  }
  RunRecords records;
  r.get(records.jobs);
  r.get(records.workers);
  r.get(records.events);
  r.get(records.tenants);
  r.get(records.summary);
  if (r.failed()) return Error{"simulation process sent a truncated result"};
  // The codec consumed a prefix; the raw task rows follow it.
  std::size_t pos = bytes.size() - r.remaining();
  if (!get_raw(view, pos, records.tasks) || pos != bytes.size()) {
    return Error{"simulation process sent a truncated result"};
  }
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
