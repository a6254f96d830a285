#include "real/cgroups.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace fulcrum::real {

namespace {

// CFS period used for new task groups in v2 (v1 keeps the group's own, read back).
constexpr long long kCpuPeriodUs = 100000;
// The kernel's smallest CFS quota.
constexpr long long kMinCpuQuotaUs = 1000;
// v1 reports "no limit" as a huge page-aligned number; anything this large is none.
constexpr double kUnlimited = 4.0e18;

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return out.str();
}

// Writes `text` to an existing (control) file: 0, or the errno.
int write_text(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int e = n == static_cast<ssize_t>(text.size()) ? 0 : (n < 0 ? errno : EIO);
  ::close(fd);
  return e;
}

std::string errno_text(int e) { return std::strerror(e); }

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t end = std::min(text.find(sep, at), text.size());
    out.emplace_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

bool has_word(std::string_view text, std::string_view word) {
  for (const std::string& w : words(text)) {
    if (w == word) return true;
  }
  return false;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isdigit(static_cast<unsigned char>(s[i + 2])) && std::isdigit(static_cast<unsigned char>(s[i + 3]))) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The directory of cgroup `path` (as /proc/self/cgroup names it) under a mount of the
// hierarchy's `root` at `mount`; "" when the mount does not show it.
std::string under_mount(const std::string& mount, const std::string& root, const std::string& path) {
  if (path.find("/..") != std::string::npos) return "";  // outside our cgroup namespace
  std::string rel;
  if (root == "/") {
    rel = path;
  } else if (path == root) {
    rel = "";
  } else if (path.rfind(root + "/", 0) == 0) {
    rel = path.substr(root.size());
  } else {
    return "";
  }
  if (rel == "/") rel.clear();
  return mount + rel;
}

// A number in a control file ("max" or empty: none).
std::optional<double> number_in(const std::string& path) {
  auto text = read_text(path);
  if (!text) return std::nullopt;
  const auto w = words(*text);
  if (w.empty() || w[0] == "max") return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(w[0].c_str(), &end);
  if (end == w[0].c_str()) return std::nullopt;
  return v;
}

// The value of `key` in a flat keyed file (memory.events, memory.oom_control).
std::optional<double> keyed_value(const std::string& path, std::string_view key) {
  auto text = read_text(path);
  if (!text) return std::nullopt;
  for (const std::string& line : split(*text, '\n')) {
    const auto w = words(line);
    if (w.size() >= 2 && w[0] == key) return std::strtod(w[1].c_str(), nullptr);
  }
  return std::nullopt;
}

// Calls f on `dir` and its ancestors up to (and with) `mount`.
template <class F> void up_to_mount(std::string dir, const std::string& mount, F f) {
  while (!dir.empty() && dir.rfind(mount, 0) == 0) {
    f(dir);
    if (dir.size() <= mount.size()) break;
    dir.resize(dir.rfind('/'));
  }
}

// SIGKILLs every process in the group (not this one, not init).
void kill_members(const std::string& dir) {
  if (write_text(dir + "/cgroup.kill", "1") == 0) return;  // v2, Linux >= 5.14
  auto procs = read_text(dir + "/cgroup.procs");
  if (!procs) return;
  for (const std::string& w : words(*procs)) {
    const long pid = std::strtol(w.c_str(), nullptr, 10);
    if (pid > 1 && pid != ::getpid()) ::kill(static_cast<pid_t>(pid), SIGKILL);
  }
}

// rmdir: true when the group is gone (or never was).
bool remove_group(const std::string& dir) { return ::rmdir(dir.c_str()) == 0 || errno == ENOENT; }

// Removes the groups that workers of this machine left in `dir` when they died without
// cleaning up (SIGKILL): `fulcrum-PID-N` whose PID is gone, and their empty task groups.
void sweep_stale(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  std::vector<std::string> stale;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind("fulcrum-", 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + 8, nullptr, 10);
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    stale.push_back(dir + "/" + name);
  }
  ::closedir(d);
  for (const std::string& group : stale) {
    if (DIR* g = ::opendir(group.c_str())) {
      std::vector<std::string> children;
      while (dirent* e = ::readdir(g)) {
        if (e->d_type == DT_DIR && e->d_name[0] != '.') children.push_back(group + "/" + e->d_name);
      }
      ::closedir(g);
      for (const std::string& c : children) ::rmdir(c.c_str());  // EBUSY while its tasks run
    }
    ::rmdir(group.c_str());
  }
}

