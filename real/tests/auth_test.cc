// Authentication on a shared secret (real/auth.h, docs/real/security.md): the secret file
// checks, the handshake state machines, the Connection's authentication phase in process,
// and the daemons on loopback — right, missing and wrong secrets for workers and clients,
// a fake scheduler the worker must refuse, replayed answers and garbage. Ports are picked
// by the kernel; every process started is killed and reaped.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <thread>

#include "real/auth.h"
#include "real/tests/loopback.h"
#include "real/client.h"
#include "real/connection.h"

extern char** environ;

namespace fulcrum::real {
namespace {

using namespace std::chrono_literals;

const std::string kSecretA = "correct horse battery staple A";
const std::string kSecretB = "correct horse battery staple B";

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/fulcrum-auth-test-XXXXXX";
    dir_ = ::mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(dir_); }
  // Writes `content` to NAME with `mode`; returns the path.
  std::string file(const std::string& name, const std::string& content, mode_t mode = 0600) const {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    ::chmod(path.c_str(), mode);
    return path;
  }
  const std::string& path() const { return dir_; }

 private:
  std::string dir_;
};

TEST(AuthSecretFile, PermissionsAndLengthAreChecked) {
  TempDir dir;
  auto expect_error = [](const std::string& path, const std::string& needle) {
    auto s = read_secret_file(path);
    ASSERT_FALSE(s.ok()) << path;
    EXPECT_NE(s.error().find(path), std::string::npos) << "names the file: " << s.error();
    EXPECT_NE(s.error().find(needle), std::string::npos) << s.error();
  };
  expect_error(dir.file("empty", ""), "empty");
  expect_error(dir.file("newline", "\n"), "empty");
  expect_error(dir.file("short", "fifteen bytes!!\n"), "at least 16");
  expect_error(dir.file("group", kSecretA, 0640), "chmod 600");
  expect_error(dir.file("world", kSecretA, 0604), "mode 0604");
  expect_error(dir.path() + "/missing", "cannot open");
  expect_error(dir.file("huge", std::string(10000, 'x')), "longer than");
  auto ok = read_secret_file(dir.file("ok", kSecretA + "\r\n", 0400));
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ(*ok, kSecretA);  // one trailing newline is not part of the secret
  auto exactly16 = read_secret_file(dir.file("sixteen", "0123456789abcdef"));
  ASSERT_TRUE(exactly16.ok()) << exactly16.error();

  const std::string generated = dir.path() + "/generated";
  auto made = write_secret_file(generated);
  ASSERT_TRUE(made.ok()) << made.error();
  EXPECT_EQ(made->size(), 64u);
  struct stat st {};
  ASSERT_EQ(::stat(generated.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = read_secret_file(generated);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(*back, *made);
  EXPECT_FALSE(write_secret_file(generated).ok()) << "never overwrites";
  auto other = write_secret_file(dir.path() + "/generated2");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*other, *made);
}

// Runs a whole handshake between two state machines; returns the first error.
std::string run_handshake(Handshake& server, Handshake& peer) {
  auto first = server.start();
  if (!first) return first.error();
  if (auto p = peer.start(); !p) return p.error();
  std::optional<Message> to_peer = std::move(*first), to_server;
  for (int i = 0; i < 4 && (to_peer || to_server); ++i) {
    if (to_peer) {
      auto r = peer.on_message(*to_peer);
      to_peer.reset();
      if (!r) return "peer: " + r.error();
      to_server = std::move(*r);
    }
    if (to_server) {
      auto r = server.on_message(*to_server);
      to_server.reset();
      if (!r) return "server: " + r.error();
      to_peer = std::move(*r);
    }
  }
  return "";
}

TEST(AuthHandshake, SameSecretAgreesOthersFail) {
  {
    Handshake server = Handshake::server(kSecretA), peer = Handshake::peer(kSecretA, AuthRole::kWorker);
    EXPECT_EQ(run_handshake(server, peer), "");
    EXPECT_TRUE(server.done());
    EXPECT_TRUE(peer.done());
    EXPECT_EQ(server.peer_role(), AuthRole::kWorker);
  }
  {
    Handshake server = Handshake::server(kSecretA), peer = Handshake::peer(kSecretB, AuthRole::kClient);
    const std::string error = run_handshake(server, peer);
    EXPECT_NE(error.find("server: authentication failed: wrong MAC"), std::string::npos) << error;
    EXPECT_FALSE(server.done());
  }
  {
    // A server that accepts any Auth but lacks the secret cannot prove itself.
    Handshake peer = Handshake::peer(kSecretA, AuthRole::kWorker);
    ASSERT_TRUE(peer.start().ok());
    auto auth = peer.on_message(Challenge{std::string(kNonceBytes, 'n')});
    ASSERT_TRUE(auth.ok() && *auth);
    const auto& a = std::get<Auth>(**auth);
    EXPECT_EQ(a.client_nonce.size(), kNonceBytes);
    auto bad = peer.on_message(AuthOk{server_mac(kSecretB, std::string(kNonceBytes, 'n'), a.client_nonce)});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().find("different secret"), std::string::npos) << bad.error();
    EXPECT_FALSE(peer.done());
  }
  {
    // Anything but the expected message is refused; so is a nonce of the wrong size.
    Handshake peer = Handshake::peer(kSecretA, AuthRole::kWorker);
    ASSERT_TRUE(peer.start().ok());
    EXPECT_FALSE(peer.on_message(Dispatch{}).ok());
    Handshake short_nonce = Handshake::peer(kSecretA, AuthRole::kWorker);
    ASSERT_TRUE(short_nonce.start().ok());
    EXPECT_FALSE(short_nonce.on_message(Challenge{"short"}).ok());
    Handshake server = Handshake::server(kSecretA);
    ASSERT_TRUE(server.start().ok());
    auto r = server.on_message(Register{{"w", "g", 1e9, 1, 0}, {}});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("expected Auth, got Register"), std::string::npos) << r.error();
  }
  {
    // An Auth answered on one handshake is worthless on another (fresh server nonce).
    Handshake server1 = Handshake::server(kSecretA), peer1 = Handshake::peer(kSecretA, AuthRole::kClient);
    auto challenge = server1.start();
    ASSERT_TRUE(challenge.ok() && *challenge);
    ASSERT_TRUE(peer1.start().ok());
    auto auth = peer1.on_message(**challenge);
    ASSERT_TRUE(auth.ok() && *auth);
    ASSERT_TRUE(server1.on_message(**auth).ok());
    Handshake server2 = Handshake::server(kSecretA);
    ASSERT_TRUE(server2.start().ok());
    EXPECT_FALSE(server2.on_message(**auth).ok());
    // Nor can the role be changed under the MAC.
    Handshake server3 = Handshake::server(kSecretA);
    auto challenge3 = server3.start();
    Handshake peer3 = Handshake::peer(kSecretA, AuthRole::kClient);
    ASSERT_TRUE(peer3.start().ok());
    auto auth3 = peer3.on_message(**challenge3);
    ASSERT_TRUE(auth3.ok() && *auth3);
    Auth forged = std::get<Auth>(**auth3);
    forged.role = AuthRole::kWorker;
    EXPECT_FALSE(server3.on_message(forged).ok());
  }
}

