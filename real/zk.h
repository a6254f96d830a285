// A small RAII wrapper of the ZooKeeper C client (libzookeeper_mt) for the real-mode
// daemons' high-availability mode (docs/real/ha-zookeeper.md).
//
// Threading: the C client runs its own I/O and completion threads. Every call here is
// synchronous (it blocks the calling thread for one round trip, as the file journal's
// fdatasync does) and may be made from any one thread at a time; NEVER from inside the
// event callback, which runs on the client's completion thread (a sync call there would
// wait for itself). The callback should only hand the event over, e.g. with asio::post
// onto the daemon's io_context, so that daemon state is touched on its own thread only.
//
// Watches: the `watch` flag of get/children/exists sets a one-shot watch whose event is
// delivered to the same callback as the session events.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/expected.h"

typedef struct _zhandle zhandle_t;

namespace fulcrum::real {

struct ZkEvent {
  int type = 0;    // ZOO_SESSION_EVENT, ZOO_CREATED_EVENT, ZOO_DELETED_EVENT, ZOO_CHANGED_EVENT, ZOO_CHILD_EVENT
  int state = 0;   // ZOO_CONNECTED_STATE, ZOO_CONNECTING_STATE, ZOO_EXPIRED_SESSION_STATE, ...
  std::string path;
  bool session_lost() const;  // expired, or authentication failed: the session is gone for good
  bool is_session() const;
  bool connected() const;     // a session event: (re)connected
};

// The C client's return codes that callers branch on (the values of ZNONODE, ...).
int zk_no_node();
int zk_node_exists();
int zk_bad_version();
std::string zk_error_text(int rc);

// Where ROOT is: "/" + words; refuses "", "/", a trailing '/'.
Expected<bool> check_zk_root(const std::string& root);

class ZkClient {
 public:
  using EventFn = std::function<void(const ZkEvent&)>;  // on the client's thread

  // Connects to HOSTS ("h1:p1,h2:p2"), waiting up to `connect_timeout` seconds for the
  // session. `session_timeout` is what is asked for; the server may round it into its
  // [2, 20] × tickTime range (see negotiated_timeout()).
  static Expected<std::unique_ptr<ZkClient>> connect(const std::string& hosts, double session_timeout,
                                                     double connect_timeout, EventFn on_event = {});
  ~ZkClient();  // closes the session (its ephemeral nodes go at once)
  ZkClient(const ZkClient&) = delete;
  ZkClient& operator=(const ZkClient&) = delete;

  struct Node {
    std::string data;
    std::int32_t version = 0;
  };
  // Each returns an Error "PATH: what: zerror text" and, if `rc` is given, the C code.
  Expected<std::string> create(const std::string& path, const std::string& data, int flags, int* rc = nullptr);
  Expected<Node> get(const std::string& path, bool watch = false, int* rc = nullptr);
  Expected<std::vector<std::string>> children(const std::string& path, bool watch = false, int* rc = nullptr);
  Expected<bool> exists(const std::string& path, bool watch = false, int* rc = nullptr);
  Expected<std::int32_t> set(const std::string& path, const std::string& data, std::int32_t version, int* rc = nullptr);
  Expected<bool> remove(const std::string& path, std::int32_t version = -1, int* rc = nullptr);
  // Creates PATH (and its parents) as persistent nodes if missing.
  Expected<bool> ensure(const std::string& path, const std::string& data = "");

  // A multi-op {check `check_path` is at `version`, then each op}: all or nothing. An op
  // creates PATH (data, flags), deletes it, or sets its data (any version). Returns the
  // path each op made ("" for deletes and sets): a sequential node's name.
  struct Op {
    enum class Kind { kCreate, kRemove, kSet };
    std::string path;
    std::string data;
    int flags = 0;
    Kind kind = Kind::kCreate;
  };
  Expected<std::vector<std::string>> fenced_multi(const std::string& check_path, std::int32_t version,
                                                  const std::vector<Op>& ops, int* rc = nullptr);

  // Called (on the calling thread) after each fenced_multi that the server answered, with
  // the steady_clock time in ns at which it was sent: the session was alive then. A leader
  // renews its lease from it during long runs of writes (a snapshot).
  void set_on_answered(std::function<void(std::int64_t sent_ns)> fn) { on_answered_ = std::move(fn); }

  // Starts an asynchronous exists(path); `done(ok)` runs on the client's thread.
  void ping(const std::string& path, std::function<void(bool ok)> done);

  double negotiated_timeout() const;  // seconds
  std::int64_t session_id() const;

 private:
  ZkClient() = default;
  static void watcher(zhandle_t* zh, int type, int state, const char* path, void* context);

  zhandle_t* zh_ = nullptr;
  EventFn on_event_;
  std::function<void(std::int64_t)> on_answered_;
  std::atomic<int> state_{0};
};

// "HOST:PORT EPOCH", the data of ROOT/leader.
struct LeaderInfo {
  std::string address;
  std::uint64_t epoch = 0;
};
Expected<LeaderInfo> parse_leader(const std::string& data);

// For clients: reads ROOT/leader, waiting (polling) up to `timeout` seconds for one.
Expected<LeaderInfo> find_leader(const std::string& hosts, const std::string& root, double timeout);

}  // namespace fulcrum::real
