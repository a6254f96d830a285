// Test fixture: ZooKeeper servers as plain java processes on free loopback ports (Debian's
// zookeeper package; see /work/shared/TOOLCHAIN.md). Reusable by any test:
//
//   fulcrum::real::testing::ZkServer zk;          // standalone, ready (ruok -> imok)
//   zk.hosts();                                   // "127.A.B.C:PORT" (own_loopback_address())
//   fulcrum::real::testing::ZkEnsemble three(3);  // a quorum; hosts() lists all of them
//   three.kill(i); three.restart(i);
//
// tickTime is 250 ms so that sessions can be as short as 0.5 s (the server allows
// [2, 20] x tickTime; the HA tests use 2 s). Each server is SIGKILLed at the end and
// reaped (waitpid), so its port and files are free afterwards. Throws std::runtime_error
// when a server does not answer within 20 s (its log is in the message).
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace fulcrum::real::testing {

// A loopback address of this process's own: 127.64.0.0 + pid (pid_max is at most 2^22, so
// it lies in 127.64.0.0-127.127.255.255, and no two live processes share one). ZooKeeper
// needs its ports before it starts (they are in zoo.cfg); a port that was free on 127.0.0.1
// a moment ago could be taken by another test process (ctest -j runs each test as its own
// process) before java binds it. Nobody else binds this address.
inline std::string own_loopback_address() {
  const unsigned pid = static_cast<unsigned>(::getpid());
  return "127." + std::to_string(64 + ((pid >> 16) & 63)) + "." + std::to_string((pid >> 8) & 255) + "." +
         std::to_string(pid & 255);
}

inline sockaddr_in own_loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, own_loopback_address().c_str(), &a.sin_addr);
  return a;
}

// A port of own_loopback_address() that is free, below the kernel's ephemeral range (so that
// no bind to port 0 or connect() of another process can take it before the server binds it),
// and not returned before by this process.
inline int free_port() {
  static int next = 20000;
  int ephemeral_low = 32768;
  if (std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range"); range) range >> ephemeral_low;
  for (; next < ephemeral_low; ++next) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = own_loopback(next);
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (free) return next++;
  }
  throw std::runtime_error("no free port below " + std::to_string(ephemeral_low));
}

// Sends a four-letter word to own_loopback_address():port; returns the answer ("" if none).
inline std::string four_letter(int port, const char* word) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = own_loopback(port);
  // A peer that accepts but never answers (another process that took the port) must not
  // hang the caller: reads give up after a second.
  timeval timeout{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::write(fd, word, std::strlen(word)) > 0) {
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

// Spawns argv with stdout and stderr appended to `log` (if not empty).
inline pid_t spawn_logged(const std::vector<std::string>& args, const std::string& log = "") {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!log.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  }
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
  return pid;
}

// SIGKILL (SIGCONT first, for a stopped one) and reap: the pid is gone, not a zombie.
inline void kill_and_reap(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  ::kill(pid, SIGCONT);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

class ZkEnsemble {
 public:
  // n == 1: a standalone server; n >= 3: a quorum on loopback.
  explicit ZkEnsemble(int n = 1, int tick_ms = 250) {
    char pattern[] = "/tmp/fulcrum-zk-XXXXXX";
    if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp");
    dir_ = pattern;
    for (int i = 0; i < n; ++i) nodes_.push_back(Node{free_port(), free_port(), free_port(), -1});
    for (int i = 0; i < n; ++i) {
      const std::string data = dir_ + "/" + std::to_string(i + 1);
      std::filesystem::create_directories(data);
      std::ofstream(data + "/myid") << i + 1 << "\n";
      std::ofstream cfg(data + "/zoo.cfg");
      cfg << "tickTime=" << tick_ms << "\ninitLimit=20\nsyncLimit=10\ndataDir=" << data << "\nclientPort="
          << nodes_[i].client << "\nclientPortAddress=" << own_loopback_address() << "\nadmin.enableServer=false\n"
          << "4lw.commands.whitelist=ruok,srvr,stat,mntr\n";
      if (n > 1) {
        for (int k = 0; k < n; ++k) {
          cfg << "server." << k + 1 << "=" << own_loopback_address() << ":" << nodes_[k].peer << ":"
              << nodes_[k].election << "\n";
        }
      }
    }
    try {
      for (int i = 0; i < n; ++i) start(i);
      for (int i = 0; i < n; ++i) wait_ready(i);
    } catch (...) {
      stop_all();
      throw;
    }
  }
  ~ZkEnsemble() {
    stop_all();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ZkEnsemble(const ZkEnsemble&) = delete;
  ZkEnsemble& operator=(const ZkEnsemble&) = delete;

  std::string hosts() const {
    std::string h;
    for (const Node& node : nodes_) h += (h.empty() ? "" : ",") + own_loopback_address() + ":" + std::to_string(node.client);
    return h;
  }
  int client_port(int i) const { return nodes_[i].client; }
  void kill(int i) {
    kill_and_reap(nodes_[i].pid);
    nodes_[i].pid = -1;
  }
  void restart(int i) {
    start(i);
    wait_ready(i);
  }

 private:
  struct Node {
    int client, peer, election;
    pid_t pid;
  };
  void start(int i) {
    const std::string data = dir_ + "/" + std::to_string(i + 1);
    nodes_[i].pid = spawn_logged(
        {"java", "-Xmx256m", "-cp",
         "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar",
         "-Dzookeeper.log.dir=" + data, "-Dzookeeper.root.logger=WARN,CONSOLE",
         "org.apache.zookeeper.server.quorum.QuorumPeerMain", data + "/zoo.cfg"},
        data + "/server.log");
  }
  void wait_ready(int i) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    // A quorum member says imok before it has a quorum; srvr names its mode once it serves.
    while (four_letter(nodes_[i].client, "ruok") != "imok" ||
           (nodes_.size() > 1 && four_letter(nodes_[i].client, "srvr").find("Mode:") == std::string::npos)) {
      if (std::chrono::steady_clock::now() > deadline) {
        std::ifstream in(dir_ + "/" + std::to_string(i + 1) + "/server.log");
        std::stringstream log;
        log << in.rdbuf();
        throw std::runtime_error("ZooKeeper server " + std::to_string(i + 1) + " did not start:\n" + log.str());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  void stop_all() {
    for (Node& node : nodes_) {
      kill_and_reap(node.pid);
      node.pid = -1;
    }
  }

  std::string dir_;
  std::vector<Node> nodes_;
};

using ZkServer = ZkEnsemble;  // ZkServer zk; is a standalone server

}  // namespace fulcrum::real::testing