// Two Connections over loopback in this process.
struct Pair {
  asio::io_context io;
  std::shared_ptr<Connection> server, peer;
  Pair() {
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket a(io), b(io);
    b.connect(acceptor.local_endpoint());
    acceptor.accept(a);
    server = std::make_shared<Connection>(std::move(a));
    peer = std::make_shared<Connection>(std::move(b));
  }
};

TEST(AuthConnection, NothingPassesBeforeTheHandshakeAndHeldMessagesFollowIt) {
  Pair p;
  std::vector<std::string> at_server, at_peer;
  std::string server_closed = "open", peer_closed = "open";
  p.server->require_auth(kSecretA, true);
  p.peer->require_auth(kSecretA, false, AuthRole::kWorker);
  p.server->start([&](Message&& m) {
    at_server.emplace_back(message_name(m));
    p.server->send(Welcome{0, 1});
  }, [&](const std::string& r) { server_closed = r; });
  p.peer->start([&](Message&& m) {
    at_peer.emplace_back(message_name(m));
    p.peer->close("");
    p.server->close("");
  }, [&](const std::string& r) { peer_closed = r; });
  p.peer->send(Register{{"w", "g", 1e9, 1, 0}, {}});  // held until the scheduler proved itself
  p.io.run_for(5s);
  EXPECT_EQ(at_server, std::vector<std::string>{"Register"});
  EXPECT_EQ(at_peer, std::vector<std::string>{"Welcome"});
  EXPECT_EQ(p.server->peer_role(), AuthRole::kWorker);
}

