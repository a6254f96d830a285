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

Expected<bool> write_results(const std::string& dir, const Scenario& scenario, const RunRecords& records) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error{dir + ": cannot create folder: " + ec.message()};
  const std::filesystem::path base(dir);

  std::string tasks = "id,job,submit,start,end,worker,attempts,state\n";
  tasks.reserve(records.tasks.size() * 96);
  for (const TaskRecord& t : records.tasks) {
    const std::string worker = t.worker == kNoWorker ? "" : records.workers[t.worker].name;
    fmt::format_to(std::back_inserter(tasks), "{},{},{},{},{},{},{},{}\n", t.id, t.job, number(t.submit),
                   number(t.start), number(t.end), worker, t.attempts, to_string(t.state));
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
  return write_file(base / "summary.json", summary_json(scenario, records.summary));
}

}  // namespace fulcrum
