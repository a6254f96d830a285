#include "real/metrics.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace fulcrum::real {

std::string_view to_string(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
    case MetricType::kSummary: return "summary";
    case MetricType::kUntyped: return "untyped";
  }
  return "untyped";
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {
  assert(std::is_sorted(bounds_.begin(), bounds_.end()) &&
         std::adjacent_find(bounds_.begin(), bounds_.end()) == bounds_.end());
}

void Histogram::observe(double value) {
  // The first bucket whose bound is >= value (le: "less than or equal").
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
  sum_ += value;
  ++count_;
}

std::vector<double> seconds_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};
}

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  // Integers (counts) in plain digits, the rest in the shortest form that reads back.
  const bool integral = value == std::trunc(value) && std::fabs(value) < 9007199254740992.0;
  const auto r = integral ? std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed)
                          : std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, r.ptr);
}

void append_escaped_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void MetricsWriter::family(std::string_view name, MetricType type, std::string_view help) {
  assert(valid_metric_name(name));
  assert(type != MetricType::kCounter || name.ends_with("_total"));
  assert(std::find(names_.begin(), names_.end(), name) == names_.end() && "a family is written once");
  names_.emplace_back(name);
  current_ = name;
  type_ = type;
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  for (char c : help) {
    if (c == '\\') {
      out_ += "\\\\";
    } else if (c == '\n') {
      out_ += "\\n";
    } else {
      out_ += c;
    }
  }
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += to_string(type);
  out_ += '\n';
}

void MetricsWriter::line(std::string_view name, std::string_view suffix, std::initializer_list<Label> labels,
                         const Label* extra, double value) {
  out_ += name;
  out_ += suffix;
  if (labels.size() > 0 || extra) {
    out_ += '{';
    bool first = true;
    auto put = [&](const Label& l) {
      assert(valid_label_name(l.name));
      if (!first) out_ += ',';
      first = false;
      out_ += l.name;
      out_ += "=\"";
      append_escaped_label_value(out_, l.value);
      out_ += '"';
    };
    for (const Label& l : labels) put(l);
    if (extra) put(*extra);
    out_ += '}';
  }
  out_ += ' ';
  out_ += format_value(value);
  out_ += '\n';
}

void MetricsWriter::sample(std::initializer_list<Label> labels, double value) {
  assert(!current_.empty() && type_ != MetricType::kHistogram);
  line(current_, "", labels, nullptr, value);
}

void MetricsWriter::histogram(std::initializer_list<Label> labels, const Histogram& h) {
  assert(type_ == MetricType::kHistogram);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= h.bounds().size(); ++i) {
    cumulative += h.counts()[i];
    const std::string le = i < h.bounds().size() ? format_value(h.bounds()[i]) : "+Inf";
    const Label extra{"le", le};
    line(current_, "_bucket", labels, &extra, static_cast<double>(cumulative));
  }
  line(current_, "_sum", labels, nullptr, h.sum());
  line(current_, "_count", labels, nullptr, static_cast<double>(h.count()));
}

void MetricsWriter::counter(std::string_view name, std::string_view help, double value) {
  family(name, MetricType::kCounter, help);
  sample(value);
}

void MetricsWriter::gauge(std::string_view name, std::string_view help, double value) {
  family(name, MetricType::kGauge, help);
  sample(value);
}

// --- parsing ---

const std::string* Sample::label(std::string_view name) const {
  for (const auto& [k, v] : labels) {
    if (k == name) return &v;
  }
  return nullptr;
}

