#include "real/wire.h"

#include <cstring>

#include "core/codec.h"

namespace fulcrum::real {

// Outside the unnamed namespace: the codec finds them by argument-dependent lookup.
// Each message's field list; the shared types (WorkerSpec, TaskSpec, JobSpec, TaskOutcome,
// TaskRecord, WorkerRecord) have theirs beside their definitions in core/.
template <class V> void fields(V& v, Register& m) {
  v.field("worker", m.worker);
  v.field("running", m.running);
}
template <class V> void fields(V& v, Heartbeat& m) { v.field("running", m.running); }
template <class V> void fields(V& v, TaskStarted& m) { v.field("task", m.task); }
template <class V> void fields(V& v, TaskDone& m) {
  v.field("task", m.task);
  v.field("outcome", m.outcome);
}
template <class V> void fields(V& v, Welcome& m) {
  v.field("worker", m.worker);
  v.field("epoch", m.epoch);
}
template <class V> void fields(V& v, Dispatch& m) {
  v.field("epoch", m.epoch);
  v.field("task", m.task);
  v.field("spec", m.spec);
  v.field("env", m.env);
}
template <class V> void fields(V& v, CancelTask& m) {
  v.field("epoch", m.epoch);
  v.field("task", m.task);
}
template <class V> void fields(V& v, Retire& m) { v.field("epoch", m.epoch); }
template <class V> void fields(V& v, Submit& m) {
  v.field("job", m.job);
  v.field("request_id", m.request_id);
}
template <class V> void fields(V& v, StatusRequest& m) {
  v.field("task", m.task);
  v.field("wait", m.wait);
}
template <class V> void fields(V& v, CancelRequest& m) { v.field("task", m.task); }
template <class V> void fields(V&, RecordsRequest&) {}
template <class V> void fields(V&, ShutdownRequest&) {}
template <class V> void fields(V& v, Submitted& m) {
  v.field("job", m.job);
  v.field("first_task", m.first_task);
  v.field("count", m.count);
}
template <class V> void fields(V& v, TaskStatus& m) {
  v.field("task", m.task);
  v.field("job", m.job);
  v.field("state", m.state);
  v.field("worker", m.worker);
  v.field("attempts", m.attempts);
  v.field("submit", m.submit);
  v.field("start", m.start);
  v.field("end", m.end);
  v.field("outcome", m.outcome);
}
template <class V> void fields(V& v, RecordsReply& m) {
  v.field("tasks", m.tasks);
  v.field("workers", m.workers);
  v.field("tasks_retried", m.tasks_retried);
  v.field("wasted_work", m.wasted_work);
}
template <class V> void fields(V&, Ack&) {}
template <class V> void fields(V& v, ErrorReply& m) { v.field("message", m.message); }
template <class V> void fields(V& v, Challenge& m) { v.field("server_nonce", m.server_nonce); }
template <class V> void fields(V& v, Auth& m) {
  v.enumeration("role", m.role, AuthRole::kClient);
  v.field("client_nonce", m.client_nonce);
  v.field("mac", m.mac);
}
template <class V> void fields(V& v, AuthOk& m) { v.field("mac", m.mac); }

namespace {


constexpr const char* kNames[] = {"Register", "Heartbeat", "TaskStarted", "TaskDone", "Welcome", "Dispatch",
                                  "CancelTask", "Submit", "StatusRequest", "CancelRequest", "RecordsRequest",
                                  "ShutdownRequest", "Submitted", "TaskStatus", "RecordsReply", "Ack", "ErrorReply",
                                  "Retire", "Challenge", "Auth", "AuthOk"};
static_assert(std::size(kNames) == std::variant_size_v<Message>);

// Decodes the alternative with index I, found at run time by recursion over the indices.
template <std::size_t I = 0>
Expected<Message> decode_alternative(std::size_t type, BinaryReader& d) {
  if constexpr (I == std::variant_size_v<Message>) {
    return Error{"unknown message type " + std::to_string(type)};
  } else {
    if (type != I) return decode_alternative<I + 1>(type, d);
    std::variant_alternative_t<I, Message> m;
    d.get_struct(m);
    if (d.failed()) return Error{std::string(kNames[I]) + ": " + d.error()};
    if (!d.at_end()) return Error{std::string(kNames[I]) + ": trailing bytes after the message"};
    return Message{std::move(m)};
  }
}

}  // namespace

std::string_view message_name(const Message& m) { return kNames[m.index()]; }

void encode_frame(const Message& m, std::string& out) {
  const std::size_t start = out.size();
  out.append(4, '\0');
  BinaryWriter e(out);
  e.put(kWireVersion);
  e.put(static_cast<std::uint8_t>(m.index()));
  std::visit([&](const auto& msg) { e.put_struct(msg); }, m);
  const auto length = static_cast<std::uint32_t>(out.size() - start - 4);
  std::memcpy(out.data() + start, &length, 4);
}

Expected<Message> decode_payload(std::string_view payload) {
  if (payload.size() < 2) return Error{"payload shorter than its header"};
  const auto version = static_cast<std::uint8_t>(payload[0]);
  if (version != kWireVersion) {
    return Error{"protocol version " + std::to_string(version) + ", expected " + std::to_string(kWireVersion)};
  }
  BinaryReader d(payload.substr(2));
  return decode_alternative(static_cast<std::uint8_t>(payload[1]), d);
}

Expected<FrameReader::Next> FrameReader::next() {
  if (buffered() < 4) return Next{};
  std::uint32_t length = 0;
  std::memcpy(&length, buffer_.data() + pos_, 4);
  if (length > max_frame_) {
    return Error{"frame of " + std::to_string(length) + " bytes exceeds the limit of " + std::to_string(max_frame_)};
  }
  if (buffered() < 4 + static_cast<std::size_t>(length)) return Next{};
  auto message = decode_payload(std::string_view(buffer_).substr(pos_ + 4, length));
  pos_ += 4 + length;
  // Compact once the consumed prefix dominates, so the buffer does not grow forever.
  if (pos_ > 65536 && pos_ * 2 > buffer_.size()) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  if (!message) return Error{message.error()};
  return Next{true, std::move(*message)};
}

}  // namespace fulcrum::real
