// `fulcrum journal dump` (real/journal_dump.h, cli/journal_command.cc): a journal written
// with the journal API, printed as text and as JSON Lines, through the library and the
// CLI; a truncated or corrupt journal prints the records before the damage and names file
// and offset; the ZooKeeper journal prints the same lines as the file.
#include "real/journal_dump.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "real/journal.h"
#include "real/tests/zk_fixture.h"
#include "real/zk.h"
#include "real/zk_journal.h"

namespace fulcrum::real {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TaskSpec command_task(const std::string& command, double timeout) {
  TaskSpec t;
  t.kind = TaskKind::kCommand;
  t.command = command;
  t.timeout = timeout;
  return t;
}

TaskSpec sleep_task(double flops, std::vector<std::uint32_t> parents) {
  TaskSpec t;
  t.kind = TaskKind::kSleep;
  t.flops = flops;
  t.parents = std::move(parents);
  return t;
}

// One record of each kind, then a second completion of task 0 (what the chaos checker
// counts as "finished twice").
std::vector<JournalRecord> sample_records() {
  JobAccepted job;
  job.job = 0;
  job.submit = 1.5;
  job.spec.tasks = {command_task("echo \"hi\"", 5), sleep_task(1e9, {0})};
  job.request_id = "tok000001";
  return {job,
          TaskFinished{0, 2, 2.5, "w1", 1, TaskOutcome{0, "hi\n"}},
          TaskFailed{1, 3.25, 4, TaskOutcome{124, std::string("bad \xff byte", 10)}},
          JobCancelled{0, 4},
          TaskFinished{0, 5, 6, "w2", 2, TaskOutcome{0, ""}}};
}

const std::vector<std::string> kSampleText = {
    "JobAccepted job=0 submit=1.5 spec.tasks=[{kind=command command=\"echo \\\"hi\\\"\" timeout=5.0} "
    "{kind=sleep flops=1000000000.0 parents=[0]}] spec.name=\"\" spec.gang=false spec.tenant=\"\" spec.priority_class=0 request_id=\"tok000001\"",
    "TaskFinished task=0 start=2.0 end=2.5 worker=\"w1\" attempts=1 outcome.exit_code=0 outcome.output=\"hi\\n\" outcome.reason=\"\"",
    "TaskFailed task=1 end=3.25 attempts=4 outcome.exit_code=124 outcome.output=\"bad \xEF\xBF\xBD byte\" outcome.reason=\"\" start=-1.0",
    "JobCancelled job=0 time=4.0 attempts=[] starts=[]",
    "TaskFinished task=0 start=5.0 end=6.0 worker=\"w2\" attempts=2 outcome.exit_code=0 outcome.output=\"\" outcome.reason=\"\"",
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

class JournalDumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::path(::testing::TempDir()) / "journal_dump_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/journal";
  }
  void TearDown() override { fs::remove_all(root_); }

  // Writes `records` with the journal API, one commit each; returns each record's offset.
  std::vector<std::uint64_t> write(const std::vector<JournalRecord>& records) {
    std::vector<std::uint64_t> offsets;
    auto j = Journal::open(dir_);
    EXPECT_TRUE(j.ok()) << j.error();
    EXPECT_TRUE((*j)->replay([](const JournalRecord&) {}).ok());
    for (const JournalRecord& r : records) {
      offsets.push_back((*j)->bytes());
      (*j)->append(r);
      EXPECT_TRUE((*j)->commit().ok());
    }
    return offsets;
  }
  std::string log() const { return dir_ + "/journal.log"; }

  // The CLI: fulcrum journal dump ARGS.
  CliRun cli(const std::string& args) const {
    const std::string out = root_ + "/out.txt", err = root_ + "/err.txt";
    const int status = std::system((std::string(FULCRUM_BINARY) + " journal dump " + args + " >" + out + " 2>" + err).c_str());
    return CliRun{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  }

  std::string root_, dir_;
};

TEST_F(JournalDumpTest, TextPrintsOneLinePerRecordWithEveryField) {
  write(sample_records());
  std::ostringstream out;
  const DumpResult r = dump_file_journal(dir_, DumpFormat::kText, out);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.records, 5u);
  EXPECT_EQ(lines_of(out.str()), kSampleText);
}