std::string bytes_text(double bytes) {
  char text[64];
  if (bytes >= 1 << 30) {
    std::snprintf(text, sizeof text, "%.4g GiB", bytes / (1 << 30));
  } else if (bytes >= 1 << 20) {
    std::snprintf(text, sizeof text, "%.4g MiB", bytes / (1 << 20));
  } else {
    std::snprintf(text, sizeof text, "%.0f bytes", bytes);
  }
  return text;
}

// What programs print when an allocation fails (rlimit mode: nothing kills them, their
// allocator says no).
bool shows_allocation_failure(const std::string& output) {
  static constexpr const char* kMarks[] = {"MemoryError", "Cannot allocate memory", "memory exhausted",
                                           "std::bad_alloc", "out of memory", "Out of memory",
                                           "failed to allocate", "Failed to allocate", "mmap failed"};
  for (const char* mark : kMarks) {
    if (output.find(mark) != std::string::npos) return true;
  }
  return false;
}

void append_line(std::string& output, const std::string& line) {
  if (!output.empty() && output.back() != '\n') output += '\n';
  output += line;
}

std::atomic<std::uint64_t> enforcer_serial{0};

}  // namespace

std::string_view enforcement_name(EnforcementMode mode) {
  switch (mode) {
    case EnforcementMode::kNone: return "none";
    case EnforcementMode::kRlimit: return "rlimit";
    case EnforcementMode::kCgroupV1: return "cgroup_v1";
    case EnforcementMode::kCgroupV2: return "cgroup_v2";
  }
  return "none";
}

CgroupLayout parse_cgroup_layout(std::string_view mountinfo, std::string_view self_cgroup) {
  std::string v2_path;
  bool has_v2_path = false;
  std::map<std::string, std::string> v1_path;
  for (const std::string& line : split(self_cgroup, '\n')) {
    const std::size_t a = line.find(':');
    const std::size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string id = line.substr(0, a), controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (id == "0" && controllers.empty()) {
      v2_path = path;
      has_v2_path = true;
    } else {
      for (const std::string& c : split(controllers, ',')) {
        if (!c.empty()) v1_path[c] = path;
      }
    }
  }
  CgroupLayout layout;
  for (const std::string& line : split(mountinfo, '\n')) {
    const auto f = words(line);
    const auto dash = std::find(f.begin() + std::min<std::size_t>(f.size(), 6), f.end(), "-");
    if (f.size() < 6 || dash == f.end() || f.end() - dash < 4) continue;
    const std::string& fstype = dash[1];
    const std::string root = unescape(f[3]), mount = unescape(f[4]);
    if (fstype == "cgroup2") {
      if (!has_v2_path || !layout.v2.empty()) continue;
      layout.v2 = under_mount(mount, root, v2_path);
      if (!layout.v2.empty()) layout.v2_mount = mount;
    } else if (fstype == "cgroup") {
      for (const std::string& option : split(dash[3], ',')) {
        const auto it = v1_path.find(option);
        if (it == v1_path.end() || layout.v1.count(option)) continue;
        const std::string dir = under_mount(mount, root, it->second);
        if (dir.empty()) continue;
        layout.v1[option] = dir;
        layout.v1_mount[option] = mount;
      }
    }
  }
  return layout;
}

CgroupLayout read_cgroup_layout(const CgroupPaths& paths) {
  return parse_cgroup_layout(read_text(paths.mountinfo).value_or(""), read_text(paths.self_cgroup).value_or(""));
}

std::optional<double> cgroup_memory_limit(const CgroupLayout& layout) {
  std::optional<double> limit;
  auto consider = [&](std::optional<double> v) {
    if (v && *v > 0 && *v < kUnlimited && (!limit || *v < *limit)) limit = v;
  };
  if (auto it = layout.v1.find("memory"); it != layout.v1.end()) {
    up_to_mount(it->second, layout.v1_mount.at("memory"),
                [&](const std::string& dir) { consider(number_in(dir + "/memory.limit_in_bytes")); });
  }
  if (!layout.v2.empty()) {
    up_to_mount(layout.v2, layout.v2_mount, [&](const std::string& dir) { consider(number_in(dir + "/memory.max")); });
  }
  return limit;
}

