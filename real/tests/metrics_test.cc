// The Prometheus text exposition: what MetricsWriter writes parses back strictly, and the
// strict parser refuses what a scraper would (or should) refuse.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "real/metrics.h"

namespace fulcrum::real {
namespace {

TEST(Metrics, WriterOutputParsesBackWithItsValues) {
  Histogram h({0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 2.0, 20.0}) h.observe(v);
  MetricsWriter m;
  m.counter("jobs_total", "Jobs\\done\nso far", 42);
  m.gauge("temperature", "A gauge", -1.5);
  m.family("queue", MetricType::kGauge, "Per worker");
  m.sample({{"worker", "a\"b\\c\nd"}}, 3);
  m.sample({{"worker", "plain"}}, std::numeric_limits<double>::infinity());
  m.family("latency_seconds", MetricType::kHistogram, "Latency");
  m.histogram({{"path", "/x"}}, h);
  m.histogram({{"path", "/y"}}, Histogram({1}));
  const std::string text = m.take();
  EXPECT_NE(text.find("# HELP jobs_total Jobs\\\\done\\nso far\n# TYPE jobs_total counter\njobs_total 42\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("queue{worker=\"a\\\"b\\\\c\\nd\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("latency_seconds_bucket{path=\"/x\",le=\"0.1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("latency_seconds_bucket{path=\"/x\",le=\"+Inf\"} 5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("latency_seconds_sum{path=\"/x\"} 22.65\n"), std::string::npos) << text;

  auto e = parse_exposition(text);
  ASSERT_TRUE(e.ok()) << e.error() << "\n" << text;
  ASSERT_EQ(e->families.size(), 4u);
  EXPECT_EQ(e->find("jobs_total")->help, "Jobs\\done\nso far");
  EXPECT_EQ(e->value("jobs_total"), 42);
  EXPECT_EQ(e->value("temperature"), -1.5);
  EXPECT_EQ(e->value("queue", {{"worker", "a\"b\\c\nd"}}), 3);
  EXPECT_TRUE(std::isinf(e->value("queue", {{"worker", "plain"}})));
  auto view = histogram_of(*e, "latency_seconds", {{"path", "/x"}});
  ASSERT_TRUE(view.ok()) << view.error();
  EXPECT_EQ(view->count, 5);
  ASSERT_EQ(view->buckets.size(), 4u);
  EXPECT_EQ(view->buckets[1], std::make_pair(1.0, 3.0));
  EXPECT_TRUE(std::isinf(view->buckets.back().first));
  EXPECT_EQ(histogram_of(*e, "latency_seconds", {{"path", "/y"}})->count, 0);
}

TEST(Metrics, HistogramQuantileInterpolatesLikePrometheus) {
  HistogramView h;
  h.buckets = {{1, 10}, {2, 20}, {std::numeric_limits<double>::infinity(), 20}};
  h.count = 20;
  EXPECT_DOUBLE_EQ(histogram_quantile(0.25, h), 0.5);   // rank 5 of 10 in [0, 1]
  EXPECT_DOUBLE_EQ(histogram_quantile(0.75, h), 1.5);   // rank 5 of 10 in (1, 2]
  h.buckets.back().second = 40;
  EXPECT_DOUBLE_EQ(histogram_quantile(0.99, h), 2);     // in the +Inf bucket: the highest bound
  EXPECT_TRUE(std::isnan(histogram_quantile(0.5, HistogramView{})));
}

TEST(Metrics, ValuesAreWrittenSoTheyReadBack) {
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(1e15), "1000000000000000");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
  auto e = parse_exposition("# TYPE g gauge\ng 1.7976931348623157e+308\n");
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_EQ(e->value("g"), 1.7976931348623157e+308);
}

TEST(Metrics, ParserAcceptsWhatPrometheusWrites) {
  const char* text =
      "# A comment\n"
      "# HELP http_requests_total The total number of HTTP requests.\n"
      "# TYPE http_requests_total counter\n"
      "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
      "http_requests_total{method=\"post\",code=\"400\",} 3 1395066363000\n"
      "\n"
      "# TYPE rpc_duration_seconds summary\n"
      "rpc_duration_seconds{quantile=\"0.5\"} 4773\n"
      "rpc_duration_seconds_sum 1.7560473e+07\n"
      "rpc_duration_seconds_count 2693\n";
  auto e = parse_exposition(text);
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_EQ(e->value("http_requests_total", {{"code", "400"}}), 3);
}

TEST(Metrics, ParserRefusesMalformedExpositions) {
  const std::pair<const char*, const char*> cases[] = {
      {"no TYPE", "x 1\n"},
      {"HELP only", "# HELP x help\nx 1\n"},
      {"bad metric name", "# TYPE 1x gauge\n1x 1\n"},
      {"bad label name", "# TYPE x gauge\nx{1a=\"v\"} 1\n"},
      {"reserved label name", "# TYPE x gauge\nx{__name__=\"v\"} 1\n"},
      {"unterminated label value", "# TYPE x gauge\nx{a=\"v} 1\n"},
      {"bad escape", "# TYPE x gauge\nx{a=\"\\t\"} 1\n"},
      {"repeated label", "# TYPE x gauge\nx{a=\"1\",a=\"2\"} 1\n"},
      {"duplicate series", "# TYPE x gauge\nx{a=\"1\",b=\"2\"} 1\nx{b=\"2\",a=\"1\"} 2\n"},
      {"bad value", "# TYPE x gauge\nx one\n"},
      {"hex value", "# TYPE x gauge\nx 0x10\n"},
      {"bad timestamp", "# TYPE x gauge\nx 1 soon\n"},
      {"no final newline", "# TYPE x gauge\nx 1"},
      {"unknown type", "# TYPE x meter\nx 1\n"},
      {"second TYPE", "# TYPE x gauge\n# TYPE x gauge\nx 1\n"},
      {"TYPE after samples", "# TYPE x gauge\nx 1\n# HELP x late\n"},
      {"not contiguous", "# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\n# TYPE x gauge\n"},
      {"sample of another family", "# TYPE x gauge\n# TYPE y gauge\nx 1\n"},
      {"negative counter", "# TYPE c_total counter\nc_total -1\n"},
      {"histogram without +Inf", "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n"},
      {"histogram not cumulative",
       "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n"},
      {"histogram le not increasing",
       "# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"},
      {"histogram without _sum", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n"},
      {"histogram without _count", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\n"},
      {"histogram _count differs", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 2\n"},
      {"bucket without le", "# TYPE h histogram\nh_bucket 1\nh_sum 1\nh_count 1\n"},
      {"bare histogram sample", "# TYPE h histogram\nh 1\n"},
  };
  for (const auto& [what, text] : cases) {
    auto e = parse_exposition(text);
    EXPECT_FALSE(e.ok()) << what << ": accepted\n" << text;
  }
}

}  // namespace
}  // namespace fulcrum::real
