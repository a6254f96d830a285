// Reading typed values out of the YAML tree: every scenario field goes through these, so
// that every refusal reads the same way, "FILE:LINE: key.path: must be ..., got ...", and
// names the --set override instead of a line when one wrote the value.
#include <charconv>
#include <filesystem>
#include <limits>
#include <system_error>
#include <type_traits>

#include "scenario/loader.h"

namespace fulcrum {
namespace scenario_detail {

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

bool within(std::string_view path, std::string_view ancestor) {
  if (ancestor.empty() || path.substr(0, ancestor.size()) != ancestor) return false;
  return path.size() == ancestor.size() || path[ancestor.size()] == '.' ||
         path[ancestor.size()] == '[';
}

std::string line_of(const std::string& source, const YAML::Mark& mark) {
  return mark.is_null() ? source : source + ":" + std::to_string(mark.line + 1);
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: {
      std::string text = node.Scalar();
      if (text.size() > 60) text = text.substr(0, 57) + "...";
      return node.Tag() == "?" ? text : "\"" + text + "\"";
    }
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    default: return "no value";
  }
}

namespace {

// A number's text for std::from_chars, which reads no leading '+' ("+-5" stays unreadable).
std::string_view number_scalar(const YAML::Node& node) {
  std::string_view text = node.Scalar();
  if (text.size() > 1 && text[0] == '+' && text[1] != '-') text.remove_prefix(1);
  return text;
}

}  // namespace

std::optional<double> as_double(const YAML::Node& node) {
  if (!node.IsScalar()) return std::nullopt;
  const std::string& tag = node.Tag();
  if (tag != "?" && tag != "tag:yaml.org,2002:float" && tag != "tag:yaml.org,2002:int") {
    return std::nullopt;
  }
  const std::string_view text = number_scalar(node);
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ptr != end) return std::nullopt;
  if (ec == std::errc::result_out_of_range) return HUGE_VAL;  // refused as not finite
  if (ec != std::errc()) return std::nullopt;
  return value;
}

std::string number_text(double x) {
  char buffer[32];
  const auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof buffer, x);
  return ec == std::errc() ? std::string(buffer, ptr) : std::to_string(x);
}

namespace {

// Integers may also be written as integral floats ("tasks: 1e5").
template <class Int>
std::optional<Int> as_integer(const YAML::Node& node) {
  if (!node.IsScalar()) return std::nullopt;
  const std::string_view text = number_scalar(node);
  Int value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc() && ptr == end && as_double(node)) return value;
  const std::optional<double> d = as_double(node);
  // Int's range as exact doubles (powers of two), exclusive above.
  const double high = std::ldexp(1.0, std::numeric_limits<Int>::digits);
  const double low = std::is_signed_v<Int> ? -high : 0.0;
  if (!d || !std::isfinite(*d) || std::trunc(*d) != *d || *d < low || *d >= high) {
    return std::nullopt;
  }
  return static_cast<Int>(*d);
}

}  // namespace

