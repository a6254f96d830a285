#include "real/journal.h"

#include "core/codec.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace fulcrum::real {
namespace {

namespace fs = std::filesystem;

// ---- sample records ----

std::string all_byte_values() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

JobAccepted small_job(std::uint64_t id) {
  return JobAccepted{id, 0.5 * static_cast<double>(id),
                     {{synthetic_task(TaskKind::kSleep, 1e9), command_task("true", 5, {0})}}};
}

// A DAG of `n` tasks, each with up to two parents before it.
JobAccepted big_job(std::uint64_t id, std::uint32_t n) {
  JobAccepted job{id, 12.75, {}};
  for (std::uint32_t i = 0; i < n; ++i) {
    TaskSpec t;
    t.kind = static_cast<TaskKind>(i % 3);
    t.command = t.kind == TaskKind::kCommand ? "run step " + std::to_string(i) : "";
    t.flops = 1e6 * (i + 1);
    t.timeout = i % 2 ? 60 : 0;
    if (i > 0) t.parents.push_back(i - 1);
    if (i > 1) t.parents.push_back(i / 2);
    job.spec.tasks.push_back(std::move(t));
  }
  return job;
}

// Every record type with every field set, including empty strings, binary bytes and
// extreme numbers.
std::vector<JournalRecord> every_kind() {
  JobAccepted job;
  job.job = std::numeric_limits<std::uint64_t>::max();
  job.submit = 1700000000.125;
  job.spec.name = "montage-\xff";
  job.spec.tasks = {
      command_task("echo 'hi' | tr a-z A-Z", 30),
      synthetic_task(TaskKind::kBurn, 2.5e9, 0, {0}),
      synthetic_task(TaskKind::kSleep, std::numeric_limits<double>::denorm_min(), 1e-9, {0, 1}),
      command_task(std::string("nul\0and\xff\n", 9), std::numeric_limits<double>::infinity(), {0, 1, 2}),
  };
  // Every TaskSpec field, DAG data and planner hints included.
  TaskSpec& dag = job.spec.tasks[3];
  dag.flops = 7e9;
  dag.parent_bytes = {0, 1e6, -0.0};
  dag.parent_comm = {-1, 2.5, 0};
  dag.cost = {{"cpu-a", 14}, {"", 0}, {"cpu-b", 1e300}};
  dag.priority = -3.25;
  dag.name = "mProject_ID0042";
  std::vector<JournalRecord> records;
  records.push_back(job);
  records.push_back(JobAccepted{0, 0, {}});  // a job without tasks
  records.push_back(JobAccepted{1, 2.5, {{command_task("true")}}, "client-42/retry"});
  records.push_back(TaskFinished{0, 0, 0, "", 0, TaskOutcome{0, ""}});
  records.push_back(TaskFinished{42, 10.25, 12.5, "worker-7:9001", 3,
                                 TaskOutcome{0, all_byte_values() + all_byte_values()}});
  records.push_back(TaskFailed{7, 99.0, 5, TaskOutcome{124, "timed out\n"}});
  records.push_back(TaskFailed{8, -1.5, std::numeric_limits<std::uint32_t>::max(),
                               TaskOutcome{std::numeric_limits<std::int32_t>::min(),
                                           std::string(kMaxOutputBytes, 'x')}});
  records.push_back(TaskFailed{9, 3, 1, TaskOutcome{-9, ""}});
  records.push_back(JobCancelled{std::numeric_limits<std::uint64_t>::max(),
                                 std::numeric_limits<double>::max()});
  records.push_back(JobCancelled{0, -0.0});
  return records;
}

// ---- file helpers ----

std::uint64_t file_size(const std::string& path) { return fs::file_size(path); }

void flip_byte(const std::string& path, std::uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x5A));
  ASSERT_TRUE(f);
}

void append_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::app);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f);
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f);
}

