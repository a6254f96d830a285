// fulcrum's own JSON DAG format, and the helpers the JSON loaders share (file reading with
// zlib, bounded JSON parsing, checked field access, cycle finding).
#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <queue>
#include <set>
#include <unordered_map>

#include "workload/loaders.h"

namespace fulcrum {
namespace workload_detail {

using nlohmann::json;

void fail(std::string message) { throw LoadError{std::move(message)}; }

std::string quote(std::string_view s) {
  constexpr std::size_t kMaxShown = 80;
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMaxShown) out += "...";
  return out + "\"";
}

std::string format_number(double x) {
  // to_chars without a precision gives the shortest text that reads back as x: 0.1, not
  // 0.10000000000000001, and -2, not -2.000000.
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, x);
  return std::string(buffer, result.ptr);
}

std::string base_name(const std::string& path, bool strip_json) {
  const auto slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (strip_json) {
    for (std::string_view suffix : {".json.gz", ".json"}) {
      if (name.size() > suffix.size() && name.ends_with(suffix)) {
        name.resize(name.size() - suffix.size());
        break;
      }
    }
  }
  return name;
}

Expected<std::string> read_file(const std::string& path, std::size_t max_bytes) {
  // gzopen reads gzip files decompressed and other files as they are ("transparent" mode).
  errno = 0;
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Error{path + ": cannot open: " + (errno != 0 ? std::strerror(errno) : "out of memory")};
  }
  std::string text;
  constexpr std::size_t kChunk = std::size_t{1} << 20;
  std::string problem;
  for (;;) {
    const std::size_t have = text.size();
    if (have > max_bytes) {
      problem = "larger than " + std::to_string(max_bytes >> 20) + " MiB";
      break;
    }
    text.resize(have + kChunk);
    const int got = gzread(file, text.data() + have, static_cast<unsigned>(kChunk));
    if (got < 0) {
      int code = Z_OK;
      const char* message = gzerror(file, &code);
      problem = code == Z_ERRNO ? std::string("read error: ") + std::strerror(errno)
                                : std::string("corrupt gzip data: ") + message;
      break;
    }
    text.resize(have + static_cast<std::size_t>(got));
    if (got == 0) break;
  }
  // A gzip stream cut short reads as a clean end of file; gzclose reports it (Z_BUF_ERROR).
  const int closed = gzclose_r(file);
  if (problem.empty() && closed == Z_BUF_ERROR) problem = "truncated gzip data (unexpected end of file)";
  if (problem.empty() && closed != Z_OK) problem = "read error (zlib code " + std::to_string(closed) + ")";
  if (!problem.empty()) return Error{path + ": " + problem};
  text.shrink_to_fit();
  return text;
}

json parse_json(const std::string& path, const std::string& text) {
  // nlohmann's DOM and the code that walks it are fine at any depth we accept, but a file of a
  // million '[' should be refused before it is built, not discovered by a stack overflow.
  int depth = 0;
  std::size_t line = 1;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') ++line;
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        fail(path + ":" + std::to_string(line) + ": not JSON we accept: nested more than " +
             std::to_string(kMaxJsonDepth) + " levels deep");
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    // e.what() = "[json.exception.parse_error.101] parse error at line 3, column 5: ...".
    std::string what = e.what();
    const auto bracket = what.find("] ");
    if (what.starts_with("[json.exception") && bracket != std::string::npos) what.erase(0, bracket + 2);
    fail(path + ": not JSON: " + what);
  }
}

std::string describe(const json& value) {
  switch (value.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return value.get<bool>() ? "true" : "false";
    case json::value_t::number_integer: return std::to_string(value.get<std::int64_t>());
    case json::value_t::number_unsigned: return std::to_string(value.get<std::uint64_t>());
    case json::value_t::number_float: return format_number(value.get<double>());
    case json::value_t::string: return "string " + quote(value.get_ref<const std::string&>());
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "a binary value";
  }
}

const json& as_object(const json& value, const std::string& where) {
  if (!value.is_object()) fail(where + ": must be an object, got " + describe(value));
  return value;
}

const json& as_array(const json& value, const std::string& where) {
  if (!value.is_array()) fail(where + ": must be an array, got " + describe(value));
  return value;
}

const std::string& as_string(const json& value, const std::string& where) {
  if (!value.is_string()) fail(where + ": must be a string, got " + describe(value));
  return value.get_ref<const std::string&>();
}

double as_number(const json& value, const std::string& where) {
  if (!value.is_number()) fail(where + ": must be a number, got " + describe(value));
  const double x = value.get<double>();
  if (!std::isfinite(x)) fail(where + ": must be finite, got " + describe(value));
  return x;
}

double as_non_negative(const json& value, const std::string& where) {
  const double x = as_number(value, where);
  if (x < 0) fail(where + ": must be >= 0, got " + describe(value));
  return x;
}

const json* member(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

const json& required(const json& object, std::string_view key, const std::string& where) {
  as_object(object, where);
  const json* value = member(object, key);
  if (value == nullptr) fail(where + ": " + std::string(key) + ": missing");
  return *value;
}


}  // namespace workload_detail

