// WfCommons workflow instances (schema 1.4 and 1.5) to DagJob.
//
// Both schemas are first brought to one shape, RawTask (a task's key, runtime, references to
// its parents and children, and the files it reads and writes), which build_job then turns
// into a DagJob: references resolved, edges united and deduplicated, bytes summed, cycles
// refused.
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "workload/loaders.h"

namespace fulcrum {
namespace {

using nlohmann::json;
using namespace workload_detail;

struct RawTask {
  std::string where;  // "x.json: workflow.tasks[3] (name \"t4\")", for messages
  std::string key;    // what parents/children refer to: the name (1.4) or the id (1.5)
  std::string alias;  // the other of name/id, accepted when a reference matches no key
  std::string name;   // the DagTask's name
  double runtime = 0;
  Resources request{.cores = 1};  // coreCount / cores, memoryInBytes, where given
  std::vector<std::string> parents, children;
  std::unordered_set<std::string> inputs;     // file names (1.4) or ids (1.5)
  std::unordered_map<std::string, double> outputs;  // file -> bytes
};

std::string index_at(const std::string& prefix, std::size_t i) { return prefix + "[" + std::to_string(i) + "]"; }

// The task's cores (`cores_key`, > 0) and memory (memoryInBytes, >= 0), where the record
// gives them.
void read_request(const json& record, const char* cores_key, const std::string& where, Resources& request) {
  if (const json* cores = member(record, cores_key)) {
    request.cores = as_number(*cores, where + ": " + cores_key);
    if (!(request.cores > 0)) fail(where + ": " + cores_key + ": must be > 0, got " + describe(*cores));
  }
  if (const json* memory = member(record, "memoryInBytes")) {
    request.memory = as_non_negative(*memory, where + ": memoryInBytes");
  }
}

// A list of task references; absent means empty (1.4 files omit `children`).
std::vector<std::string> references(const json& task, const char* key, const std::string& where) {
  std::vector<std::string> out;
  const json* list = member(task, key);
  if (list == nullptr) return out;
  as_array(*list, where + ": " + key);
  for (std::size_t k = 0; k < list->size(); ++k) {
    out.push_back(as_string((*list)[k], where + ": " + index_at(key, k)));
  }
  return out;
}

std::vector<RawTask> tasks_v14(const std::string& path, const json& workflow) {
  // Schema 1.4: everything about a task is in one record; parents/children name tasks by
  // `name` (the `id` is a different string), and files are {link, name, sizeInBytes}.
  const std::string list_at = path + ": workflow.tasks";
  const json& tasks = as_array(required(workflow, "tasks", path + ": workflow"), list_at);
  std::vector<RawTask> raw;
  raw.reserve(tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const std::string at = index_at(list_at, i);
    const json& t = as_object(tasks[i], at);
    RawTask task;
    task.key = as_string(required(t, "name", at), at + ": name");
    task.where = at + " (name " + quote(task.key) + ")";
    if (const json* id = member(t, "id")) task.alias = as_string(*id, task.where + ": id");
    task.name = task.key;
    task.runtime = as_non_negative(required(t, "runtimeInSeconds", task.where), task.where + ": runtimeInSeconds");
    read_request(t, "cores", task.where, task.request);
    task.parents = references(t, "parents", task.where);
    task.children = references(t, "children", task.where);
    if (const json* files = member(t, "files")) {
      as_array(*files, task.where + ": files");
      for (std::size_t k = 0; k < files->size(); ++k) {
        const std::string fat = task.where + ": " + index_at("files", k);
        const json& f = as_object((*files)[k], fat);
        const std::string& link = as_string(required(f, "link", fat), fat + ": link");
        const std::string& name = as_string(required(f, "name", fat), fat + ": name");
        const double size = as_non_negative(required(f, "sizeInBytes", fat), fat + ": sizeInBytes");
        if (link == "input") {
          task.inputs.insert(name);
        } else if (link == "output") {
          task.outputs[name] = size;
        } else {
          fail(fat + ": link: must be \"input\" or \"output\", got " + quote(link));
        }
      }
    }
    raw.push_back(std::move(task));
  }
  return raw;
}

std::vector<RawTask> tasks_v15(const std::string& path, const json& specification, const json& execution) {
  // Schema 1.5 (WfFormat): the DAG and file lists in the specification, runtimes in the
  // execution, joined by task id. References are by id (which equals the name in every
  // instance we have; the name is accepted too).
  const std::string spec_at = path + ": workflow.specification";
  const std::string exec_at = path + ": workflow.execution";
  as_object(specification, spec_at);
  as_object(execution, exec_at);

  std::unordered_map<std::string, double> file_size;
  if (const json* files = member(specification, "files")) {
    as_array(*files, spec_at + ".files");
    for (std::size_t k = 0; k < files->size(); ++k) {
      const std::string at = index_at(spec_at + ".files", k);
      const json& f = as_object((*files)[k], at);
      const std::string& id = as_string(required(f, "id", at), at + ": id");
      const std::string where = at + " (id " + quote(id) + ")";
      const double size = as_non_negative(required(f, "sizeInBytes", where), where + ": sizeInBytes");
      if (!file_size.emplace(id, size).second) fail(where + ": id: listed twice");
    }
  }
  const auto file_list = [&](const json& t, const char* key, const std::string& where) {
    std::vector<std::pair<std::string, double>> out;
    const json* list = member(t, key);
    if (list == nullptr) return out;
    as_array(*list, where + ": " + key);
    for (std::size_t k = 0; k < list->size(); ++k) {
      const std::string at = where + ": " + index_at(key, k);
      const std::string& id = as_string((*list)[k], at);
      const auto it = file_size.find(id);
      if (it == file_size.end()) fail(at + ": file " + quote(id) + " is not in workflow.specification.files");
      out.emplace_back(id, it->second);
    }
    return out;
  };

  const std::string tasks_at = spec_at + ".tasks";
  const json& tasks = as_array(required(specification, "tasks", spec_at), tasks_at);
  std::vector<RawTask> raw;
  raw.reserve(tasks.size());
  std::unordered_map<std::string, std::size_t> by_id;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const std::string at = index_at(tasks_at, i);
    const json& t = as_object(tasks[i], at);
    const json* id = member(t, "id");
    const json* name = member(t, "name");
    if (id == nullptr && name == nullptr) fail(at + ": id: missing (and no name either)");
    RawTask task;
    task.key = as_string(id != nullptr ? *id : *name, at + (id != nullptr ? ": id" : ": name"));
    task.where = at + " (id " + quote(task.key) + ")";
    task.name = name != nullptr ? as_string(*name, task.where + ": name") : task.key;
    if (task.name != task.key) task.alias = task.name;
    task.parents = references(t, "parents", task.where);
    task.children = references(t, "children", task.where);
    for (auto& [file, size] : file_list(t, "inputFiles", task.where)) task.inputs.insert(file);
    for (auto& [file, size] : file_list(t, "outputFiles", task.where)) task.outputs[file] = size;
    task.runtime = -1;  // until the execution record is found
    const auto [previous, fresh] = by_id.emplace(task.key, i);
    if (!fresh) fail(task.where + ": duplicate id (also " + index_at("tasks", previous->second) + ")");
    raw.push_back(std::move(task));
  }

