// fulcrum._core: the pybind11 binding of the scenario loader and the simulator.
//
// Thin on purpose: the Python package (python/fulcrum/) builds DataFrames and comparisons
// on top. Records come back as dicts of column lists so pandas can take them directly.
// simulate() releases the GIL (each run is a forked child), so Python threads run many
// simulations at once.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "results/columns.h"
#include "results/metrics.h"
#include "results/stats.h"
#include "core/task.h"
#include "policies/learned.h"
#include "policies/registry.h"
#include "scenario/load.h"
#include "real/local_run.h"
#include "sim/isolated.h"

namespace py = pybind11;
using namespace fulcrum;

namespace {

py::dict summary_dict(const Summary& s) {
  py::dict d;
  for (const auto& [name, value] : summary_fields(s)) d[py::str(name)] = value;
  return d;
}

// One column cell as a Python object: an enumeration by name, free text as its text.
template <class T> py::object cell(const T& v) {
  if constexpr (std::is_enum_v<T>) {
    return py::str(std::string(to_string(v)));
  } else if constexpr (std::is_same_v<T, FreeText>) {
    return py::str(std::string(v.text));
  } else {
    return py::cast(v);
  }
}

// A table as a dict of column lists: the columns of its CSV (results/columns.h), in order.
template <class Record> py::dict columns_dict(const std::vector<Record>& rows, const RecordColumns& columns) {
  const std::vector<std::string> names = columns.column_names<Record>();
  std::vector<py::list> lists;
  for (std::size_t c = 0; c < names.size(); ++c) lists.emplace_back(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::size_t c = 0;
    columns.walk(rows[i], [&](std::string_view, const auto& v) {
      PyList_SET_ITEM(lists[c++].ptr(), static_cast<Py_ssize_t>(i), cell(v).release().ptr());
    });
  }
  py::dict d;
  for (std::size_t c = 0; c < names.size(); ++c) d[py::str(names[c])] = lists[c];
  return d;
}

py::dict records_dict(const RunRecords& r) {
  py::dict out;
  out["summary"] = summary_dict(r.summary);
  const RecordColumns columns{r.workers, r.jobs};
  out["tasks"] = columns_dict(r.tasks, columns);
  out["workers"] = columns_dict(r.workers, columns);
  out["jobs"] = columns_dict(r.jobs, columns);
  out["events"] = columns_dict(r.events, columns);
  out["tenants"] = columns_dict(r.tenants, columns);
  return out;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "fulcrum's C++ core: scenario loading and simulation";

  static py::exception<std::exception> scenario_error(m, "ScenarioError", PyExc_ValueError);
  static py::exception<std::exception> run_error(m, "RunError", PyExc_RuntimeError);
  scenario_error.attr("__module__") = "fulcrum";
  run_error.attr("__module__") = "fulcrum";

  py::class_<Scenario>(m, "Scenario")
      .def_readonly("source", &Scenario::source)
      .def_readwrite("policy", &Scenario::policy)
      .def_readwrite("seed", &Scenario::seed)
      .def_property_readonly("total_hosts", &Scenario::total_hosts)
      .def("__repr__", [](const Scenario& s) {
        return "<fulcrum Scenario " + s.source + " policy=" + s.policy + " seed=" + std::to_string(s.seed) + ">";
      });

  m.def(
      "load",
      [](std::optional<std::string> path, std::optional<std::string> text, const std::vector<std::string>& overrides,
         const std::string& source_name) {
        if (path.has_value() == text.has_value()) throw py::value_error("load: give exactly one of path and text");
        Expected<Scenario> s = path ? load_scenario_file(*path, overrides)
                                    : load_scenario_text(*text, source_name, overrides);
        if (!s) {
          PyErr_SetString(scenario_error.ptr(), s.error().c_str());
          throw py::error_already_set();
        }
        return std::move(s.value());
      },
      py::arg("path") = py::none(), py::arg("text") = py::none(), py::arg("overrides") = std::vector<std::string>{},
      py::arg("source_name") = "<scenario>", "Loads and validates a scenario (file or YAML text).");

  m.def("default_scenario", [] { return std::string(default_scenario_yaml()); },
        "The built-in demo scenario as YAML text.");

  m.def("policy_names", &policy_names, "The policy names make_policy accepts.");
  m.def("classic_policies", &classic_policies, "The policies a comparison runs by default.");
  m.def(
      "check_policy",
      [](const std::string& spec) {
        if (auto made = make_policy(spec); !made) {
          PyErr_SetString(scenario_error.ptr(), made.error().c_str());
          throw py::error_already_set();
        }
      },
      py::arg("spec"), "Raises ScenarioError if `spec` is not a valid policy spec.");

  m.def("t_quantile_95", &t_quantile_95, py::arg("dof"), "Student t 0.975 quantile (as the CLI uses).");

  m.def(
      "simulate",
      [](const Scenario& scenario, std::optional<py::function> progress) {
        sim::ProgressFn report;
        if (progress) {
          // Called in this process, on this thread, while the GIL is released.
          report = [&progress](std::uint64_t done, std::uint64_t total) {
            py::gil_scoped_acquire acquire;
            (*progress)(done, total);
          };
        }
        std::optional<Expected<RunRecords>> records;
        {
          py::gil_scoped_release release;
          records.emplace(sim::simulate(scenario, report));
        }
        if (!*records) {
          PyErr_SetString(run_error.ptr(), records->error().c_str());
          throw py::error_already_set();
        }
        return records_dict(records->value());
      },
      py::arg("scenario"), py::arg("progress") = py::none(),
      "Runs one simulation (in a forked child) and returns its records as column dicts; "
      "progress(done_tasks, total_tasks) is called now and then.");

  m.def(
      "simulate_many",
      [](const std::vector<Scenario>& scenarios, unsigned jobs, std::optional<py::function> done) {
        // One thread forks every child: forking while other threads run could hang a child.
        std::function<void(std::size_t)> on_done;
        if (done) {
          on_done = [&done](std::size_t index) {
            py::gil_scoped_acquire acquire;
            (*done)(index);
          };
        }
        std::vector<Expected<RunRecords>> results;
        {
          py::gil_scoped_release release;
          results = sim::simulate_many(scenarios, jobs, on_done);
        }
        py::list out;
        for (const auto& r : results) {
          if (!r) {
            PyErr_SetString(run_error.ptr(), r.error().c_str());
            throw py::error_already_set();
          }
          out.append(records_dict(r.value()));
        }
        return out;
      },
      py::arg("scenarios"), py::arg("jobs"), py::arg("done") = py::none(),
      "Runs the simulations, `jobs` at a time, each in a forked child; returns their records in order. "
      "done(index) is called as each run ends.");

  m.def(
      "training_set",
      [](const std::vector<double>& flops, const std::vector<double>& dispatched, const std::vector<double>& start,
         const std::vector<double>& end, const std::vector<std::int64_t>& worker, const std::vector<std::string>& state,
         const std::vector<std::string>& worker_group, const std::vector<int>& worker_slots, double rate_smoothing) {
        const std::size_t n = flops.size();
        if (dispatched.size() != n || start.size() != n || end.size() != n || worker.size() != n || state.size() != n) {
          throw py::value_error("training_set: the task columns differ in length");
        }
        if (worker_group.size() != worker_slots.size()) throw py::value_error("training_set: the worker columns differ in length");
        std::vector<TaskRecord> tasks(n);
        for (std::size_t i = 0; i < n; ++i) {
          TaskRecord& t = tasks[i];
          t.id = i;
          t.flops = flops[i];
          t.dispatched = dispatched[i];
          t.start = start[i];
          t.end = end[i];
          t.worker = worker[i] < 0 || static_cast<std::size_t>(worker[i]) >= worker_group.size()
                         ? kNoWorker : static_cast<WorkerId>(worker[i]);
          t.state = state[i] == "finished" ? TaskState::kFinished : TaskState::kFailed;
        }
        std::vector<WorkerRecord> workers(worker_group.size());
        for (std::size_t w = 0; w < workers.size(); ++w) {
          workers[w].group = worker_group[w];
          workers[w].slots = worker_slots[w];
        }
        TrainingSet set = training_set(tasks, workers, rate_smoothing);
        std::vector<std::string> names(kLearnedFeatures.begin(), kLearnedFeatures.end());
        return py::make_tuple(names, set.groups, set.features, set.target);
      },
      py::arg("flops"), py::arg("dispatched"), py::arg("start"), py::arg("end"), py::arg("worker"), py::arg("state"),
      py::arg("worker_group"), py::arg("worker_slots"), py::arg("rate_smoothing") = 0.3,
      "The learned predictor's training examples from a run's task and worker columns: "
      "(feature names, groups, rows, targets), as policies/learned.h computes them.");

  m.def(
      "check_model",
      [](const std::string& path) {
        if (auto model = load_learned_model(path); !model) {
          PyErr_SetString(scenario_error.ptr(), model.error().c_str());
          throw py::error_already_set();
        }
      },
      py::arg("path"), "Raises ScenarioError if the file is not a model the learned policy accepts.");

  m.def(
      "run_real",
      [](const Scenario& scenario, const std::string& binary, bool verbose) {
        std::optional<Expected<RunRecords>> records;
        {
          py::gil_scoped_release release;
          records.emplace(real::run_local(scenario, real::LocalRunOptions{binary, verbose}));
        }
        if (!*records) {
          PyErr_SetString(run_error.ptr(), records->error().c_str());
          throw py::error_already_set();
        }
        return records_dict(records->value());
      },
      py::arg("scenario"), py::arg("binary"), py::arg("verbose") = false,
      "Runs the scenario on real local processes (`binary` is the fulcrum executable that "
      "starts the scheduler and worker daemons) and returns its records as column dicts.");
}