std::optional<double> cgroup_cpu_limit(const CgroupLayout& layout) {
  std::optional<double> limit;
  auto consider = [&](std::optional<double> quota, std::optional<double> period) {
    if (!quota || !period || *quota <= 0 || *period <= 0) return;
    const double cores = *quota / *period;
    if (!limit || cores < *limit) limit = cores;
  };
  if (auto it = layout.v1.find("cpu"); it != layout.v1.end()) {
    up_to_mount(it->second, layout.v1_mount.at("cpu"), [&](const std::string& dir) {
      consider(number_in(dir + "/cpu.cfs_quota_us"), number_in(dir + "/cpu.cfs_period_us"));
    });
  }
  if (!layout.v2.empty()) {
    up_to_mount(layout.v2, layout.v2_mount, [&](const std::string& dir) {
      auto text = read_text(dir + "/cpu.max");
      if (!text) return;
      const auto w = words(*text);
      if (w.size() < 2 || w[0] == "max") return;
      consider(std::strtod(w[0].c_str(), nullptr), std::strtod(w[1].c_str(), nullptr));
    });
  }
  return limit;
}

Expected<std::unique_ptr<Enforcer>> Enforcer::create(std::string_view want, const CgroupPaths& paths) {
  static constexpr std::string_view kModes[] = {"auto", "cgroup", "cgroup_v2", "cgroup_v1", "rlimit", "none"};
  if (std::find(std::begin(kModes), std::end(kModes), want) == std::end(kModes)) {
    return Error{"--enforce: unknown mode '" + std::string(want) + "' (auto, cgroup, cgroup_v2, cgroup_v1, rlimit, none)"};
  }
  std::unique_ptr<Enforcer> e(new Enforcer);
  if (want == "none") {
    e->description_ = "none: task requests are not enforced (--enforce none)";
    return e;
  }
  const CgroupLayout layout = read_cgroup_layout(paths);
  const std::string tag = "fulcrum-" + std::to_string(::getpid()) + "-" + std::to_string(++enforcer_serial);
  std::vector<std::string> why_not;

  auto try_v2 = [&]() -> bool {
    if (layout.v2.empty()) {
      why_not.push_back("no cgroup2 mount holds this process");
      return false;
    }
    const std::string own = layout.v2;
    const std::string controllers = read_text(own + "/cgroup.controllers").value_or("");
    if (!has_word(controllers, "memory")) {
      why_not.push_back("cgroup v2 " + own + " offers no memory controller (it offers: " +
                        (words(controllers).empty() ? std::string("none") : controllers.substr(0, controllers.find('\n'))) +
                        ")");
      return false;
    }
    bool cpu = has_word(controllers, "cpu");
    const std::string subtree = read_text(own + "/cgroup.subtree_control").value_or("");
    if (!has_word(subtree, "memory")) {
      if (int err = write_text(own + "/cgroup.subtree_control", "+memory"); err != 0) {
        why_not.push_back("cannot enable memory below cgroup v2 " + own + ": " + errno_text(err) +
                          " (it must be delegated and hold no process itself)");
        return false;
      }
    }
    if (cpu && !has_word(subtree, "cpu") && write_text(own + "/cgroup.subtree_control", "+cpu") != 0) cpu = false;
    sweep_stale(own);
    const std::string parent = own + "/" + tag;
    if (::mkdir(parent.c_str(), 0755) != 0) {
      why_not.push_back("cannot create " + parent + ": " + errno_text(errno));
      return false;
    }
    if (int err = write_text(parent + "/cgroup.subtree_control", cpu ? "+memory +cpu" : "+memory"); err != 0) {
      ::rmdir(parent.c_str());
      why_not.push_back("cannot enable controllers in " + parent + ": " + errno_text(err));
      return false;
    }
    e->mode_ = EnforcementMode::kCgroupV2;
    e->parents_ = {parent};
    e->v1_cpu_ = cpu;
    e->description_ = "cgroup_v2: each command task in a group of " + parent + " (memory.max = its memory" +
                      (cpu ? ", cpu.max = its cores" : "; cpu: not delegated, not limited") + ")";
    return true;
  };

  auto try_v1 = [&]() -> bool {
    const auto memory = layout.v1.find("memory");
    if (memory == layout.v1.end()) {
      why_not.push_back("no cgroup v1 memory hierarchy holds this process");
      return false;
    }
    sweep_stale(memory->second);
    const std::string mem_parent = memory->second + "/" + tag;
    if (::mkdir(mem_parent.c_str(), 0755) != 0) {
      why_not.push_back("cannot create " + mem_parent + ": " + errno_text(errno));
      return false;
    }
    if (!read_text(mem_parent + "/memory.limit_in_bytes")) {
      ::rmdir(mem_parent.c_str());
      why_not.push_back(mem_parent + " has no memory.limit_in_bytes");
      return false;
    }
    e->parents_ = {mem_parent};
    std::string cpu_note;
    if (const auto cpu = layout.v1.find("cpu"); cpu == layout.v1.end()) {
      cpu_note = "; cpu: no v1 hierarchy, not limited";
    } else {
      const std::string cpu_parent = cpu->second + "/" + tag;
      if (cpu_parent != mem_parent) sweep_stale(cpu->second);
      const bool made = cpu_parent == mem_parent || ::mkdir(cpu_parent.c_str(), 0755) == 0;
      const int err = made ? write_text(cpu_parent + "/cpu.cfs_quota_us", "-1") : errno;
      if (err == 0) {
        e->v1_cpu_ = true;
        if (cpu_parent != mem_parent) e->parents_.push_back(cpu_parent);
      } else {
        if (made && cpu_parent != mem_parent) ::rmdir(cpu_parent.c_str());
        cpu_note = "; cpu: " + cpu_parent + ": " + errno_text(err) + ", not limited";
      }
    }
    e->mode_ = EnforcementMode::kCgroupV1;
    std::string where;
    for (const std::string& p : e->parents_) where += (where.empty() ? "" : " and ") + p;
    e->description_ = "cgroup_v1: each command task in a group of " + where + " (memory.limit_in_bytes = its memory" +
                      (e->v1_cpu_ ? ", cpu.cfs_quota_us = its cores x cfs_period_us" : "") + cpu_note + ")";
    return true;
  };

  const bool any_cgroup = want == "auto" || want == "cgroup";
  if ((any_cgroup || want == "cgroup_v2") && try_v2()) return e;
  if ((any_cgroup || want == "cgroup_v1") && try_v1()) return e;
  std::string reasons;
  for (const std::string& r : why_not) reasons += (reasons.empty() ? "" : "; ") + r;
  if (want != "auto" && want != "rlimit") return Error{"--enforce " + std::string(want) + ": " + reasons};
  e->mode_ = EnforcementMode::kRlimit;
  e->description_ =
      "rlimit: a command task asking for memory runs under RLIMIT_AS = its memory; CPU is not limited "
      "(RLIMIT_CPU bounds CPU seconds, not cores)";
  if (want == "auto") e->description_ += " — no usable cgroup: " + reasons;
  return e;
}

