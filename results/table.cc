#include "results/table.h"

#include <fmt/format.h>

#include <cmath>


#include "results/stats.h"

namespace fulcrum {
namespace {

std::vector<double> metric_values(const PolicyRuns& row, const std::string& metric) {
  std::vector<double> values;
  for (const Summary& s : row.runs) {
    for (const auto& [name, value] : summary_fields(s)) {
      if (name == metric) values.push_back(value);
    }
  }
  return values;
}

// Columns in a terminal, where "±" is one column but two bytes.
std::size_t display_width(const std::string& s) { return s.size() - (s.find("±") != std::string::npos ? 1 : 0); }

std::string cell(const std::vector<double>& values) {
  const double m = mean(values);
  if (values.size() < 2) return fmt::format("{:.4g}", m);
  double half = ci95_halfwidth(values);
  // Equal runs differ by rounding only: show them as exactly equal.
  if (half <= 1e-9 * std::abs(m)) half = 0;
  return fmt::format("{:.4g} ±{:.2g}", m, half);
}

}  // namespace

std::vector<std::string> comparison_metrics(Columns columns) {
  if (columns == Columns::kJobs) {
    return {"jobs_makespan_mean", "jobs_slowdown_mean", "makespan", "response_mean", "wait_mean",
            "utilisation_mean", "utilisation_cv", "tasks_lost"};
  }
  if (columns == Columns::kResources) {
    return {"response_mean", "response_p99", "wait_mean", "utilisation_cores", "utilisation_memory",
            "utilisation_gpus", "fragmentation", "tasks_unschedulable", "makespan", "tasks_lost"};
  }
  if (columns == Columns::kFaults) {
    return {"response_mean", "response_p99", "throughput", "tasks_retried", "tasks_failed", "tasks_lost",
            "detection_latency_mean", "recovery_time_mean", "wasted_work"};
  }
  return {"response_mean", "response_p50", "response_p95", "response_p99", "wait_mean",
          "slowdown_mean", "utilisation_cv", "throughput", "makespan", "tasks_lost"};
}

Columns columns_for(const std::vector<PolicyRuns>& rows, bool dag_jobs) {
  for (const PolicyRuns& row : rows) {
    for (const Summary& s : row.runs) {
      if (s.faults_injected > 0) return Columns::kFaults;
    }
  }
  if (dag_jobs) return Columns::kJobs;
  for (const PolicyRuns& row : rows) {
    for (const Summary& s : row.runs) {
      if (s.utilisation_memory > 0 || s.utilisation_gpus > 0 || s.fragmentation > 0 || s.tasks_unschedulable > 0) {
        return Columns::kResources;
      }
    }
  }
  return Columns::kTasks;
}

std::string format_comparison(const std::vector<PolicyRuns>& rows, Columns columns) {
  const std::vector<std::string> metrics = comparison_metrics(columns);
  std::vector<std::vector<std::string>> cells;
  std::vector<std::size_t> width(metrics.size() + 1, 6);
  width[0] = 6;
  for (const PolicyRuns& row : rows) {
    std::vector<std::string> line{row.policy};
    for (const std::string& m : metrics) line.push_back(cell(metric_values(row, m)));
    for (std::size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], display_width(line[i]));
    cells.push_back(std::move(line));
  }
  for (std::size_t i = 0; i < metrics.size(); ++i) width[i + 1] = std::max(width[i + 1], metrics[i].size());
  std::string out = fmt::format("{:<{}}", "policy", width[0]);
  for (std::size_t i = 0; i < metrics.size(); ++i) out += fmt::format("  {:>{}}", metrics[i], width[i + 1]);
  out += "\n";
  for (const auto& line : cells) {
    out += fmt::format("{:<{}}", line[0], width[0]);
    for (std::size_t i = 1; i < line.size(); ++i) {
      out += fmt::format("  {:>{}}", line[i], width[i] + line[i].size() - display_width(line[i]));
    }
    out += "\n";
  }
  return out;
}

std::string comparison_csv(const std::vector<PolicyRuns>& rows, Columns columns) {
  std::string out = "policy,metric,mean,ci95,n\n";
  for (const PolicyRuns& row : rows) {
    for (const std::string& m : comparison_metrics(columns)) {
      const auto values = metric_values(row, m);
      out += fmt::format("{},{},{:.17g},{:.17g},{}\n", row.policy, m, mean(values), ci95_halfwidth(values), values.size());
    }
  }
  return out;
}

}  // namespace fulcrum