TEST(AuthConnection, WrongSecretAndSilenceClose) {
  {
    Pair p;
    std::string server_closed = "open", peer_closed = "open";
    bool delivered = false;
    p.server->require_auth(kSecretA, true);
    p.peer->require_auth(kSecretB, false, AuthRole::kWorker);
    p.server->start([&](Message&&) { delivered = true; }, [&](const std::string& r) { server_closed = r; });
    p.peer->start([&](Message&&) { delivered = true; }, [&](const std::string& r) { peer_closed = r; });
    p.peer->send(Register{{"w", "g", 1e9, 1, 0}, {}});
    p.io.run_for(3s);
    EXPECT_FALSE(delivered);
    EXPECT_NE(server_closed.find("wrong MAC"), std::string::npos) << server_closed;
    EXPECT_NE(peer_closed, "open");
  }
  {
    // A peer that says nothing is closed when the timeout runs out.
    Pair p;
    std::string server_closed = "open";
    p.server->require_auth(kSecretA, true, AuthRole::kClient, 0.2);
    p.server->start([](Message&&) {}, [&](const std::string& r) { server_closed = r; });
    // The peer is never started: it reads nothing and says nothing.
    const auto t0 = std::chrono::steady_clock::now();
    p.io.run_for(3s);
    EXPECT_NE(server_closed.find("no handshake within 0.2 s"), std::string::npos) << server_closed;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  }
}

// --- The daemons, on loopback ---