std::string le32(std::uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

// A frame as the journal writes it, around an arbitrary body.
std::string frame(const std::string& body) {
  return le32(static_cast<std::uint32_t>(body.size())) + le32(crc32(body)) + body;
}

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::path(::testing::TempDir()) / "journal_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }

  // A journal in a fresh subdirectory `name`.
  std::string dir(const std::string& name = "j") const { return root_ + "/" + name; }
  static std::string log(const std::string& dir) { return dir + "/journal.log"; }

  // Opens and replays, expecting success; the records replayed go to `out`.
  static std::unique_ptr<Journal> open_replayed(const std::string& dir,
                                                std::vector<JournalRecord>* out = nullptr,
                                                Journal::ReplayStats* stats = nullptr) {
    auto j = Journal::open(dir);
    EXPECT_TRUE(j.ok()) << (j.ok() ? "" : j.error());
    if (!j.ok()) return nullptr;
    std::vector<JournalRecord> ignored;
    std::vector<JournalRecord>& sink = out ? *out : ignored;
    auto s = (*j)->replay([&sink](const JournalRecord& r) { sink.push_back(r); });
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
    if (!s.ok()) return nullptr;
    if (stats) *stats = *s;
    return std::move(*j);
  }

  // What a fresh open and replay of `dir` sees (and leaves the journal closed).
  static std::vector<JournalRecord> read_all(const std::string& dir,
                                             Journal::ReplayStats* stats = nullptr) {
    std::vector<JournalRecord> out;
    open_replayed(dir, &out, stats);
    return out;
  }

  // Writes `records`, one commit each; returns the file size before each record and,
  // last, the final size (so record i spans [offsets[i], offsets[i+1])).
  static std::vector<std::uint64_t> write_one_by_one(const std::string& dir,
                                                     const std::vector<JournalRecord>& records) {
    auto j = open_replayed(dir);
    std::vector<std::uint64_t> offsets{j->bytes()};
    for (const JournalRecord& r : records) {
      j->append(r);
      EXPECT_TRUE(j->commit().ok());
      offsets.push_back(j->bytes());
    }
    return offsets;
  }

  std::string root_;
};

TEST(Crc32, MatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32(""), 0u);
}

TEST_F(JournalTest, NewJournalIsEmptyWithJustAHeader) {
  Journal::ReplayStats stats;
  auto j = open_replayed(dir(), nullptr, &stats);
  ASSERT_TRUE(j);
  EXPECT_EQ(stats.records, 0u);
  EXPECT_EQ(stats.truncated_bytes, 0u);
  EXPECT_EQ(j->committed_records(), 0u);
  EXPECT_EQ(j->pending(), 0u);
  EXPECT_EQ(j->bytes(), 12u);
  EXPECT_EQ(file_size(log(dir())), 12u);
}

TEST_F(JournalTest, RoundTripsEveryRecordTypeWithAllFields) {
  const std::vector<JournalRecord> records = every_kind();
  {
    auto j = open_replayed(dir());
    for (const JournalRecord& r : records) j->append(r);
    EXPECT_EQ(j->pending(), records.size());
    ASSERT_TRUE(j->commit().ok());
    EXPECT_EQ(j->pending(), 0u);
    EXPECT_EQ(j->committed_records(), records.size());
    EXPECT_EQ(j->bytes(), file_size(log(dir())));
  }
  Journal::ReplayStats stats;
  std::vector<JournalRecord> back = read_all(dir(), &stats);
  EXPECT_EQ(stats.records, records.size());
  EXPECT_EQ(stats.truncated_bytes, 0u);
  ASSERT_EQ(back.size(), records.size());
  for (std::size_t i = 0; i < records.size(); ++i) EXPECT_TRUE(back[i] == records[i]) << i;
  // == cannot tell -0.0 from 0.0: the bits must survive too.
  EXPECT_TRUE(std::signbit(std::get<JobCancelled>(back.back()).time));
}

TEST_F(JournalTest, DoublesRoundTripBitForBitIncludingNan) {
  const double nan = std::bit_cast<double>(std::uint64_t{0x7FF8000000C0FFEEull});
  {
    auto j = open_replayed(dir());
    j->append(JobCancelled{1, nan});
    ASSERT_TRUE(j->commit().ok());
  }
  std::vector<JournalRecord> back = read_all(dir());
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(std::bit_cast<std::uint64_t>(std::get<JobCancelled>(back[0]).time),
            0x7FF8000000C0FFEEull);
}

