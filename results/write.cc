#include "results/write.h"

#include <fmt/format.h>
#include <fmt/os.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

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

}  // namespace

std::string summary_json(const Scenario& scenario, const Summary& summary) {
  nlohmann::ordered_json j;
  j["scenario"] = scenario.source;
  j["policy"] = scenario.policy;
  j["seed"] = scenario.seed;
  for (const auto& [name, value] : summary_fields(summary)) {
    if (name.rfind("tasks_", 0) == 0 || name == "faults_injected" || name == "alerts") {
      j[name] = static_cast<std::uint64_t>(value);
    } else {
      j[name] = value;
    }
  }
  return j.dump(2) + "\n";
}

static std::string jobs_csv(const RunRecords& records, JobsFormat format) {
  std::string out;
  if (format == JobsFormat::kFulcrum) {
    out = "job,name,submit,start,end,makespan,tasks,critical_path,success\n";
    for (const JobRecord& j : records.jobs) {
      fmt::format_to(std::back_inserter(out), "{},{},{},{},{},{},{},{},{}\n", j.id, j.name, number(j.submit),
                     number(j.start), number(j.end), number(j.end >= 0 ? j.end - j.submit : -1), j.tasks,
                     number(j.critical_path), j.success ? 1 : 0);
    }
    return out;
  }
  // Batsim's out_jobs.csv columns; a job's resources are its peak of parallel tasks.
  out = "job_id,workload_name,profile,submission_time,requested_number_of_resources,requested_time,success,"
        "final_state,starting_time,execution_time,finish_time,waiting_time,turnaround_time,stretch,"
        "allocated_resources,consumed_energy,metadata\n";
  for (const JobRecord& j : records.jobs) {
    const double start = j.start < 0 ? j.submit : j.start;
    const double end = j.end < 0 ? start : j.end;
    const double execution = end - start;
    const double turnaround = end - j.submit;
    const std::uint32_t resources = std::max<std::uint32_t>(j.processors, 1);
    fmt::format_to(std::back_inserter(out), "{},w0,{},{},{},{},{},{},{},{},{},{},{},{},0-{},-1,\"\"\n", j.id,
                   j.name.empty() ? "task" : j.name, number(j.submit), resources, number(j.critical_path),
                   j.success ? 1 : 0, j.success ? "COMPLETED_SUCCESSFULLY" : "COMPLETED_FAILED", number(start),
                   number(execution), number(end), number(start - j.submit), number(turnaround),
                   number(execution > 0 ? turnaround / execution : 1), resources - 1);
  }
  return out;
}

Expected<bool> write_results(const std::string& dir, const Scenario& scenario, const RunRecords& records,
                             JobsFormat jobs_format) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error{dir + ": cannot create folder: " + ec.message()};
  const std::filesystem::path base(dir);

  std::string tasks = "id,job,flops,submit,dispatched,start,end,worker,attempts,state\n";
  tasks.reserve(records.tasks.size() * 96);
  for (const TaskRecord& t : records.tasks) {
    const std::string worker = t.worker == kNoWorker ? "" : records.workers[t.worker].name;
    fmt::format_to(std::back_inserter(tasks), "{},{},{},{},{},{},{},{},{},{}\n", t.id, t.job, number(t.flops),
                   number(t.submit), number(t.dispatched), number(t.start), number(t.end), worker, t.attempts, to_string(t.state));
  }
  if (auto r = write_file(base / "tasks.csv", tasks); !r) return r;

  std::string workers = "worker,group,speed,slots,tasks,busy_time,utilisation\n";
  for (const WorkerRecord& w : records.workers) {
    fmt::format_to(std::back_inserter(workers), "{},{},{},{},{},{},{}\n", w.name, w.group, number(w.speed), w.slots,
                   w.tasks, number(w.busy_time), number(w.utilisation));
  }
  if (auto r = write_file(base / "workers.csv", workers); !r) return r;

  std::string events = "time,kind,host,detail,alert\n";
  for (const EventRecord& e : records.events) {
    fmt::format_to(std::back_inserter(events), "{},{},{},\"{}\",{}\n", number(e.time), e.kind, e.host, e.detail,
                   e.alert ? 1 : 0);
  }
  if (auto r = write_file(base / "events.csv", events); !r) return r;
  if (auto r = write_file(base / "jobs.csv", jobs_csv(records, jobs_format)); !r) return r;
  return write_file(base / "summary.json", summary_json(scenario, records.summary));
}

}  // namespace fulcrum
