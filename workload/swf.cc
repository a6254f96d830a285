// Line-oriented traces to DagJobs: Standard Workload Format logs, and the Alibaba
// cluster-trace-v2017 batch task table (load_alibaba, below), which share the line reader.
//
// The trace is streamed line by line through zlib (gzip or plain), so a small window on a
// large compressed log reads only the lines it needs.
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "workload/loaders.h"

namespace fulcrum {
namespace {

using namespace workload_detail;

constexpr std::size_t kFields = 18;
constexpr std::size_t kMaxLine = std::size_t{1} << 20;
// No machine in any log has this many processors; a bigger count is a broken line, and
// expanding it into tasks would exhaust memory.
constexpr double kMaxProcs = double(1 << 24);
// Tasks in one load (each ~100 bytes): far above any real window, low enough not to thrash.
constexpr std::uint64_t kMaxTasks = std::uint64_t{1} << 26;

constexpr std::array<const char*, kFields> kFieldNames = {
    "job number", "submit time", "wait time", "run time", "allocated processors", "average CPU time",
    "used memory", "requested processors", "requested time", "requested memory", "status", "user id",
    "group id", "executable number", "queue number", "partition number", "preceding job number",
    "think time after preceding job"};

// Lines of a plain or gzip file. Errors (unreadable, corrupt or truncated gzip, overlong
// line) are LoadErrors naming the file and the line.
class LineReader {
 public:
  explicit LineReader(const std::string& path) : path_(path) {
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) {
      fail(path + ": cannot open: " + (errno != 0 ? std::strerror(errno) : "out of memory"));
    }
    gzbuffer(file_, 1 << 18);
  }
  ~LineReader() {
    if (file_ != nullptr) gzclose_r(file_);
  }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  std::uint64_t line_number() const { return line_; }

  // The next line without its '\n' (the view lives until the next call); false at the end.
  bool next(std::string_view& line) {
    for (;;) {
      const auto newline = buffer_.find('\n', start_);
      if (newline != std::string::npos) {
        line = std::string_view(buffer_).substr(start_, newline - start_);
        start_ = newline + 1;
        ++line_;
        return true;
      }
      if (buffer_.size() - start_ > kMaxLine) {
        fail(path_ + ":" + std::to_string(line_ + 1) + ": line longer than " + std::to_string(kMaxLine) + " bytes");
      }
      if (end_) {
        if (start_ == buffer_.size()) return false;
        line = std::string_view(buffer_).substr(start_);  // a last line without '\n'
        start_ = buffer_.size();
        ++line_;
        return true;
      }
      fill();
    }
  }

 private:
  void fill() {
    buffer_.erase(0, start_);
    start_ = 0;
    const std::size_t have = buffer_.size();
    constexpr std::size_t kChunk = 1 << 16;
    buffer_.resize(have + kChunk);
    const int got = gzread(file_, buffer_.data() + have, static_cast<unsigned>(kChunk));
    if (got < 0) {
      int code = Z_OK;
      const char* message = gzerror(file_, &code);
      fail(path_ + ": after line " + std::to_string(line_) + ": " +
           (code == Z_ERRNO ? std::string("read error: ") + std::strerror(errno)
                            : std::string("corrupt gzip data: ") + message));
    }
    buffer_.resize(have + static_cast<std::size_t>(got));
    if (got == 0) {
      end_ = true;
      // A gzip stream cut short reads as a clean end of file; gzclose tells (Z_BUF_ERROR).
      const int closed = gzclose_r(file_);
      file_ = nullptr;
      if (closed == Z_BUF_ERROR) {
        fail(path_ + ": after line " + std::to_string(line_) + ": truncated gzip data (unexpected end of file)");
      }
      if (closed != Z_OK) fail(path_ + ": read error (zlib code " + std::to_string(closed) + ")");
    }
  }