TEST_F(JournalTest, ManyTasksWithParentsRoundTrip) {
  const JobAccepted job = big_job(3, 5000);
  {
    auto j = open_replayed(dir());
    j->append(job);
    ASSERT_TRUE(j->commit().ok());
  }
  std::vector<JournalRecord> back = read_all(dir());
  ASSERT_EQ(back.size(), 1u);
  EXPECT_TRUE(std::get<JobAccepted>(back[0]) == job);
}

TEST_F(JournalTest, ReplayAfterReopenKeepsOrderAcrossSessions) {
  std::vector<JournalRecord> expected;
  for (int session = 0; session < 4; ++session) {
    std::vector<JournalRecord> seen;
    auto j = open_replayed(dir(), &seen);
    ASSERT_TRUE(j);
    ASSERT_EQ(seen, expected) << "session " << session;
    EXPECT_EQ(j->committed_records(), expected.size());
    for (int i = 0; i < 3; ++i) {
      const auto id = static_cast<std::uint64_t>(session * 10 + i);
      JournalRecord r = i == 0   ? JournalRecord(small_job(id))
                        : i == 1 ? JournalRecord(TaskFinished{id, 1, 2, "w", 1, {0, "ok"}})
                                 : JournalRecord(JobCancelled{id, 3});
      j->append(r);
      expected.push_back(r);
      ASSERT_TRUE(j->commit().ok());  // one commit per record: several batches per session
    }
  }
  EXPECT_EQ(read_all(dir()), expected);
}

TEST_F(JournalTest, GroupCommitWritesAThousandRecordsAtOnce) {
  std::vector<JournalRecord> records;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    records.push_back(i % 2 ? JournalRecord(TaskFinished{i, 0, 1, "w", 1, {0, ""}})
                            : JournalRecord(small_job(i)));
  }
  {
    auto j = open_replayed(dir());
    for (const JournalRecord& r : records) j->append(r);
    EXPECT_EQ(j->pending(), 1000u);
    EXPECT_EQ(j->committed_records(), 0u);
    EXPECT_EQ(file_size(log(dir())), 12u);  // append does no I/O
    ASSERT_TRUE(j->commit().ok());
    EXPECT_EQ(j->pending(), 0u);
    EXPECT_EQ(j->committed_records(), 1000u);
    EXPECT_EQ(j->bytes(), file_size(log(dir())));
  }
  Journal::ReplayStats stats;
  EXPECT_EQ(read_all(dir(), &stats), records);
  EXPECT_EQ(stats.records, 1000u);
}

TEST_F(JournalTest, CommitWithNothingPendingIsANoOp) {
  auto j = open_replayed(dir());
  const std::uint64_t before = j->bytes();
  auto c = j->commit();
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(*c);
  EXPECT_EQ(j->bytes(), before);
  EXPECT_EQ(file_size(log(dir())), before);
}

// The destructor does not commit: records appended but never committed were never
// acknowledged, and a crash would lose them the same way.
TEST_F(JournalTest, DestructorDoesNotCommit) {
  std::uint64_t committed_size = 0;
  {
    auto j = open_replayed(dir());
    for (std::uint64_t i = 0; i < 3; ++i) j->append(JobCancelled{i, 1});
    ASSERT_TRUE(j->commit().ok());
    committed_size = j->bytes();
    j->append(JobCancelled{100, 2});
    j->append(small_job(101));
    EXPECT_EQ(j->pending(), 2u);
  }
  EXPECT_EQ(file_size(log(dir())), committed_size);
  Journal::ReplayStats stats;
  std::vector<JournalRecord> back = read_all(dir(), &stats);
  EXPECT_EQ(stats.records, 3u);
  EXPECT_EQ(stats.truncated_bytes, 0u);
  ASSERT_EQ(back.size(), 3u);
  EXPECT_TRUE(std::get<JobCancelled>(back[2]) == (JobCancelled{2, 1}));
}

