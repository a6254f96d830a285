#include "results/write.h"

#include <fmt/format.h>
#include <fmt/os.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string_view>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "results/columns.h"

namespace fulcrum {
namespace {

Expected<bool> write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Error{path.string() + ": cannot write file"};
  return true;
}

std::string number(double v) { return fmt::format("{:.17g}", v); }

// One CSV cell per column (results/columns.h): doubles with 17 significant digits, bools
// as 1 or 0, an enumeration by name, free text in double quotes.
struct CsvRow {
  std::string& out;
  bool first = true;

  template <class T> void operator()(std::string_view /*column*/, const T& v) {
    if (!first) out += ',';
    first = false;
    if constexpr (std::is_same_v<T, double>) {
      fmt::format_to(std::back_inserter(out), "{:.17g}", v);
    } else if constexpr (std::is_same_v<T, bool>) {
      out += v ? '1' : '0';
    } else if constexpr (std::is_enum_v<T>) {
      out += to_string(v);
    } else if constexpr (std::is_same_v<T, FreeText>) {
      out += '"';
      out += v.text;
      out += '"';
    } else if constexpr (std::is_integral_v<T>) {
      fmt::format_to(std::back_inserter(out), "{}", v);
    } else {
      out += v;  // a string
    }
  }
};

// A table's CSV text: its header, then one line per record.
template <class Record> std::string csv(const std::vector<Record>& rows, const RecordColumns& columns) {
  std::string out;
  out.reserve((rows.size() + 1) * 64);
  for (const std::string& name : columns.column_names<Record>()) {
    out += name;
    out += ',';
  }
  out.back() = '\n';
  for (const Record& row : rows) {
    columns.walk(row, CsvRow{out});
    out += '\n';
  }
  return out;
}

// Each field as a JSON member of its type: the summary's counts as integers, the rest as
// doubles.
struct JsonFields {
  nlohmann::ordered_json& j;
  template <class T> void field(std::string_view name, const T& value) { j[std::string(name)] = value; }
};

}  // namespace

std::string summary_json(const Scenario& scenario, const Summary& summary) {
  nlohmann::ordered_json j;
  j["scenario"] = scenario.source;
  j["policy"] = scenario.policy;
  j["seed"] = scenario.seed;
  JsonFields metrics{j};
  fields(metrics, const_cast<Summary&>(summary));  // the field list takes non-const; nothing is written
  return j.dump(2) + "\n";
}

// Batsim's interval set of resource ids ("0-3 7 9-10") for sorted, distinct ids.
static std::string interval_set(const std::vector<WorkerId>& ids) {
  std::string out;
  for (std::size_t i = 0; i < ids.size();) {
    std::size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    if (!out.empty()) out += ' ';
    out += std::to_string(ids[i]);
    if (j > i) out += "-" + std::to_string(ids[j]);
    i = j + 1;
  }
  return out;
}

static std::string jobs_csv(const RunRecords& records, JobsFormat format) {
  if (format == JobsFormat::kFulcrum) return csv(records.jobs, RecordColumns{records.workers, records.jobs});
  // The hosts each job's tasks last ran on: Batsim's resources are fulcrum's workers.
  std::vector<std::vector<WorkerId>> hosts(records.jobs.size());
  for (const TaskRecord& t : records.tasks) {
    if (t.job < hosts.size() && t.worker != kNoWorker && t.start >= 0) hosts[t.job].push_back(t.worker);
  }
  for (auto& h : hosts) {
    std::sort(h.begin(), h.end());
    h.erase(std::unique(h.begin(), h.end()), h.end());
  }
  std::string out;
  // Batsim's out_jobs.csv columns; a job's resources are its peak of parallel tasks.
  out = "job_id,workload_name,profile,submission_time,requested_number_of_resources,requested_time,success,"
        "final_state,starting_time,execution_time,finish_time,waiting_time,turnaround_time,stretch,"
        "allocated_resources,consumed_energy,metadata\n";
  for (const JobRecord& j : records.jobs) {
    const double start = j.start < 0 ? j.submit : j.start;
    const double end = j.end < 0 ? start : j.end;
    const double execution = end - start;
    const double turnaround = end - j.submit;
    const std::uint32_t resources = std::max<std::uint32_t>(j.width > 1 ? j.width : j.processors, 1);
    fmt::format_to(std::back_inserter(out), "{},w0,{},{},{},{},{},{},{},{},{},{},{},{},{},-1,\"\"\n", j.id,
                   j.name.empty() ? "task" : j.name, number(j.submit), resources,
                   number(j.estimate > 0 ? j.estimate : j.critical_path), j.success ? 1 : 0,
                   j.success ? "COMPLETED_SUCCESSFULLY" : "COMPLETED_FAILED", number(start), number(execution),
                   number(end), number(start - j.submit), number(turnaround),
                   number(execution > 0 ? turnaround / execution : 1), interval_set(hosts[j.id < hosts.size() ? j.id : 0]));
  }
  return out;
}

Expected<bool> write_results(const std::string& dir, const Scenario& scenario, const RunRecords& records,
                             JobsFormat jobs_format) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error{dir + ": cannot create folder: " + ec.message()};
  const std::filesystem::path base(dir);

  const RecordColumns columns{records.workers, records.jobs};
  if (auto r = write_file(base / "tasks.csv", csv(records.tasks, columns)); !r) return r;
  if (auto r = write_file(base / "workers.csv", csv(records.workers, columns)); !r) return r;
  if (auto r = write_file(base / "events.csv", csv(records.events, columns)); !r) return r;
  if (auto r = write_file(base / "jobs.csv", jobs_csv(records, jobs_format)); !r) return r;
  // Only a run with tenants has a tenants.csv (one default tenant is not worth a file).
  const bool tenants = !scenario.tenants.empty() ||
                       std::any_of(records.tenants.begin(), records.tenants.end(), [](const TenantRecord& t) { return !t.tenant.empty(); });
  if (tenants) {
    if (auto r = write_file(base / "tenants.csv", csv(records.tenants, columns)); !r) return r;
  }
  return write_file(base / "summary.json", summary_json(scenario, records.summary));
}

}  // namespace fulcrum
