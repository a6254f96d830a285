#include "real/zk.h"

#include <zookeeper/zookeeper.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <sstream>
#include <thread>

namespace fulcrum::real {
namespace {

std::once_flag quiet_once;

Error zk_error(const std::string& path, const char* what, int rc) {
  return Error{"ZooKeeper " + path + ": " + what + ": " + zk_error_text(rc)};
}

struct ConnectWait {
  std::mutex mu;
  std::condition_variable cv;
};

}  // namespace

bool ZkEvent::is_session() const { return type == ZOO_SESSION_EVENT; }
bool ZkEvent::connected() const { return type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE; }
bool ZkEvent::session_lost() const {
  return type == ZOO_SESSION_EVENT && (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE);
}

int zk_no_node() { return ZNONODE; }
int zk_node_exists() { return ZNODEEXISTS; }
int zk_bad_version() { return ZBADVERSION; }
std::string zk_error_text(int rc) { return zerror(rc); }

Expected<bool> check_zk_root(const std::string& root) {
  if (root.size() < 2 || root[0] != '/' || root.back() == '/' || root.find("//") != std::string::npos) {
    return Error{"--zk-root: '" + root + "' is not a ZooKeeper path like /fulcrum"};
  }
  return true;
}

void ZkClient::watcher(zhandle_t*, int type, int state, const char* path, void* context) {
  auto* self = static_cast<ZkClient*>(context);
  if (type == ZOO_SESSION_EVENT) self->state_.store(state);
  if (self->on_event_) self->on_event_(ZkEvent{type, state, path ? path : ""});
}

Expected<std::unique_ptr<ZkClient>> ZkClient::connect(const std::string& hosts, double session_timeout,
                                                      double connect_timeout, EventFn on_event) {
  std::call_once(quiet_once, [] { zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR); });
  if (hosts.empty()) return Error{"--zk: no ZooKeeper hosts"};
  std::unique_ptr<ZkClient> client(new ZkClient());
  client->on_event_ = std::move(on_event);
  const int timeout_ms = static_cast<int>(std::lround(session_timeout * 1000));
  client->zh_ = zookeeper_init(hosts.c_str(), &ZkClient::watcher, timeout_ms, nullptr, client.get(), 0);
  if (!client->zh_) return Error{"--zk " + hosts + ": cannot start the ZooKeeper client"};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(connect_timeout);
  while (client->state_.load() != ZOO_CONNECTED_STATE) {
    const int s = client->state_.load();
    if (s == ZOO_EXPIRED_SESSION_STATE || s == ZOO_AUTH_FAILED_STATE) {
      return Error{"--zk " + hosts + ": session refused"};
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Error{"--zk " + hosts + ": no ZooKeeper server answered within " + std::to_string(connect_timeout) + " s"};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return client;
}

ZkClient::~ZkClient() {
  if (zh_) zookeeper_close(zh_);
}

double ZkClient::negotiated_timeout() const { return zoo_recv_timeout(zh_) / 1000.0; }
std::int64_t ZkClient::session_id() const {
  const clientid_t* id = zoo_client_id(zh_);
  return id ? id->client_id : 0;
}

Expected<std::string> ZkClient::create(const std::string& path, const std::string& data, int flags, int* rc) {
  std::string created(path.size() + 32, '\0');
  const int r = zoo_create(zh_, path.c_str(), data.data(), static_cast<int>(data.size()), &ZOO_OPEN_ACL_UNSAFE, flags,
                           created.data(), static_cast<int>(created.size()));
  if (rc) *rc = r;
  if (r != ZOK) return zk_error(path, "create", r);
  created.resize(std::char_traits<char>::length(created.c_str()));
  return created;
}

Expected<ZkClient::Node> ZkClient::get(const std::string& path, bool watch, int* rc) {
  // Batches are below 1 MB (jute.maxbuffer); grow once if a node is larger.
  for (int size = 64 * 1024;; size *= 16) {
    std::string buffer(static_cast<std::size_t>(size), '\0');
    int len = size;
    struct Stat stat{};
    const int r = zoo_get(zh_, path.c_str(), watch ? 1 : 0, buffer.data(), &len, &stat);
    if (rc) *rc = r;
    if (r != ZOK) return zk_error(path, "get", r);
    if (stat.dataLength > size) continue;
    buffer.resize(len < 0 ? 0 : static_cast<std::size_t>(len));
    return Node{std::move(buffer), stat.version};
  }
}

Expected<std::vector<std::string>> ZkClient::children(const std::string& path, bool watch, int* rc) {
  String_vector v{};
  const int r = zoo_get_children(zh_, path.c_str(), watch ? 1 : 0, &v);
  if (rc) *rc = r;
  if (r != ZOK) return zk_error(path, "children", r);
  std::vector<std::string> out(v.data, v.data + v.count);
  deallocate_String_vector(&v);
  return out;
}

Expected<bool> ZkClient::exists(const std::string& path, bool watch, int* rc) {
  struct Stat stat{};
  const int r = zoo_exists(zh_, path.c_str(), watch ? 1 : 0, &stat);
  if (rc) *rc = r;
  if (r == ZNONODE) return false;
  if (r != ZOK) return zk_error(path, "exists", r);
  return true;
}

Expected<std::int32_t> ZkClient::set(const std::string& path, const std::string& data, std::int32_t version, int* rc) {
  struct Stat stat{};
  const int r = zoo_set2(zh_, path.c_str(), data.data(), static_cast<int>(data.size()), version, &stat);
  if (rc) *rc = r;
  if (r != ZOK) return zk_error(path, "set", r);
  return stat.version;
}

Expected<bool> ZkClient::remove(const std::string& path, std::int32_t version, int* rc) {
  const int r = zoo_delete(zh_, path.c_str(), version);
  if (rc) *rc = r;
  if (r != ZOK) return zk_error(path, "delete", r);
  return true;
}

Expected<bool> ZkClient::ensure(const std::string& path, const std::string& data) {
  for (std::size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    const std::string prefix = slash == std::string::npos ? path : path.substr(0, slash);
    int rc = 0;
    auto made = create(prefix, slash == std::string::npos ? data : "", ZOO_PERSISTENT, &rc);
    if (!made && rc != ZNODEEXISTS) return Error{made.error()};
    if (slash == std::string::npos) return true;
  }
}

Expected<std::vector<std::string>> ZkClient::fenced_multi(const std::string& check_path, std::int32_t version,
                                                          const std::vector<Op>& ops, int* rc) {
  std::vector<zoo_op_t> zops(ops.size() + 1);
  std::vector<zoo_op_result_t> results(ops.size() + 1);
  std::vector<std::string> created(ops.size());
  std::vector<struct Stat> stats(ops.size());
  zoo_check_op_init(&zops[0], check_path.c_str(), version);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    switch (op.kind) {
      case Op::Kind::kRemove:
        zoo_delete_op_init(&zops[i + 1], op.path.c_str(), -1);
        break;
      case Op::Kind::kSet:
        zoo_set_op_init(&zops[i + 1], op.path.c_str(), op.data.data(), static_cast<int>(op.data.size()), -1, &stats[i]);
        break;
      case Op::Kind::kCreate:
        created[i].assign(op.path.size() + 32, '\0');
        zoo_create_op_init(&zops[i + 1], op.path.c_str(), op.data.data(), static_cast<int>(op.data.size()),
                           &ZOO_OPEN_ACL_UNSAFE, op.flags, created[i].data(), static_cast<int>(created[i].size()));
        break;
    }
  }
  // zoo_amulti and a wait, not zoo_multi: a synchronous multi outstanding when the
  // connection drops leaks its per-op completion entries in libzookeeper_mt 3.8 (only the
  // asynchronous path frees them, in cleanup_failed_multi); LeakSanitizer saw it.
  struct Done {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    int rc = 0;
  } done;
  const std::int64_t sent = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now().time_since_epoch())
                                .count();
  int r = zoo_amulti(
      zh_, static_cast<int>(zops.size()), zops.data(), results.data(),
      [](int rc, const void* data) {
        auto* d = static_cast<Done*>(const_cast<void*>(data));
        std::lock_guard<std::mutex> lock(d->mu);
        d->rc = rc;
        d->done = true;
        d->cv.notify_one();
      },
      &done);
  if (r == ZOK) {
    std::unique_lock<std::mutex> lock(done.mu);
    done.cv.wait(lock, [&] { return done.done; });
    r = done.rc;
  }
  // The server's own answers (not a lost connection, a timeout or a dead session).
  const bool answered = r == ZOK || r == ZNONODE || r == ZNODEEXISTS || r == ZBADVERSION || r == ZNOTEMPTY;
  if (answered && on_answered_) on_answered_(sent);
  // The multi's code is that of the first op that failed; a failed check is the fence.
  if (r != ZOK && results[0].err == ZBADVERSION) r = ZBADVERSION;
  if (rc) *rc = r;
  if (r == ZBADVERSION) {
    return Error{"ZooKeeper " + check_path + ": fenced: a newer leader took the epoch (version " +
                 std::to_string(version) + " is stale)"};
  }
  if (r != ZOK) return zk_error(ops.empty() ? check_path : ops[0].path, "multi", r);
  for (std::string& path : created) path.resize(std::strlen(path.c_str()));
  return created;
}