TEST_F(JournalDumpTest, JsonLinesHoldTheTypeAndEveryField) {
  const auto records = sample_records();
  write(records);
  std::ostringstream out;
  const DumpResult r = dump_file_journal(log(), DumpFormat::kJson, out);  // the file itself, not the folder
  ASSERT_EQ(r.error, "");
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), records.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const json j = json::parse(lines[i]);  // valid JSON, even with a byte that is not UTF-8
    EXPECT_EQ(nlohmann::ordered_json::parse(lines[i]).begin().key(), "type") << lines[i];
    EXPECT_EQ(j["type"], record_type(records[i]));
    EXPECT_EQ(lines[i], format_record(records[i], DumpFormat::kJson));
  }
  const json job = json::parse(lines[0]);
  EXPECT_EQ(job["job"], 0);
  EXPECT_EQ(job["submit"], 1.5);
  EXPECT_EQ(job["request_id"], "tok000001");
  ASSERT_EQ(job["spec"]["tasks"].size(), 2u);
  const json& t0 = job["spec"]["tasks"][0];
  EXPECT_EQ(t0["kind"], "command");
  EXPECT_EQ(t0["command"], "echo \"hi\"");
  EXPECT_EQ(t0["timeout"], 5.0);
  EXPECT_EQ(t0["parents"], json::array());
  EXPECT_EQ(job["spec"]["tasks"][1]["kind"], "sleep");
  EXPECT_EQ(job["spec"]["tasks"][1]["parents"], json::array({0}));
  const json done = json::parse(lines[1]);
  EXPECT_EQ(done, json::parse(R"({"type": "TaskFinished", "task": 0, "start": 2.0, "end": 2.5, "worker": "w1",
                                  "attempts": 1, "outcome": {"exit_code": 0, "output": "hi\n", "reason": ""}})"));
  EXPECT_EQ(json::parse(lines[2])["outcome"]["exit_code"], 124);
  EXPECT_EQ(json::parse(lines[3]), json::parse(R"({"type": "JobCancelled", "job": 0, "time": 4.0, "attempts": [], "starts": []})"));
}

TEST_F(JournalDumpTest, TheCliPrintsBothFormsAndExitsZero) {
  write(sample_records());
  const CliRun text = cli(dir_);
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(lines_of(text.out), kSampleText);
  const CliRun jl = cli(dir_ + " --json");
  EXPECT_EQ(jl.exit_code, 0) << jl.err;
  const auto lines = lines_of(jl.out);
  ASSERT_EQ(lines.size(), 5u);
  int finished = 0;
  for (const auto& line : lines) finished += json::parse(line)["type"] == "TaskFinished";
  EXPECT_EQ(finished, 2);
  EXPECT_EQ(jl.err, "");
}

TEST_F(JournalDumpTest, ATruncatedJournalPrintsTheRecordsBeforeAndNamesFileAndOffset) {
  const auto offsets = write(sample_records());
  const std::uint64_t size = fs::file_size(log());
  fs::resize_file(log(), size - 3);  // the last record cut short: a crash mid-write
  std::ostringstream out;
  const DumpResult r = dump_file_journal(dir_, DumpFormat::kText, out);
  EXPECT_EQ(r.records, 4u);
  EXPECT_FALSE(r.unreadable);
  EXPECT_NE(r.error.find(log() + ": offset " + std::to_string(offsets[4]) + ": a torn record"), std::string::npos)
      << r.error;
  EXPECT_EQ(lines_of(out.str()), std::vector<std::string>(kSampleText.begin(), kSampleText.begin() + 4));

  const CliRun run = cli(dir_ + " --json");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(lines_of(run.out).size(), 4u);
  EXPECT_NE(run.err.find("error: " + log() + ": offset " + std::to_string(offsets[4])), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("the 4 record(s) before it were printed"), std::string::npos) << run.err;

  // Cut inside the 8 bytes of a frame too.
  fs::resize_file(log(), offsets[4] + 5);
  const DumpResult frame = dump_file_journal(dir_, DumpFormat::kText, out);
  EXPECT_EQ(frame.records, 4u);
  EXPECT_NE(frame.error.find("offset " + std::to_string(offsets[4]) + ": a torn record: 5 of the 8 bytes"),
            std::string::npos)
      << frame.error;
}