Enforcer::~Enforcer() {
  for (auto& [task, group] : groups_) {
    for (std::string& dir : group.dirs) leftovers_.push_back(std::move(dir));
  }
  groups_.clear();
  remove_leftovers(1.0);
  for (auto it = parents_.rbegin(); it != parents_.rend(); ++it) {
    // Its task groups are gone; a cgroup with no child and no process goes at once.
    if (!remove_group(*it)) {
      std::fprintf(stderr, "fulcrum worker: cannot remove cgroup %s: %s\n", it->c_str(), std::strerror(errno));
    }
  }
}

Expected<Confinement> Enforcer::prepare(std::uint64_t task, const Resources& request) {
  Confinement c;
  switch (mode_) {
    case EnforcementMode::kNone:
      return c;
    case EnforcementMode::kRlimit:
      if (request.memory > 0) {
        c.address_space = static_cast<std::uint64_t>(std::ceil(request.memory));
        rlimited_[task] = request.memory;
      }
      return c;
    case EnforcementMode::kCgroupV1:
    case EnforcementMode::kCgroupV2:
      break;
  }
  if (groups_.count(task)) finish(task, nullptr);
  remove_leftovers(0);
  const std::string name = "/t" + std::to_string(task) + "-" + std::to_string(++serial_);
  Group g;
  g.memory = request.memory > 0 ? request.memory : 0;
  auto fail = [&](const std::string& what, int err) -> Expected<Confinement> {
    for (const std::string& dir : g.dirs) remove_later(dir);
    return Error{"cgroup " + what + ": " + errno_text(err)};
  };
  auto make = [&](const std::string& parent) -> std::string {
    const std::string dir = parent + name;
    if (::mkdir(dir.c_str(), 0755) != 0) return "";
    g.dirs.push_back(dir);
    return dir;
  };
  const long long memory = std::llround(g.memory);
  const bool limit_cpu = v1_cpu_ && request.cores > 0 && std::isfinite(request.cores);
  if (mode_ == EnforcementMode::kCgroupV2) {
    const std::string dir = make(parents_[0]);
    if (dir.empty()) return fail(parents_[0] + name, errno);
    if (memory > 0) {
      if (int err = write_text(dir + "/memory.max", std::to_string(memory)); err) return fail(dir + "/memory.max", err);
      write_text(dir + "/memory.swap.max", "0");  // absent without swap accounting: fine
      write_text(dir + "/memory.oom.group", "1");  // the whole task dies, not a random child
    }
    if (limit_cpu) {
      const long long quota = std::max(kMinCpuQuotaUs, std::llround(request.cores * kCpuPeriodUs));
      const std::string text = std::to_string(quota) + " " + std::to_string(kCpuPeriodUs);
      if (int err = write_text(dir + "/cpu.max", text); err) return fail(dir + "/cpu.max", err);
    }
  } else {
    const std::string dir = make(parents_[0]);
    if (dir.empty()) return fail(parents_[0] + name, errno);
    if (memory > 0) {
      if (int err = write_text(dir + "/memory.limit_in_bytes", std::to_string(memory)); err) {
        return fail(dir + "/memory.limit_in_bytes", err);
      }
      write_text(dir + "/memory.memsw.limit_in_bytes", std::to_string(memory));  // no swapping past it, if accounted
    }
    if (limit_cpu) {
      std::string cpu_dir = dir;
      if (parents_.size() > 1) {
        cpu_dir = make(parents_[1]);
        if (cpu_dir.empty()) return fail(parents_[1] + name, errno);
      }
      const double period = number_in(cpu_dir + "/cpu.cfs_period_us").value_or(kCpuPeriodUs);
      const long long quota = std::max(kMinCpuQuotaUs, std::llround(request.cores * period));
      if (int err = write_text(cpu_dir + "/cpu.cfs_quota_us", std::to_string(quota)); err) {
        return fail(cpu_dir + "/cpu.cfs_quota_us", err);
      }
    }
  }
  for (const std::string& dir : g.dirs) c.cgroup_procs.push_back(dir + "/cgroup.procs");
  groups_[task] = std::move(g);
  return c;
}

