// Prometheus text exposition (format version 0.0.4), without globals: the daemons keep
// their counters and histograms as plain members and render them into a MetricsWriter on
// each scrape. Also a strict parser of the format, for tests and for `fulcrum top`.
//
// Writer: families are written one after the other, each with its HELP and TYPE lines
// and then its samples; label values are escaped (\\, \", \n), values are written in the
// shortest form that reads back exactly (+Inf, -Inf, NaN spelled as Prometheus does).
// A histogram is cumulative `_bucket{le=...}` lines ending in le="+Inf", then `_sum` and
// `_count`.
//
// Parser (strict, stricter than Prometheus itself): every sample belongs to a family
// declared by a TYPE line before it; a family's lines are contiguous; metric and label
// names are valid and labels not repeated; no series appears twice; counters are >= 0;
// histogram buckets have increasing `le`, non-decreasing counts, end in +Inf and come with
// a `_sum` and a `_count` equal to the +Inf bucket; the text ends with a newline.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/expected.h"

namespace fulcrum::real {

enum class MetricType : std::uint8_t { kCounter, kGauge, kHistogram, kSummary, kUntyped };
std::string_view to_string(MetricType type);

struct Label {
  std::string_view name;
  std::string_view value;
};

// A histogram with fixed upper bounds (the +Inf bucket is implied). observe() does not
// allocate.
class Histogram {
 public:
  // REQUIRES: `bounds` strictly increasing and finite.
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  const std::vector<double>& bounds() const { return bounds_; }
  // Per bucket, not cumulative; one more than bounds() (the last is +Inf).
  const std::vector<std::uint64_t>& counts() const { return counts_; }
  double sum() const { return sum_; }
  std::uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

// Bounds for durations in seconds: 5 ms to one hour.
std::vector<double> seconds_buckets();

class MetricsWriter {
 public:
  // Starts a family. REQUIRES: a valid metric name not started before; a counter's name
  // ends in _total.
  void family(std::string_view name, MetricType type, std::string_view help);
  // A sample of the current family (counter or gauge).
  void sample(std::initializer_list<Label> labels, double value);
  void sample(double value) { sample({}, value); }
  // A sample of the current family, which must be a histogram.
  void histogram(std::initializer_list<Label> labels, const Histogram& h);
  void histogram(const Histogram& h) { histogram({}, h); }
  // Shorthands: a family with one unlabelled sample.
  void counter(std::string_view name, std::string_view help, double value);
  void gauge(std::string_view name, std::string_view help, double value);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void line(std::string_view name, std::string_view suffix, std::initializer_list<Label> labels,
            const Label* extra, double value);

  std::string out_;
  std::string current_;
  MetricType type_ = MetricType::kUntyped;
  std::vector<std::string> names_;
};

// "+Inf", "-Inf", "NaN" or the shortest decimal that reads back exactly.
std::string format_value(double value);
void append_escaped_label_value(std::string& out, std::string_view value);

bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

// --- parsing ---
struct Sample {
  std::string name;                                         // with its suffix (_bucket, ...)
  std::vector<std::pair<std::string, std::string>> labels;  // in the order written, unescaped
  double value = 0;
  // The value of label `name`, or nullptr.
  const std::string* label(std::string_view name) const;
};

struct Family {
  std::string name;
  MetricType type = MetricType::kUntyped;
  std::string help;
  std::vector<Sample> samples;
};

struct Exposition {
  std::vector<Family> families;
  const Family* find(std::string_view name) const;
  // The value of the sample of family `family` named `sample` (default: the family's name)
  // whose labels include all of `labels`; the first that matches, or `fallback`.
  double value(std::string_view family, std::initializer_list<std::pair<std::string_view, std::string_view>> labels = {},
               double fallback = 0, std::string_view sample = {}) const;
};

Expected<Exposition> parse_exposition(std::string_view text);

// A histogram read back from an exposition: cumulative counts per upper bound, the last
// bound +Inf.
struct HistogramView {
  std::vector<std::pair<double, double>> buckets;  // (le, cumulative count)
  double sum = 0;
  double count = 0;
};
// The series of histogram family `name` whose labels (le aside) are exactly `labels`.
Expected<HistogramView> histogram_of(const Exposition& e, std::string_view name,
                                     std::initializer_list<std::pair<std::string_view, std::string_view>> labels = {});
// Prometheus' histogram_quantile: linear interpolation inside the bucket that holds the
// q-quantile (the lower bound of the first bucket is 0; a quantile in the +Inf bucket is
// the highest finite bound). NaN when the histogram is empty.
double histogram_quantile(double q, const HistogramView& h);

}  // namespace fulcrum::real