const Family* Exposition::find(std::string_view name) const {
  for (const Family& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

double Exposition::value(std::string_view family, std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
                         double fallback, std::string_view sample) const {
  const Family* f = find(family);
  if (!f) return fallback;
  if (sample.empty()) sample = family;
  for (const Sample& s : f->samples) {
    if (s.name != sample) continue;
    const bool match = std::all_of(labels.begin(), labels.end(), [&](const auto& l) {
      const std::string* v = s.label(l.first);
      return v && *v == l.second;
    });
    if (match) return s.value;
  }
  return fallback;
}

namespace {

bool parse_number(std::string_view text, double& out) {
  if (text == "+Inf" || text == "Inf") {
    out = std::numeric_limits<double>::infinity();
    return true;
  }
  if (text == "-Inf") {
    out = -std::numeric_limits<double>::infinity();
    return true;
  }
  if (text == "NaN") {
    out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  // Decimal only: [+-]digits[.digits][(e|E)[+-]digits] (from_chars takes no leading '+').
  std::string_view body = text;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) body.remove_prefix(1);
  if (body.empty() || !(std::isdigit(static_cast<unsigned char>(body[0])) || body[0] == '.')) return false;
  if (body.find_first_not_of("0123456789.eE+-") != std::string_view::npos) return false;
  const char* first = text.data() + (text[0] == '+' ? 1 : 0);
  const auto r = std::from_chars(first, text.data() + text.size(), out, std::chars_format::general);
  return r.ec == std::errc() && r.ptr == text.data() + text.size();
}

bool parse_type(std::string_view text, MetricType& out) {
  for (MetricType t : {MetricType::kCounter, MetricType::kGauge, MetricType::kHistogram, MetricType::kSummary,
                       MetricType::kUntyped}) {
    if (text == to_string(t)) {
      out = t;
      return true;
    }
  }
  return false;
}

// The family a sample named `name` belongs to, if it is `f`.
bool belongs(const Family& f, std::string_view name) {
  switch (f.type) {
    case MetricType::kHistogram:
      return name == f.name + "_bucket" || name == f.name + "_sum" || name == f.name + "_count";
    case MetricType::kSummary:
      return name == f.name || name == f.name + "_sum" || name == f.name + "_count";
    default:
      return name == f.name;
  }
}

std::string series_key(const Sample& s, bool without_le = false) {
  std::vector<std::pair<std::string, std::string>> labels = s.labels;
  std::sort(labels.begin(), labels.end());
  std::string key;
  for (const auto& [k, v] : labels) {
    if (without_le && k == "le") continue;
    key += k;
    key += '=';
    append_escaped_label_value(key, v);
    key += ',';
  }
  return key;
}

Expected<bool> check_histogram(const Family& f) {
  struct Series {
    std::vector<std::pair<double, double>> buckets;
    bool has_sum = false, has_count = false;
    double count = 0;
  };
  std::map<std::string, Series> series;
  for (const Sample& s : f.samples) {
    Series& x = series[series_key(s, true)];
    const std::string* le = s.label("le");
    if (s.name == f.name + "_bucket") {
      if (!le) return Error{s.name + ": a bucket without an le label"};
      double bound = 0;
      if (!parse_number(*le, bound) || std::isnan(bound)) return Error{s.name + ": le=\"" + *le + "\" is not a number"};
      if (!x.buckets.empty() && !(bound > x.buckets.back().first)) return Error{s.name + ": le values must increase"};
      if (!x.buckets.empty() && s.value < x.buckets.back().second) return Error{s.name + ": bucket counts must not decrease"};
      if (std::isnan(s.value) || s.value < 0) return Error{s.name + ": a bucket count must be >= 0"};
      x.buckets.emplace_back(bound, s.value);
    } else {
      if (le) return Error{s.name + ": le is reserved to buckets"};
      if (s.name == f.name + "_sum") {
        x.has_sum = true;
      } else {
        x.has_count = true;
        x.count = s.value;
      }
    }
  }
  for (const auto& [key, x] : series) {
    const std::string where = f.name + "{" + key + "}";
    if (x.buckets.empty() || !std::isinf(x.buckets.back().first)) return Error{where + ": buckets must end in le=\"+Inf\""};
    if (!x.has_sum || !x.has_count) return Error{where + ": a histogram needs _sum and _count"};
    if (x.count != x.buckets.back().second) return Error{where + ": _count differs from the +Inf bucket"};
  }
  return true;
}

}  // namespace

Expected<Exposition> parse_exposition(std::string_view text) {
  Exposition e;
  if (!text.empty() && text.back() != '\n') return Error{"the exposition must end with a newline"};
  std::set<std::string> seen_families;
  std::set<std::string> seen_series;
  Family* current = nullptr;
  bool current_typed = false, current_helped = false;
  std::size_t line_no = 0;
  auto start_family = [&](std::string_view name) -> Expected<bool> {
    if (current && current->name == name) return true;
    if (!seen_families.insert(std::string(name)).second) {
      return Error{"family " + std::string(name) + " is not contiguous (declared twice)"};
    }
    e.families.push_back(Family{std::string(name)});
    current = &e.families.back();
    current_typed = current_helped = false;
    return true;
  };
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    const std::string where = "line " + std::to_string(line_no) + ": ";
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (line[0] == '#') {
      // "# HELP name text", "# TYPE name type", or a comment.
      std::string_view rest = line.substr(1);
      if (!rest.starts_with(" HELP ") && !rest.starts_with(" TYPE ")) continue;
      const bool help = rest.starts_with(" HELP ");
      rest.remove_prefix(6);
      const std::size_t sp = rest.find(' ');
      const std::string_view name = rest.substr(0, sp);
      const std::string_view arg = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
      if (!valid_metric_name(name)) return Error{where + "invalid metric name '" + std::string(name) + "'"};
      if (auto r = start_family(name); !r) return Error{where + r.error()};
      if (!current->samples.empty()) return Error{where + std::string(help ? "HELP" : "TYPE") + " after samples of " + current->name};
      if (help) {
        if (current_helped) return Error{where + "a second HELP for " + current->name};
        current_helped = true;
        std::string doc;
        for (std::size_t i = 0; i < arg.size(); ++i) {
          if (arg[i] == '\\' && i + 1 < arg.size() && (arg[i + 1] == '\\' || arg[i + 1] == 'n')) {
            doc += arg[i + 1] == 'n' ? '\n' : '\\';
            ++i;
          } else {
            doc += arg[i];
          }
        }
        current->help = doc;
      } else {
        if (current_typed) return Error{where + "a second TYPE for " + current->name};
        if (!parse_type(arg, current->type)) return Error{where + "unknown type '" + std::string(arg) + "'"};
        current_typed = true;
      }
      continue;
    }
    // name[{labels}] value [timestamp]
    Sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ' && line[i] != '\t') ++i;
    s.name = std::string(line.substr(0, i));
    if (!valid_metric_name(s.name)) return Error{where + "invalid metric name '" + s.name + "'"};
    if (i < line.size() && line[i] == '{') {
      ++i;
      for (;;) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        std::size_t j = i;
        while (j < line.size() && line[j] != '=' && line[j] != ' ' && line[j] != '\t') ++j;
        const std::string label(line.substr(i, j - i));
        if (!valid_label_name(label)) return Error{where + "invalid label name '" + label + "'"};
        while (j < line.size() && (line[j] == ' ' || line[j] == '\t')) ++j;
        if (j >= line.size() || line[j] != '=') return Error{where + "expected '=' after label " + label};
        ++j;
        while (j < line.size() && (line[j] == ' ' || line[j] == '\t')) ++j;
        if (j >= line.size() || line[j] != '"') return Error{where + "expected '\"' to open the value of " + label};
        ++j;
        std::string value;
        bool closed = false;
        for (; j < line.size(); ++j) {
          if (line[j] == '"') {
            closed = true;
            ++j;
            break;
          }
          if (line[j] == '\\') {
            if (j + 1 >= line.size()) break;
            const char c = line[++j];
            if (c == '\\' || c == '"') {
              value += c;
            } else if (c == 'n') {
              value += '\n';
            } else {
              return Error{where + "invalid escape '\\" + std::string(1, c) + "' in the value of " + label};
            }
          } else {
            value += line[j];
          }
        }
        if (!closed) return Error{where + "unterminated value of label " + label};
        if (s.label(label)) return Error{where + "label " + label + " repeated"};
        s.labels.emplace_back(label, std::move(value));
        i = j;
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        if (i < line.size() && line[i] == ',') {
          ++i;
          continue;
        }
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        return Error{where + "expected ',' or '}' after label " + label};
      }
    }
    // The value, then an optional integer timestamp.
    std::vector<std::string_view> fields;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      std::size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
      if (j > i) fields.push_back(line.substr(i, j - i));
      i = j;
    }
    if (fields.empty() || fields.size() > 2) return Error{where + "expected a value (and an optional timestamp)"};
    if (!parse_number(fields[0], s.value)) return Error{where + "invalid value '" + std::string(fields[0]) + "'"};
    if (fields.size() == 2) {
      std::int64_t ts = 0;
      const auto r = std::from_chars(fields[1].data(), fields[1].data() + fields[1].size(), ts);
      if (r.ec != std::errc() || r.ptr != fields[1].data() + fields[1].size()) {
        return Error{where + "invalid timestamp '" + std::string(fields[1]) + "'"};
      }
    }
    if (!current || !current_typed || !belongs(*current, s.name)) {
      return Error{where + "sample " + s.name + " has no TYPE line before it (or its family's lines are not contiguous)"};
    }
    if (current->type == MetricType::kCounter && !(s.value >= 0)) return Error{where + s.name + ": a counter must be >= 0"};
    if (!seen_series.insert(s.name + "{" + series_key(s) + "}").second) {
      return Error{where + "series " + s.name + "{" + series_key(s) + "} appears twice"};
    }
    current->samples.push_back(std::move(s));
  }
  for (const Family& f : e.families) {
    if (f.type == MetricType::kHistogram) {
      if (auto r = check_histogram(f); !r) return Error{r.error()};
    }
  }
  return e;
}

