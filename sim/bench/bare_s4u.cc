// bare_s4u: the SimGrid baseline for fulcrum's driver (sim/driver.cc and sim/simulation.h).
//
// It sends the same messages and runs the same executions as the driver, on the same
// platform, with no scheduler logic: task i goes to worker i mod HOSTS (round robin). So
// `fulcrum run` with policy round_robin on the equivalent scenario does the same
// simulated work, and the difference in wall time is fulcrum's own cost (core, records,
// results). The arrivals use the same generator, seed and stream as fulcrum's workload
// (xoshiro256** seeded through SplitMix64, seed 1, stream 1), so the simulated makespan
// should equal fulcrum's round_robin makespan.
//
//   Platform (as sim/platform.cc): a star zone; the host "fulcrum-scheduler" and HOSTS
//   workers (speed 1e9, 1 core), each with its own link to the centre (latency 1e-4 s,
//   bandwidth 1.25e9 B/s).
//   Actors (as sim/host_model.cc and sim/executors.cc): per worker, one daemonized executor that is its mailbox's
//   receiver, gets a dispatch, executes its flops and sends a completion back (detached);
//   on the scheduler host, a scheduler actor (receiver of "scheduler") that takes
//   completions until all tasks are done, and a submitter that sleeps until each Poisson
//   arrival and sends a dispatch (detached). Messages are 1024 bytes.
//
// Usage: bare_s4u HOSTS TASKS LOAD    e.g. bare_s4u 1000 1000000 0.8
// Arrival rate = LOAD * HOSTS per second, sizes exponential with mean 1e9 flops.
// Prints one line: hosts, tasks, load, simulated makespan, wall seconds.
#include <simgrid/s4u.hpp>
#include <xbt/log.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace sg4 = simgrid::s4u;

namespace {

constexpr std::uint64_t kControlMessageBytes = 1024;
constexpr double kSpeed = 1e9;
constexpr double kMeanFlops = 1e9;
constexpr double kLatency = 1e-4;
constexpr double kBandwidth = 1.25e9;

// fulcrum's Rng (core/random.cc), the parts the workload uses.
class Rng {
 public:
  Rng(std::uint64_t seed, std::uint64_t stream) {
    std::uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL + 0x632be59bd9b4e019ULL);
    for (auto& s : s_) s = splitmix64(x);
  }
  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  double uniform01() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double exponential(double mean) { return -mean * std::log(1.0 - uniform01()); }

 private:
  static std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

struct DispatchMessage {
  std::uint64_t task;
  double flops;
};

struct DoneMessage {
  std::uint64_t task;
  std::uint32_t worker;
  double started;
};

struct Bare {
  std::uint64_t tasks = 0;
  double rate = 1;
  sg4::Host* scheduler_host = nullptr;
  std::vector<sg4::Host*> hosts;
  sg4::Mailbox* scheduler_mailbox = nullptr;
  std::vector<sg4::Mailbox*> worker_mailboxes;
  std::uint64_t submitted = 0;
  std::uint64_t finished = 0;
  bool arrivals_done = false;
  double first_submit = -1;
  double last_end = 0;

  void build_platform(std::size_t n) {
    auto* zone = sg4::create_star_zone("cluster");
    auto add_host = [&](const std::string& name, double speed, int cores) {
      sg4::Host* host = zone->create_host(name, speed)->set_core_count(cores)->seal();
      sg4::Link* link = zone->create_link(name + "_link", kBandwidth)->set_latency(kLatency)->seal();
      zone->add_route(host->get_netpoint(), nullptr, nullptr, nullptr, {sg4::LinkInRoute(link)}, true);
      return host;
    };
    scheduler_host = add_host("fulcrum-scheduler", kSpeed, 1);
    hosts.reserve(n);
    for (std::size_t i = 0; i < n; ++i) hosts.push_back(add_host("w-" + std::to_string(i), kSpeed, 1));
    zone->seal();
  }

