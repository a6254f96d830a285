// The `cluster:` map: host groups or a platform file, and the network. Host names are
// fixed here, once (defaults filled in, clashes refused), because every later stage (fault
// targets, the simulator's platform, real-mode workers, result files) keys on them.
#include <charconv>
#include <climits>
#include <string>
#include <system_error>
#include <unordered_map>

#include "scenario/loader.h"

namespace fulcrum {
namespace scenario_detail {
namespace {

// Bounds that keep validation (and total_hosts()'s int) sane on absurd input.
constexpr int kMaxHosts = 10'000'000;
constexpr int kMaxSlots = 1'000'000;

}  // namespace

ClusterSpec Loader::cluster(const Field& f) const {
  const MapReader m(*this, f);
  ClusterSpec c;
  const std::optional<Field> hosts = m.get("hosts");
  const std::optional<Field> platform = m.get("platform");
  if (hosts && platform) fail(*platform, f.path, "give either hosts or platform, not both");
  if (!hosts && !platform) {
    fail(f, "needs hosts (a list of host groups) or platform (a SimGrid platform file)");
  }
  if (auto z = m.get("zones")) {
    if (platform) fail(*z, "only with hosts (a platform file describes its own zones)");
    c.zones = zones(*z);
  }
  if (hosts) c.groups = host_groups(*hosts, c.zones);
  if (platform) c.platform = existing_file(*platform, "platform file");
  if (auto n = m.get("network")) {
    if (platform) fail(*n, "only with hosts (a platform file describes its own network)");
    c.network = network(*n);
  }
  if (auto q = m.get("queue_cap")) {
    c.queue_cap = integer<int>(*q, -1, INT_MAX, "an integer >= -1 (-1 unbounded, 0 late binding)");
  }
  if (auto h = m.get("scheduler_host")) {
    if (!platform) fail(*h, "only with platform (it names one of the platform's hosts)");
    c.scheduler_host = text(*h);
    if (c.scheduler_host.empty()) fail(*h, "must be a host name, got \"\"");
  }
  return c;
}

std::vector<HostGroup> Loader::host_groups(const Field& f, const std::vector<ZoneSpec>& zones) const {
  if (!f.node.IsSequence() || f.node.size() == 0) {
    fail(f, "must be a non-empty list of host groups such as [{count: 4, speed: 1e9, slots: 1}], got " +
                describe(f.node));
  }
  std::vector<HostGroup> groups;
  std::vector<Field> where;  // the group or its name, for clash messages
  std::vector<std::size_t> unnamed;  // groups without a name
  long long total = 0;
  for (const YAML::Node& item : f.node) {
    const Field g = list_entry(f, groups.size(), item);
    const MapReader m(*this, g);
    HostGroup h;
    const std::optional<Field> name = m.get("name");
    h.name = name ? host_name_value(*name) : "w";
    if (auto v = m.get("count")) h.count = integer<int>(*v, 1, kMaxHosts, "a positive integer");
    if (auto v = m.get("speed")) h.speed = number(*v, "a positive number (flop/s)", [](double x) { return x > 0; });
    const std::optional<Field> slots = m.get("slots");
    if (slots) h.slots = integer<int>(*slots, 1, kMaxSlots, "a positive integer");
    if (auto v = m.get("weight")) {
      h.weight = number(*v, "a number >= 0 (0: speed x slots)", [](double x) { return x >= 0; });
    }
    if (auto v = m.get("resources")) host_resources(*v, h, slots);
    if (auto v = m.get("labels")) h.labels = labels(*v);
    if (auto v = m.get("zone")) {
      h.zone = name_value(*v, "a zone");
      bool declared = zones.empty();
      std::string names;
      for (const ZoneSpec& z : zones) {
        declared = declared || z.name == h.zone;
        names += (names.empty() ? "" : ", ") + z.name;
      }
      if (!declared) fail(*v, "unknown zone '" + h.zone + "' (cluster.zones declares " + names + ")");
    }
    total += h.count;
    if (total > kMaxHosts) {
      fail(g, "too many hosts: " + std::to_string(total) + " so far, at most " + std::to_string(kMaxHosts));
    }
    groups.push_back(h);
    where.push_back(name ? *name : g);
    if (!name) unnamed.push_back(groups.size() - 1);
  }
  // Default names: one group without a name is "w" (hosts w-0, w-1, ...); when several
  // have none, each is "w<i>", i its index in the list (hosts w0-0, ..., w1-0, ...).
  if (unnamed.size() > 1) {
    for (std::size_t g : unnamed) groups[g].name = "w" + std::to_string(g);
  }

  // Host names must be unique. Rather than expanding every name, use their shape: a group
  // of one host is a plain name S; a larger group is a prefix P with names P-0..P-(n-1).
  // P-i can equal Q-j only if P == Q (i and j hold no '-'), and S can equal P-i only if S
  // splits at its last '-' into P and a canonical decimal i < n.
  std::unordered_map<std::string, std::size_t> singles;   // name -> group
  std::unordered_map<std::string, std::size_t> prefixes;  // prefix -> group
  // prefix -> (smallest index i, group) over single names of the form prefix-i.
  std::unordered_map<std::string, std::pair<long long, std::size_t>> single_suffixes;
  auto clash = [&](std::size_t g, std::size_t other, const std::string& example) {
    fail(where[g], "host name '" + example + "' is also a host of " + f.path + "[" +
                       std::to_string(other) + "]; give the groups distinct names");
  };
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const HostGroup& h = groups[g];
    if (h.count == 1) {
      if (auto it = singles.find(h.name); it != singles.end()) clash(g, it->second, h.name);
      const std::size_t dash = h.name.rfind('-');
      if (dash != std::string::npos && dash + 1 < h.name.size()) {
        const std::string_view digits = std::string_view(h.name).substr(dash + 1);
        long long i = 0;
        const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), i);
        const bool canonical = ec == std::errc() && ptr == digits.data() + digits.size() &&
                               (digits.size() == 1 || digits[0] != '0') && digits[0] != '-';
        if (canonical) {
          const std::string prefix = h.name.substr(0, dash);
          if (auto it = prefixes.find(prefix); it != prefixes.end() && i < groups[it->second].count) {
            clash(g, it->second, h.name);
          }
          auto [it, inserted] = single_suffixes.try_emplace(prefix, i, g);
          if (!inserted && i < it->second.first) it->second = {i, g};
        }
      }
      singles.emplace(h.name, g);
    } else {
      if (auto it = prefixes.find(h.name); it != prefixes.end()) clash(g, it->second, h.name + "-0");
      if (auto it = single_suffixes.find(h.name); it != single_suffixes.end() && it->second.first < h.count) {
        clash(g, it->second.second, h.name + "-" + std::to_string(it->second.first));
      }
      prefixes.emplace(h.name, g);
    }
  }
  return groups;
}

