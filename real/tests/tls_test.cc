// Identities, permissions and encrypted traffic (real/tls.h, real/certs.h, real/access.h,
// real/audit.h; docs/real/security.md): the CA and the access file on their own, then the
// daemons on loopback with mutual TLS — tenants scoped, roles enforced, a revoked
// certificate refused and its open connection cut, a client without a certificate told
// why, the bytes on the wire unreadable, and a scheduler or worker that would run
// unauthenticated beyond loopback refused unless --insecure. Ports are picked by the
// kernel, folders are unique to the process, every process started is killed and reaped;
// waits are for events (a reply, a closed connection), bounded only to fail rather than
// hang.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "real/access.h"
#include "real/audit.h"
#include "real/certs.h"
#include "real/client.h"
#include "real/tests/loopback.h"
#include "real/tls.h"

extern char** environ;

namespace fulcrum::real {
namespace {

using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/fulcrum-tls-test-XXXXXX";
    dir_ = ::mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(dir_); }
  std::string operator/(const std::string& name) const { return dir_ + "/" + name; }
  const std::string& path() const { return dir_; }

 private:
  std::string dir_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A CA with the identities every test uses.
void make_ca(const std::string& ca) {
  ASSERT_TRUE(certs_init(ca).ok());
  const std::vector<std::tuple<std::string, std::string, std::string>> ids = {
      {"scheduler", "scheduler", ""}, {"w1", "worker", ""},        {"alice", "submitter", "a"},
      {"bob", "submitter", "b"},      {"carol", "submitter", "a"}, {"ops", "operator", ""},
      {"dash", "viewer", ""}};
  for (const auto& [name, role, tenant] : ids) {
    auto issued = certs_issue(ca, name, role, tenant);
    ASSERT_TRUE(issued.ok()) << issued.error();
  }
}

TaskSpec command_task(const std::string& command) {
  TaskSpec t;
  t.kind = TaskKind::kCommand;
  t.command = command;
  return t;
}

// --- The CA and the access file ---

TEST(Certs, InitIssueRevokeLayOutTheFilesAndRefuseOverwrites) {
  TempDir dir;
  const std::string ca = dir / "ca";
  make_ca(ca);
  struct stat st {};
  ASSERT_EQ(::stat((ca + "/ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((ca + "/alice.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto alice = certificate_identity(slurp(ca + "/alice.crt"), "alice.crt");
  ASSERT_TRUE(alice.ok()) << alice.error();
  EXPECT_EQ(alice->name, "alice");
  // The access file lists every identity but the scheduler, with its role and tenant.
  auto access = load_access_file(ca + "/access.yaml");
  ASSERT_TRUE(access.ok()) << access.error();
  EXPECT_EQ(access->identities.size(), 6u);
  EXPECT_EQ(access->find("alice")->tenant, "a");
  EXPECT_EQ(access->find("w1")->role, AccessRole::kWorker);
  EXPECT_EQ(access->find("scheduler"), nullptr);
  // Nothing is overwritten.
  EXPECT_FALSE(certs_init(ca).ok());
  auto again = certs_issue(ca, "alice", "submitter", "a");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().find("exists already"), std::string::npos) << again.error();
  // Bad requests are refused with the flag's name.
  EXPECT_NE(certs_issue(ca, "x", "submitter").error().find("--tenant"), std::string::npos);
  EXPECT_NE(certs_issue(ca, "y", "admin").error().find("--role"), std::string::npos);
  EXPECT_NE(certs_issue(ca, "../evil", "worker").error().find("not an identity name"), std::string::npos);
  EXPECT_NE(certs_issue(dir / "nowhere", "z", "worker").error().find("certs init"), std::string::npos);
  // Revoking puts alice's serial, and only hers, in the CRL; twice is harmless.
  auto before = crl_serials(slurp(ca + "/ca.crl"), "ca.crl");
  ASSERT_TRUE(before.ok()) << before.error();
  EXPECT_TRUE(before->empty());
  ASSERT_TRUE(certs_revoke(ca, "alice").ok());
  ASSERT_TRUE(certs_revoke(ca, "alice").ok());
  auto after = crl_serials(slurp(ca + "/ca.crl"), "ca.crl");
  ASSERT_TRUE(after.ok()) << after.error();
  EXPECT_EQ(*after, std::set<std::string>{alice->serial});
}

TEST(Certs, BadFilesAreErrorsNamingThem) {
  TempDir dir;
  std::ofstream(dir / "junk.crt") << "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  std::ofstream(dir / "junk.key") << "junk";
  ::chmod((dir / "junk.key").c_str(), 0600);
  std::ofstream(dir / "ca.crt") << "junk";
  auto context = make_tls_context(tls_files_for(dir / "junk.crt"), TlsSide::kServer);
  ASSERT_FALSE(context.ok());
  EXPECT_NE(context.error().find(dir / "junk.crt"), std::string::npos) << context.error();
  auto missing = make_tls_context(tls_files_for(dir / "missing.crt"), TlsSide::kClient);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("missing.crt"), std::string::npos) << missing.error();
  EXPECT_FALSE(certificate_identity("garbage", "x.crt").ok());
  EXPECT_FALSE(crl_serials("garbage", "x.crl").ok());
  // A private key others can read is refused.
  const std::string ca = dir / "ca";
  make_ca(ca);
  ::chmod((ca + "/alice.key").c_str(), 0644);
  auto loose = make_tls_context(tls_files_for(ca + "/alice.crt"), TlsSide::kClient);
  ASSERT_FALSE(loose.ok());
  EXPECT_NE(loose.error().find("chmod 600"), std::string::npos) << loose.error();
}

TEST(Access, ParsesStrictlyAndNamesFileLineAndKey) {
  auto ok = parse_access("identities:\n  alice: {role: submitter, tenant: a}\n  ops: {role: operator}\n", "acc.yaml");
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ(ok->find("alice")->role, AccessRole::kSubmitter);
  EXPECT_TRUE(parse_access("", "acc.yaml").ok());  // empty: nobody may do anything
  auto expect_error = [](const std::string& text, const std::string& needle) {
    auto r = parse_access(text, "acc.yaml");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.error().find("acc.yaml"), std::string::npos) << r.error();
    EXPECT_NE(r.error().find(needle), std::string::npos) << r.error();
  };
  expect_error("identities:\n  alice: {role: admin}\n", "unknown role 'admin'");
  expect_error("identities:\n  alice: {role: submitter}\n", "needs a tenant");
  expect_error("identities:\n  ops: {role: operator, tenant: a}\n", "only a submitter has a tenant");
  expect_error("identities:\n  alice: {tenant: a}\n", "needs a role");
  expect_error("identities:\n  alice: {role: viewer, colour: red}\n", "acc.yaml:2: identities.alice.colour");
  expect_error("users: {}\n", "unknown key 'users'");
  expect_error("identities: [1, 2]\n", "expected a map");
  expect_error("identities:\n  'a b': {role: viewer}\n", "not an identity name");
  expect_error("identities: {alice: {role: viewer}\n", "not YAML");
  expect_error("[", "not YAML");
  // The round trip `fulcrum certs issue` relies on.
  auto again = parse_access(format_access(*ok), "x");
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(again->identities, ok->identities);
}

TEST(Access, RolesAllowWhatTheDocsSay) {
  using A = Action;
  for (A a : {A::kSubmit, A::kStatus, A::kWait, A::kCancel, A::kRecords, A::kShutdown}) {
    EXPECT_TRUE(role_allows(AccessRole::kOperator, a)) << action_name(a);
  }
  EXPECT_FALSE(role_allows(AccessRole::kOperator, A::kRegister));
  EXPECT_TRUE(role_allows(AccessRole::kSubmitter, A::kCancel));
  EXPECT_FALSE(role_allows(AccessRole::kSubmitter, A::kRecords));
  EXPECT_FALSE(role_allows(AccessRole::kSubmitter, A::kShutdown));
  EXPECT_FALSE(role_allows(AccessRole::kSubmitter, A::kRegister));
  EXPECT_TRUE(role_allows(AccessRole::kWorker, A::kRegister));
  for (A a : {A::kSubmit, A::kStatus, A::kWait, A::kCancel, A::kRecords, A::kShutdown}) {
    EXPECT_FALSE(role_allows(AccessRole::kWorker, a)) << action_name(a);
  }
  EXPECT_TRUE(role_allows(AccessRole::kViewer, A::kStatus));
  EXPECT_TRUE(role_allows(AccessRole::kViewer, A::kRecords));
  for (A a : {A::kSubmit, A::kCancel, A::kShutdown, A::kRegister}) {
    EXPECT_FALSE(role_allows(AccessRole::kViewer, a)) << action_name(a);
  }
}

// --- The daemons on loopback ---

class Processes {
 public:
  explicit Processes(const TempDir& dir) : dir_(dir) {}
  ~Processes() {
    for (auto& [name, pid] : pids_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  // Starts args with stderr to DIR/NAME.err.
  pid_t spawn(const std::string& name, const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string err = dir_ / (name + ".err");
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 1, (dir_ / (name + ".out")).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = 0;
    const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
    pids_[name] = pid;
    return pid;
  }
  std::string stderr_of(const std::string& name) const { return slurp(dir_ / (name + ".err")); }
  // Runs to completion; returns the exit status.
  int run(const std::string& name, const std::vector<std::string>& args) {
    const pid_t pid = spawn(name, args);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pids_.erase(name);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  // Starts a scheduler; returns "127.0.0.1:PORT" once it listens.
  std::string scheduler(const std::vector<std::string>& extra, const std::string& listen = "127.0.0.1:0") {
    const std::string port_file = dir_ / "port";
    std::vector<std::string> args{FULCRUM_BINARY, "scheduler", "--listen", listen, "--journal", dir_ / "journal",
                                  "--port-file", port_file};
    args.insert(args.end(), extra.begin(), extra.end());
    scheduler_ = spawn("scheduler", args);
    std::string text;
    for (auto deadline = std::chrono::steady_clock::now() + 20s; text.empty();) {
      if (std::ifstream in(port_file); in) in >> text;
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("the scheduler did not start");
      std::this_thread::sleep_for(5ms);
    }
    return "127.0.0.1:" + text;
  }
  pid_t scheduler_pid() const { return scheduler_; }

 private:
  const TempDir& dir_;
  std::map<std::string, pid_t> pids_;
  pid_t scheduler_ = -1;
};

std::shared_ptr<asio::ssl::context> client_tls(const std::string& ca, const std::string& name) {
  auto context = make_tls_context(tls_files_for(ca + "/" + name + ".crt"), TlsSide::kClient);
  if (!context) throw std::runtime_error(context.error());
  return *context;
}

std::unique_ptr<Client> connect_as(const std::string& endpoint, const std::string& ca, const std::string& name) {
  auto c = Client::connect(endpoint, 10, ClientCredentials{"", client_tls(ca, name)});
  if (!c) throw std::runtime_error(c.error());
  return std::move(*c);
}

// A TLS scheduler with worker w1 on a fresh CA in `dir`; returns its endpoint.
std::string tls_cluster(Processes& procs, const TempDir& dir) {
  const std::string ca = dir / "ca";
  make_ca(ca);
  const std::string endpoint =
      procs.scheduler({"--cert", ca + "/scheduler.crt", "--access", ca + "/access.yaml", "--verbose"});
  procs.spawn("w1", {FULCRUM_BINARY, "worker", "--scheduler", endpoint, "--name", "w1", "--cert", ca + "/w1.crt",
                     "--quiet", "--slots", "2"});
  return endpoint;
}

TEST(TlsReal, TenantsSeeWaitOnAndCancelOnlyTheirOwnJobs) {
  TempDir dir;
  Processes procs(dir);
  const std::string endpoint = tls_cluster(procs, dir);
  const std::string ca = dir / "ca";
  auto alice = connect_as(endpoint, ca, "alice");
  // Alice claims tenant b: the scheduler files the job under her identity's tenant, a.
  Submit submit{{{command_task("sleep 30")}}, "alice-1"};
  submit.job.tenant = "b";
  auto submitted = alice->call(submit);
  ASSERT_TRUE(submitted.ok()) << submitted.error();
  const std::uint64_t task = std::get<Submitted>(*submitted).first_task;

  auto bob = connect_as(endpoint, ca, "bob");
  for (const Message& m : {Message{StatusRequest{task, false}}, Message{StatusRequest{task, true}},
                           Message{CancelRequest{task}}}) {
    auto refused = bob->call(m, 30);
    ASSERT_FALSE(refused.ok()) << message_name(m);
    EXPECT_TRUE(bob->refused());
    EXPECT_NE(refused.error().find("belongs to another tenant"), std::string::npos) << refused.error();
  }
  // Bob's request id cannot reach Alice's job either.
  auto probe = bob->call(Submit{{{command_task("sleep 30")}}, "alice-1"});
  ASSERT_FALSE(probe.ok());
  // Alice and Carol (tenant a), the operator and the viewer see it; the viewer cannot cancel.
  for (const std::string who : {"alice", "carol", "ops", "dash"}) {
    auto c = connect_as(endpoint, ca, who);
    auto status = c->call(StatusRequest{task, false});
    ASSERT_TRUE(status.ok()) << who << ": " << status.error();
    EXPECT_NE(std::get<TaskStatus>(*status).state, "cancelled");
  }
  auto dash = connect_as(endpoint, ca, "dash");
  auto viewer_cancel = dash->call(CancelRequest{task});
  ASSERT_FALSE(viewer_cancel.ok());
  EXPECT_NE(viewer_cancel.error().find("'dash' (viewer) may not cancel"), std::string::npos) << viewer_cancel.error();
  auto viewer_records = dash->call(RecordsRequest{});
  ASSERT_TRUE(viewer_records.ok()) << viewer_records.error();
  auto bob_records = bob->call(RecordsRequest{});
  ASSERT_FALSE(bob_records.ok()) << "a submitter cannot read every tenant's records";
  // Carol, of tenant a, cancels; the task ends cancelled, and waiting on it works for Alice.
  auto carol = connect_as(endpoint, ca, "carol");
  auto cancelled = carol->call(CancelRequest{task});
  ASSERT_TRUE(cancelled.ok()) << cancelled.error();
  auto waited = alice->call(StatusRequest{task, true}, 60);
  ASSERT_TRUE(waited.ok()) << waited.error();
  EXPECT_EQ(std::get<TaskStatus>(*waited).state, "cancelled");

  // The audit trail names who asked, for what, and whether it was allowed.
  std::ostringstream out, err;
  auto printed = dump_audit(dir / "journal", true, out, err);
  ASSERT_TRUE(printed.ok()) << printed.error();
  const std::string trail = out.str();
  EXPECT_NE(trail.find(R"("who":"alice","role":"submitter","tenant":"a")"), std::string::npos) << trail;
  EXPECT_NE(trail.find(R"("who":"bob","role":"submitter","tenant":"b","peer")"), std::string::npos) << trail;
  EXPECT_NE(trail.find(R"("action":"cancel","target":"task )" + std::to_string(task) + R"(","accepted":false)"),
            std::string::npos)
      << trail;
  EXPECT_NE(trail.find(R"("who":"carol")"), std::string::npos) << trail;
  EXPECT_EQ(err.str(), "");
  // And the CLI prints it.
  EXPECT_EQ(procs.run("dump", {FULCRUM_BINARY, "journal", "dump", dir / "journal", "--audit"}), 0);
  EXPECT_NE(slurp(dir / "dump.out").find("Audit time="), std::string::npos);
}

TEST(TlsReal, RolesAreEnforcedWorkersCannotSubmitClientsCannotRegister) {
  TempDir dir;
  Processes procs(dir);
  const std::string endpoint = tls_cluster(procs, dir);
  const std::string ca = dir / "ca";
  auto w1 = connect_as(endpoint, ca, "w1");
  auto submitted = w1->call(Submit{{{command_task("touch " + (dir / "pwned"))}}});
  ASSERT_FALSE(submitted.ok());
  EXPECT_TRUE(w1->refused());
  EXPECT_NE(submitted.error().find("'w1' (worker) may not submit"), std::string::npos) << submitted.error();
  auto shutdown = connect_as(endpoint, ca, "alice")->call(ShutdownRequest{});
  ASSERT_FALSE(shutdown.ok());
  EXPECT_NE(shutdown.error().find("may not shutdown"), std::string::npos) << shutdown.error();
  // A submitter's certificate cannot register a worker: refused, and the connection closed.
  auto alice = connect_as(endpoint, ca, "alice");
  WorkerSpec spec{"fake", "real", 1e9, 4, 0};
  auto registered = alice->call(Register{spec, {}});
  ASSERT_FALSE(registered.ok());
  EXPECT_NE(registered.error().find("may not register"), std::string::npos) << registered.error();
  EXPECT_FALSE(alice->call(StatusRequest{0, false}).ok()) << "the connection was closed";
  // The CLI: the operator's submission runs on w1; the worker's is refused (exit 1).
  const std::string bin = FULCRUM_BINARY;
  EXPECT_EQ(procs.run("w1-submit", {bin, "submit", "--scheduler", endpoint, "--cert", ca + "/w1.crt", "--", "true"}), 1);
  EXPECT_NE(procs.stderr_of("w1-submit").find("may not submit"), std::string::npos);
  ASSERT_EQ(procs.run("ops-submit", {bin, "submit", "--scheduler", endpoint, "--cert", ca + "/ops.crt", "--", "true"}), 0);
  const std::string id = slurp(dir / "ops-submit.out");
  EXPECT_EQ(procs.run("ops-wait", {bin, "wait", "--scheduler", endpoint, "--cert", ca + "/ops.crt", id.substr(0, id.find('\n'))}), 0)
      << procs.stderr_of("ops-wait");
  EXPECT_FALSE(std::filesystem::exists(dir / "pwned"));
  // w1 ran the operator's task, so its registration is in the trail.
  std::ostringstream out, err;
  ASSERT_TRUE(dump_audit(dir / "journal", true, out, err).ok());
  EXPECT_NE(out.str().find(R"("who":"w1","role":"worker","tenant":"","peer")"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find(R"("action":"register","target":"w1","accepted":true)"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find(R"("who":"alice","role":"submitter","tenant":"a","peer")"), std::string::npos) << out.str();
}

TEST(TlsReal, ARevokedCertificateIsRefusedAndItsOpenConnectionCut) {
  TempDir dir;
  Processes procs(dir);
  const std::string endpoint = tls_cluster(procs, dir);
  const std::string ca = dir / "ca";
  auto bob = connect_as(endpoint, ca, "bob");
  auto carol = connect_as(endpoint, ca, "carol");
  auto alice = connect_as(endpoint, ca, "alice");
  ASSERT_TRUE(bob->call(Submit{{{command_task("true")}}}).ok());
  auto carols = carol->call(Submit{{{command_task("true")}}});
  ASSERT_TRUE(carols.ok()) << carols.error();
  const std::uint64_t carols_task = std::get<Submitted>(*carols).first_task;

  // Bob's certificate is revoked, Carol leaves the access file; SIGHUP reloads both.
  ASSERT_TRUE(certs_revoke(ca, "bob").ok());
  auto access = load_access_file(ca + "/access.yaml");
  ASSERT_TRUE(access.ok());
  access->identities.erase("carol");
  std::ofstream(ca + "/access.yaml") << format_access(*access);
  ASSERT_EQ(::kill(procs.scheduler_pid(), SIGHUP), 0);
  // Their open connections end (the reload may take a moment; no time is asserted).
  auto cut = [&](Client& c) {
    for (auto deadline = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < deadline;) {
      if (!c.call(StatusRequest{0, false}, 10).ok()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  };
  EXPECT_TRUE(cut(*bob)) << "bob's connection stayed open";
  EXPECT_TRUE(cut(*carol)) << "carol's connection stayed open";
  // Alice is untouched.
  auto still = alice->call(StatusRequest{carols_task, false});  // tenant a's
  EXPECT_TRUE(still.ok()) << still.error();
  // A new connection with Bob's certificate is refused in the handshake.
  auto again = Client::connect(endpoint, 10, ClientCredentials{"", client_tls(ca, "bob")});
  std::string why = again.ok() ? "" : again.error();
  if (again.ok()) {
    auto reply = (*again)->call(StatusRequest{0, false});
    ASSERT_FALSE(reply.ok()) << "a revoked certificate was served";
    why = reply.error();
  }
  EXPECT_NE(why.find("revoked"), std::string::npos) << why;
  auto carol_again = connect_as(endpoint, ca, "carol")->call(StatusRequest{0, false});
  ASSERT_FALSE(carol_again.ok());
  EXPECT_NE(carol_again.error().find("not in the access file"), std::string::npos) << carol_again.error();
  const std::string log = procs.stderr_of("scheduler");
  EXPECT_NE(log.find("certificate of 'bob' revoked"), std::string::npos) << log;
}

TEST(TlsReal, AClientWithoutACertificateIsToldWhy) {
  TempDir dir;
  Processes procs(dir);
  const std::string endpoint = tls_cluster(procs, dir);
  const std::string ca = dir / "ca";
  // TLS, verifying the scheduler, but no certificate of its own.
  auto anonymous = make_tls_context(TlsFiles{"", "", ca + "/ca.crt", ""}, TlsSide::kClient);
  ASSERT_TRUE(anonymous.ok()) << anonymous.error();
  auto c = Client::connect(endpoint, 10, ClientCredentials{"", *anonymous});
  ASSERT_TRUE(c.ok()) << c.error();
  auto reply = (*c)->call(Submit{{{command_task("true")}}});
  ASSERT_FALSE(reply.ok());
  EXPECT_TRUE((*c)->refused());
  EXPECT_NE(reply.error().find("requires a client certificate: pass --cert"), std::string::npos) << reply.error();
  // No TLS at all: the error says the scheduler may want TLS.
  auto plain = Client::connect(endpoint, 10);
  ASSERT_TRUE(plain.ok());
  auto plain_reply = (*plain)->call(Submit{{{command_task("true")}}});
  ASSERT_FALSE(plain_reply.ok());
  EXPECT_NE(plain_reply.error().find("--cert"), std::string::npos) << plain_reply.error();
  // The CLI with --ca only.
  EXPECT_EQ(procs.run("anon", {FULCRUM_BINARY, "submit", "--scheduler", endpoint, "--ca", ca + "/ca.crt", "--", "true"}), 1);
  EXPECT_NE(procs.stderr_of("anon").find("requires a client certificate"), std::string::npos) << procs.stderr_of("anon");
  // A certificate from another CA fails the handshake.
  ASSERT_TRUE(certs_init(dir / "other").ok());
  ASSERT_TRUE(certs_issue(dir / "other", "alice", "submitter", "a").ok());
  auto stranger = Client::connect(endpoint, 10, ClientCredentials{"", client_tls(dir / "other", "alice")});
  EXPECT_FALSE(stranger.ok()) << "another CA's scheduler certificate is not trusted";
}

TEST(TlsReal, OnlyASchedulerCertificateCanServe) {
  // A worker's certificate (clientAuth only) used to pose as a scheduler is refused by
  // clients and workers: they require serverAuth.
  TempDir dir;
  Processes procs(dir);
  const std::string ca = dir / "ca";
  make_ca(ca);
  const std::string endpoint = procs.scheduler({"--cert", ca + "/w1.crt", "--access", ca + "/access.yaml"});
  auto c = Client::connect(endpoint, 10, ClientCredentials{"", client_tls(ca, "alice")});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().find("unsuitable certificate purpose"), std::string::npos) << c.error();
}

// A TCP relay that records every byte between a client and the scheduler.
class Tap {
 public:
  explicit Tap(int upstream_port) : upstream_(upstream_port) {
    listener_ = testing::listen_loopback(port_);
    thread_ = std::thread([this] { run(); });
  }
  ~Tap() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string bytes() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  void run() {
    std::vector<std::pair<int, int>> pairs;
    while (!stop_) {
      std::vector<pollfd> fds{{listener_, POLLIN, 0}};
      for (auto [a, b] : pairs) {
        fds.push_back({a, POLLIN, 0});
        fds.push_back({b, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        const int in = ::accept(listener_, nullptr, nullptr);
        const int out = testing::connect_loopback(upstream_);
        if (in >= 0 && out >= 0) pairs.emplace_back(in, out);
      }
      std::vector<std::size_t> ended;
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        auto& [a, b] = pairs[(i - 1) / 2];
        const int from = (i % 2) ? a : b, to = (i % 2) ? b : a;
        char buffer[65536];
        const ssize_t n = ::recv(from, buffer, sizeof buffer, 0);
        if (n <= 0) {
          ended.push_back((i - 1) / 2);
          continue;
        }
        {
          std::lock_guard lock(mu_);
          seen_.append(buffer, static_cast<std::size_t>(n));
        }
        ::send(to, buffer, static_cast<std::size_t>(n), MSG_NOSIGNAL);
      }
      // Either end closing ends the pair (the tests' exchanges are request and reply).
      for (auto it = ended.rbegin(); it != ended.rend(); ++it) {
        if (*it >= pairs.size() || pairs[*it].first < 0) continue;
        ::close(pairs[*it].first);
        ::close(pairs[*it].second);
        pairs[*it] = {-1, -1};
      }
      std::erase(pairs, std::pair{-1, -1});
    }
    for (auto [a, b] : pairs) {
      ::close(a);
      ::close(b);
    }
  }
  int upstream_;
  int port_ = 0;
  int listener_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::string seen_;
  std::thread thread_;
};

TEST(TlsReal, TrafficOnTheWireIsNotReadable) {
  const std::string marker = "fulcrum-wire-marker-7f3a9c";
  auto submit_through_tap = [&](const std::string& endpoint, const ClientCredentials& credentials) {
    const int port = std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
    Tap tap(port);
    auto c = Client::connect(tap.endpoint(), 10, credentials);
    EXPECT_TRUE(c.ok()) << c.error();
    if (!c.ok()) return std::string();
    auto submitted = (*c)->call(Submit{{{command_task("echo " + marker + "-output")}}});
    EXPECT_TRUE(submitted.ok()) << submitted.error();
    if (!submitted.ok()) return std::string();
    auto done = (*c)->call(StatusRequest{std::get<Submitted>(*submitted).first_task, true}, 60);
    EXPECT_TRUE(done.ok()) << done.error();
    if (done.ok()) EXPECT_NE(std::get<TaskStatus>(*done).outcome.output.find(marker + "-output"), std::string::npos);
    return tap.bytes();
  };
  {
    TempDir dir;
    Processes procs(dir);
    const std::string endpoint = tls_cluster(procs, dir);
    const std::string bytes = submit_through_tap(endpoint, ClientCredentials{"", client_tls(dir / "ca", "ops")});
    ASSERT_GT(bytes.size(), 1000u) << "the tap saw the handshake and the frames";
    EXPECT_EQ(bytes.find(marker), std::string::npos) << "the command or its output is readable on the wire";
    EXPECT_EQ(bytes.find("echo"), std::string::npos);
  }
  {
    // The control: without TLS the same exchange shows the command and its output.
    TempDir dir;
    Processes procs(dir);
    const std::string endpoint = procs.scheduler({});
    procs.spawn("w1", {FULCRUM_BINARY, "worker", "--scheduler", endpoint, "--name", "w1", "--quiet"});
    const std::string bytes = submit_through_tap(endpoint, ClientCredentials{});
    EXPECT_NE(bytes.find("echo " + marker), std::string::npos) << "the tap works";
  }
}

TEST(SafeByDefault, BeyondLoopbackWithoutAuthenticationIsRefusedUnlessInsecure) {
  TempDir dir;
  Processes procs(dir);
  const std::string bin = FULCRUM_BINARY;
  EXPECT_EQ(procs.run("refused", {bin, "scheduler", "--listen", "0.0.0.0:0", "--journal", dir / "j1"}), 2);
  const std::string why = procs.stderr_of("refused");
  EXPECT_NE(why.find("refusing to listen beyond loopback without authentication"), std::string::npos) << why;
  EXPECT_NE(why.find("fulcrum certs init"), std::string::npos) << "says how to set it up: " << why;
  EXPECT_NE(why.find("--insecure"), std::string::npos) << why;
  EXPECT_FALSE(std::filesystem::exists(dir / "j1/journal.log")) << "refused before anything was written";
  // --cert needs --access.
  const std::string ca = dir / "ca";
  make_ca(ca);
  EXPECT_EQ(procs.run("no-access", {bin, "scheduler", "--listen", "0.0.0.0:0", "--journal", dir / "j2", "--cert",
                                    ca + "/scheduler.crt"}),
            2);
  EXPECT_NE(procs.stderr_of("no-access").find("--access"), std::string::npos);
  // A worker pointed beyond loopback without a certificate is refused too.
  EXPECT_EQ(procs.run("worker", {bin, "worker", "--scheduler", "192.0.2.1:7070", "--quiet"}), 2);
  EXPECT_NE(procs.stderr_of("worker").find("without authentication"), std::string::npos) << procs.stderr_of("worker");

  // --insecure starts, warns, and says so in /metrics.
  const std::string metrics_file = dir / "metrics-port";
  procs.scheduler({"--insecure", "--metrics-port", "0", "--metrics-host", "127.0.0.1", "--metrics-port-file", metrics_file},
                  "0.0.0.0:0");
  EXPECT_NE(procs.stderr_of("scheduler").find("WARNING: --insecure"), std::string::npos) << procs.stderr_of("scheduler");
  std::string port;
  for (auto deadline = std::chrono::steady_clock::now() + 20s; port.empty() && std::chrono::steady_clock::now() < deadline;) {
    if (std::ifstream in(metrics_file); in) in >> port;
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_FALSE(port.empty());
  const int fd = testing::connect_loopback(std::stoi(port));
  ASSERT_GE(fd, 0);
  const std::string get = "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd, get.data(), get.size(), MSG_NOSIGNAL), static_cast<ssize_t>(get.size()));
  std::string page;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) page.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  EXPECT_NE(page.find("\nfulcrum_insecure 1\n"), std::string::npos) << page.substr(0, 2000);
}

}  // namespace
}  // namespace fulcrum::real
