// Standard Workload Format traces to DagJobs.
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
    kept.push_back({"job" + std::string(job.id), submit, runtime, tasks});
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
  }
  return trace;
}

}  // namespace

Expected<SwfTrace> load_swf(const std::string& path, const SwfOptions& options) {
  if (!(options.reference_speed > 0) || !std::isfinite(options.reference_speed)) {
    return Error{path + ": reference_speed must be a positive finite flop/s, got " + format_number(options.reference_speed)};
  }
  if (!(options.time_scale >= 0) || !std::isfinite(options.time_scale)) {
    return Error{path + ": time_scale must be a finite number >= 0, got " + format_number(options.time_scale)};
  }
  if (!(options.runtime_scale > 0) || !std::isfinite(options.runtime_scale)) {
    return Error{path + ": runtime_scale must be a positive finite number, got " + format_number(options.runtime_scale)};
  }
  try {
    return read_trace(path, options);
  } catch (const LoadError& e) {
    return Error{e.message};
  } catch (const std::exception& e) {  // bad_alloc
    return Error{path + ": " + e.what()};
  }
}

}  // namespace fulcrum