class Processes {
 public:
  ~Processes() {
    for (auto& [name, pid] : pids_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  void spawn(const std::string& name, const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    ASSERT_EQ(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0) << args[0];
    pids_[name] = pid;
  }
  // Starts a scheduler with these extra arguments; returns "127.0.0.1:PORT".
  std::string scheduler(const TempDir& dir, const std::vector<std::string>& extra) {
    const std::string port_file = dir.path() + "/port";
    std::vector<std::string> args{FULCRUM_BINARY, "scheduler", "--listen", "127.0.0.1:0", "--journal",
                                  dir.path() + "/journal", "--port-file", port_file};
    args.insert(args.end(), extra.begin(), extra.end());
    spawn("scheduler", args);
    std::string text;
    for (auto deadline = std::chrono::steady_clock::now() + 10s; text.empty();) {
      if (std::ifstream in(port_file); in) in >> text;
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("the scheduler did not start");
      std::this_thread::sleep_for(5ms);
    }
    return "127.0.0.1:" + text;
  }
  void worker(const std::string& name, const std::string& endpoint, const std::vector<std::string>& extra) {
    std::vector<std::string> args{FULCRUM_BINARY, "worker", "--scheduler", endpoint, "--name", name};
    args.insert(args.end(), extra.begin(), extra.end());
    spawn(name, args);
  }
  // Runs the CLI to completion; returns its exit status.
  int run(const std::vector<std::string>& args) {
    spawn("cli", args);
    int status = 0;
    ::waitpid(pids_.at("cli"), &status, 0);
    pids_.erase("cli");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  std::map<std::string, pid_t> pids_;
};

int port_of(const std::string& endpoint) { return std::stoi(endpoint.substr(endpoint.rfind(':') + 1)); }

int connect_raw(int port) {
  const int fd = testing::connect_loopback(port);
  EXPECT_GE(fd, 0);
  return fd;
}

void send_raw(int fd, const Message& m) {
  std::string frame;
  encode_frame(m, frame);
  EXPECT_EQ(::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL), static_cast<ssize_t>(frame.size()));
}

// The next message on a raw socket; an Error "closed" on EOF or reset, "timeout" after
// `seconds`.
Expected<Message> read_raw(int fd, FrameReader& reader, double seconds = 5) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (;;) {
    auto next = reader.next();
    if (!next) return Error{next.error()};
    if (next->has_message) return std::move(next->message);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Error{"timeout"};
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return Error{"closed"};
    reader.feed(buffer, static_cast<std::size_t>(n));
  }
}

std::size_t count_workers(Client& c) {
  auto r = c.call(RecordsRequest{});
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
  return r.ok() ? std::get<RecordsReply>(*r).workers.size() : 0;
}

TEST(AuthReal, OnlyAWorkerWithTheRightSecretRegistersAndGetsTasks) {
  TempDir dir;
  const std::string a = dir.file("a.secret", kSecretA + "\n"), b = dir.file("b.secret", kSecretB + "\n");
  Processes procs;
  const std::string endpoint = procs.scheduler(dir, {"--secret-file", a});
  procs.worker("nosecret", endpoint, {});
  procs.worker("wrongkey", endpoint, {"--secret-file", b});
  auto client = Client::connect(endpoint, 5, kSecretA);
  ASSERT_TRUE(client.ok()) << client.error();
  auto submitted = (*client)->call(Submit{{{command_task("echo ran")}}});
  ASSERT_TRUE(submitted.ok()) << submitted.error();
  const std::uint64_t task = std::get<Submitted>(*submitted).first_task;
  // Both refused workers keep trying (with backoff); none registers, nothing is dispatched.
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(count_workers(**client), 0u);
  auto status = (*client)->call(StatusRequest{task, false});
  ASSERT_TRUE(status.ok()) << status.error();
  EXPECT_EQ(std::get<TaskStatus>(*status).state, "pending");
  EXPECT_EQ(std::get<TaskStatus>(*status).attempts, 0u);

  procs.worker("good", endpoint, {"--secret-file", a});
  auto done = (*client)->call(StatusRequest{task, true}, 30);
  ASSERT_TRUE(done.ok()) << done.error();
  const auto& s = std::get<TaskStatus>(*done);
  EXPECT_EQ(s.state, "finished");
  EXPECT_EQ(s.worker, "good");
  EXPECT_EQ(s.outcome.output, "ran\n");
  EXPECT_EQ(count_workers(**client), 1u);
}

TEST(AuthReal, AClientWithAWrongOrNoSecretCannotSubmit) {
  TempDir dir;
  const std::string a = dir.file("a.secret", kSecretA), b = dir.file("b.secret", kSecretB);
  const std::string loose = dir.file("loose.secret", kSecretA, 0644);
  Processes procs;
  const std::string endpoint = procs.scheduler(dir, {"--secret-file", a});

  auto wrong = Client::connect(endpoint, 5, kSecretB);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().find("closed"), std::string::npos) << wrong.error();
  auto none = Client::connect(endpoint, 5);
  ASSERT_TRUE(none.ok());  // TCP only: the scheduler speaks first
  auto refused = (*none)->call(Submit{{{command_task("touch " + dir.path() + "/pwned")}}});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("requires authentication"), std::string::npos) << refused.error();

  // The CLI: wrong key exits 1, a readable secret file is refused (2), the right key works.
  const std::string bin = FULCRUM_BINARY;
  EXPECT_EQ(procs.run({bin, "submit", "--scheduler", endpoint, "--secret-file", b, "--", "true"}), 1);
  EXPECT_EQ(procs.run({bin, "submit", "--scheduler", endpoint, "--", "true"}), 1);
  EXPECT_EQ(procs.run({bin, "submit", "--scheduler", endpoint, "--secret-file", loose, "--", "true"}), 2);
  auto good = Client::connect(endpoint, 5, kSecretA);
  ASSERT_TRUE(good.ok()) << good.error();
  auto records = (*good)->call(RecordsRequest{});
  ASSERT_TRUE(records.ok()) << records.error();
  EXPECT_TRUE(std::get<RecordsReply>(*records).tasks.empty()) << "no refused submission was accepted";
  EXPECT_EQ(procs.run({bin, "submit", "--scheduler", endpoint, "--secret-file", a, "--", "true"}), 0);
  EXPECT_EQ(procs.run({bin, "status", "0", "--scheduler", endpoint, "--secret-file", a}), 0);
  EXPECT_EQ(procs.run({bin, "status", "0", "--scheduler", endpoint, "--secret-file", b}), 1);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/pwned"));
  // A daemon refuses a bad secret file at start.
  EXPECT_EQ(procs.run({bin, "worker", "--scheduler", endpoint, "--secret-file", loose}), 2);
  EXPECT_EQ(procs.run({bin, "scheduler", "--journal", dir.path() + "/j2", "--secret-file", dir.file("e", "")}), 2);
}