// A crash mid-write leaves a prefix of the last record: cutting k bytes off its end, for
// every k that leaves part of it, must give back the earlier records and cut the rest.
void check_torn_tail(const std::string& dir, const std::vector<JournalRecord>& records,
                     const std::vector<std::uint64_t>& offsets, std::uint64_t k) {
  SCOPED_TRACE("cut " + std::to_string(k) + " bytes");
  const std::string path = dir + "/journal.log";
  const std::uint64_t last_start = offsets[offsets.size() - 2];
  const std::uint64_t end = offsets.back();
  fs::resize_file(path, end - k);

  std::vector<JournalRecord> seen;
  Journal::ReplayStats stats;
  {
    auto j = Journal::open(dir);
    ASSERT_TRUE(j.ok()) << j.error();
    auto s = (*j)->replay([&seen](const JournalRecord& r) { seen.push_back(r); });
    ASSERT_TRUE(s.ok()) << s.error();
    stats = *s;
    EXPECT_EQ(stats.records, records.size() - 1);
    EXPECT_EQ(stats.truncated_bytes, end - k - last_start);
    EXPECT_GT(stats.truncated_bytes, 0u);
    EXPECT_EQ((*j)->bytes(), last_start);
    EXPECT_EQ(file_size(path), last_start);
    EXPECT_EQ((*j)->committed_records(), records.size() - 1);
    // Appending after the cut works, and the next replay sees old + new.
    (*j)->append(JobCancelled{777, 7});
    ASSERT_TRUE((*j)->commit().ok());
  }
  std::vector<JournalRecord> expected(records.begin(), records.end() - 1);
  EXPECT_EQ(seen, expected);
  expected.push_back(JobCancelled{777, 7});
  std::vector<JournalRecord> again;
  auto j = Journal::open(dir);
  ASSERT_TRUE(j.ok());
  auto s = (*j)->replay([&again](const JournalRecord& r) { again.push_back(r); });
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->truncated_bytes, 0u);
  EXPECT_EQ(again, expected);
}

TEST_F(JournalTest, TornTailOfASmallRecordIsCutForEveryLength) {
  const std::vector<JournalRecord> records{small_job(1), TaskFailed{2, 3, 1, {1, "no"}},
                                           JobCancelled{1, 4}};
  // JobCancelled: 8 bytes of frame + 26 of body (two empty lists); cut 1..33 bytes of it.
  for (std::uint64_t k = 1; k < 34; ++k) {
    const std::string d = dir("small" + std::to_string(k));
    const std::vector<std::uint64_t> offsets = write_one_by_one(d, records);
    ASSERT_EQ(offsets.back() - offsets[offsets.size() - 2], 34u);
    check_torn_tail(d, records, offsets, k);
  }
}

TEST_F(JournalTest, TornTailOfALargeRecordIsCut) {
  const std::vector<JournalRecord> records{small_job(1), JobCancelled{1, 4}, big_job(2, 2000)};
  const std::vector<std::uint64_t> probe = write_one_by_one(dir("probe"), records);
  const std::uint64_t last = probe.back() - probe[probe.size() - 2];
  for (std::uint64_t k : {std::uint64_t{1}, std::uint64_t{4}, last / 2, last - 8, last - 5,
                          last - 1}) {
    const std::string d = dir("large" + std::to_string(k));
    check_torn_tail(d, records, write_one_by_one(d, records), k);
  }
}

// Corruption in the middle ends the journal there, even though intact records follow: a
// hole is never skipped.
TEST_F(JournalTest, FlippedByteInTheMiddleRecordEndsTheJournalThere) {
  const std::vector<JournalRecord> records{
      small_job(1), TaskFinished{5, 1, 2, "w", 1, {0, "a"}}, JobAccepted(big_job(2, 10)),
      TaskFailed{6, 3, 2, {2, "b"}}, JobCancelled{2, 4}};
  const std::vector<std::uint64_t> probe = write_one_by_one(dir("probe"), records);
  const std::uint64_t start = probe[2] - probe[0];  // of record 2, relative to the header
  const std::uint64_t length = probe[3] - probe[2];
  const struct { const char* what; std::uint64_t at; } flips[] = {
      {"length, low byte", 0}, {"length, high byte", 3}, {"crc", 5},
      {"record type", 8},      {"record version", 9},    {"a field", length / 2},
      {"last byte", length - 1},
  };
  for (const auto& flip : flips) {
    SCOPED_TRACE(flip.what);
    const std::string d = dir(std::string("flip") + std::to_string(flip.at));
    const std::vector<std::uint64_t> offsets = write_one_by_one(d, records);
    ASSERT_EQ(offsets[2], probe[0] + start);
    flip_byte(log(d), offsets[2] + flip.at);

    std::vector<JournalRecord> seen;
    Journal::ReplayStats stats;
    auto j = open_replayed(d, &seen, &stats);
    ASSERT_TRUE(j);
    EXPECT_EQ(stats.records, 2u);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0], records[0]);
    EXPECT_EQ(seen[1], records[1]);
    EXPECT_EQ(stats.truncated_bytes, offsets.back() - offsets[2]);
    EXPECT_EQ(j->bytes(), offsets[2]);
    EXPECT_EQ(file_size(log(d)), offsets[2]);
  }
}