Expected<HistogramView> histogram_of(const Exposition& e, std::string_view name,
                                     std::initializer_list<std::pair<std::string_view, std::string_view>> labels) {
  const Family* f = e.find(name);
  if (!f || f->type != MetricType::kHistogram) return Error{std::string(name) + ": no such histogram"};
  auto matches = [&](const Sample& s) {
    std::size_t n = 0;
    for (const auto& [k, v] : s.labels) {
      if (k == "le") continue;
      ++n;
      const bool wanted = std::any_of(labels.begin(), labels.end(), [&](const auto& l) { return l.first == k && l.second == v; });
      if (!wanted) return false;
    }
    return n == labels.size();
  };
  HistogramView h;
  bool found = false;
  for (const Sample& s : f->samples) {
    if (!matches(s)) continue;
    found = true;
    if (s.name.ends_with("_bucket")) {
      double le = 0;
      parse_number(*s.label("le"), le);
      h.buckets.emplace_back(le, s.value);
    } else if (s.name.ends_with("_sum")) {
      h.sum = s.value;
    } else {
      h.count = s.value;
    }
  }
  if (!found) return Error{std::string(name) + ": no series with those labels"};
  return h;
}

double histogram_quantile(double q, const HistogramView& h) {
  if (h.buckets.empty() || h.buckets.back().second <= 0) return std::numeric_limits<double>::quiet_NaN();
  const double total = h.buckets.back().second;
  const double rank = std::clamp(q, 0.0, 1.0) * total;
  std::size_t b = 0;
  while (b + 1 < h.buckets.size() && h.buckets[b].second < rank) ++b;
  if (std::isinf(h.buckets[b].first)) return b > 0 ? h.buckets[b - 1].first : 0;
  const double lower = b > 0 ? h.buckets[b - 1].first : std::min(0.0, h.buckets[b].first);
  const double below = b > 0 ? h.buckets[b - 1].second : 0;
  const double in_bucket = h.buckets[b].second - below;
  if (in_bucket <= 0) return h.buckets[b].first;
  return lower + (h.buckets[b].first - lower) * (rank - below) / in_bucket;
}

}  // namespace fulcrum::real