  void start() {
    scheduler_mailbox = sg4::Mailbox::by_name("scheduler");
    for (std::size_t w = 0; w < hosts.size(); ++w) {
      const auto id = static_cast<std::uint32_t>(w);
      sg4::Mailbox* mailbox = sg4::Mailbox::by_name("worker-" + std::to_string(id));
      worker_mailboxes.push_back(mailbox);
      sg4::ActorPtr executor = sg4::Actor::create("executor", hosts[w], [this, id] { executor_loop(id); });
      executor->daemonize();
      mailbox->set_receiver(executor);
    }
    sg4::ActorPtr loop = sg4::Actor::create("scheduler", scheduler_host, [this] { scheduler_loop(); });
    scheduler_mailbox->set_receiver(loop);
    sg4::Actor::create("submitter", scheduler_host, [this] { submitter_loop(); });
  }

  void submitter_loop() {
    Rng rng(/*seed=*/1, /*stream=*/1);
    double clock = 0;
    const std::size_t n = worker_mailboxes.size();
    for (std::uint64_t i = 0; i < tasks; ++i) {
      clock += rng.exponential(1.0 / rate);
      const double flops = rng.exponential(kMeanFlops);
      sg4::this_actor::sleep_until(clock);
      if (first_submit < 0) first_submit = sg4::Engine::get_clock();
      ++submitted;
      worker_mailboxes[i % n]->put_init(new DispatchMessage{i, flops}, kControlMessageBytes)->detach();
    }
    arrivals_done = true;
  }

  void scheduler_loop() {
    while (!(arrivals_done && finished == submitted)) {
      std::unique_ptr<DoneMessage> done(scheduler_mailbox->get<DoneMessage>());
      last_end = sg4::Engine::get_clock();
      ++finished;
    }
    scheduler_mailbox->set_receiver(nullptr);
  }

  void executor_loop(std::uint32_t worker) {
    sg4::Mailbox* inbox = worker_mailboxes[worker];
    for (;;) {
      std::unique_ptr<DispatchMessage> task(inbox->get<DispatchMessage>());
      const double started = sg4::Engine::get_clock();
      sg4::this_actor::execute(task->flops);
      scheduler_mailbox->put_init(new DoneMessage{task->task, worker, started}, kControlMessageBytes)->detach();
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s HOSTS TASKS LOAD   (e.g. %s 1000 1000000 0.8)\n", argv[0], argv[0]);
    return 2;
  }
  const long hosts = std::strtol(argv[1], nullptr, 10);
  const long long tasks = std::strtoll(argv[2], nullptr, 10);
  const double load = std::strtod(argv[3], nullptr);
  if (hosts < 1 || tasks < 1 || !(load > 0)) {
    std::fprintf(stderr, "bare_s4u: HOSTS and TASKS must be >= 1 and LOAD > 0\n");
    return 2;
  }
  const auto wall_start = std::chrono::steady_clock::now();

  xbt_log_control_set("root.thres:critical");
  int sg_argc = 1;
  char name[] = "bare_s4u";
  char* sg_argv[] = {name, nullptr};
  sg4::Engine engine(&sg_argc, sg_argv);

  Bare bare;
  bare.tasks = static_cast<std::uint64_t>(tasks);
  bare.rate = load * static_cast<double>(hosts) * kSpeed / kMeanFlops;
  bare.build_platform(static_cast<std::size_t>(hosts));
  bare.start();
  engine.run();

  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  std::printf("bare_s4u hosts=%ld tasks=%lld load=%g completed=%llu makespan=%.6f sim_end=%.6f wall_s=%.3f\n", hosts,
              tasks, load, static_cast<unsigned long long>(bare.finished), bare.last_end - bare.first_submit,
              sg4::Engine::get_clock(), wall);
  return bare.finished == bare.submitted ? 0 : 1;
}
