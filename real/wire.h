// fulcrum's wire protocol between the scheduler daemon, its workers and its clients.
//
// A frame is a 4-byte little-endian payload length followed by the payload; the payload
// starts with the protocol version (u8, kWireVersion) and the message type (u8), then the
// message's fields in the order of its field list below (real/wire.cc), in the binary form
// of core/codec.h. docs/real/wire-protocol.md has the table of messages.
//
// Decoding is strict and total: a frame longer than the limit, a truncated payload,
// trailing bytes, an unknown version or type, or an out-of-range enum is an Error with a
// reason; it never throws, crashes or reads out of bounds. A daemon closes the offending
// connection (and only it) on any such Error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/expected.h"
#include "core/records.h"
#include "core/job_spec.h"

namespace fulcrum::real {

inline constexpr std::uint8_t kWireVersion = 10;  // 2: TaskRecord carries flops and dispatched; 3: Retire;
                                                 // 4: Challenge, Auth, AuthOk (real/auth.h);
                                                 // 5: Submit carries request_id;
                                                 // 6: Register carries the whole WorkerSpec;
                                                 // 7: Submit and Dispatch carry JobSpec/TaskSpec;
                                                 // 8: TaskSpec and WorkerSpec carry resources,
                                                 //    labels, zone, require, spread;
                                                 //    records their requests and use,
                                                 //    TaskOutcome its reason;
                                                 // 9: TaskSpec's estimate, JobSpec's gang,
                                                 //    Dispatch's env
                                                 // 10: JobSpec's tenant and priority_class
inline constexpr std::uint32_t kDefaultMaxFrame = 16 * 1024 * 1024;

// --- worker -> scheduler ---
struct Register {                      // first message of a worker connection
  WorkerSpec worker;                   // as a scenario describes a host: the same description
  std::vector<std::uint64_t> running;  // tasks it still runs (reconciliation after a failover)
};
struct Heartbeat { std::uint32_t running = 0; };
struct TaskStarted { std::uint64_t task = 0; };
struct TaskDone {                      // finished (exit 0) or failed (anything else)
  std::uint64_t task = 0;
  TaskOutcome outcome;
};

// --- scheduler -> worker ---
struct Welcome { std::uint32_t worker = 0; std::uint64_t epoch = 0; };
struct Dispatch {  // spec.parents: job indices
  std::uint64_t epoch = 0;
  std::uint64_t task = 0;
  TaskSpec spec;
  // NAME=value pairs added to the task's environment: a gang member's FULCRUM_RANK,
  // FULCRUM_SIZE and FULCRUM_HOSTS (docs/backfilling.md).
  std::vector<std::string> env;
};
struct CancelTask { std::uint64_t epoch = 0; std::uint64_t task = 0; };
// The worker was drained and retired by the autoscaler: it stops and its process exits.
struct Retire { std::uint64_t epoch = 0; };

// --- client -> scheduler ---
// One job. A non-empty request_id (at most kMaxRequestId bytes) makes it idempotent: the
// scheduler answers a Submit whose id it has journaled with that job's ids, not a new job.
struct Submit {
  JobSpec job;
  std::string request_id;
};
inline constexpr std::size_t kMaxRequestId = 128;
struct StatusRequest { std::uint64_t task = 0; bool wait = false; };  // wait: reply when terminal
struct CancelRequest { std::uint64_t task = 0; };     // cancels the task's job
struct RecordsRequest {};
struct ShutdownRequest {};

// --- scheduler -> client ---
struct Submitted { std::uint64_t job = 0; std::uint64_t first_task = 0; std::uint32_t count = 0; };
struct TaskStatus {
  std::uint64_t task = 0;
  std::uint64_t job = 0;
  std::string state;       // core's TaskState name
  std::string worker;      // "" if never dispatched
  std::uint32_t attempts = 0;
  double submit = 0, start = -1, end = -1;
  TaskOutcome outcome;     // meaningful when finished or failed
};
struct RecordsReply {
  std::vector<TaskRecord> tasks;
  std::vector<WorkerRecord> workers;
  std::uint64_t tasks_retried = 0;
  double wasted_work = 0;  // slot-seconds of attempts that did not complete
};
struct Ack {};
struct ErrorReply { std::string message; };

// --- authentication (real/auth.h), before anything else when a secret is set ---
enum class AuthRole : std::uint8_t { kWorker = 0, kClient = 1 };
struct Challenge { std::string server_nonce; };  // scheduler -> peer, first message
struct Auth {                                     // peer -> scheduler, the answer
  AuthRole role = AuthRole::kWorker;
  std::string client_nonce;
  std::string mac;  // HMAC-SHA256(secret, "fulcrum-auth-v1" || role || server_nonce || client_nonce)
};
struct AuthOk { std::string mac; };               // HMAC-SHA256(secret, "fulcrum-auth-v1-server" || nonces)

using Message = std::variant<Register, Heartbeat, TaskStarted, TaskDone, Welcome, Dispatch, CancelTask, Submit,
                             StatusRequest, CancelRequest, RecordsRequest, ShutdownRequest, Submitted, TaskStatus,
                             RecordsReply, Ack, ErrorReply, Retire, Challenge, Auth, AuthOk>;

// The message's name, for logs.
std::string_view message_name(const Message& m);

// Appends one whole frame (length prefix included) to `out`.
void encode_frame(const Message& m, std::string& out);

// Decodes one payload (the bytes after the length prefix).
Expected<Message> decode_payload(std::string_view payload);

// Incremental framing over a byte stream: feed() what the socket gave, then next() until
// it yields nothing. After an Error the stream is unusable (close the connection).
class FrameReader {
 public:
  explicit FrameReader(std::uint32_t max_frame = kDefaultMaxFrame) : max_frame_(max_frame) {}
  void feed(const char* data, std::size_t n) { buffer_.append(data, n); }
  // A message, or an Error, or nullopt-like: ok() with has_message false when more bytes
  // are needed.
  struct Next {
    bool has_message = false;
    Message message;
  };
  Expected<Next> next();
  std::size_t buffered() const { return buffer_.size() - pos_; }
  // Before authentication a connection accepts only small frames.
  void set_max_frame(std::uint32_t max_frame) { max_frame_ = max_frame; }

 private:
  std::uint32_t max_frame_;
  std::string buffer_;
  std::size_t pos_ = 0;
};

}  // namespace fulcrum::real