TEST(AuthReal, AWorkerRefusesASchedulerThatCannotProveTheSecret) {
  TempDir dir;
  const std::string a = dir.file("a.secret", kSecretA);
  // A fake scheduler: it listens, challenges, accepts any Auth and then misbehaves.
  int listen_port = 0;
  const int listener = testing::listen_loopback(listen_port);
  ASSERT_GE(listener, 0);
  const std::string endpoint = "127.0.0.1:" + std::to_string(listen_port);
  Processes procs;
  procs.worker("victim", endpoint, {"--secret-file", a});
  auto accept_one = [&] {
    pollfd p{listener, POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 5000), 1) << "the worker (re)connects";
    return ::accept(listener, nullptr, nullptr);
  };
  const std::string nonce(kNonceBytes, 'n');
  // 1. AuthOk under another secret: the worker closes without registering.
  {
    const int fd = accept_one();
    FrameReader reader;
    send_raw(fd, Challenge{nonce});
    auto auth = read_raw(fd, reader);
    ASSERT_TRUE(auth.ok()) << auth.error();
    ASSERT_TRUE(std::holds_alternative<Auth>(*auth)) << message_name(*auth);
    const Auth& answer = std::get<Auth>(*auth);
    EXPECT_EQ(answer.role, AuthRole::kWorker);
    EXPECT_TRUE(macs_equal(answer.mac, client_mac(kSecretA, AuthRole::kWorker, nonce, answer.client_nonce)));
    send_raw(fd, AuthOk{server_mac(kSecretB, nonce, answer.client_nonce)});
    auto next = read_raw(fd, reader);
    ASSERT_FALSE(next.ok()) << "the worker sent " << message_name(*next);
    EXPECT_EQ(next.error(), "closed");
    ::close(fd);
  }
  // 2. A Dispatch instead of AuthOk: refused, never run.
  {
    const int fd = accept_one();
    FrameReader reader;
    send_raw(fd, Challenge{nonce});
    ASSERT_TRUE(read_raw(fd, reader).ok());
    send_raw(fd, Dispatch{1000, 0, command_task("touch " + dir.path() + "/pwned")});
    auto next = read_raw(fd, reader);
    ASSERT_FALSE(next.ok()) << "the worker sent " << message_name(*next);
    ::close(fd);
  }
  // 3. No challenge at all (a scheduler without a secret): the worker sends nothing.
  {
    const int fd = accept_one();
    FrameReader reader;
    auto next = read_raw(fd, reader, 1);
    ASSERT_FALSE(next.ok()) << "the worker sent " << message_name(*next);
    EXPECT_EQ(next.error(), "timeout");
    ::close(fd);
  }
  ::close(listener);
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/pwned"));
}