// Filesystems can leave a crashed file's unwritten tail as zeroes; a zero frame even has
// a matching checksum (crc32 of nothing is 0), so the length check must catch it.
TEST_F(JournalTest, ZeroFilledTailIsCut) {
  const std::vector<JournalRecord> records{small_job(1), JobCancelled{1, 2}};
  const std::vector<std::uint64_t> offsets = write_one_by_one(dir(), records);
  append_bytes(log(dir()), std::string(4096, '\0'));
  Journal::ReplayStats stats;
  EXPECT_EQ(read_all(dir(), &stats), records);
  EXPECT_EQ(stats.truncated_bytes, 4096u);
  EXPECT_EQ(file_size(log(dir())), offsets.back());
}

TEST_F(JournalTest, ALengthAbove64MiBIsCorruption) {
  const std::vector<JournalRecord> records{small_job(1)};
  const std::vector<std::uint64_t> offsets = write_one_by_one(dir(), records);
  // A frame claiming 64 MiB + 1 followed by that many bytes: refused on length alone.
  const std::uint32_t length = static_cast<std::uint32_t>(kMaxRecordBytes + 1);
  append_bytes(log(dir()), le32(length) + le32(0) + std::string(length, 'z'));
  Journal::ReplayStats stats;
  EXPECT_EQ(read_all(dir(), &stats), records);
  EXPECT_EQ(stats.truncated_bytes, 8u + length);
  EXPECT_EQ(file_size(log(dir())), offsets.back());
}

// Journals written before request ids (JobAccepted version 1) are still read.
TEST(JournalFormat, AVersionOneJobAcceptedDecodesWithoutARequestId) {
  std::string body("\x01\x01", 2);
  body += le32(7) + le32(0);                 // job 7
  body += le32(0) + le32(0x40100000u);       // submit 4.0
  body += le32(1);                           // one task
  body += std::string("\x00", 1) + le32(4) + "true" + std::string(16, '\0') + le32(0);
  const std::string framed = le32(static_cast<std::uint32_t>(body.size())) + le32(crc32(body)) + body;
  std::vector<JournalRecord> back;
  auto n = decode_records(framed, "v1", [&](const JournalRecord& r) { back.push_back(r); });
  ASSERT_TRUE(n.ok()) << n.error();
  ASSERT_EQ(back.size(), 1u);
  const auto& job = std::get<JobAccepted>(back[0]);
  EXPECT_EQ(job.job, 7u);
  EXPECT_EQ(job.submit, 4.0);
  ASSERT_EQ(job.spec.tasks.size(), 1u);
  EXPECT_EQ(job.spec.tasks[0].kind, TaskKind::kCommand);
  EXPECT_EQ(job.spec.tasks[0].command, "true");
  EXPECT_EQ(job.request_id, "");
}

// Version 2 (before a task was a whole TaskSpec): kind, command, flops, timeout, parents,
// then the request id. Journals written by those builds replay unchanged.
TEST(JournalFormat, AVersionTwoJobAcceptedDecodesIntoTaskSpecs) {
  std::string body("\x01\x02", 2);
  body += le32(3) + le32(0);                 // job 3
  body += le32(0) + le32(0x40100000u);       // submit 4.0
  body += le32(2);                           // two tasks
  body += std::string("\x01", 1) + le32(0) + le32(0) + le32(0x41cdcd65u) + std::string(8, '\0') + le32(0);  // burn 1e9
  body += std::string("\x02", 1) + le32(0) + std::string(8, '\0') + le32(0) + le32(0x40140000u) + le32(1) + le32(0);
  body += le32(5) + "req-9";
  const std::string framed = le32(static_cast<std::uint32_t>(body.size())) + le32(crc32(body)) + body;
  std::vector<JournalRecord> back;
  auto n = decode_records(framed, "v2", [&](const JournalRecord& r) { back.push_back(r); });
  ASSERT_TRUE(n.ok()) << n.error();
  ASSERT_EQ(back.size(), 1u);
  const auto& job = std::get<JobAccepted>(back[0]);
  EXPECT_EQ(job.job, 3u);
  EXPECT_EQ(job.request_id, "req-9");
  ASSERT_EQ(job.spec.tasks.size(), 2u);
  EXPECT_EQ(job.spec.tasks[0], synthetic_task(TaskKind::kBurn, 1e9));
  EXPECT_EQ(job.spec.tasks[1], synthetic_task(TaskKind::kSleep, 0, 5, {0}));
}