  std::string path_;
  gzFile file_ = nullptr;
  std::string buffer_;
  std::size_t start_ = 0;
  std::uint64_t line_ = 0;
  bool end_ = false;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

struct JobLine {
  std::string_view id;  // field 1, as written
  std::array<double, kFields> field{};
};

// Splits and parses one job line; false for comments and blank lines.
bool parse_line(std::string_view line, const std::string& at, JobLine& out) {
  std::size_t i = 0;
  while (i < line.size() && is_space(line[i])) ++i;
  if (i == line.size() || line[i] == ';') return false;
  std::array<std::string_view, kFields> token;
  std::size_t count = 0;
  while (i < line.size()) {
    const std::size_t begin = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (count < kFields) token[count] = line.substr(begin, i - begin);
    ++count;
    while (i < line.size() && is_space(line[i])) ++i;
  }
  if (count != kFields) {
    fail(at + ": expected " + std::to_string(kFields) + " fields, got " + std::to_string(count));
  }
  for (std::size_t f = 0; f < kFields; ++f) {
    const std::string where = at + ": field " + std::to_string(f + 1) + " (" + kFieldNames[f] + ")";
    const char* first = token[f].data();
    const char* last = first + token[f].size();
    double x = 0;
    const auto [ptr, ec] = std::from_chars(first, last, x);
    if (ec == std::errc::result_out_of_range) fail(where + ": out of range '" + std::string(token[f]) + "'");
    if (ec != std::errc() || ptr != last || !std::isfinite(x)) {
      std::string shown = quote(token[f]);  // escaped and cut short, in single quotes
      shown.front() = '\'';
      shown.back() = '\'';
      fail(where + ": not a number " + shown);
    }
    out.field[f] = x;
  }
  out.id = token[0];
  return true;
}

struct Kept {
  std::string id;
  double submit = 0;
  double runtime = 0;
  std::uint64_t procs = 0;
  double memory = 0;  // bytes per task (processor); 0 not given
  double estimate = 0;  // requested time, at least the run time unless jobs are killed at it
  double limit = 0;     // kill_at_estimate: the requested time (0 none)
  std::uint64_t line = 0;
  std::string tenant;
};

SwfTrace read_trace(const std::string& path, const SwfOptions& options) {
  LineReader reader(path);
  std::vector<Kept> kept;
  SwfTrace trace;
  std::uint64_t jobs_seen = 0;  // job lines so far, in trace order
  std::uint64_t total_tasks = 0;
  const std::uint64_t window_end =
      options.max_jobs == 0 ? std::numeric_limits<std::uint64_t>::max()
                            : options.first_job + std::min(options.max_jobs, ~std::uint64_t{0} - options.first_job);
  std::string_view line;
  JobLine job;
  while (jobs_seen < window_end && reader.next(line)) {
    const std::string at = path + ":" + std::to_string(reader.line_number());
    if (!parse_line(line, at, job)) continue;
    const std::uint64_t position = jobs_seen++;
    if (position < options.first_job) continue;
    const double submit = job.field[1];
    const double runtime = job.field[3];
    double procs = job.field[4] >= 0 ? job.field[4] : job.field[7];  // allocated, else requested
    const int procs_field = job.field[4] >= 0 ? 5 : 8;
    if (procs != std::floor(procs)) {
      fail(at + ": field " + std::to_string(procs_field) + " (" + kFieldNames[procs_field - 1] +
           "): not a whole number " + format_number(procs));
    }
    if (submit < 0 || runtime <= 0 || procs <= 0) {
      ++trace.skipped;
      continue;
    }
    if (procs > kMaxProcs && (options.max_procs == 0 || options.max_procs > kMaxProcs)) {
      fail(at + ": field " + std::to_string(procs_field) + " (" + kFieldNames[procs_field - 1] + "): " +
           format_number(procs) + " processors is implausible (set max_procs to cap it)");
    }
    const auto p = static_cast<std::uint64_t>(procs);
    trace.max_procs_seen = std::max(trace.max_procs_seen, p);
    const std::uint64_t tasks = options.max_procs == 0 ? p : std::min<std::uint64_t>(p, options.max_procs);
    total_tasks += tasks;
    if (total_tasks > kMaxTasks) {
      fail(at + ": more than " + std::to_string(kMaxTasks) + " tasks in the window so far (set max_jobs or max_procs)");
    }
    const double kilobytes = job.field[9];
    if (kilobytes < -1) fail(at + ": field 10 (" + std::string(kFieldNames[9]) + "): must be -1 (unknown) or >= 0, got " +
                             format_number(kilobytes));
    const double requested = job.field[8];
    if (requested < -1) fail(at + ": field 9 (" + std::string(kFieldNames[8]) + "): must be -1 (unknown) or >= 0, got " +
                             format_number(requested));
    const double limit = options.kill_at_estimate && requested > 0 ? requested : 0;
    kept.push_back({"job" + std::string(job.id), submit, runtime, tasks, kilobytes > 0 ? kilobytes * 1024 : 0,
                    limit > 0 ? limit : std::max(requested, runtime), limit, reader.line_number()});
    if (options.tenant_field > 0) {
      static constexpr const char* kTenantPrefix[] = {"user", "group", "", "queue", "partition"};
      const double id = job.field[options.tenant_field - 1];
      kept.back().tenant = std::string(kTenantPrefix[options.tenant_field - 12]) +
                           (id >= 0 ? format_number(id) : std::string("?"));
    }
  }
  if (jobs_seen == 0) fail(path + ": no job lines (" + std::to_string(reader.line_number()) + " lines read)");
  if (jobs_seen <= options.first_job) {
    fail(path + ": the window starts at job " + std::to_string(options.first_job) + " but the trace has only " +
         std::to_string(jobs_seen) + " jobs");
  }
  if (kept.empty()) {
    fail(path + ": every one of the " + std::to_string(trace.skipped) +
         " jobs in the window was skipped (unknown or non-positive run time, processors or submit time)");
  }

  // Logs are sorted by submit time in principle; sorting makes sure, and keeps ties in trace
  // order so that the result does not depend on the sort.
  std::stable_sort(kept.begin(), kept.end(), [](const Kept& a, const Kept& b) { return a.submit < b.submit; });
  const double origin = kept.front().submit;
  trace.jobs.reserve(kept.size());
  for (const Kept& k : kept) {
    DagJob dag;
    dag.name = k.id;
    dag.submit = (k.submit - origin) * options.time_scale;
    const double flops = k.runtime * options.runtime_scale * options.reference_speed;
    if (!std::isfinite(flops)) fail(path + ": job " + k.id + ": run time x runtime_scale x reference_speed overflows");
    dag.tasks.resize(k.procs);
    for (std::uint64_t t = 0; t < k.procs; ++t) {
      dag.tasks[t].name = k.id + "." + std::to_string(t);
      dag.tasks[t].flops = flops;
    }
    trace.jobs.push_back(std::move(dag));
    trace.requests.emplace_back(k.procs, Resources{.cores = 1, .memory = k.memory});
    trace.estimates.push_back(k.estimate * options.runtime_scale);
    if (options.kill_at_estimate) trace.limits.push_back(k.limit * options.runtime_scale);
    if (options.tenant_field > 0) trace.tenants.push_back(k.tenant);
    trace.lines.push_back(k.line);
  }
  return trace;
}

// --- Alibaba cluster-trace-v2017, batch_task.csv ---

constexpr std::size_t kAlibabaFields = 8;
constexpr std::array<const char*, kAlibabaFields> kAlibabaNames = {
    "create time", "end time", "job id", "task id", "instances", "status", "plan_cpu", "plan_mem"};

struct TaskRow {
  std::int64_t create = 0, end = 0;
  std::uint64_t job = 0, task = 0, instances = 0;
  double cpu = 0, mem = 0;  // < 0: not given
  std::uint64_t line = 0;
};

// Splits one row at commas; false if it does not have the 8 fields.
bool split_row(std::string_view line, std::array<std::string_view, kAlibabaFields>& out, std::size_t& count) {
  count = 0;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t comma = line.find(',', begin);
    const std::string_view field = line.substr(begin, comma == std::string_view::npos ? line.npos : comma - begin);
    if (count < kAlibabaFields) out[count] = field;
    ++count;
    if (comma == std::string_view::npos) break;
    begin = comma + 1;
  }
  return count == kAlibabaFields;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_space(s.front()))) s.remove_prefix(1);
  while (!s.empty() && (is_space(s.back()))) s.remove_suffix(1);
  return s;
}

