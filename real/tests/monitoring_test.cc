// Monitoring end to end on loopback: a scheduler and two workers of the fulcrum binary with
// --metrics-port 0, scraped over HTTP, each scrape parsed strictly (real/metrics.h) and its
// values checked against what was run; `fulcrum top --once` on the same endpoint. Every
// process started is stopped (SIGKILL, then reaped) when the test ends.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "real/client.h"
#include "real/metrics.h"
#include "real/metrics_server.h"
#include "real/tests/loopback.h"

extern char** environ;

namespace fulcrum::real {
namespace {

using namespace std::chrono_literals;

class Processes {
 public:
  Processes() {
    char pattern[] = "/tmp/fulcrum-mon-XXXXXX";
    dir_ = ::mkdtemp(pattern);
  }
  ~Processes() {
    for (auto& [name, pid] : pids_) kill_and_reap(pid);
    std::error_code ignored;  // never throw from here
    std::filesystem::remove_all(dir_, ignored);
  }
  // Starts `fulcrum ARGS... --metrics-port 0 --metrics-port-file F` as `name`, with TMPDIR
  // set to this folder (a `run` killed by SIGKILL leaves its own folder there); returns the
  // port in F once written (and, with `port_file`, the one written there too).
  int start(const std::string& name, std::vector<std::string> args, int* port = nullptr) {
    const std::string metrics_file = dir_ + "/" + name + ".mport";
    const std::string port_file = dir_ + "/" + name + ".port";
    std::filesystem::remove(metrics_file);
    std::filesystem::remove(port_file);
    args.insert(args.begin(), FULCRUM_BINARY);
    for (std::string a : {"--metrics-port", "0", "--metrics-port-file"}) args.push_back(a);
    args.push_back(metrics_file);
    if (port) {
      args.push_back("--port-file");
      args.push_back(port_file);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string tmpdir = "TMPDIR=" + dir_;
    std::vector<char*> envp{tmpdir.data()};
    for (char** e = environ; *e; ++e) {
      if (std::string_view(*e).substr(0, 7) != "TMPDIR=") envp.push_back(*e);
    }
    envp.push_back(nullptr);
    pid_t pid = 0;
    if (::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), envp.data()) != 0) throw std::runtime_error("spawn");
    pids_[name] = pid;
    const int metrics = read_port(metrics_file);
    if (port) *port = read_port(port_file);
    return metrics;
  }
  void kill(const std::string& name) {
    kill_and_reap(pids_.at(name));
    pids_.erase(name);
  }
  const std::string& dir() const { return dir_; }

 private:
  static int read_port(const std::string& file) {
    for (auto deadline = std::chrono::steady_clock::now() + 10s;;) {
      int port = 0;
      if (std::ifstream in(file); in && in >> port) return port;
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error(file + " was not written");
      std::this_thread::sleep_for(5ms);
    }
  }
  static void kill_and_reap(pid_t pid) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  std::string dir_;
  std::map<std::string, pid_t> pids_;
};

// GET /metrics, checked: 200, the 0.0.4 content type, a strictly valid exposition.
Exposition scrape(int port) {
  auto r = http_get("127.0.0.1", static_cast<std::uint16_t>(port), "/metrics");
  if (!r.ok()) throw std::runtime_error(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->content_type, "text/plain; version=0.0.4; charset=utf-8");
  auto e = parse_exposition(r->body);
  if (!e.ok()) throw std::runtime_error("strict parse: " + e.error() + "\n" + r->body);
  return *e;
}

// Scrapes until `done` holds (at most 5 s); returns the last scrape.
Exposition scrape_until(int port, const std::function<bool(const Exposition&)>& done) {
  for (auto deadline = std::chrono::steady_clock::now() + 5s;;) {
    Exposition e = scrape(port);
    if (done(e) || std::chrono::steady_clock::now() > deadline) return e;
    std::this_thread::sleep_for(20ms);
  }
}

// What a raw request gets back (the whole response, up to the server's close).
std::string raw_http(int port, const std::string& request) {
  const int fd = testing::connect_loopback(port);
  EXPECT_GE(fd, 0);
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string reply;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) reply.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  return reply;
}

std::string run_top(int metrics_port) {
  const std::string command =
      std::string(FULCRUM_BINARY) + " top --once --metrics 127.0.0.1:" + std::to_string(metrics_port) + " 2>&1";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  EXPECT_EQ(::pclose(pipe), 0) << out;
  return out;
}

TaskSpec shell(const std::string& command) { return command_task(command); }

