#include "real/wire.h"

#include <cstring>
#include <type_traits>

namespace fulcrum::real {
namespace {

// One description of each message's fields serves both directions: `io.field(x)` writes
// x when encoding and reads into x when decoding.
template <class IO> void fields(IO& io, TaskDesc& d) {
  io.enumeration(d.kind, TaskKind::kSleep);
  io.field(d.command);
  io.field(d.flops);
  io.field(d.timeout);
  io.field(d.parents);
}
template <class IO> void fields(IO& io, TaskOutcome& o) {
  io.field(o.exit_code);
  io.field(o.output);
}
template <class IO> void fields(IO& io, TaskRecord& t) {
  io.field(t.id);
  io.field(t.job);
  io.field(t.flops);
  io.field(t.submit);
  io.field(t.dispatched);
  io.field(t.start);
  io.field(t.end);
  io.field(t.worker);
  io.field(t.attempts);
  io.enumeration(t.state, TaskState::kCancelled);
}
template <class IO> void fields(IO& io, WorkerRecord& w) {
  io.field(w.name);
  io.field(w.group);
  io.field(w.speed);
  io.field(w.slots);
  io.field(w.tasks);
  io.field(w.busy_time);
  io.field(w.utilisation);
}
template <class IO> void fields(IO& io, WorkerSpec& w) {
  io.field(w.name);
  io.field(w.group);
  io.field(w.speed);
  io.field(w.slots);
  io.field(w.weight);
}
template <class IO> void fields(IO& io, Register& m) {
  io.nested(m.worker);
  io.field(m.running);
}
template <class IO> void fields(IO& io, Heartbeat& m) { io.field(m.running); }
template <class IO> void fields(IO& io, TaskStarted& m) { io.field(m.task); }
template <class IO> void fields(IO& io, TaskDone& m) {
  io.field(m.task);
  io.nested(m.outcome);
}
template <class IO> void fields(IO& io, Welcome& m) {
  io.field(m.worker);
  io.field(m.epoch);
}
template <class IO> void fields(IO& io, Dispatch& m) {
  io.field(m.epoch);
  io.field(m.task);
  io.nested(m.desc);
}
template <class IO> void fields(IO& io, CancelTask& m) {
  io.field(m.epoch);
  io.field(m.task);
}
template <class IO> void fields(IO& io, Retire& m) { io.field(m.epoch); }
template <class IO> void fields(IO& io, Submit& m) {
  io.field(m.tasks);
  io.field(m.request_id);
}
template <class IO> void fields(IO& io, StatusRequest& m) {
  io.field(m.task);
  io.field(m.wait);
}
template <class IO> void fields(IO& io, CancelRequest& m) { io.field(m.task); }
template <class IO> void fields(IO&, RecordsRequest&) {}
template <class IO> void fields(IO&, ShutdownRequest&) {}
template <class IO> void fields(IO& io, Submitted& m) {
  io.field(m.job);
  io.field(m.first_task);
  io.field(m.count);
}
template <class IO> void fields(IO& io, TaskStatus& m) {
  io.field(m.task);
  io.field(m.job);
  io.field(m.state);
  io.field(m.worker);
  io.field(m.attempts);
  io.field(m.submit);
  io.field(m.start);
  io.field(m.end);
  io.nested(m.outcome);
}
template <class IO> void fields(IO& io, RecordsReply& m) {
  io.field(m.tasks);
  io.field(m.workers);
  io.field(m.tasks_retried);
  io.field(m.wasted_work);
}
template <class IO> void fields(IO&, Ack&) {}
template <class IO> void fields(IO& io, ErrorReply& m) { io.field(m.message); }
template <class IO> void fields(IO& io, Challenge& m) { io.field(m.server_nonce); }
template <class IO> void fields(IO& io, Auth& m) {
  io.enumeration(m.role, AuthRole::kClient);
  io.field(m.client_nonce);
  io.field(m.mac);
}
template <class IO> void fields(IO& io, AuthOk& m) { io.field(m.mac); }

template <class T> constexpr bool kIsScalar = std::is_arithmetic_v<T>;

class Encoder {
 public:
  explicit Encoder(std::string& out) : out_(out) {}
  template <class T> void field(const T& v) {
    if constexpr (kIsScalar<T>) {
      char bytes[sizeof(T)];
      std::memcpy(bytes, &v, sizeof(T));  // x86-64 and aarch64 are little-endian
      out_.append(bytes, sizeof(T));
    } else if constexpr (std::is_same_v<T, std::string>) {
      field(static_cast<std::uint32_t>(v.size()));
      out_ += v;
    } else if constexpr (requires { v.begin(); }) {
      field(static_cast<std::uint32_t>(v.size()));
      for (const auto& item : v) field(item);
    } else {
      nested(v);
    }
  }
  template <class T> void nested(const T& v) { fields(*this, const_cast<T&>(v)); }
  template <class E> void enumeration(const E& e, E) { field(static_cast<std::uint8_t>(e)); }

