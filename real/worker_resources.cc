#include "real/worker_resources.h"

#include <sched.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "scenario/scenario.h"

namespace fulcrum::real {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A finite number >= 0 taking the whole of `text`.
Expected<double> parse_amount(std::string_view text) {
  const std::string s(trim(text));
  if (s.empty()) return Error{"an amount is missing"};
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || end == s.c_str()) return Error{"'" + s + "' is not a number"};
  if (!std::isfinite(v) || v < 0) return Error{"'" + s + "' must be a finite number >= 0"};
  return v;
}

}  // namespace

Expected<double> parse_byte_size(std::string_view text) { return parse_bytes(trim(text)); }

Expected<bool> parse_resource_list(std::string_view text, Resources& r) {
  if (trim(text).empty()) return Error{"empty list (expected NAME=AMOUNT[,NAME=AMOUNT...], e.g. gpus=2,licence=4)"};
  std::vector<std::string> seen;
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t end = std::min(text.find(',', at), text.size());
    const std::string_view item = trim(text.substr(at, end - at));
    at = end + 1;
    const std::size_t eq = item.find('=');
    if (item.empty() || eq == std::string_view::npos || eq == 0) {
      return Error{"'" + std::string(item) + "' is not NAME=AMOUNT (e.g. gpus=2,licence=4)"};
    }
    const std::string name(trim(item.substr(0, eq)));
    if (name == "cores") return Error{"cores are given with --slots"};
    if (name == "memory") return Error{"memory is given with --memory"};
    for (const std::string& s : seen) {
      if (s == name) return Error{"'" + name + "' is given twice"};
    }
    seen.push_back(name);
    auto amount = parse_amount(item.substr(eq + 1));
    if (!amount) return Error{name + ": " + amount.error()};
    if (name == "gpus") {
      r.gpus = *amount;
    } else {
      r.other[name] = *amount;
    }
  }
  return true;
}

Expected<std::pair<std::string, std::string>> parse_label(std::string_view text) {
  const std::size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) return Error{"'" + std::string(text) + "' is not KEY=VALUE (e.g. disk=ssd)"};
  std::string key(text.substr(0, eq)), value(text.substr(eq + 1));
  if (key == "zone") return Error{"the zone is given with --zone"};
  return std::pair{std::move(key), std::move(value)};
}

int detect_cores(const CgroupLayout& layout) {
  int cores = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) cores = CPU_COUNT(&set);
  if (cores <= 0) cores = static_cast<int>(std::thread::hardware_concurrency());
  if (auto quota = cgroup_cpu_limit(layout); quota && *quota > 0) {
    cores = std::min(cores, static_cast<int>(std::ceil(*quota - 1e-9)));
  }
  return std::max(cores, 1);
}

double detect_memory(const CgroupLayout& layout, const std::string& meminfo) {
  double total = 0;
  std::ifstream in(meminfo);
  for (std::string key; in >> key;) {
    double kb = 0;
    if (key == "MemTotal:" && in >> kb) {
      total = kb * 1024;
      break;
    }
    std::getline(in, key);
  }
  if (auto limit = cgroup_memory_limit(layout); limit && (total <= 0 || *limit < total)) total = *limit;
  return total;
}

Expected<bool> apply_worker_resource_flags(const WorkerResourceFlags& flags, const CgroupLayout& layout,
                                           WorkerSpec& w) {
  if (flags.slots < 0) return Error{"--slots: must be at least 1"};
  w.slots = flags.slots > 0 ? flags.slots : std::min(detect_cores(layout), 4096);
  if (flags.memory.empty()) {
    w.resources.memory = detect_memory(layout);
  } else {
    auto bytes = parse_byte_size(flags.memory);
    if (!bytes) return Error{"--memory: " + bytes.error()};
    w.resources.memory = std::floor(*bytes);
  }
  Resources others;
  if (!flags.resources.empty()) {
    if (auto ok = parse_resource_list(flags.resources, others); !ok) return Error{"--resources: " + ok.error()};
  }
  w.resources.gpus = others.gpus;
  w.resources.other = std::move(others.other);
  std::map<std::string, std::string> labels;
  for (const std::string& text : flags.labels) {
    auto label = parse_label(text);
    if (!label) return Error{"--label: " + label.error()};
    if (labels.count(label->first)) return Error{"--label: '" + label->first + "' is given twice"};
    labels.insert(std::move(*label));
  }
  w.labels = std::move(labels);
  for (char c : flags.zone) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == ',' || c == '=') {
      return Error{"--zone: '" + flags.zone + "' holds a space, ',' or '='"};
    }
  }
  w.zone = flags.zone;
  return true;
}

std::string format_bytes(double bytes) {
  if (!(bytes > 0)) return "not limited";
  char text[64];
  static const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  double v = bytes;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  std::snprintf(text, sizeof text, u == 0 ? "%.0f %s" : "%.4g %s", v, kUnits[u]);
  return text;
}

}  // namespace fulcrum::real