TEST(AuthReal, ReplayedAnswersGarbageAndWrongRolesAreRefused) {
  TempDir dir;
  const std::string a = dir.file("a.secret", kSecretA);
  Processes procs;
  const std::string endpoint = procs.scheduler(dir, {"--secret-file", a});
  const int port = port_of(endpoint);
  // A genuine handshake, recorded.
  Auth recorded;
  {
    const int fd = connect_raw(port);
    FrameReader reader;
    auto challenge = read_raw(fd, reader);
    ASSERT_TRUE(challenge.ok() && std::holds_alternative<Challenge>(*challenge));
    const std::string ns = std::get<Challenge>(*challenge).server_nonce;
    ASSERT_EQ(ns.size(), kNonceBytes);
    const std::string nc(kNonceBytes, 'c');
    recorded = Auth{AuthRole::kClient, nc, client_mac(kSecretA, AuthRole::kClient, ns, nc)};
    send_raw(fd, recorded);
    auto ok = read_raw(fd, reader);
    ASSERT_TRUE(ok.ok() && std::holds_alternative<AuthOk>(*ok)) << (ok.ok() ? message_name(*ok) : ok.error());
    EXPECT_TRUE(macs_equal(std::get<AuthOk>(*ok).mac, server_mac(kSecretA, ns, nc)));
    // Authenticated as a client: registering as a worker is refused.
    send_raw(fd, Register{{"sneaky", "g", 1e9, 1, 0}, {}});
    auto after = read_raw(fd, reader);
    ASSERT_FALSE(after.ok());
    EXPECT_EQ(after.error(), "closed");
    ::close(fd);
  }
  // The same Auth on a new connection (a new server nonce): closed, no AuthOk.
  {
    const int fd = connect_raw(port);
    FrameReader reader;
    ASSERT_TRUE(read_raw(fd, reader).ok());
    send_raw(fd, recorded);
    auto next = read_raw(fd, reader);
    ASSERT_FALSE(next.ok()) << "the scheduler sent " << message_name(*next);
    EXPECT_EQ(next.error(), "closed");
    ::close(fd);
  }
  // Skipping authentication, garbage, and a frame too large to be a handshake: closed.
  for (const std::string& bytes : {std::string("GET / HTTP/1.1\r\n\r\n"), std::string("\x00\x00\x10\x00", 4)}) {
    const int fd = connect_raw(port);
    FrameReader reader;
    ASSERT_TRUE(read_raw(fd, reader).ok());
    ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
    auto next = read_raw(fd, reader);
    ASSERT_FALSE(next.ok());
    EXPECT_EQ(next.error(), "closed");
    ::close(fd);
  }
  {
    const int fd = connect_raw(port);
    FrameReader reader;
    ASSERT_TRUE(read_raw(fd, reader).ok());
    send_raw(fd, Submit{{{command_task("true")}}});
    auto next = read_raw(fd, reader);
    ASSERT_FALSE(next.ok()) << "the scheduler sent " << message_name(*next);
    ::close(fd);
  }
  auto good = Client::connect(endpoint, 5, kSecretA);
  ASSERT_TRUE(good.ok()) << good.error();
  auto records = (*good)->call(RecordsRequest{});
  ASSERT_TRUE(records.ok()) << records.error();
  EXPECT_TRUE(std::get<RecordsReply>(*records).tasks.empty());
  EXPECT_TRUE(std::get<RecordsReply>(*records).workers.empty());
}

}  // namespace
}  // namespace fulcrum::real