// Version 3 (the JobSpec's field lists as of schema 3, before resources and constraints):
// the fields added since keep their defaults, every other field reads as written.
TEST(JournalFormat, AVersionThreeJobAcceptedDecodesWithDefaultRequests) {
  JobAccepted job;
  job.job = 5;
  job.submit = 2.5;
  job.request_id = "req-3";
  TaskSpec task = command_task("echo hi", 7);
  task.priority = 3;
  task.name = "t0";
  task.request.cores = 4;  // schema 4: not written as version 3, so not read back
  task.require = {{"zone", "a"}};
  job.spec.tasks = {task, synthetic_task(TaskKind::kSleep, 2e9, 0, {0})};
  std::string body("\x01\x03", 2);
  BinaryWriter(body, /*schema=*/3).put_struct(job);
  const std::string framed = le32(static_cast<std::uint32_t>(body.size())) + le32(crc32(body)) + body;
  std::vector<JournalRecord> back;
  auto n = decode_records(framed, "v3", [&](const JournalRecord& r) { back.push_back(r); });
  ASSERT_TRUE(n.ok()) << n.error();
  ASSERT_EQ(back.size(), 1u);
  JobAccepted expected = job;
  expected.spec.tasks[0].request = TaskSpec{}.request;
  expected.spec.tasks[0].require.clear();
  EXPECT_EQ(std::get<JobAccepted>(back[0]), expected);
  // The current version carries them.
  std::string now;
  encode_record(JournalRecord{job}, now);
  back.clear();
  ASSERT_TRUE(decode_records(now, "v4", [&](const JournalRecord& r) { back.push_back(r); }).ok());
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(std::get<JobAccepted>(back[0]), job);
}

// A record with a good checksum that this build cannot decode was written by a newer
// build, not torn by a crash: replay fails and the file is left as it is.
TEST_F(JournalTest, UndecodableRecordWithAGoodChecksumIsAnErrorNotATruncation) {
  const std::pair<const char*, std::string> cases[] = {
      {"unknown record type", std::string("\x09\x01", 2)},
      {"unsupported record format version", std::string("\x04\x03", 2) + std::string(16, 'a')},
      {"bytes after its fields", std::string("\x04\x01", 2) + std::string(17, 'a')},
      {"shorter than its fields", std::string("\x04\x01", 2) + std::string(15, 'a')},
  };
  int n = 0;
  for (const auto& [message, body] : cases) {
    SCOPED_TRACE(message);
    const std::string d = dir("undecodable" + std::to_string(n++));
    write_one_by_one(d, {small_job(1)});
    append_bytes(log(d), frame(body));
    const std::uint64_t size = file_size(log(d));
    auto j = Journal::open(d);
    ASSERT_TRUE(j.ok());
    std::uint64_t applied = 0;
    auto s = (*j)->replay([&applied](const JournalRecord&) { ++applied; });
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().find(message), std::string::npos) << s.error();
    EXPECT_NE(s.error().find(log(d)), std::string::npos) << s.error();
    EXPECT_EQ(applied, 1u);
    EXPECT_EQ(file_size(log(d)), size);
  }
}

TEST_F(JournalTest, WrongMagicIsRefused) {
  fs::create_directories(dir());
  write_file(log(dir()), "NOTAJOURNAL, just some text\n");
  auto j = Journal::open(dir());
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.error().find(log(dir())), std::string::npos) << j.error();
  EXPECT_NE(j.error().find("not a fulcrum journal"), std::string::npos) << j.error();
  // Refused, not repaired: the file is as it was.
  EXPECT_EQ(file_size(log(dir())), 28u);
}