template <class Int>
bool whole(std::string_view text, Int& out) {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

// Parses a row; false for the header (a first line whose first field is not a number).
bool parse_row(std::string_view line, std::uint64_t number, const std::string& at, TaskRow& row) {
  std::array<std::string_view, kAlibabaFields> f;
  std::size_t count = 0;
  const bool complete = split_row(line, f, count);
  if (number == 1) {
    std::int64_t ignored = 0;
    if (!whole(trim(count > 0 ? f[0] : line), ignored)) return false;
  }
  if (!complete) fail(at + ": expected " + std::to_string(kAlibabaFields) + " comma-separated fields, got " + std::to_string(count));
  for (auto& x : f) x = trim(x);
  const auto bad = [&](std::size_t i, const std::string& what) {
    std::string shown = quote(f[i]);
    fail(at + ": field " + std::to_string(i + 1) + " (" + kAlibabaNames[i] + "): " + what + ", got " + shown);
  };
  if (!whole(f[0], row.create)) bad(0, "not a whole number of seconds");
  if (!whole(f[1], row.end)) bad(1, "not a whole number of seconds");
  if (!whole(f[2], row.job)) bad(2, "not an id (a whole number >= 0)");
  if (!whole(f[3], row.task)) bad(3, "not an id (a whole number >= 0)");
  if (!whole(f[4], row.instances)) bad(4, "not a count (a whole number >= 0)");
  for (std::size_t i : {6, 7}) {
    double& x = i == 6 ? row.cpu : row.mem;
    x = -1;
    if (f[i].empty()) continue;
    const auto [ptr, ec] = std::from_chars(f[i].data(), f[i].data() + f[i].size(), x);
    if (ec != std::errc() || ptr != f[i].data() + f[i].size() || !std::isfinite(x) || x < 0) {
      bad(i, "must be empty or a number >= 0");
    }
  }
  const std::string_view status = f[5];
  if (status != "Terminated" && status != "Failed" && status != "Waiting" && status != "Running" &&
      status != "Ready" && status != "Cancelled") {
    bad(5, "unknown status (known: Terminated, Failed, Running, Waiting, Ready, Cancelled)");
  }
  row.line = number;
  // Only tasks that ran and ended have a duration and a plan to replay.
  const bool ended = status == "Terminated" || status == "Failed";
  if (!ended || row.end <= row.create || row.instances == 0 || !(row.cpu > 0) || !(row.mem > 0)) row.instances = 0;
  return true;
}

AlibabaTrace read_alibaba(const std::string& path, const AlibabaOptions& options) {
  LineReader reader(path);
  AlibabaTrace trace;
  struct Job {
    std::uint64_t id = 0;
    std::int64_t submit = 0;
    std::vector<TaskRow> rows;
  };
  std::vector<Job> jobs;  // in order of first appearance
  std::unordered_map<std::uint64_t, std::size_t> by_id;
  std::string_view line;
  TaskRow row;
  while (reader.next(line)) {
    const std::uint64_t number = reader.line_number();
    if (trim(line).empty()) continue;
    const std::string at = path + ":" + std::to_string(number);
    if (!parse_row(line, number, at, row)) continue;
    ++trace.rows;
    if (row.instances == 0) {
      ++trace.skipped;
      continue;
    }
    const auto [it, fresh] = by_id.emplace(row.job, jobs.size());
    if (fresh) jobs.push_back({row.job, row.create, {}});
    Job& job = jobs[it->second];
    job.submit = std::min(job.submit, row.create);
    job.rows.push_back(row);
  }
  if (trace.rows == 0) fail(path + ": no task rows (" + std::to_string(reader.line_number()) + " lines read)");
  if (jobs.empty()) {
    fail(path + ": every one of the " + std::to_string(trace.rows) +
         " rows was skipped (no Terminated or Failed task with instances, an end after its creation and a plan)");
  }
  std::stable_sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.submit < b.submit; });
  if (options.first_job >= jobs.size()) {
    fail(path + ": the window starts at job " + std::to_string(options.first_job) + " but the trace has only " +
         std::to_string(jobs.size()) + " jobs with usable rows");
  }
  const std::size_t first = options.first_job;
  const std::size_t last = options.max_jobs == 0 ? jobs.size()
                                                 : first + std::min<std::uint64_t>(options.max_jobs, jobs.size() - first);
  const std::int64_t origin = jobs[first].submit;
  std::uint64_t total_tasks = 0;
  for (std::size_t j = first; j < last; ++j) {
    const Job& job = jobs[j];
    DagJob dag;
    dag.name = "job" + std::to_string(job.id);
    dag.submit = static_cast<double>(job.submit - origin) * options.time_scale;
    TaskRequests requests;
    for (const TaskRow& r : job.rows) {
      const std::uint64_t n = options.max_instances == 0 ? r.instances : std::min<std::uint64_t>(r.instances, options.max_instances);
      total_tasks += n;
      if (total_tasks > kMaxTasks) {
        fail(path + ":" + std::to_string(r.line) + ": more than " + std::to_string(kMaxTasks) +
             " tasks in the window so far (set max_jobs or max_instances)");
      }
      const double flops = static_cast<double>(r.end - r.create) * options.runtime_scale * options.reference_speed;
      if (!std::isfinite(flops)) fail(path + ":" + std::to_string(r.line) + ": duration x runtime_scale x reference_speed overflows");
      const Resources request{.cores = r.cpu / 100, .memory = std::ceil(r.mem * options.machine_memory)};
      const std::string prefix = std::to_string(r.task) + ".";
      for (std::uint64_t k = 0; k < n; ++k) {
        DagTask t;
        t.name = prefix + std::to_string(k);
        t.flops = flops;
        dag.tasks.push_back(std::move(t));
        requests.push_back(request);
      }
    }
    trace.jobs.push_back(std::move(dag));
    trace.requests.push_back(std::move(requests));
  }
  return trace;
}

}  // namespace