TEST_F(JournalDumpTest, ACorruptRecordStopsTheDumpThereAndTheFileIsLeftAlone) {
  const auto offsets = write(sample_records());
  {
    std::fstream f(log(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offsets[2] + 8 + 3));  // inside the third record's body
    f.put('\x7f');
  }
  const std::string before = slurp(log());
  std::ostringstream out;
  const DumpResult r = dump_file_journal(dir_, DumpFormat::kJson, out);
  EXPECT_EQ(r.records, 2u);
  EXPECT_NE(r.error.find(log() + ": offset " + std::to_string(offsets[2]) + ": bad record checksum"), std::string::npos)
      << r.error;
  EXPECT_EQ(lines_of(out.str()).size(), 2u);
  EXPECT_EQ(slurp(log()), before) << "the dump changed the file (replay would have cut it)";
}

TEST_F(JournalDumpTest, ReadsAJournalItsSchedulerHoldsOpen) {
  write(sample_records());
  auto held = Journal::open(dir_);  // the daemon's lock
  ASSERT_TRUE(held.ok()) << held.error();
  std::ostringstream out;
  EXPECT_EQ(dump_file_journal(dir_, DumpFormat::kText, out).error, "");
  EXPECT_EQ(lines_of(out.str()).size(), 5u);
}

TEST_F(JournalDumpTest, NoJournalIsBadInput) {
  std::ostringstream out;
  DumpResult r = dump_file_journal(root_ + "/missing", DumpFormat::kText, out);
  EXPECT_TRUE(r.unreadable);
  EXPECT_NE(r.error.find("missing: cannot open: No such file or directory"), std::string::npos) << r.error;

  fs::create_directories(dir_);
  std::ofstream(log()) << "not a journal at all";
  r = dump_file_journal(dir_, DumpFormat::kText, out);
  EXPECT_TRUE(r.unreadable);
  EXPECT_EQ(r.error, log() + ": not a fulcrum journal");
  const CliRun run = cli(dir_);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("not a fulcrum journal"), std::string::npos) << run.err;

  std::ofstream(log(), std::ios::trunc) << "FULC";  // a header cut short: a journal never written to
  r = dump_file_journal(dir_, DumpFormat::kText, out);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.records, 0u);
  EXPECT_EQ(out.str(), "");

  EXPECT_EQ(cli("").exit_code, 2);                                // neither PATH nor --zk
  EXPECT_EQ(cli(dir_ + " --zk 127.0.0.1:1").exit_code, 2);        // both
}

TEST(JournalDumpZk, PrintsTheSameLinesAsTheFileJournal) {
  testing::ZkServer server;
  auto zk = ZkClient::connect(server.hosts(), 5, 10);
  ASSERT_TRUE(zk.ok()) << zk.error();
  const std::string root = "/dump";
  ASSERT_TRUE(zk_prepare_root(**zk, root).ok());
  auto epoch = zk_take_epoch(**zk, root);
  ASSERT_TRUE(epoch.ok()) << epoch.error();
  // Snapshots every batch: the dump reads a snapshot and the batches after it.
  ZkJournal journal(**zk, root, /*snapshot_every=*/1);
  ASSERT_TRUE(journal.replay([](const JournalRecord&) {}).ok());
  journal.set_fence(epoch->version);
  for (const JournalRecord& r : sample_records()) {
    journal.append(r);
    ASSERT_TRUE(journal.commit().ok());
  }
  std::ostringstream out;
  const DumpResult r = dump_zk_journal(server.hosts(), root, DumpFormat::kText, out);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(lines_of(out.str()), kSampleText);

  std::ostringstream none;
  const DumpResult missing = dump_zk_journal(server.hosts(), "/nobody", DumpFormat::kJson, none);
  EXPECT_TRUE(missing.unreadable);
  EXPECT_NE(missing.error.find("no fulcrum journal under /nobody"), std::string::npos) << missing.error;

  // The CLI with the scheduler's flag names.
  const std::string out_file = (fs::path(::testing::TempDir()) / ("zk_dump." + std::to_string(::getpid()))).string();
  const int status = std::system((std::string(FULCRUM_BINARY) + " journal dump --zk " + server.hosts() +
                                  " --zk-root " + root + " --json >" + out_file)
                                     .c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const auto lines = lines_of(slurp(out_file));
  fs::remove(out_file);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(json::parse(lines[4])["worker"], "w2");
}

}  // namespace
}  // namespace fulcrum::real
