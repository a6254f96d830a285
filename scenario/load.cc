// The loader's entry points (scenario/load.h): text or file in, one YAML document parsed,
// overrides applied, then the Loader reads it (the parts in load_*.cc). Also the key table
// that every map is checked against, kept here as the one list of what a scenario may say.
#include "scenario/load.h"

#include <yaml-cpp/eventhandler.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "scenario/loader.h"

namespace fulcrum {
namespace scenario_detail {
namespace {

constexpr std::size_t kMaxFileBytes = std::size_t{64} << 20;

// A concrete path's schema path: "faults[3]" -> "faults[]", "cluster.hosts[0]" -> "cluster.hosts[]".
std::string schema_path(std::string_view path) {
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    out += path[i];
    if (path[i] == '[') {
      while (i + 1 < path.size() && path[i + 1] != ']') ++i;
    }
  }
  return out;
}

// Records where each document starts. yaml-cpp 0.7's LoadAll loops forever, allocating,
// on a stray ',' (jbeder/yaml-cpp#1040: the parser emits a null document without consuming
// the token), so the tree comes from Load and documents are counted here with a bounded
// number of HandleNextDocument calls; two documents starting at the same place are that
// stuck token.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;

  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// The one document of `yaml`, or the syntax error. Throws Invalid.
YAML::Node parse_document(const std::string& yaml, const std::string& source) {
  DocumentStarts docs;
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
    std::istringstream in(yaml);
    YAML::Parser parser(in);
    for (int i = 0; i < 3 && parser.HandleNextDocument(docs); ++i) {
    }
  } catch (const YAML::ParserException& e) {
    throw Invalid{line_of(source, e.mark) + ": YAML syntax error: " + e.msg};
  }
  for (std::size_t i = 1; i < docs.starts.size(); ++i) {
    const YAML::Mark& mark = docs.starts[i];
    if (mark.pos == docs.starts[i - 1].pos) {
      const bool known = mark.pos >= 0 && static_cast<std::size_t>(mark.pos) < yaml.size();
      throw Invalid{line_of(source, mark) + ": YAML syntax error: unexpected " +
                    (known ? "'" + std::string(1, yaml[static_cast<std::size_t>(mark.pos)]) + "'" : "token")};
    }
  }
  if (docs.starts.size() > 1) {
    throw Invalid{line_of(source, docs.starts[1]) + ": a scenario is one YAML document; this starts another"};
  }
  // A real (not default-constructed) node, so that the handles overrides walk share it.
  if (docs.starts.empty() || !root.IsDefined() || root.IsNull()) return YAML::Node(YAML::NodeType::Null);
  return root;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

// Every key of the scenario, in one place: each YAML map the loader reads, by its schema
// path (a list's entries as "[]": "cluster.hosts[]", "faults[]"), with the keys it
// accepts, in the order messages list them. MapReader refuses any other key, and
// scenario_key_paths() exports the table, which scenario/tests/reference_test.cc checks
// against docs/scenario.md. A new key goes here, in its Loader function and on that page.
const std::vector<MapKeys>& scenario_maps() {
  static const std::vector<MapKeys> maps = {
      {"",
       {"seed", "cluster", "workload", "policy", "priority", "queue", "discipline", "tenants", "preemption", "real",
        "recovery", "faults", "autoscale", "power"}},
      // Each declared tenant, under its name; quotas and limits are resource maps.
      {"tenants.<name>", {"weight", "quota", "limit"}},
      {"preemption", {"enabled", "grace", "victims"}},
      {"cluster", {"hosts", "platform", "network", "queue_cap", "scheduler_host", "zones"}},
      {"cluster.hosts[]", {"name", "count", "speed", "slots", "weight", "resources", "labels", "zone"}},
      // Resource maps name these three and accept any other resource name besides
      // (host_resources() and request() read them as open maps).
      {"cluster.hosts[].resources", {"cores", "memory", "gpus"}},
      {"cluster.network", {"latency", "bandwidth"}},
      // Each declared zone, under its name (zones() reads them with this entry's keys).
      {"cluster.zones.<name>", {"latency", "bandwidth"}},
      {"workload",
       {"type", "rate", "size", "tasks", "file", "files", "reference_speed", "count", "interval", "first_job",
        "max_jobs", "time_scale", "runtime_scale", "max_procs", "max_instances", "machine_memory", "rate_profile",
        "resources", "require", "spread", "classes", "width", "split", "kill_at_estimate", "tenant", "priority_class",
        "tenants_from"}},
      // Every dist's keys; size() checks which ones the chosen dist takes. Every size
      // distribution (a class's size, a requested amount's) takes these keys.
      {"workload.size", {"dist", "value", "mean", "sigma", "low", "high", "alpha"}},
      {"workload.rate_profile", {"kind", "period", "amplitude", "at", "factor"}},
      {"workload.resources", {"cores", "memory", "gpus"}},
      // Labels besides: require() reads it as an open map.
      {"workload.require", {"zone"}},
      {"workload.classes[]", {"share", "size", "resources", "require", "spread", "tenant", "priority_class"}},
      {"workload.classes[].resources", {"cores", "memory", "gpus"}},
      {"workload.classes[].require", {"zone"}},
      {"real", {"task", "time_scale"}},
      {"recovery",
       {"heartbeat_interval", "suspect_after", "dead_after", "max_attempts", "retry_backoff", "task_timeout",
        "quarantine_after", "quarantine_window", "quarantine_for", "backlog_alert", "election_delay",
        "reconcile_grace"}},
      // Every kind's keys; fault() checks which ones the chosen kind takes.
      {"faults[]",
       {"kind", "host", "group", "fraction", "zone", "at", "recover_after", "duration", "factor", "cut", "mode",
        "mtbf", "mttr", "until"}},
      {"autoscale",
       {"metric", "target", "min", "max", "period", "window", "cooldown_out", "cooldown_in", "tolerance",
        "scale_in_after", "boot_delay", "initial"}},
      {"power", {"idle", "busy", "off"}},
  };
  return maps;
}

const std::vector<std::string_view>& keys_of(std::string_view path) {
  const std::string schema = schema_path(path);
  for (const MapKeys& m : scenario_maps()) {
    if (m.path == schema) return m.keys;
  }
  throw std::logic_error("scenario key table has no map '" + schema + "'");
}

Scenario Loader::load(const YAML::Node& root) const {
  const Field top{root, "", root.Mark()};
  if (root.IsNull()) fail(top, "the scenario is empty; it needs at least cluster and workload");
  if (!root.IsMap()) {
    fail(top, "a scenario is a map of seed, cluster, workload and policy, got " + describe(root));
  }
  const MapReader m(*this, top);
  Scenario s;
  s.source = source_;
  if (auto f = m.get("seed")) {
    s.seed = integer<std::uint64_t>(*f, 0, UINT64_MAX, "a non-negative integer");
  }
  s.cluster = cluster(m.require("cluster"));
  s.workload = workload(m.require("workload"), s.cluster, s);
  if (auto f = m.get("policy")) s.policy = policy(*f);
  if (auto f = m.get("priority")) {
    s.priority = text(*f);
    if (s.priority != "fifo" && s.priority != "critical_path" && s.priority != "random") {
      fail(*f, "must be fifo, critical_path or random, got " + describe(f->node));
    }
  }
  if (auto f = m.get("queue")) {
    s.queue = text(*f);
    if (s.queue != "strict" && s.queue != "skip_ahead") fail(*f, "must be strict or skip_ahead, got " + describe(f->node));
  }
  if (auto f = m.get("discipline")) s.discipline = discipline(*f);
  if (auto f = m.get("queue"); f && s.discipline.kind != "fifo") {
    fail(*f, "is for discipline fifo (" + s.discipline.kind + " keeps strict order and says itself what may start)");
  }
  if (auto f = m.get("tenants")) s.tenants = tenants(*f);
  if (auto f = m.get("preemption")) s.preemption = preemption(*f);
  if (s.preemption.enabled && !s.discipline.fair()) {
    fail(*m.get("preemption"), "needs a fair-sharing discipline (discipline: drf or fair): it is they that say "
                               "who is owed room");
  }
  if (auto f = m.get("real")) s.real = real(*f);
  if (auto f = m.get("recovery")) s.recovery = recovery(*f);
  if (auto f = m.get("faults")) s.faults = faults(*f, s.cluster, s.recovery);
  if (auto f = m.get("autoscale")) s.autoscale = autoscale(*f, s.cluster);
  if (auto f = m.get("power")) s.power = power(*f);
  // Gangs start where each task fits now, and backfilling reserves what is free: both bind
  // late, so the central queue holds what waits (cluster.queue_cap 0).
  const bool gangs = s.width || (s.trace.type == "swf" && !s.trace.split);
  if (gangs || s.discipline.kind != "fifo") {
    const YAML::Node cluster = root["cluster"];
    if (cluster.IsMap() && cluster["queue_cap"] && s.cluster.queue_cap != 0) {
      const YAML::Node cap = cluster["queue_cap"];
      fail(Field{cap, "cluster.queue_cap", cap.Mark()},
           std::string("must be 0 (late binding) with ") +
               (s.discipline.kind != "fifo" ? "discipline " + s.discipline.kind : std::string("rigid jobs (gangs)")) +
               ": a task is bound to a worker only when it can start there");
    }
    s.cluster.queue_cap = 0;
  }
  return s;
}

}  // namespace scenario_detail

using namespace scenario_detail;

Expected<Scenario> load_scenario_text(const std::string& yaml, const std::string& source_name,
                                      const std::vector<std::string>& overrides) {
  try {
    YAML::Node root = parse_document(yaml, source_name);
    std::vector<AppliedOverride> applied;
    for (const std::string& text : overrides) {
      try {
        auto o = apply_override(root, text);
        if (!o.ok()) return Error{o.error()};
        applied.push_back(std::move(*o));
      } catch (const YAML::Exception& e) {
        return Error{"--set '" + text + "': " + e.msg};
      }
    }
    return Loader(source_name, std::move(applied)).load(root);
  } catch (const Invalid& e) {
    return Error{e.message};
  } catch (const YAML::Exception& e) {
    return Error{line_of(source_name, e.mark) + ": " + e.msg};
  } catch (const std::exception& e) {
    return Error{source_name + ": cannot load: " + e.what()};
  } catch (...) {
    return Error{source_name + ": cannot load: unknown error"};
  }
}

Expected<Scenario> load_scenario_file(const std::string& path, const std::vector<std::string>& overrides) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) return Error{path + ": cannot read file: " + std::strerror(errno)};
  std::string text;
  char buffer[1 << 16];
  while (true) {
    const std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get());
    text.append(buffer, n);
    // A cap, so that a path like /dev/zero fails instead of exhausting memory.
    if (text.size() > kMaxFileBytes) return Error{path + ": cannot read file: larger than 64 MiB"};
    if (n < sizeof buffer) break;
  }
  if (std::ferror(file.get())) return Error{path + ": cannot read file: " + std::strerror(errno)};
  return load_scenario_text(text, path, overrides);
}

std::vector<std::string> scenario_key_paths() {
  std::vector<std::string> paths;
  for (const MapKeys& m : scenario_maps()) {
    for (std::string_view k : m.keys) paths.push_back(join(std::string(m.path), k));
  }
  return paths;
}

}  // namespace fulcrum
