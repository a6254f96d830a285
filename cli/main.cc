// fulcrum's command line: run, compare and validate scenarios in simulation.
//
// Exit codes: 0 success, 1 a run failed, 2 bad input (command line or scenario).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>
#include <utility>

#include "cli/journal_command.h"
#include "cli/real_commands.h"
#include "policies/registry.h"
#include "real/local_run.h"
#include "results/table.h"
#include "results/write.h"
#include "scenario/load.h"
#include "sim/isolated.h"
#include "workload/jobs.h"

namespace fulcrum {
namespace {

constexpr int kExitRunFailed = 1;
constexpr int kExitBadInput = 2;

struct ScenarioArgs {
  std::string path;  // empty: the embedded default
  std::vector<std::string> overrides;
};

void add_scenario_args(CLI::App* cmd, ScenarioArgs& args) {
  cmd->add_option("scenario", args.path, "Scenario YAML file (default: the embedded default scenario)");
  cmd->add_option("--set", args.overrides, "Override a scenario key: key.path=value (repeatable)");
}

Expected<Scenario> load(const ScenarioArgs& args) {
  if (args.path.empty()) return load_scenario_text(std::string(default_scenario_yaml()), "<default scenario>", args.overrides);
  return load_scenario_file(args.path, args.overrides);
}

// Prints "\r<label> 45% (9000/20000 tasks)" on stderr for runs that last more than two
// seconds, and only when stderr is a terminal.
sim::ProgressFn terminal_progress(const std::string& label) {
  if (!::isatty(STDERR_FILENO)) return {};
  const auto started = std::chrono::steady_clock::now();
  return [label, started, shown = false](std::uint64_t done, std::uint64_t total) mutable {
    if (!shown && std::chrono::steady_clock::now() - started < std::chrono::seconds(2)) return;
    shown = true;
    std::fprintf(stderr, "\r%s %3.0f%% (%llu/%llu tasks)%s", label.c_str(), 100.0 * done / std::max<std::uint64_t>(total, 1),
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total), done == total ? "\n" : "");
    std::fflush(stderr);
  };
}

int cmd_validate(const ScenarioArgs& args) {
  auto scenario = load(args);
  if (!scenario) {
    std::cerr << "error: " << scenario.error() << "\n";
    return kExitBadInput;
  }
  if (!scenario->trace.type.empty()) {
    // A file workload is read too, so that a bad trace or workflow fails here, not mid-run.
    auto traced = load_trace_jobs(scenario->trace);
    if (traced) {
      if (auto fits = check_rigid_jobs_fit(*traced, worker_specs(scenario->cluster)); !fits) traced = Error{fits.error()};
    }
    if (!traced) {
      std::cerr << "error: " << traced.error() << "\n";
      return kExitBadInput;
    }
    const std::vector<DagJob>* jobs = &traced->jobs;
    std::size_t tasks = 0;
    for (const DagJob& j : *jobs) tasks += j.tasks.size();
    std::cout << fmt::format("{}: ok ({} hosts, {} workload: {} jobs, {} tasks, policy {}, seed {})\n",
                             scenario->source, scenario->total_hosts(), scenario->trace.type, jobs->size(), tasks,
                             scenario->policy, scenario->seed);
    return 0;
  }
  std::cout << fmt::format("{}: ok ({} hosts{}, {} tasks at {} /s, policy {}, seed {})\n", scenario->source,
                           scenario->total_hosts(), scenario->cluster.platform.empty() ? "" : " from platform",
                           scenario->workload.tasks, scenario->workload.rate, scenario->policy, scenario->seed);
  return 0;
}

// The path of this executable, to start daemons with in real mode.
std::string self_path() {
  std::error_code ec;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "fulcrum" : path.string();
}

int cmd_run(ScenarioArgs args, const std::string& policy, std::optional<std::uint64_t> seed, const std::string& out,
            const std::string& mode, real::LocalRunOptions real_options, JobsFormat jobs_format) {
  if (!policy.empty()) args.overrides.push_back("policy=" + policy);
  if (seed) args.overrides.push_back("seed=" + std::to_string(*seed));
  auto scenario = load(args);
  if (!scenario) {
    std::cerr << "error: " << scenario.error() << "\n";
    return kExitBadInput;
  }
  if (mode != "real" && (real_options.metrics_port >= 0 || !real_options.metrics_port_file.empty())) {
    std::cerr << "error: --metrics-port and --metrics-port-file need --mode real\n";
    return kExitBadInput;
  }
  if (mode == "real") {
    if (auto runs = real::check_runs_locally(*scenario); !runs) {
      std::cerr << "error: " << runs.error() << "\n";
      return kExitBadInput;
    }
  }
  real_options.binary = self_path();
  if (!real_options.metrics_port_file.empty() && real_options.metrics_port < 0) real_options.metrics_port = 0;
  auto records = mode == "real" ? real::run_local(*scenario, real_options)
                                : sim::simulate(*scenario, terminal_progress(scenario->policy));
  if (!records) {
    std::cerr << "error: " << records.error() << "\n";
    return kExitRunFailed;
  }
  if (!out.empty()) {
    if (auto written = write_results(out, *scenario, *records, jobs_format); !written) {
      std::cerr << "error: " << written.error() << "\n";
      return kExitRunFailed;
    }
  }
  std::cout << summary_json(*scenario, records->summary);
  return 0;
}

int cmd_compare(const ScenarioArgs& args, std::vector<std::string> policies, int seeds, unsigned jobs, const std::string& out) {
  auto base = load(args);
  if (!base) {
    std::cerr << "error: " << base.error() << "\n";
    return kExitBadInput;
  }
  if (policies.empty()) policies = classic_policies();
  for (const std::string& p : policies) {
    if (auto made = make_policy(p); !made) {
      std::cerr << "error: --policies: " << made.error() << "\n";
      return kExitBadInput;
    }
  }
  struct Run {
    std::size_t row;
    Scenario scenario;
  };
  std::vector<Run> runs;
  std::vector<PolicyRuns> rows;
  for (const std::string& p : policies) {
    rows.push_back({p, {}});
    for (int s = 0; s < seeds; ++s) {
      Scenario sc = *base;
      sc.policy = p;
      sc.seed = base->seed + static_cast<std::uint64_t>(s);
      runs.push_back({rows.size() - 1, std::move(sc)});
    }
  }
  std::cerr << fmt::format("compare: {} on {} ({} runs: {} policies x {} seeds, {} at a time)\n", base->source,
                           base->total_hosts() > 0 ? fmt::format("{} hosts", base->total_hosts()) : "a platform",
                           runs.size(), policies.size(), seeds, jobs);
  // Each run is its own forked simulation, `jobs` in flight at once.
  std::vector<Scenario> scenarios;
  for (const Run& r : runs) scenarios.push_back(r.scenario);
  const bool tty = ::isatty(STDERR_FILENO);
  std::size_t finished = 0;
  auto results = sim::simulate_many(scenarios, jobs, [&](std::size_t) {
    ++finished;
    if (tty) std::fprintf(stderr, "\rcompare: %zu/%zu runs done%s", finished, runs.size(), finished == runs.size() ? "\n" : "");
  });
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (!results[i]) {
      std::cerr << fmt::format("error: {} seed {}: {}\n", runs[i].scenario.policy, runs[i].scenario.seed, results[i].error());
      return kExitRunFailed;
    }
    rows[runs[i].row].runs.push_back(results[i]->summary);
  }
  std::cout << fmt::format("{} — {} seed(s) from {}, mean ±95% CI\n", base->source, seeds, base->seed);
  const Columns columns = columns_for(rows, !base->trace.type.empty());
  std::cout << format_comparison(rows, columns);
  if (!out.empty()) {
    std::filesystem::create_directories(out);
    std::ofstream(std::filesystem::path(out) / "comparison.csv") << comparison_csv(rows, columns);
  }
  return 0;
}