namespace {

using nlohmann::json;
using namespace workload_detail;

// Refuses keys outside `known`: in a hand-written file a typo must be an error, not a default.
void check_keys(const json& object, std::initializer_list<std::string_view> known, const std::string& where) {
  for (const auto& item : object.items()) {
    bool ok = false;
    for (std::string_view k : known) ok = ok || item.key() == k;
    if (!ok) {
      std::string list;
      for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      fail(where + ": unknown key " + quote(item.key()) + " (known: " + list + ")");
    }
  }
}

DagJob dag_from_json(const std::string& path, const json& doc) {
  as_object(doc, path + ": the document");
  check_keys(doc, {"name", "submit", "tasks", "edges"}, path);
  DagJob job;
  job.name = base_name(path, true);
  if (const json* name = member(doc, "name")) job.name = as_string(*name, path + ": name");
  if (const json* submit = member(doc, "submit")) job.submit = as_non_negative(*submit, path + ": submit");

  const json& tasks = as_array(required(doc, "tasks", path), path + ": tasks");
  if (tasks.empty()) fail(path + ": tasks: must list at least one task");
  if (tasks.size() >= std::numeric_limits<std::uint32_t>::max()) fail(path + ": tasks: too many");
  std::unordered_map<std::string, std::uint32_t> index;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const std::string at = path + ": tasks[" + std::to_string(i) + "]";
    const json& t = as_object(tasks[i], at);
    const std::string& id = as_string(required(t, "id", at), at + ": id");
    if (id.empty()) fail(at + ": id: must not be empty");
    const std::string where = at + " (id " + quote(id) + ")";
    check_keys(t, {"id", "flops", "cost"}, where);
    const auto [it, fresh] = index.emplace(id, static_cast<std::uint32_t>(i));
    if (!fresh) fail(where + ": id: duplicate of tasks[" + std::to_string(it->second) + "]");
    DagTask task;
    task.name = id;
    const json* flops = member(t, "flops");
    const json* cost = member(t, "cost");
    if ((flops != nullptr) == (cost != nullptr)) {
      fail(where + ": needs exactly one of \"flops\" and \"cost\", got " + (flops ? "both" : "neither"));
    }
    if (flops != nullptr) task.flops = as_non_negative(*flops, where + ": flops");
    if (cost != nullptr) {
      as_object(*cost, where + ": cost");
      if (cost->empty()) fail(where + ": cost: must name at least one host");
      for (const auto& item : cost->items()) {
        if (item.key().empty()) fail(where + ": cost: host names must not be empty");
        task.cost[item.key()] = as_non_negative(item.value(), where + ": cost: " + quote(item.key()));
      }
    }
    job.tasks.push_back(std::move(task));
  }

  std::map<std::pair<std::uint32_t, std::uint32_t>, std::size_t> seen;
  if (const json* edges_value = member(doc, "edges")) {
    const json& edges = as_array(*edges_value, path + ": edges");
    for (std::size_t k = 0; k < edges.size(); ++k) {
      const std::string at = path + ": edges[" + std::to_string(k) + "]";
      const json& e = as_object(edges[k], at);
      const std::string& from = as_string(required(e, "from", at), at + ": from");
      const std::string& to = as_string(required(e, "to", at), at + ": to");
      const std::string where = at + " (" + quote(from) + " -> " + quote(to) + ")";
      check_keys(e, {"from", "to", "bytes", "comm"}, where);
      const auto parent = index.find(from);
      if (parent == index.end()) fail(where + ": from: " + quote(from) + " is not a task");
      const auto child = index.find(to);
      if (child == index.end()) fail(where + ": to: " + quote(to) + " is not a task");
      if (parent->second == child->second) fail(where + ": task " + quote(from) + " depends on itself");
      const auto [dup, fresh] = seen.emplace(std::pair{parent->second, child->second}, k);
      if (!fresh) fail(where + ": duplicate of edges[" + std::to_string(dup->second) + "]");
      DagEdge edge;
      edge.from = parent->second;
      edge.to = child->second;
      const json* bytes = member(e, "bytes");
      const json* comm = member(e, "comm");
      if (bytes != nullptr && comm != nullptr) fail(where + ": give at most one of \"bytes\" and \"comm\"");
      if (bytes != nullptr) edge.bytes = as_non_negative(*bytes, where + ": bytes");
      if (comm != nullptr) edge.comm = as_non_negative(*comm, where + ": comm");
      job.edges.push_back(edge);
    }
  }
  if (const auto cycle = find_cycle(job)) fail(path + ": cycle: " + *cycle);
  return job;
}

}  // namespace

Expected<DagJob> load_dag_json(const std::string& path) {
  auto text = read_file(path, kMaxJsonBytes);
  if (!text.ok()) return Error{text.error()};
  try {
    return dag_from_json(path, parse_json(path, *text));
  } catch (const LoadError& e) {
    return Error{e.message};
  } catch (const std::exception& e) {  // bad_alloc, or a nlohmann error we did not foresee
    return Error{path + ": " + e.what()};
  }
}

}  // namespace fulcrum