// Whether connecting to the port is refused (nobody listens) within `timeout` seconds.
bool eventually_refused(int port, double timeout) {
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);;) {
    if (!http_get("127.0.0.1", static_cast<std::uint16_t>(port), "/metrics").ok()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
}

TEST(Monitoring, SchedulerAndWorkersExposeWhatRanAndAWorkerDeath) {
  Processes p;
  int port = 0;
  const int sched = p.start("scheduler", {"scheduler", "--listen", "127.0.0.1:0", "--journal", p.dir() + "/journal"}, &port);
  const std::string address = "127.0.0.1:" + std::to_string(port);
  const int wa = p.start("a", {"worker", "--scheduler", address, "--name", "a", "--slots", "2"});
  const int wb = p.start("b", {"worker", "--scheduler", address, "--name", "b"});
  Exposition e = scrape_until(sched, [](const Exposition& e) { return e.value("fulcrum_workers", {{"state", "up"}}) == 2; });
  ASSERT_EQ(e.value("fulcrum_workers", {{"state", "up"}}), 2);
  EXPECT_EQ(e.value("fulcrum_scheduler_up"), 1);
  EXPECT_EQ(e.value("fulcrum_epoch"), 1);
  EXPECT_EQ(e.value("fulcrum_failovers_total"), 0);

  const int n = 12;
  auto client = Client::connect(address);
  ASSERT_TRUE(client.ok()) << client.error();
  std::vector<TaskSpec> tasks;
  for (int i = 0; i < n; ++i) tasks.push_back(shell("sleep 0.05"));
  auto submitted = (*client)->call(Submit{{tasks}});
  ASSERT_TRUE(submitted.ok()) << submitted.error();
  const std::uint64_t first = std::get<Submitted>(*submitted).first_task;
  // While they run, the queues show them.
  e = scrape(sched);
  EXPECT_EQ(e.value("fulcrum_tasks_submitted_total"), n);
  EXPECT_EQ(e.value("fulcrum_queue_length", {{"worker", "a"}}) + e.value("fulcrum_queue_length", {{"worker", "b"}}) +
                e.value("fulcrum_tasks", {{"state", "finished"}}) + e.value("fulcrum_pending_tasks"),
            n);
  for (int i = 0; i < n; ++i) {
    auto s = (*client)->call(StatusRequest{first + i, true}, 30);
    ASSERT_TRUE(s.ok()) << s.error();
    ASSERT_EQ(std::get<TaskStatus>(*s).state, "finished");
  }

  e = scrape(sched);
  EXPECT_EQ(e.value("fulcrum_tasks_finished_total"), n);
  EXPECT_EQ(e.value("fulcrum_tasks_failed_total"), 0);
  EXPECT_EQ(e.value("fulcrum_tasks_dispatched_total"), n);
  EXPECT_EQ(e.value("fulcrum_pending_tasks"), 0);
  EXPECT_EQ(e.value("fulcrum_queue_length", {{"worker", "a"}}), 0);
  EXPECT_EQ(e.value("fulcrum_worker_slots", {{"worker", "a"}}), 2);
  auto response = histogram_of(e, "fulcrum_response_seconds");
  ASSERT_TRUE(response.ok()) << response.error();
  EXPECT_EQ(response->count, n);
  EXPECT_GE(response->sum, n * 0.05);
  EXPECT_EQ(response->buckets.front().second, 0) << "no task answered within 5 ms: each sleeps 50 ms";
  EXPECT_EQ(e.value("fulcrum_alerts_total", {{"kind", "worker_dead"}}), 0);

  // The workers: between them they ran every task once.
  double completed = 0, runs = 0;
  for (int wport : {wa, wb}) {
    const Exposition w = scrape(wport);
    EXPECT_EQ(w.value("fulcrum_worker_connected"), 1);
    EXPECT_EQ(w.value("fulcrum_worker_running_tasks"), 0);
    EXPECT_EQ(w.value("fulcrum_worker_tasks_failed_total"), 0);
    completed += w.value("fulcrum_worker_tasks_completed_total");
    auto h = histogram_of(w, "fulcrum_worker_task_seconds");
    ASSERT_TRUE(h.ok()) << h.error();
    runs += h->count;
    EXPECT_GT(w.value("fulcrum_worker_tasks_completed_total"), 0) << "least_connections uses both workers";
  }
  EXPECT_EQ(completed, n);
  EXPECT_EQ(runs, n);

  std::string top = run_top(sched);
  EXPECT_NE(top.find("up 2"), std::string::npos) << top;
  EXPECT_NE(top.find("\na "), std::string::npos) << top;
  EXPECT_NE(top.find("\nb "), std::string::npos) << top;
  EXPECT_NE(top.find("finished 12"), std::string::npos) << top;
  EXPECT_EQ(top.find("\x1b["), std::string::npos) << "--once draws no escape codes";

  // A worker dies: its connection drops and it is declared dead at once.
  p.kill("b");
  e = scrape_until(sched, [](const Exposition& e) { return e.value("fulcrum_workers", {{"state", "dead"}}) == 1; });
  EXPECT_EQ(e.value("fulcrum_workers", {{"state", "dead"}}), 1);
  EXPECT_EQ(e.value("fulcrum_workers", {{"state", "up"}}), 1);
  EXPECT_EQ(e.value("fulcrum_worker_state", {{"worker", "b"}, {"state", "dead"}}), 1);
  EXPECT_EQ(e.value("fulcrum_alerts_total", {{"kind", "worker_dead"}}), 1);
  top = run_top(sched);
  EXPECT_NE(top.find("dead 1"), std::string::npos) << top;
}

TEST(Monitoring, ARestartOnTheJournalCountsAFailoverAndKeepsTheTotals) {
  Processes p;
  int port = 0;
  const std::vector<std::string> scheduler{"scheduler", "--listen", "127.0.0.1:0", "--journal", p.dir() + "/journal",
                                           "--grace", "0.2"};
  int sched = p.start("scheduler", scheduler, &port);
  const std::string address = "127.0.0.1:" + std::to_string(port);
  p.start("a", {"worker", "--scheduler", address, "--name", "a", "--slots", "3"});
  auto client = Client::connect(address);
  ASSERT_TRUE(client.ok()) << client.error();
  auto submitted = (*client)->call(Submit{{{shell("true"), shell("true"), shell("exit 3")}}});
  ASSERT_TRUE(submitted.ok()) << submitted.error();
  const std::uint64_t first = std::get<Submitted>(*submitted).first_task;
  for (std::uint64_t t = first; t < first + 3; ++t) ASSERT_TRUE((*client)->call(StatusRequest{t, true}, 30).ok());
  Exposition e = scrape(sched);
  EXPECT_EQ(e.value("fulcrum_tasks_finished_total"), 2);
  EXPECT_EQ(e.value("fulcrum_tasks_failed_total"), 1);
  EXPECT_EQ(e.value("fulcrum_tasks_retried_total"), 2);  // --max-attempts 3
  EXPECT_EQ(e.value("fulcrum_alerts_total", {{"kind", "task_failed"}}), 1);

  p.kill("scheduler");
  sched = p.start("scheduler", scheduler, &port);
  e = scrape(sched);
  EXPECT_EQ(e.value("fulcrum_epoch"), 2);
  EXPECT_EQ(e.value("fulcrum_failovers_total"), 1);
  EXPECT_EQ(e.value("fulcrum_tasks_finished_total"), 2) << "restored from the journal";
  EXPECT_EQ(e.value("fulcrum_tasks_failed_total"), 1);
  EXPECT_EQ(histogram_of(e, "fulcrum_response_seconds")->count, 2);
}

// `fulcrum run --mode real` can be watched: its scheduler serves /metrics and `top` reads it.
TEST(Monitoring, ARealModeRunServesMetricsWhileItRuns) {
  Processes p;
  const std::string scenario = p.dir() + "/watch.yaml";
  // About 4 s of real time: 40 tasks arriving at 1/s, scaled by 0.1.
  std::ofstream(scenario) << "seed: 3\ncluster: {hosts: [{count: 3, speed: 1e9, slots: 2}]}\n"
                             "workload: {type: poisson, rate: 1, size: {dist: exponential, mean: 1e9}, tasks: 40}\n"
                             "real: {task: sleep, time_scale: 0.1}\n";
  const int port = p.start("run", {"run", "--mode", "real", scenario});
  const Exposition e = scrape_until(port, [](const Exposition& x) {
    return x.value("fulcrum_workers", {{"state", "up"}}) == 3 && x.value("fulcrum_tasks_dispatched_total") > 0;
  });
  EXPECT_EQ(e.value("fulcrum_scheduler_up"), 1.0);
  EXPECT_EQ(e.value("fulcrum_workers", {{"state", "up"}}), 3.0);
  EXPECT_GT(e.value("fulcrum_tasks_dispatched_total"), 0.0);
  const std::string top = run_top(port);
  EXPECT_NE(top.find("up 3"), std::string::npos) << top;
  // Killed mid-run, `run` leaves no daemon behind: they notice and exit.
  p.kill("run");
  EXPECT_TRUE(eventually_refused(port, 5)) << "the run's scheduler outlived it";
}

TEST(Monitoring, TheEndpointServesOnlyGetMetrics) {
  Processes p;
  int port = 0;
  const int sched = p.start("scheduler", {"scheduler", "--listen", "127.0.0.1:0", "--journal", p.dir() + "/journal"}, &port);
  EXPECT_TRUE(raw_http(sched, "GET /metrics?x=1 HTTP/1.1\r\nHost: h\r\n\r\n").starts_with("HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(raw_http(sched, "GET / HTTP/1.1\r\nHost: h\r\n\r\n").starts_with("HTTP/1.1 404 "));
  const std::string post = raw_http(sched, "POST /metrics HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
  EXPECT_TRUE(post.starts_with("HTTP/1.1 405 ")) << post;
  EXPECT_NE(post.find("\r\nAllow: GET\r\n"), std::string::npos) << post;
  EXPECT_TRUE(raw_http(sched, "hello\r\n\r\n").starts_with("HTTP/1.1 400 "));
  EXPECT_TRUE(raw_http(sched, "GET /metrics HTTP/1.1\r\nX: " + std::string(10000, 'x') + "\r\n\r\n")
                  .starts_with("HTTP/1.1 431 "));
  // Wire-protocol clients on the scheduler's own port are unaffected.
  auto client = Client::connect("127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(client.ok()) << client.error();
  EXPECT_TRUE((*client)->call(RecordsRequest{}).ok());
}

}  // namespace
}  // namespace fulcrum::real