void ZkClient::ping(const std::string& path, std::function<void(bool ok)> done) {
  auto* ctx = new std::function<void(bool)>(std::move(done));
  const int r = zoo_aexists(zh_, path.c_str(), 0,
                            [](int rc, const struct Stat*, const void* data) {
                              auto* f = static_cast<std::function<void(bool)>*>(const_cast<void*>(data));
                              (*f)(rc == ZOK || rc == ZNONODE);
                              delete f;
                            },
                            ctx);
  if (r != ZOK) {
    (*ctx)(false);
    delete ctx;
  }
}

Expected<LeaderInfo> parse_leader(const std::string& data) {
  std::istringstream in(data);
  LeaderInfo info;
  if (!(in >> info.address >> info.epoch) || info.address.find(':') == std::string::npos) {
    return Error{"bad leader record '" + data + "'"};
  }
  return info;
}

Expected<LeaderInfo> find_leader(const std::string& hosts, const std::string& root, double timeout) {
  if (auto ok = check_zk_root(root); !ok) return Error{ok.error()};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
  auto zk = ZkClient::connect(hosts, 10, timeout);
  if (!zk) return Error{zk.error()};
  for (;;) {
    auto node = (*zk)->get(root + "/leader");
    if (node) return parse_leader(node->data);
    if (std::chrono::steady_clock::now() > deadline) {
      return Error{"no scheduler leads " + root + " in ZooKeeper " + hosts + " (" + node.error() + ")"};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace fulcrum::real