// Host names end up in platform descriptions, logs and CSV files: keep them plain.
std::string Loader::host_name_value(const Field& f) const {
  std::string name = text(f);
  bool plain = !name.empty();
  for (char c : name) {
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '.' || c == '-');
  }
  if (!plain) fail(f, "must be a name of letters, digits, '_', '.' and '-', got " + describe(f.node));
  return name;
}

// `resources: {cores: 16, memory: 64GiB, gpus: 2, licence: 4}`: cores are the group's
// slots (given both ways, they must agree); memory is bytes; any other name is a resource
// of that name.
void Loader::host_resources(const Field& f, HostGroup& h, const std::optional<Field>& slots) const {
  for (const auto& [name, v] : open_map(*this, f, "{cores: 16, memory: 64GiB, gpus: 2}")) {
    if (name == "cores") {
      const int cores = integer<int>(v, 1, kMaxSlots, "a positive integer (each core runs one task at a time)");
      if (slots && cores != h.slots) {
        fail(v, "is " + std::to_string(cores) + " but slots is " + std::to_string(h.slots) +
                    " (slots is the hosts' cores: give one of them, or the same number)");
      }
      h.slots = cores;
    } else if (name == "memory") {
      h.resources.memory = bytes(v);
    } else if (name == "gpus") {
      h.resources.gpus = number(v, "a number of GPUs >= 0", [](double x) { return x >= 0; });
    } else {
      const Field key{YAML::Node(name), f.path, v.mark};
      if (name == "slots") fail(key, "give slots beside resources (slots: N), or cores: N inside it");
      name_value(key, "a resource's name");
      h.resources.other[name] = number(v, "an amount >= 0", [](double x) { return x >= 0; });
    }
  }
}

// `labels: {disk: ssd, arch: arm}`: names to scalar values (numbers and booleans are kept
// as written). The zone is not a label: it has its own key.
std::map<std::string, std::string> Loader::labels(const Field& f) const {
  std::map<std::string, std::string> out;
  for (const auto& [name, v] : open_map(*this, f, "{disk: ssd, arch: arm}")) {
    const Field key{YAML::Node(name), f.path, v.mark};
    name_value(key, "a label's name");
    if (name == "zone") fail(key, "zone is not a label: give the group's zone as zone: NAME beside labels");
    if (!v.node.IsScalar() || v.node.Scalar().empty()) {
      fail(v, "must be a label value (a name, number or boolean), got " + describe(v.node));
    }
    out[name] = name_value(v, "a label's value");
  }
  return out;
}

// `zones: {eu: {latency: 0.01, bandwidth: 1.25e8}, us: {}}`.
std::vector<ZoneSpec> Loader::zones(const Field& f) const {
  std::vector<ZoneSpec> out;
  for (const auto& [name, v] : open_map(*this, f, "{eu: {latency: 0.01, bandwidth: 1.25e8}}")) {
    ZoneSpec z;
    z.name = name_value(Field{YAML::Node(name), f.path, v.mark}, "a zone");
    const Field entry{v.node.IsNull() ? YAML::Node(YAML::NodeType::Map) : v.node, v.path, v.mark};
    const MapReader m(*this, entry, "{latency: 0.01, bandwidth: 1.25e8}", "cluster.zones.<name>");
    if (auto l = m.get("latency")) {
      z.latency = number(*l, "a number of seconds >= 0", [](double x) { return x >= 0; });
    }
    if (auto b = m.get("bandwidth")) {
      z.bandwidth = number(*b, "a positive number of bytes/s", [](double x) { return x > 0; });
    }
    out.push_back(std::move(z));
  }
  if (out.empty()) fail(f, "must declare at least one zone, such as {eu: {latency: 0.01, bandwidth: 1.25e8}}");
  return out;
}

NetworkSpec Loader::network(const Field& f) const {
  const MapReader m(*this, f);
  NetworkSpec n;
  if (auto v = m.get("latency")) {
    n.latency = number(*v, "a number of seconds >= 0", [](double x) { return x >= 0; });
  }
  if (auto v = m.get("bandwidth")) {
    n.bandwidth = number(*v, "a positive number of bytes/s", [](double x) { return x > 0; });
  }
  return n;
}

}  // namespace scenario_detail
}  // namespace fulcrum