 private:
  std::string& out_;
};

class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  template <class T> void field(T& v) {
    if (failed_) return;
    if constexpr (std::is_same_v<T, bool>) {
      std::uint8_t b = 0;
      field(b);
      if (b > 1) fail("a boolean is neither 0 nor 1");
      v = b == 1;
    } else if constexpr (kIsScalar<T>) {
      if (in_.size() - pos_ < sizeof(T)) return fail("truncated payload");
      std::memcpy(&v, in_.data() + pos_, sizeof(T));
      pos_ += sizeof(T);
    } else if constexpr (std::is_same_v<T, std::string>) {
      std::uint32_t n = 0;
      field(n);
      if (failed_) return;
      if (in_.size() - pos_ < n) return fail("a string runs past the end of the payload");
      v.assign(in_.data() + pos_, n);
      pos_ += n;
    } else if constexpr (requires { v.emplace_back(); }) {
      std::uint32_t n = 0;
      field(n);
      // Every item takes at least one byte: a count beyond the remaining bytes is a lie,
      // refused before it can make us allocate.
      if (failed_ || n > in_.size() - pos_) return fail("a list count runs past the end of the payload");
      v.clear();
      v.reserve(n);
      for (std::uint32_t i = 0; i < n && !failed_; ++i) field(v.emplace_back());
    } else {
      nested(v);
    }
  }
  template <class T> void nested(T& v) { fields(*this, v); }
  template <class E> void enumeration(E& e, E max) {
    std::uint8_t b = 0;
    field(b);
    if (b > static_cast<std::uint8_t>(max)) return fail("enum value " + std::to_string(b) + " out of range");
    e = static_cast<E>(b);
  }
  void fail(std::string why) {
    if (!failed_) error_ = std::move(why);
    failed_ = true;
  }
  bool failed() const { return failed_; }
  bool at_end() const { return pos_ == in_.size(); }
  const std::string& error() const { return error_; }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
  bool failed_ = false;
  std::string error_;
};

constexpr const char* kNames[] = {"Register", "Heartbeat", "TaskStarted", "TaskDone", "Welcome", "Dispatch",
                                  "CancelTask", "Submit", "StatusRequest", "CancelRequest", "RecordsRequest",
                                  "ShutdownRequest", "Submitted", "TaskStatus", "RecordsReply", "Ack", "ErrorReply",
                                  "Retire", "Challenge", "Auth", "AuthOk"};
static_assert(std::size(kNames) == std::variant_size_v<Message>);

// Decodes the alternative with index I, found at run time by recursion over the indices.
template <std::size_t I = 0>
Expected<Message> decode_alternative(std::size_t type, Decoder& d) {
  if constexpr (I == std::variant_size_v<Message>) {
    return Error{"unknown message type " + std::to_string(type)};
  } else {
    if (type != I) return decode_alternative<I + 1>(type, d);
    std::variant_alternative_t<I, Message> m;
    fields(d, m);
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
  Encoder e(out);
  e.field(kWireVersion);
  e.field(static_cast<std::uint8_t>(m.index()));
  std::visit([&](const auto& msg) { e.nested(msg); }, m);
  const auto length = static_cast<std::uint32_t>(out.size() - start - 4);
  std::memcpy(out.data() + start, &length, 4);
}

Expected<Message> decode_payload(std::string_view payload) {
  if (payload.size() < 2) return Error{"payload shorter than its header"};
  const auto version = static_cast<std::uint8_t>(payload[0]);
  if (version != kWireVersion) {
    return Error{"protocol version " + std::to_string(version) + ", expected " + std::to_string(kWireVersion)};
  }
  Decoder d(payload.substr(2));
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