// Splits "jsq,power_of_d:d=2,x=1,random" into policy specs: a piece that is a bare
// key=value continues the parameters of the spec before it.
std::vector<std::string> split_policy_list(const std::string& text) {
  std::vector<std::string> specs;
  std::size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string piece = text.substr(start, comma - start);
    const bool continues = !specs.empty() && piece.find('=') != std::string::npos && piece.find(':') == std::string::npos;
    if (continues) {
      specs.back() += "," + piece;
    } else {
      specs.push_back(piece);
    }
    start = comma + 1;
  }
  return specs;
}

// One example per command, shown at the end of its --help (and the README's tour).
void add_help_examples(CLI::App& app) {
  app.footer(
      "Example: fulcrum compare examples/faults.yaml --policies jsq,random --seeds 3\n"
      "Run `fulcrum COMMAND --help` for a command's options; the manual is in docs/ (mkdocs serve).");
  const std::pair<const char*, const char*> examples[] = {
      {"run", "fulcrum run examples/faults.yaml --policy jsq --out /tmp/faults-run"},
      {"compare", "fulcrum compare --policies jsq,power_of_d:d=2,random --seeds 5 --set workload.rate=36"},
      {"validate", "fulcrum validate examples/swf_kth.yaml"},
      {"default-scenario", "fulcrum default-scenario > my-scenario.yaml"},
      {"policies", "fulcrum policies"},
      {"scheduler", "fulcrum scheduler --listen 127.0.0.1:7070 --journal /var/lib/fulcrum"},
      {"worker", "fulcrum worker --scheduler 127.0.0.1:7070 --slots 4"},
      {"submit", "fulcrum submit --scheduler 127.0.0.1:7070 -- make -C /src all"},
      {"status", "fulcrum status --scheduler 127.0.0.1:7070 42"},
      {"wait", "fulcrum wait --scheduler 127.0.0.1:7070 42"},
      {"cancel", "fulcrum cancel --scheduler 127.0.0.1:7070 42"},
      {"top", "fulcrum top --metrics 127.0.0.1:9464"},
      {"journal", "fulcrum journal dump /var/lib/fulcrum"},
      {"certs", "fulcrum certs init /etc/fulcrum/ca && fulcrum certs issue /etc/fulcrum/ca alice --role submitter --tenant physics"},
  };
  for (CLI::App* command : app.get_subcommands([](CLI::App*) { return true; })) {
    const auto it = std::find_if(std::begin(examples), std::end(examples),
                                 [&](const auto& e) { return command->get_name() == e.first; });
    // A command without an example is a mistake the CLI test catches (every --help has one).
    if (it != std::end(examples)) command->footer(std::string("Example: ") + it->second);
  }
}

}  // namespace
}  // namespace fulcrum