std::string listing(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

Field list_entry(const Field& list, std::size_t index, const YAML::Node& node) {
  return Field{node, list.path + "[" + std::to_string(index) + "]", node.Mark()};
}

MapReader::MapReader(const Loader& loader, const Field& self, const std::string& example, std::string_view schema)
    : loader_(loader), self_(self), known_(keys_of(schema.empty() ? std::string_view(self.path) : schema)) {
  const std::vector<std::string_view>& known = known_;
  const std::string names = listing(known);
  if (!self.node.IsMap()) {
    loader.fail(self, "must be a map" + (example.empty() ? " (keys: " + names + ")" : " such as " + example) +
                          ", got " + describe(self.node));
  }
  for (const auto& kv : self.node) {
    Field key{kv.first, self.path, kv.first.Mark()};
    if (!kv.first.IsScalar()) loader.fail(key, "keys must be names, got " + describe(kv.first));
    const std::string name = kv.first.Scalar();
    Field value{kv.second, join(self.path, name), kv.first.Mark()};
    bool is_known = false;
    for (std::string_view k : known) is_known = is_known || k == name;
    if (!is_known) loader.fail(value, self.path, "unknown key '" + name + "' (known: " + names + ")");
    for (const auto& [seen, unused] : entries_) {
      if (seen == name) loader.fail(value, self.path, "key '" + name + "' is given twice");
    }
    entries_.emplace_back(name, std::move(value));
  }
}

std::optional<Field> MapReader::get(std::string_view key) const {
  for (const auto& [name, field] : entries_) {
    if (name == key) return field;
  }
  return std::nullopt;
}

Field MapReader::require(std::string_view key) const {
  std::optional<Field> f = get(key);
  if (!f) loader_.fail(self_, "missing required key '" + std::string(key) + "'");
  return *f;
}

std::optional<std::pair<std::string_view, Field>> MapReader::first_not_in(const std::vector<std::string_view>& allowed,
                                                                          std::string_view skip) const {
  for (std::string_view k : known_) {
    if (k == skip) continue;
    bool is_allowed = false;
    for (std::string_view a : allowed) is_allowed = is_allowed || a == k;
    if (auto v = get(k); v && !is_allowed) return std::pair{k, *v};
  }
  return std::nullopt;
}

std::vector<std::pair<std::string, Field>> open_map(const Loader& loader, const Field& f, const std::string& example) {
  if (!f.node.IsMap()) loader.fail(f, "must be a map such as " + example + ", got " + describe(f.node));
  std::vector<std::pair<std::string, Field>> entries;
  for (const auto& kv : f.node) {
    Field key{kv.first, f.path, kv.first.Mark()};
    if (!kv.first.IsScalar()) loader.fail(key, "keys must be names, got " + describe(kv.first));
    const std::string name = kv.first.Scalar();
    Field value{kv.second, join(f.path, name), kv.first.Mark()};
    for (const auto& [seen, unused] : entries) {
      if (seen == name) loader.fail(value, f.path, "key '" + name + "' is given twice");
    }
    entries.emplace_back(name, std::move(value));
  }
  return entries;
}

// The override that set the value, else file:line, else the override that created the
// map that holds the value, else just the file.
std::string Loader::where(const Field& at) const {
  if (const AppliedOverride* o = override_of(at.path)) return source_ + " (--set " + o->text + ")";
  if (!at.mark.is_null() || at.path.empty()) return line_of(source_, at.mark);
  for (auto it = overrides_.rbegin(); it != overrides_.rend(); ++it) {
    if (within(it->path, at.path)) return source_ + " (--set " + it->text + ")";
  }
  return source_;
}

std::string Loader::text(const Field& f) const {
  if (!f.node.IsScalar()) fail(f, "must be a string, got " + describe(f.node));
  return f.node.Scalar();
}

double Loader::bytes(const Field& f) const {
  if (!f.node.IsScalar()) fail(f, "must be a size in bytes such as 512MiB, 4GiB or 4G, got " + describe(f.node));
  auto v = parse_bytes(f.node.Scalar());
  if (!v) fail(f, "must be a size in bytes such as 512MiB, 4GiB or 4G (G = 10^9, Gi = 2^30): " + v.error());
  return *v;
}

std::string Loader::name_value(const Field& f, const std::string& what) const {
  if (!f.node.IsScalar()) fail(f, what + " must be a name, got " + describe(f.node));
  const std::string name = f.node.Scalar();
  bool ok = !name.empty() && name.size() <= 63;
  for (std::size_t i = 0; ok && i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    ok = alnum || (i > 0 && (c == '_' || c == '.' || c == '-' || c == '/'));
  }
  if (!ok) {
    fail(f, what + " must be a name of letters, digits, '_', '.', '-' and '/' that starts with a letter or "
                   "digit (at most 63 characters), got " + describe(f.node));
  }
  return name;
}

template <class Int>
Int Loader::integer(const Field& f, Int low, Int high, const char* requirement) const {
  const std::optional<Int> v = as_integer<Int>(f.node);
  const std::optional<double> d = as_double(f.node);
  const bool too_big = v ? *v > high : d && std::isfinite(*d) && std::trunc(*d) == *d && *d > high;
  if (too_big) fail(f, "must be at most " + std::to_string(high) + ", got " + describe(f.node));
  if (!v || *v < low) fail(f, std::string("must be ") + requirement + ", got " + describe(f.node));
  return *v;
}

template int Loader::integer<int>(const Field&, int, int, const char*) const;
template std::uint32_t Loader::integer<std::uint32_t>(const Field&, std::uint32_t, std::uint32_t, const char*) const;
template std::uint64_t Loader::integer<std::uint64_t>(const Field&, std::uint64_t, std::uint64_t, const char*) const;

bool Loader::boolean(const Field& f) const {
  if (f.node.IsScalar() && (f.node.Tag() == "?" || f.node.Tag() == "tag:yaml.org,2002:bool")) {
    const std::string& t = f.node.Scalar();
    if (t == "true" || t == "True" || t == "TRUE") return true;
    if (t == "false" || t == "False" || t == "FALSE") return false;
  }
  fail(f, "must be true or false, got " + describe(f.node));
}

// A relative path written in the file is relative to the file's directory, so scenarios
// can be run from anywhere; one given on the command line is relative to the working
// directory, as the user typed it there.
std::string Loader::existing_file(const Field& f, const std::string& what) const {
  namespace fs = std::filesystem;
  const std::string written = text(f);
  if (written.empty()) fail(f, "must be the path of a " + what + ", got \"\"");
  fs::path path(written);
  const bool from_file = override_of(f.path) == nullptr;
  if (path.is_relative() && from_file) path = fs::path(source_).parent_path() / path;
  path = path.lexically_normal();
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) {
    if (ec && ec != std::errc::no_such_file_or_directory) {
      fail(f, "cannot access '" + path.string() + "': " + ec.message());
    }
    fail(f, "no such file '" + path.string() + "'" +
                (fs::path(written).is_relative() && from_file ? " (relative to the scenario's directory)" : ""));
  }
  if (fs::is_directory(status)) fail(f, "'" + path.string() + "' is a directory, not a " + what);
  return path.string();
}

}  // namespace scenario_detail
}  // namespace fulcrum