std::string check_window(const std::string& path, const TraceWindow& w) {
  if (!(w.reference_speed > 0) || !std::isfinite(w.reference_speed)) {
    return path + ": reference_speed must be a positive finite flop/s, got " + format_number(w.reference_speed);
  }
  if (!(w.time_scale >= 0) || !std::isfinite(w.time_scale)) {
    return path + ": time_scale must be a finite number >= 0, got " + format_number(w.time_scale);
  }
  if (!(w.runtime_scale > 0) || !std::isfinite(w.runtime_scale)) {
    return path + ": runtime_scale must be a positive finite number, got " + format_number(w.runtime_scale);
  }
  return "";
}

Expected<AlibabaTrace> load_alibaba(const std::string& path, const AlibabaOptions& options) {
  if (std::string bad = check_window(path, options); !bad.empty()) return Error{bad};
  if (!(options.machine_memory > 0) || !std::isfinite(options.machine_memory)) {
    return Error{path + ": machine_memory must be a positive finite number of bytes, got " +
                 format_number(options.machine_memory)};
  }
  try {
    return read_alibaba(path, options);
  } catch (const LoadError& e) {
    return Error{e.message};
  } catch (const std::exception& e) {  // bad_alloc
    return Error{path + ": " + e.what()};
  }
}

Expected<SwfTrace> load_swf(const std::string& path, const SwfOptions& options) {
  if (std::string bad = check_window(path, options); !bad.empty()) return Error{bad};
  try {
    return read_trace(path, options);
  } catch (const LoadError& e) {
    return Error{e.message};
  } catch (const std::exception& e) {  // bad_alloc
    return Error{path + ": " + e.what()};
  }
}

}  // namespace fulcrum