int main(int argc, char** argv) {
  using namespace fulcrum;
  real::die_with_parent_if_asked();
  CLI::App app{"fulcrum: a load-balanced task scheduler and the SimGrid testbed that compares its policies"};
  app.require_subcommand(1);

  ScenarioArgs run_args;
  std::string run_policy, run_out;
  std::optional<std::uint64_t> run_seed;
  CLI::App* run = app.add_subcommand("run", "Run one scenario in simulation and print its summary");
  add_scenario_args(run, run_args);
  run->add_option("--policy", run_policy, "Policy spec, e.g. power_of_d:d=2 (overrides the scenario's)");
  run->add_option("--seed", run_seed, "Seed (overrides the scenario's)");
  run->add_option("--out", run_out, "Folder for tasks.csv, workers.csv, jobs.csv, events.csv, summary.json");
  std::string run_format = "fulcrum";
  run->add_option("--format", run_format, "jobs.csv flavour: fulcrum, or batsim (Batsim's out_jobs.csv columns)")
      ->check(CLI::IsMember({"fulcrum", "batsim"}))
      ->capture_default_str();
  std::string run_mode = "sim";
  bool run_verbose = false;
  run->add_option("--mode", run_mode, "sim: SimGrid; real: local scheduler and worker processes")
      ->check(CLI::IsMember({"sim", "real"}))
      ->capture_default_str();
  run->add_flag("--verbose", run_verbose, "Real mode: the daemons log on stderr");
  real::LocalRunOptions run_real;
  run->add_option("--metrics-port", run_real.metrics_port,
                  "Real mode: the scheduler serves /metrics on this port of 127.0.0.1 (0: pick one), for `fulcrum top`")
      ->check(CLI::Range(0, 65535));
  run->add_option("--metrics-port-file", run_real.metrics_port_file, "Real mode: write the metrics port to this file");

  ScenarioArgs cmp_args;
  std::string cmp_policies_text;
  int cmp_seeds = 3;
  unsigned cmp_jobs = std::max(1u, std::thread::hardware_concurrency());
  std::string cmp_out;
  CLI::App* compare = app.add_subcommand("compare", "Run several policies over several seeds and print one table");
  add_scenario_args(compare, cmp_args);
  compare->add_option("--policies", cmp_policies_text,
                      "Policy specs separated by commas, e.g. jsq,power_of_d:d=2,random (default: the classic ones)");
  compare->add_option("--seeds", cmp_seeds, "Seeds per policy: the scenario's seed, seed+1, ...")->check(CLI::Range(1, 1000));
  compare->add_option("--jobs", cmp_jobs, "Simulations run at once")->check(CLI::Range(1u, 256u));
  compare->add_option("--out", cmp_out, "Folder for comparison.csv");

  ScenarioArgs val_args;
  CLI::App* validate = app.add_subcommand("validate", "Check a scenario file and exit (2 if it is not valid)");
  add_scenario_args(validate, val_args);

  CLI::App* show = app.add_subcommand("default-scenario", "Print the embedded default scenario");
  CLI::App* policies = app.add_subcommand("policies", "List the policy names");
  auto real_commands = add_real_commands(app);
  add_journal_command(app, real_commands);
  add_help_examples(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitBadInput;
  }
  if (*run) {
    run_real.verbose = run_verbose;
    return cmd_run(run_args, run_policy, run_seed, run_out, run_mode, run_real,
                   run_format == "batsim" ? JobsFormat::kBatsim : JobsFormat::kFulcrum);
  }
  for (const auto& [command, runner] : real_commands) {
    if (*command) return runner();
  }
  if (*compare) return cmd_compare(cmp_args, split_policy_list(cmp_policies_text), cmp_seeds, cmp_jobs, cmp_out);
  if (*validate) return cmd_validate(val_args);
  if (*show) {
    std::cout << default_scenario_yaml();
    return 0;
  }
  if (*policies) {
    for (const auto& name : policy_names()) std::cout << name << "\n";
    return 0;
  }
  return kExitBadInput;
}