  const std::string runs_at = exec_at + ".tasks";
  const json& runs = as_array(required(execution, "tasks", exec_at), runs_at);
  for (std::size_t j = 0; j < runs.size(); ++j) {
    const std::string at = index_at(runs_at, j);
    const json& r = as_object(runs[j], at);
    const std::string& id = as_string(required(r, "id", at), at + ": id");
    const std::string where = at + " (id " + quote(id) + ")";
    const auto it = by_id.find(id);
    if (it == by_id.end()) fail(where + ": not a task of workflow.specification.tasks");
    RawTask& task = raw[it->second];
    if (task.runtime >= 0) fail(where + ": a second execution record for this task");
    task.runtime = as_non_negative(required(r, "runtimeInSeconds", where), where + ": runtimeInSeconds");
    read_request(r, "coreCount", where, task.request);
  }
  for (const RawTask& task : raw) {
    if (task.runtime < 0) fail(task.where + ": no runtime: the task is not in workflow.execution.tasks");
  }
  return raw;
}

DagJob build_job(const std::string& path, std::vector<RawTask> raw, double reference_speed, const char* key_name,
                 TaskRequests* requests) {
  if (raw.empty()) fail(path + ": the workflow has no tasks");
  if (raw.size() >= std::numeric_limits<std::uint32_t>::max()) fail(path + ": too many tasks");
  std::unordered_map<std::string, std::uint32_t> by_key;
  for (std::uint32_t i = 0; i < raw.size(); ++i) {
    const auto [it, fresh] = by_key.emplace(raw[i].key, i);
    if (!fresh) fail(raw[i].where + ": duplicate " + key_name + " (also " + raw[it->second].where.substr(path.size() + 2) + ")");
  }
  // Aliases are a fallback for files whose references use the other field; an alias shared by
  // two tasks, or equal to another task's key, resolves to nothing rather than to a guess.
  std::unordered_map<std::string, std::int64_t> by_alias;
  for (std::uint32_t i = 0; i < raw.size(); ++i) {
    if (raw[i].alias.empty() || by_key.contains(raw[i].alias)) continue;
    const auto [it, fresh] = by_alias.emplace(raw[i].alias, i);
    if (!fresh) it->second = -1;
  }
  const auto resolve = [&](const std::string& ref, std::uint32_t self, const char* role) -> std::uint32_t {
    if (const auto it = by_key.find(ref); it != by_key.end()) return it->second;
    if (const auto it = by_alias.find(ref); it != by_alias.end() && it->second >= 0) {
      return static_cast<std::uint32_t>(it->second);
    }
    const std::string& me = raw[self].key;
    fail(raw[self].where + ": " + role + "s: " + role + " " + quote(ref) + " of " + quote(me) + " is not a task");
  };

  DagJob job;
  job.name = base_name(path, true);
  job.tasks.reserve(raw.size());
  if (requests != nullptr) requests->clear();
  for (const RawTask& t : raw) {
    DagTask task;
    task.name = t.name;
    task.flops = t.runtime * reference_speed;
    if (!std::isfinite(task.flops)) fail(t.where + ": runtimeInSeconds x reference_speed overflows");
    job.tasks.push_back(std::move(task));
    if (requests != nullptr) requests->push_back(t.request);
  }
  // The union of both directions, each edge once, in the order first met.
  std::set<std::pair<std::uint32_t, std::uint32_t>> seen;
  const auto add_edge = [&](std::uint32_t from, std::uint32_t to, std::uint32_t listed_by) {
    if (from == to) fail(raw[listed_by].where + ": " + quote(raw[from].key) + " is its own parent or child");
    if (!seen.emplace(from, to).second) return;
    DagEdge edge;
    edge.from = from;
    edge.to = to;
    // The files the parent writes that the child reads; each counted once per edge, so a file
    // read by several children is counted on each of their edges (it is sent to each).
    for (const auto& [file, size] : raw[from].outputs) {
      if (raw[to].inputs.contains(file)) edge.bytes += size;
    }
    job.edges.push_back(edge);
  };
  for (std::uint32_t i = 0; i < raw.size(); ++i) {
    for (const std::string& p : raw[i].parents) add_edge(resolve(p, i, "parent"), i, i);
    for (const std::string& c : raw[i].children) add_edge(i, resolve(c, i, "child"), i);
  }
  if (const auto cycle = find_cycle(job)) fail(path + ": cycle: " + *cycle);
  return job;
}

DagJob job_from_json(const std::string& path, const json& doc, double reference_speed, TaskRequests* requests) {
  const json& workflow = as_object(required(as_object(doc, path + ": the document"), "workflow", path),
                                   path + ": workflow");
  const json* specification = member(workflow, "specification");
  if (specification != nullptr) {
    const json& execution = required(workflow, "execution", path + ": workflow");
    return build_job(path, tasks_v15(path, *specification, execution), reference_speed, "id", requests);
  }
  if (member(workflow, "tasks") != nullptr) {
    return build_job(path, tasks_v14(path, workflow), reference_speed, "name", requests);
  }
  fail(path + ": workflow: has neither \"specification\" (schema 1.5) nor \"tasks\" (schema 1.4)");
}

}  // namespace

Expected<DagJob> load_wfcommons(const std::string& path, double reference_speed, TaskRequests* requests) {
  if (!(reference_speed > 0) || !std::isfinite(reference_speed)) {
    return Error{path + ": reference_speed must be a positive finite flop/s, got " + format_number(reference_speed)};
  }
  auto text = read_file(path, kMaxJsonBytes);
  if (!text.ok()) return Error{text.error()};
  try {
    const json doc = parse_json(path, *text);
    text->clear();
    text->shrink_to_fit();
    return job_from_json(path, doc, reference_speed, requests);
  } catch (const LoadError& e) {
    return Error{e.message};
  } catch (const std::exception& e) {  // bad_alloc, or a nlohmann error we did not foresee
    return Error{path + ": " + e.what()};
  }
}

}  // namespace fulcrum