TEST_F(JournalTest, ShortFileThatIsNotAHeaderIsRefused) {
  fs::create_directories(dir());
  write_file(log(dir()), "hello");
  auto j = Journal::open(dir());
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.error().find("not a fulcrum journal"), std::string::npos) << j.error();
}

TEST_F(JournalTest, UnsupportedFileVersionIsRefused) {
  fs::create_directories(dir());
  write_file(log(dir()), "FULCRUMJ" + le32(2));
  auto j = Journal::open(dir());
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.error().find("version 2"), std::string::npos) << j.error();
}

// A crash while a new journal's header was being written leaves a prefix of it; nothing
// was ever committed there, so the header is written again.
TEST_F(JournalTest, TornHeaderOfANewJournalIsRewritten) {
  fs::create_directories(dir());
  write_file(log(dir()), "FULC");
  {
    auto j = open_replayed(dir());
    ASSERT_TRUE(j);
    EXPECT_EQ(j->bytes(), 12u);
    j->append(JobCancelled{1, 1});
    ASSERT_TRUE(j->commit().ok());
  }
  EXPECT_EQ(read_all(dir()), (std::vector<JournalRecord>{JobCancelled{1, 1}}));
}

TEST_F(JournalTest, DirectoryThatCannotBeCreatedIsAnError) {
  const std::string file = root_ + "/a-file";
  write_file(file, "x");
  for (const std::string& d : {file + "/sub", file}) {
    auto j = Journal::open(d);
    ASSERT_FALSE(j.ok()) << d;
    EXPECT_NE(j.error().find(d), std::string::npos) << j.error();
  }
}

TEST_F(JournalTest, CreatesMissingParentDirectories) {
  const std::string d = root_ + "/a/b/c";
  ASSERT_TRUE(open_replayed(d));
  EXPECT_EQ(file_size(log(d)), 12u);
}

// Two daemons writing one journal would interleave batches; the flock refuses the second.
TEST_F(JournalTest, SecondOpenOfTheSameJournalIsRefusedWhileTheFirstIsOpen) {
  auto first = Journal::open(dir());
  ASSERT_TRUE(first.ok());
  auto second = Journal::open(dir());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().find("locked"), std::string::npos) << second.error();
  first->reset();
  EXPECT_TRUE(Journal::open(dir()).ok());
}

TEST_F(JournalTest, ReplayComesFirstAndOnlyOnce) {
  {
    auto j = Journal::open(dir());
    ASSERT_TRUE(j.ok());
    (*j)->append(JobCancelled{1, 1});
    EXPECT_FALSE((*j)->commit().ok());  // commit before replay
    EXPECT_FALSE((*j)->replay([](const JournalRecord&) {}).ok());  // replay after append
  }
  auto j = open_replayed(dir());
  ASSERT_TRUE(j);
  auto again = j->replay([](const JournalRecord&) {});
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().find("twice"), std::string::npos) << again.error();
  EXPECT_EQ(file_size(log(dir())), 12u);
}

TEST_F(JournalTest, OversizedRecordDropsItsBatchAndTheJournalStaysUsable) {
  auto j = open_replayed(dir());
  const std::uint64_t before = j->bytes();
  j->append(JobCancelled{1, 1});
  JobAccepted huge{2, 0, {{command_task(std::string(kMaxRecordBytes, 'c'))}}};
  j->append(huge);
  EXPECT_EQ(j->pending(), 2u);
  auto c = j->commit();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().find("exceeds"), std::string::npos) << c.error();
  EXPECT_EQ(j->pending(), 0u);
  EXPECT_EQ(j->committed_records(), 0u);
  EXPECT_EQ(j->bytes(), before);
  EXPECT_EQ(file_size(log(dir())), before);

  j->append(JobCancelled{3, 3});
  ASSERT_TRUE(j->commit().ok());
  j.reset();
  EXPECT_EQ(read_all(dir()), (std::vector<JournalRecord>{JobCancelled{3, 3}}));
}

}  // namespace
}  // namespace fulcrum::real