bool Enforcer::out_of_memory(const Group& g, const TaskOutcome& outcome) const {
  if (outcome.exit_code == 0 || g.dirs.empty()) return false;
  const std::string& dir = g.dirs[0];
  if (mode_ == EnforcementMode::kCgroupV2) {
    return keyed_value(dir + "/memory.events", "oom_kill").value_or(0) > 0 ||
           keyed_value(dir + "/memory.events", "oom_group_kill").value_or(0) > 0;
  }
  if (auto kills = keyed_value(dir + "/memory.oom_control", "oom_kill")) return *kills > 0;
  // Kernels before 4.13 count no kills: the limit was hit and something died of SIGKILL.
  const bool killed = outcome.exit_code == -SIGKILL || outcome.exit_code == 128 + SIGKILL;
  return killed && number_in(dir + "/memory.failcnt").value_or(0) > 0;
}

bool Enforcer::finish(std::uint64_t task, TaskOutcome* outcome) {
  bool oom = false;
  double limit = 0;
  if (auto it = rlimited_.find(task); it != rlimited_.end()) {
    limit = it->second;
    rlimited_.erase(it);
    oom = outcome && outcome->exit_code != 0 && shows_allocation_failure(outcome->output);
  } else if (auto it = groups_.find(task); it != groups_.end()) {
    Group g = std::move(it->second);
    groups_.erase(it);
    limit = g.memory;
    oom = outcome && out_of_memory(g, *outcome);
    for (std::string& dir : g.dirs) remove_later(std::move(dir));
  } else {
    remove_leftovers(0);
    return false;
  }
  remove_leftovers(0);
  if (!oom) return false;
  outcome->reason = "oom";
  const std::string how = mode_ == EnforcementMode::kRlimit ? "an allocation failed under RLIMIT_AS" : "killed by the kernel";
  append_line(outcome->output, "[out of memory: " + how + " at its memory request of " + bytes_text(limit) + " (" +
                                   std::string(enforcement_name(mode_)) + ")]\n");
  return true;
}

void Enforcer::remove_later(std::string dir) {
  kill_members(dir);
  if (!remove_group(dir)) leftovers_.push_back(std::move(dir));
}

void Enforcer::remove_leftovers(double wait_seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_seconds);
  for (;;) {
    std::erase_if(leftovers_, [](const std::string& dir) {
      kill_members(dir);
      return remove_group(dir);
    });
    if (leftovers_.empty() || std::chrono::steady_clock::now() >= deadline) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace fulcrum::real
