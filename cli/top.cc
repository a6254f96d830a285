#include "cli/top.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "real/metrics_server.h"

namespace fulcrum {

namespace {

std::string seconds(double s) {
  if (std::isnan(s)) return "-";
  if (s < 1) return fmt::format("{:.0f} ms", s * 1000);
  return fmt::format("{:.2f} s", s);
}

std::string count(double v) { return real::format_value(v); }

}  // namespace

std::string render_top_frame(const std::string& source, const real::Exposition& now, const real::Exposition* previous,
                             double elapsed) {
  std::string out;
  const double epoch = now.value("fulcrum_epoch");
  const std::time_t t = std::time(nullptr);
  char clock[16];
  std::strftime(clock, sizeof clock, "%H:%M:%S", std::localtime(&t));
  out += fmt::format("fulcrum top  {}  epoch {} (failovers {}){}  {}\n", source, count(epoch),
                     count(now.value("fulcrum_failovers_total")),
                     now.value("fulcrum_recovering") > 0 ? "  RECOVERING" : "", clock);
  out += "workers   ";
  for (const char* state : {"up", "suspected", "quarantined", "draining", "dead", "retired"}) {
    out += fmt::format("{} {}  ", state, count(now.value("fulcrum_workers", {{"state", state}})));
  }
  out += fmt::format("booting {}\n", count(now.value("fulcrum_workers_booting")));
  out += fmt::format("tasks     submitted {}  pending {}  running {}  finished {}  failed {}  retried {}  dispatched {}\n",
                     count(now.value("fulcrum_tasks_submitted_total")), count(now.value("fulcrum_pending_tasks")),
                     count(now.value("fulcrum_tasks", {{"state", "running"}})),
                     count(now.value("fulcrum_tasks_finished_total")), count(now.value("fulcrum_tasks_failed_total")),
                     count(now.value("fulcrum_tasks_retried_total")), count(now.value("fulcrum_tasks_dispatched_total")));
  auto rate = [&](const char* counter) -> std::string {
    if (!previous || !(elapsed > 0)) return "-";
    const double delta = now.value(counter) - previous->value(counter);
    if (delta < 0) return "-";  // the counter was reset (a restarted scheduler)
    return fmt::format("{:.1f}/s", delta / elapsed);
  };
  out += fmt::format("rate      dispatch {}  finish {}\n", rate("fulcrum_tasks_dispatched_total"),
                     rate("fulcrum_tasks_finished_total"));
  if (auto h = real::histogram_of(now, "fulcrum_response_seconds"); h.ok()) {
    out += fmt::format("response  p50 {}  p90 {}  p99 {}  mean {}  ({} tasks; from the histogram)\n",
                       seconds(real::histogram_quantile(0.5, *h)), seconds(real::histogram_quantile(0.9, *h)),
                       seconds(real::histogram_quantile(0.99, *h)), seconds(h->count > 0 ? h->sum / h->count : NAN),
                       count(h->count));
  }
  out += "alerts   ";
  if (const real::Family* alerts = now.find("fulcrum_alerts_total")) {
    for (const real::Sample& s : alerts->samples) {
      const std::string* kind = s.label("kind");
      out += fmt::format(" {} {}", kind ? *kind : "?", count(s.value));
    }
  }
  out += "\n\n";

  // Workers: state and queue (queued + running) against slots.
  const real::Family* states = now.find("fulcrum_worker_state");
  double widest = 1;
  if (const real::Family* q = now.find("fulcrum_queue_length")) {
    for (const real::Sample& s : q->samples) widest = std::max(widest, s.value);
  }
  out += fmt::format("{:<20} {:<12} {:<22} {}\n", "WORKER", "STATE", "QUEUE", "QUEUED+RUNNING/SLOTS");
  if (states) {
    for (const real::Sample& s : states->samples) {
      const std::string* name = s.label("worker");
      const std::string* state = s.label("state");
      if (!name || !state) continue;
      const double queue = now.value("fulcrum_queue_length", {{"worker", *name}});
      const double slots = now.value("fulcrum_worker_slots", {{"worker", *name}});
      const int width = 20;
      const int filled = static_cast<int>(std::lround(queue / widest * width));
      const std::string bar = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
      out += fmt::format("{:<20} {:<12} {:<22} {}/{}\n", *name, *state, bar, count(queue), count(slots));
    }
  }
  return out;
}

void add_top_command(CLI::App& app, std::vector<std::pair<CLI::App*, std::function<int()>>>& runners) {
  struct Args {
    std::string metrics;
    double interval = 1;
    bool once = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* top = app.add_subcommand("top", "Show the live cluster from the scheduler's /metrics (refreshes every second)");
  top->add_option("--metrics", args->metrics, "The scheduler's metrics endpoint: HOST:PORT or http://HOST:PORT/metrics")
      ->required();
  top->add_option("--interval", args->interval, "Seconds between refreshes")->capture_default_str()->check(CLI::PositiveNumber);
  top->add_flag("--once", args->once, "Print one frame (no screen clearing) and exit");
  runners.emplace_back(top, [args] {
    auto url = real::parse_metrics_url(args->metrics);
    if (!url) {
      std::cerr << "error: --metrics: " << url.error() << "\n";
      return 2;
    }
    const std::string source = fmt::format("http://{}:{}{}", url->host, url->port, url->path);
    auto scrape = [&]() -> Expected<real::Exposition> {
      auto response = real::http_get(url->host, url->port, url->path);
      if (!response) return Error{response.error()};
      if (response->status != 200) return Error{source + ": HTTP " + std::to_string(response->status)};
      auto parsed = real::parse_exposition(response->body);
      if (!parsed) return Error{source + ": " + parsed.error()};
      return parsed;
    };
    if (args->once) {
      auto e = scrape();
      if (!e) {
        std::cerr << "error: " << e.error() << "\n";
        return 1;
      }
      std::cout << render_top_frame(source, *e, nullptr, 0) << std::flush;
      return 0;
    }
    std::optional<real::Exposition> previous;
    auto previous_at = std::chrono::steady_clock::now();
    for (;;) {
      const auto at = std::chrono::steady_clock::now();
      auto e = scrape();
      std::string frame;
      if (e) {
        const double elapsed = std::chrono::duration<double>(at - previous_at).count();
        frame = render_top_frame(source, *e, previous ? &*previous : nullptr, elapsed);
        previous = std::move(*e);
        previous_at = at;
      } else {
        frame = "fulcrum top  " + source + "\n\nunreachable: " + e.error() + "\n";
      }
      // Home, clear the screen, draw: no curses needed.
      std::cout << "\x1b[H\x1b[2J" << frame << std::flush;
      std::this_thread::sleep_until(at + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                             std::chrono::duration<double>(args->interval)));
    }
  });
}

}  // namespace fulcrum
