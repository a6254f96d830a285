#include "real/wire.h"

#include <gtest/gtest.h>

#include "core/random.h"

namespace fulcrum::real {
namespace {

std::vector<Message> samples() {
  TaskSpec cmd = command_task("echo 'hi'\n\x01\x02", 2.5);
  TaskSpec burn = synthetic_task(TaskKind::kBurn, 3e9, 0, {0, 1});
  burn.parent_bytes = {1e6, 0};
  burn.parent_comm = {-1, 0.5};
  burn.cost = {{"w-0", 2.5}, {"w-1", 0}};
  burn.priority = 7.5;
  burn.name = "stage-2";
  TaskStatus status{9, 2, "finished", "w-1", 2, 1.5, 2.5, 3.5, {3, std::string("out\0put", 7)}};
  RecordsReply records;
  records.tasks.push_back({1, 0, 2e9, 0.5, 0.75, 1.0, 2.0, 3, 1, TaskState::kFinished});
  records.workers.push_back({"w-0", "w", 1e9, 2, 10, 5.5, 0.25});
  records.tasks_retried = 4;
  return {Register{{"w-0", "fast", 2e9, 4, 3}, {7, 8}},
          Heartbeat{3},
          TaskStarted{42},
          TaskDone{42, {-9, "killed"}},
          Welcome{5, 77},
          Dispatch{77, 42, cmd},
          CancelTask{77, 42},
          Submit{{{cmd, burn}, "job-a"}, "request-7"},
          StatusRequest{42, true},
          CancelRequest{42},
          RecordsRequest{},
          ShutdownRequest{},
          Submitted{3, 100, 2},
          status,
          records,
          Ack{},
          ErrorReply{"no such task"},
          Retire{77},
          Challenge{std::string(32, '\x01')},
          Auth{AuthRole::kClient, std::string(32, '\x02'), std::string(32, '\x03')},
          AuthOk{std::string(32, '\x04')}};
}

bool same(const Message& a, const Message& b) {
  std::string x, y;
  encode_frame(a, x);
  encode_frame(b, y);
  return a.index() == b.index() && x == y;
}

TEST(Wire, EveryMessageRoundTrips) {
  const auto all = samples();
  ASSERT_EQ(all.size(), std::variant_size_v<Message>);
  std::string stream;
  for (const Message& m : all) encode_frame(m, stream);
  FrameReader reader;
  // Feed a byte at a time: framing must not depend on how the socket splits the stream.
  std::size_t decoded = 0;
  for (char c : stream) {
    reader.feed(&c, 1);
    for (;;) {
      auto next = reader.next();
      ASSERT_TRUE(next.ok()) << next.error();
      if (!next->has_message) break;
      ASSERT_LT(decoded, all.size());
      EXPECT_TRUE(same(next->message, all[decoded])) << message_name(all[decoded]);
      ++decoded;
    }
  }
  EXPECT_EQ(decoded, all.size());
  EXPECT_EQ(reader.buffered(), 0u);
  const auto& d = std::get<Dispatch>(all[5]);
  std::string one;
  encode_frame(d, one);
  auto back = decode_payload(std::string_view(one).substr(4));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(std::get<Dispatch>(*back).spec, d.spec);
}

TEST(Wire, OversizedFrameIsRefusedBeforeItIsBuffered) {
  FrameReader reader(1024);
  const std::uint32_t huge = 1u << 30;
  reader.feed(reinterpret_cast<const char*>(&huge), 4);
  auto next = reader.next();
  ASSERT_FALSE(next.ok());
  EXPECT_NE(next.error().find("exceeds the limit"), std::string::npos);
}

TEST(Wire, MalformedPayloadsAreErrorsWithReasons) {
  std::string frame;
  encode_frame(Register{{"w", "g", 1e9, 1, 0}, {1, 2, 3}}, frame);
  const std::string payload = frame.substr(4);
  auto expect_error = [](std::string_view bytes, const std::string& needle) {
    auto m = decode_payload(bytes);
    ASSERT_FALSE(m.ok()) << "decoded " << message_name(*m);
    EXPECT_NE(m.error().find(needle), std::string::npos) << m.error();
  };
  expect_error("", "shorter than its header");
  expect_error(std::string("\x07\x00", 2), "protocol version 7");
  expect_error(std::string(1, char(kWireVersion)) + '\xff', "unknown message type 255");
  expect_error(std::string(1, char(kWireVersion - 1)) + '\x00',
               "protocol version " + std::to_string(kWireVersion - 1) + ", expected " + std::to_string(kWireVersion));
  for (std::size_t cut = 2; cut < payload.size(); ++cut) expect_error(payload.substr(0, cut), "Register");
  expect_error(payload + "x", "trailing bytes");
  std::string lying = payload;
  lying[2] = '\xff';  // the name's length now runs past the end
  lying[3] = '\xff';
  expect_error(lying, "past the end");
  std::string bad_enum;
  encode_frame(Dispatch{1, 2, TaskSpec{}}, bad_enum);
  // TaskKind after epoch, task, and the spec's flops, four empty lists and priority.
  bad_enum[4 + 2 + 16 + 8 + 4 * 4 + 8] = 9;
  expect_error(std::string_view(bad_enum).substr(4), "out of range");
  std::string bad_role;
  encode_frame(Auth{AuthRole::kWorker, "n", "m"}, bad_role);
  bad_role[4 + 2] = 2;  // neither worker (0) nor client (1)
  expect_error(std::string_view(bad_role).substr(4), "out of range");
}

TEST(Wire, RandomBytesNeverCrashTheDecoder) {
  Rng rng(5);
  std::string valid;
  for (const Message& m : samples()) encode_frame(m, valid);
  for (int round = 0; round < 20000; ++round) {
    std::string bytes = valid.substr(0, rng.uniform_int(valid.size()));
    // Flip a few bytes of a valid stream: the interesting inputs are nearly valid ones.
    for (int k = 0; k < 3; ++k) {
      if (!bytes.empty()) bytes[rng.uniform_int(bytes.size())] = static_cast<char>(rng.next_u64());
    }
    FrameReader reader(1 << 20);
    reader.feed(bytes.data(), bytes.size());
    for (int i = 0; i < 100; ++i) {
      auto next = reader.next();
      if (!next.ok() || !next->has_message) break;
    }
  }
  SUCCEED();
}

}  // namespace
}  // namespace fulcrum::real
