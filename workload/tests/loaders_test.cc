// The workload loaders against the shared data files (counts from ../shared/workloads/
// SOURCES.md) and against small malformed files written to a temporary directory.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "workload/jobs.h"
#include "workload/loaders.h"

namespace fulcrum {
namespace {

const std::string kShared = std::string(FULCRUM_SOURCE_DIR) + "/../shared/workloads/";

// A topological order computed here (Kahn), independently of the loaders' own check.
std::vector<std::uint32_t> topological_order(const DagJob& job) {
  std::vector<std::uint32_t> indegree(job.tasks.size(), 0);
  std::vector<std::vector<std::uint32_t>> children(job.tasks.size());
  for (const DagEdge& e : job.edges) {
    ++indegree[e.to];
    children[e.from].push_back(e.to);
  }
  std::queue<std::uint32_t> ready;
  for (std::uint32_t i = 0; i < job.tasks.size(); ++i) {
    if (indegree[i] == 0) ready.push(i);
  }
  std::vector<std::uint32_t> order;
  while (!ready.empty()) {
    const std::uint32_t t = ready.front();
    ready.pop();
    order.push_back(t);
    for (std::uint32_t c : children[t]) {
      if (--indegree[c] == 0) ready.push(c);
    }
  }
  return order;
}

// ---- WfCommons ---------------------------------------------------------------------------

struct WfCase {
  const char* file;
  std::size_t tasks;
  std::size_t edges;
  double runtime_sum;  // SOURCES.md's table, rounded to the second
  double edge_bytes;   // Σ over edges of the parent's output files the child reads
};

class WfCommonsFile : public testing::TestWithParam<WfCase> {};

TEST_P(WfCommonsFile, LoadsWithTheDocumentedShape) {
  const WfCase& c = GetParam();
  auto job = load_wfcommons(kShared + "wfcommons/" + c.file);
  ASSERT_TRUE(job.ok()) << job.error();
  EXPECT_EQ(job->tasks.size(), c.tasks);
  EXPECT_EQ(job->edges.size(), c.edges);
  EXPECT_EQ(job->submit, 0);
  EXPECT_EQ(job->name + ".json", c.file);

  double flops = 0;
  std::set<std::string> names;
  for (const DagTask& t : job->tasks) {
    EXPECT_GE(t.flops, 0);
    EXPECT_TRUE(t.cost.empty());
    flops += t.flops;
    names.insert(t.name);
  }
  EXPECT_EQ(names.size(), job->tasks.size()) << "task names are unique";
  EXPECT_NEAR(flops / 1e9, c.runtime_sum, 1.0);

  double bytes = 0;
  std::set<std::pair<std::uint32_t, std::uint32_t>> pairs;
  for (const DagEdge& e : job->edges) {
    ASSERT_LT(e.from, job->tasks.size());
    ASSERT_LT(e.to, job->tasks.size());
    EXPECT_NE(e.from, e.to);
    EXPECT_LT(e.comm, 0) << "WfCommons edges carry bytes, not seconds";
    EXPECT_TRUE(pairs.emplace(e.from, e.to).second) << "duplicate edge";
    bytes += e.bytes;
  }
  EXPECT_NEAR(bytes, c.edge_bytes, 1e-9 * c.edge_bytes);

  const auto order = topological_order(*job);
  ASSERT_EQ(order.size(), job->tasks.size()) << "acyclic";
  std::vector<std::size_t> position(order.size());
  for (std::size_t k = 0; k < order.size(); ++k) position[order[k]] = k;
  for (const DagEdge& e : job->edges) EXPECT_LT(position[e.from], position[e.to]);
}

INSTANTIATE_TEST_SUITE_P(
    Shared, WfCommonsFile,
    testing::Values(WfCase{"epigenomics-chameleon-hep-1seq-100k-001.json", 41, 48, 539, 353323676.0},
                    WfCase{"montage-chameleon-2mass-005d-001.json", 58, 114, 222, 549181584.0},
                    WfCase{"blast-chameleon-medium-001.json", 303, 900, 31513, 236520.0},
                    WfCase{"seismology-chameleon-1000p-001.json", 1001, 1000, 538, 6320320.0},
                    WfCase{"bwa-chameleon-large-001.json", 1004, 4000, 13277, 1864001284.0},
                    WfCase{"montage-chameleon-2mass-04d-001.json", 1312, 3540, 3022, 19367140419.0},
                    WfCase{"1000genome-chameleon-2ch-100k-001.schema-1.4.json", 52, 76, 2771, 11240567.0}),
    [](const testing::TestParamInfo<WfCase>& info) {
      std::string name = std::string(info.param.file).substr(0, std::string(info.param.file).find("-chameleon"));
      name += std::to_string(info.index);
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

TEST(WfCommons, ReferenceSpeedScalesFlops) {
  const std::string path = kShared + "wfcommons/epigenomics-chameleon-hep-1seq-100k-001.json";
  auto slow = load_wfcommons(path, 1e9);
  auto fast = load_wfcommons(path, 4e9);
  ASSERT_TRUE(slow.ok() && fast.ok());
  for (std::size_t i = 0; i < slow->tasks.size(); ++i) EXPECT_DOUBLE_EQ(fast->tasks[i].flops, 4 * slow->tasks[i].flops);
  // The first task of the file: chr21_chr21_ID0000001, 2.774 s.
  EXPECT_EQ(slow->tasks[0].name, "chr21_chr21_ID0000001");
  EXPECT_DOUBLE_EQ(slow->tasks[0].flops, 2.774e9);
  EXPECT_FALSE(load_wfcommons(path, 0).ok());
  EXPECT_FALSE(load_wfcommons(path, -1).ok());
}

TEST(WfCommons, Schema14ParentsByNameMakeTheEdges) {
  // Pitfall 1 and 2 of SOURCES.md: parents name tasks by `name`, and there are no children
  // lists, so every edge comes from a parents list.
  auto job = load_wfcommons(kShared + "wfcommons/1000genome-chameleon-2ch-100k-001.schema-1.4.json");
  ASSERT_TRUE(job.ok()) << job.error();
  std::size_t roots = 0;
  std::vector<int> has_parent(job->tasks.size(), 0);
  for (const DagEdge& e : job->edges) has_parent[e.to] = 1;
  for (int p : has_parent) roots += p == 0 ? 1 : 0;
  EXPECT_GT(roots, 0u);
  EXPECT_LT(roots, job->tasks.size());
  EXPECT_EQ(job->tasks[0].name, "individuals_ID0000001");
  EXPECT_DOUBLE_EQ(job->tasks[0].flops, 53.6e9);
}

// ---- SWF ---------------------------------------------------------------------------------

struct SwfCase {
  const char* file;
  std::uint64_t skipped_in_first_1000;
  std::uint64_t max_procs_in_first_1000;
};

class SwfFile : public testing::TestWithParam<SwfCase> {};

TEST_P(SwfFile, WindowOfAThousandJobs) {
  const SwfCase& c = GetParam();
  SwfOptions options;
  options.first_job = 0;
  options.max_jobs = 1000;
  auto trace = load_swf(kShared + "swf/" + c.file, options);
  ASSERT_TRUE(trace.ok()) << trace.error();
  EXPECT_EQ(trace->skipped, c.skipped_in_first_1000);
  EXPECT_EQ(trace->jobs.size(), 1000 - trace->skipped);
  EXPECT_EQ(trace->max_procs_seen, c.max_procs_in_first_1000);
  ASSERT_FALSE(trace->jobs.empty());
  EXPECT_EQ(trace->jobs.front().submit, 0);
  double previous = 0;
  for (const DagJob& job : trace->jobs) {
    EXPECT_GE(job.submit, previous);
    previous = job.submit;
    EXPECT_TRUE(job.edges.empty());
    ASSERT_FALSE(job.tasks.empty());
    EXPECT_LE(job.tasks.size(), trace->max_procs_seen);
    for (const DagTask& t : job.tasks) {
      EXPECT_GT(t.flops, 0);
      EXPECT_EQ(t.flops, job.tasks[0].flops) << "a rigid job's tasks are alike";
    }
  }

  // time_scale multiplies the (shifted) submit times; runtime_scale the flops; max_procs caps.
  SwfOptions half = options;
  half.time_scale = 0.5;
  half.runtime_scale = 2;
  half.max_procs = 4;
  auto scaled = load_swf(kShared + "swf/" + c.file, half);
  ASSERT_TRUE(scaled.ok()) << scaled.error();
  ASSERT_EQ(scaled->jobs.size(), trace->jobs.size());
  EXPECT_EQ(scaled->max_procs_seen, trace->max_procs_seen) << "reported before the cap";
  for (std::size_t j = 0; j < trace->jobs.size(); ++j) {
    EXPECT_EQ(scaled->jobs[j].name, trace->jobs[j].name);
    EXPECT_DOUBLE_EQ(scaled->jobs[j].submit, trace->jobs[j].submit / 2);
    EXPECT_EQ(scaled->jobs[j].tasks.size(), std::min<std::size_t>(trace->jobs[j].tasks.size(), 4));
    EXPECT_DOUBLE_EQ(scaled->jobs[j].tasks[0].flops, 2 * trace->jobs[j].tasks[0].flops);
  }
}

INSTANTIATE_TEST_SUITE_P(Shared, SwfFile,
                         testing::Values(SwfCase{"KTH-SP2-1996-2.1-cln.swf", 0, 84},
                                         SwfCase{"HPC2N-2002-2.2-cln.first3170jobs.swf", 6, 120},
                                         SwfCase{"lublin_256.synthetic.swf", 0, 256},
                                         SwfCase{"LCG-2005-1.swf.gz", 0, 1}),
                         [](const testing::TestParamInfo<SwfCase>& info) {
                           return std::string(std::vector<const char*>{"KTH", "HPC2N", "lublin", "LCG"}[info.index]);
                         });

TEST(Swf, WholeTracesAndTheirSkippedJobs) {
  // HPC2N: 3,170 jobs of which 25 have run time -1 (SOURCES.md). LCG: 188,041 jobs, 521 of
  // which ran for 0 s. KTH: 28,476 jobs; 8 ran for 0 s and 1 has no processors.
  auto hpc2n = load_swf(kShared + "swf/HPC2N-2002-2.2-cln.first3170jobs.swf");
  ASSERT_TRUE(hpc2n.ok()) << hpc2n.error();
  EXPECT_EQ(hpc2n->skipped, 25u);
  EXPECT_EQ(hpc2n->jobs.size(), 3170u - 25u);
  EXPECT_EQ(hpc2n->max_procs_seen, 128u);
  auto lcg = load_swf(kShared + "swf/LCG-2005-1.swf.gz");
  ASSERT_TRUE(lcg.ok()) << lcg.error();
  EXPECT_EQ(lcg->jobs.size() + lcg->skipped, 188041u);
  EXPECT_EQ(lcg->skipped, 521u);
  EXPECT_EQ(lcg->max_procs_seen, 1u);
  auto kth = load_swf(kShared + "swf/KTH-SP2-1996-2.1-cln.swf");
  ASSERT_TRUE(kth.ok()) << kth.error();
  EXPECT_EQ(kth->jobs.size() + kth->skipped, 28476u);
  EXPECT_EQ(kth->skipped, 9u);
  EXPECT_EQ(kth->max_procs_seen, 100u);
}

TEST(Swf, WindowIsInTraceOrderBeforeFiltering) {
  const std::string path = kShared + "swf/KTH-SP2-1996-2.1-cln.swf";
  SwfOptions all;
  all.max_jobs = 100;
  SwfOptions window;
  window.first_job = 10;
  window.max_jobs = 5;
  auto a = load_swf(path, all);
  auto w = load_swf(path, window);
  ASSERT_TRUE(a.ok() && w.ok());
  ASSERT_EQ(w->jobs.size(), 5u);
  for (std::size_t j = 0; j < 5; ++j) {
    EXPECT_EQ(w->jobs[j].name, a->jobs[10 + j].name);
    EXPECT_DOUBLE_EQ(w->jobs[j].submit, a->jobs[10 + j].submit - a->jobs[10].submit) << "shifted to 0";
  }
  // HPC2N's window of 1,000 holds 6 jobs of unknown run time: they count in the window.
  SwfOptions thousand;
  thousand.max_jobs = 1000;
  auto h = load_swf(kShared + "swf/HPC2N-2002-2.2-cln.first3170jobs.swf", thousand);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->jobs.size(), 994u);
  // A window past the end is an error, not an empty trace.
  window.first_job = 1'000'000;
  auto past = load_swf(path, window);
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.error().find("28476 jobs"), std::string::npos) << past.error();
}

// ---- fulcrum's JSON DAG --------------------------------------------------------------------

class TempDir : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "fulcrum-loaders-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string write_gz(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    gzFile f = gzopen(path.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
    gzclose(f);
    return path;
  }
  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::filesystem::path dir_;
};

// The Error of a failing load, with `file` and every one of `parts` in it.
#define EXPECT_LOAD_ERROR(result, file, ...)                                              \
  do {                                                                                    \
    const auto& r_ = (result);                                                            \
    ASSERT_FALSE(r_.ok()) << "loaded a bad file";                                         \
    EXPECT_NE(r_.error().find(file), std::string::npos) << r_.error();                    \
    for (const std::string part : {__VA_ARGS__}) {                                        \
      EXPECT_NE(r_.error().find(part), std::string::npos) << "no '" << part << "' in: " << r_.error(); \
    }                                                                                     \
  } while (0)

using DagJson = TempDir;

TEST_F(DagJson, LoadsTheDocumentedExample) {
  auto job = load_dag_json(write("diamond.json", R"({
    "name": "diamond",
    "tasks": [{"id": "t1", "cost": {"p1": 14, "p2": 16}}, {"id": "t2", "flops": 2e9},
              {"id": "t3", "flops": 0}],
    "edges": [{"from": "t1", "to": "t2", "comm": 18}, {"from": "t1", "to": "t3", "bytes": 1e6},
              {"from": "t2", "to": "t3"}]})"));
  ASSERT_TRUE(job.ok()) << job.error();
  EXPECT_EQ(job->name, "diamond");
  ASSERT_EQ(job->tasks.size(), 3u);
  EXPECT_EQ(job->tasks[0].cost.at("p2"), 16);
  EXPECT_EQ(job->tasks[1].flops, 2e9);
  ASSERT_EQ(job->edges.size(), 3u);
  EXPECT_EQ(job->edges[0].comm, 18);
  EXPECT_EQ(job->edges[0].bytes, 0);
  EXPECT_EQ(job->edges[1].bytes, 1e6);
  EXPECT_LT(job->edges[1].comm, 0);
  EXPECT_EQ(job->edges[2].bytes, 0);
  EXPECT_LT(job->edges[2].comm, 0);
  EXPECT_EQ(job->edges[2].from, 1u);
  EXPECT_EQ(job->edges[2].to, 2u);

  // Gzipped, and named after the file when it has no name.
  auto gz = load_dag_json(write_gz("one.json.gz", R"({"tasks": [{"id": "a", "flops": 1}]})"));
  ASSERT_TRUE(gz.ok()) << gz.error();
  EXPECT_EQ(gz->name, "one");
}

TEST_F(DagJson, RefusesMalformedFiles) {
  EXPECT_LOAD_ERROR(load_dag_json(write("cycle.json", R"({"tasks": [{"id": "t1", "flops": 1}, {"id": "t2", "flops": 1},
      {"id": "t3", "flops": 1}], "edges": [{"from": "t1", "to": "t2"}, {"from": "t2", "to": "t3"}, {"from": "t3", "to": "t2"}]})")),
                    "cycle.json", "cycle.json: cycle: t2 -> t3 -> t2");
  EXPECT_LOAD_ERROR(load_dag_json(write("dup.json", R"({"tasks": [{"id": "t1", "flops": 1}, {"id": "t1", "flops": 2}]})")),
                    "dup.json", "tasks[1] (id \"t1\"): id: duplicate of tasks[0]");
  EXPECT_LOAD_ERROR(load_dag_json(write("dangling.json", R"({"tasks": [{"id": "t3", "flops": 1}],
      "edges": [{"from": "t9", "to": "t3"}]})")),
                    "dangling.json", "edges[0]", "\"t9\" is not a task");
  EXPECT_LOAD_ERROR(load_dag_json(write("both.json", R"({"tasks": [{"id": "t1", "flops": 1, "cost": {"p": 1}}]})")),
                    "both.json", "tasks[0] (id \"t1\")", "exactly one of");
  EXPECT_LOAD_ERROR(load_dag_json(write("neither.json", R"({"tasks": [{"id": "t1"}]})")), "neither.json", "neither");
  EXPECT_LOAD_ERROR(load_dag_json(write("typo.json", R"({"tasks": [{"id": "t1", "flop": 1}]})")), "typo.json",
                    "unknown key \"flop\"");
  EXPECT_LOAD_ERROR(load_dag_json(write("neg.json", R"({"tasks": [{"id": "t1", "flops": -5}]})")), "neg.json",
                    "tasks[0] (id \"t1\"): flops: must be >= 0, got -5");
  EXPECT_LOAD_ERROR(load_dag_json(write("type.json", R"({"tasks": [{"id": "t1", "flops": "lots"}]})")), "type.json",
                    "flops: must be a number, got string \"lots\"");
  EXPECT_LOAD_ERROR(load_dag_json(write("self.json", R"({"tasks": [{"id": "t1", "flops": 1}], "edges": [{"from": "t1", "to": "t1"}]})")),
                    "self.json", "depends on itself");
  EXPECT_LOAD_ERROR(load_dag_json(write("twice.json", R"({"tasks": [{"id": "a", "flops": 1}, {"id": "b", "flops": 1}],
      "edges": [{"from": "a", "to": "b"}, {"from": "a", "to": "b", "bytes": 3}]})")),
                    "twice.json", "edges[1]", "duplicate of edges[0]");
  EXPECT_LOAD_ERROR(load_dag_json(write("comm.json", R"({"tasks": [{"id": "a", "flops": 1}, {"id": "b", "flops": 1}],
      "edges": [{"from": "a", "to": "b", "comm": 1, "bytes": 3}]})")),
                    "comm.json", "at most one of");
  EXPECT_LOAD_ERROR(load_dag_json(write("empty.json", R"({"tasks": []})")), "empty.json", "at least one task");
  EXPECT_LOAD_ERROR(load_dag_json(write("missing.json", R"({"edges": []})")), "missing.json", "tasks: missing");
  EXPECT_LOAD_ERROR(load_dag_json(write("notjson.json", "{\"tasks\": [\n  {\"id\": \"t1\",, }]}")), "notjson.json",
                    "not JSON", "line 2");
  EXPECT_LOAD_ERROR(load_dag_json(write("deep.json", std::string(100000, '[') + std::string(100000, ']'))),
                    "deep.json", "nested more than");
  EXPECT_LOAD_ERROR(load_dag_json(write("array.json", "[1, 2]")), "array.json", "must be an object");
  EXPECT_LOAD_ERROR(load_dag_json((dir_ / "absent.json").string()), "absent.json", "cannot open");
}

// ---- malformed WfCommons -------------------------------------------------------------------

using WfCommonsBad = TempDir;

// A schema-1.5 document around the given specification tasks and execution tasks.
std::string v15(const std::string& spec_tasks, const std::string& exec_tasks, const std::string& files = "[]") {
  return R"({"schemaVersion": "1.5", "workflow": {"specification": {"tasks": )" + spec_tasks +
         R"(, "files": )" + files + R"(}, "execution": {"tasks": )" + exec_tasks + "}}}";
}

TEST_F(WfCommonsBad, Schema15) {
  const std::string two_spec =
      R"([{"id": "a", "name": "a", "parents": [], "children": ["b"], "outputFiles": ["f"]},
          {"id": "b", "name": "b", "parents": ["a"], "children": [], "inputFiles": ["f"]}])";
  const std::string files = R"([{"id": "f", "sizeInBytes": 1234}])";
  // A good one first: bytes come from the shared file, the edge is listed on both sides once.
  auto good = load_wfcommons(
      write("good.json", v15(two_spec, R"([{"id": "a", "runtimeInSeconds": 1.5}, {"id": "b", "runtimeInSeconds": 0}])", files)));
  ASSERT_TRUE(good.ok()) << good.error();
  ASSERT_EQ(good->edges.size(), 1u);
  EXPECT_EQ(good->edges[0].bytes, 1234);
  EXPECT_EQ(good->tasks[0].flops, 1.5e9);

  EXPECT_LOAD_ERROR(load_wfcommons(write("noruntime.json", v15(two_spec, R"([{"id": "a", "runtimeInSeconds": 1}, {"id": "b"}])", files))),
                    "noruntime.json", "workflow.execution.tasks[1] (id \"b\"): runtimeInSeconds: missing");
  EXPECT_LOAD_ERROR(load_wfcommons(write("noexec.json", v15(two_spec, R"([{"id": "a", "runtimeInSeconds": 1}])", files))),
                    "noexec.json", "workflow.specification.tasks[1] (id \"b\")", "not in workflow.execution.tasks");
  EXPECT_LOAD_ERROR(load_wfcommons(write("negative.json", v15(two_spec, R"([{"id": "a", "runtimeInSeconds": 1}, {"id": "b", "runtimeInSeconds": -2}])", files))),
                    "negative.json", "workflow.execution.tasks[1] (id \"b\"): runtimeInSeconds: must be >= 0, got -2");
  EXPECT_LOAD_ERROR(load_wfcommons(write("nofile.json", v15(two_spec, R"([{"id": "a", "runtimeInSeconds": 1}, {"id": "b", "runtimeInSeconds": 1}])"))),
                    "nofile.json", "tasks[0] (id \"a\"): outputFiles[0]: file \"f\" is not in workflow.specification.files");
  EXPECT_LOAD_ERROR(
      load_wfcommons(write("dangling.json", v15(R"([{"id": "t3", "parents": ["t9"]}])", R"([{"id": "t3", "runtimeInSeconds": 1}])"))),
      "dangling.json", "workflow.specification.tasks[0] (id \"t3\"): parents: parent \"t9\" of \"t3\" is not a task");
  EXPECT_LOAD_ERROR(
      load_wfcommons(write("cycle.json", v15(R"([{"id": "t1", "children": ["t2"]}, {"id": "t2", "children": ["t1"]}])",
                                             R"([{"id": "t1", "runtimeInSeconds": 1}, {"id": "t2", "runtimeInSeconds": 1}])"))),
      "cycle.json", "cycle.json: cycle: t", "t1 -> t2", "t2 -> t1");
  EXPECT_LOAD_ERROR(
      load_wfcommons(write("dupid.json", v15(R"([{"id": "t1"}, {"id": "t1"}])", R"([{"id": "t1", "runtimeInSeconds": 1}])"))),
      "dupid.json", "tasks[1] (id \"t1\"): duplicate id");
  EXPECT_LOAD_ERROR(load_wfcommons(write("type.json", v15(R"([{"id": 7}])", "[]"))), "type.json",
                    "workflow.specification.tasks[0]: id: must be a string, got 7");
  EXPECT_LOAD_ERROR(load_wfcommons(write("noexecution.json", R"({"workflow": {"specification": {"tasks": []}}})")),
                    "noexecution.json", "workflow: execution: missing");
  EXPECT_LOAD_ERROR(load_wfcommons(write("noworkflow.json", R"({"name": "x"})")), "noworkflow.json", "workflow: missing");
  EXPECT_LOAD_ERROR(load_wfcommons(write("neither.json", R"({"workflow": {}})")), "neither.json", "neither");
  EXPECT_LOAD_ERROR(load_wfcommons(write("garbage.json", "\x89PNG\r\n\x1a\n")), "garbage.json", "not JSON");
  EXPECT_LOAD_ERROR(load_wfcommons(write("truncated.json", v15(two_spec, "[]").substr(0, 60))), "truncated.json",
                    "not JSON");
}

TEST_F(WfCommonsBad, Schema14) {
  const auto task = [](const std::string& name, const std::string& runtime, const std::string& parents) {
    return R"({"name": ")" + name + R"(", "id": "ID_)" + name + R"(", "runtimeInSeconds": )" + runtime +
           R"(, "parents": )" + parents + R"(, "files": []})";
  };
  const auto doc = [](const std::string& tasks) { return R"({"schemaVersion": "1.4", "workflow": {"tasks": [)" + tasks + "]}}"; };
  auto good = load_wfcommons(write("good14.json", doc(task("a", "1", "[]") + "," + task("b", "2", R"(["a"])"))));
  ASSERT_TRUE(good.ok()) << good.error();
  EXPECT_EQ(good->edges.size(), 1u);

  EXPECT_LOAD_ERROR(load_wfcommons(write("neg14.json", doc(task("t1", "1", "[]") + "," + task("t4", "-2", "[]")))),
                    "neg14.json", "neg14.json: workflow.tasks[1] (name \"t4\"): runtimeInSeconds: must be >= 0, got -2");
  EXPECT_LOAD_ERROR(load_wfcommons(write("missing14.json", doc(R"({"name": "a", "parents": []})"))), "missing14.json",
                    "workflow.tasks[0] (name \"a\"): runtimeInSeconds: missing");
  EXPECT_LOAD_ERROR(load_wfcommons(write("dangling14.json", doc(task("t3", "1", R"(["t9"])")))), "dangling14.json",
                    "parent \"t9\" of \"t3\" is not a task");
  EXPECT_LOAD_ERROR(load_wfcommons(write("dup14.json", doc(task("a", "1", "[]") + "," + task("a", "1", "[]")))),
                    "dup14.json", "workflow.tasks[1] (name \"a\"): duplicate name");
  EXPECT_LOAD_ERROR(
      load_wfcommons(write("cycle14.json", doc(task("a", "1", R"(["c"])") + "," + task("b", "1", R"(["a"])") + "," +
                                               task("c", "1", R"(["b"])")))),
      "cycle14.json", "cycle14.json: cycle: ", "a -> b", "b -> c", "c -> a");
  EXPECT_LOAD_ERROR(load_wfcommons(write("self14.json", doc(task("a", "1", R"(["a"])")))), "self14.json",
                    "is its own parent or child");
  EXPECT_LOAD_ERROR(load_wfcommons(write("link14.json", doc(R"({"name": "a", "runtimeInSeconds": 1,
      "files": [{"link": "sideways", "name": "f", "sizeInBytes": 1}]})"))),
                    "link14.json", "files[0]: link: must be \"input\" or \"output\"");
}

// ---- malformed SWF -------------------------------------------------------------------------

using SwfBad = TempDir;

const char* const kGoodLine = "1 0 5 100 4 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1 -1\n";

TEST_F(SwfBad, RefusesMalformedTraces) {
  const std::string header = "; Version: 2.2\n; Computer: test\n";
  EXPECT_LOAD_ERROR(load_swf(write("short.swf", header + "1 0 5 100 4 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1\n")),
                    "short.swf", "short.swf:3: expected 18 fields, got 17");
  EXPECT_LOAD_ERROR(load_swf(write("long.swf", header + kGoodLine + "2 0 5 100 4 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1 -1 7\n")),
                    "long.swf", "long.swf:4: expected 18 fields, got 19");
  EXPECT_LOAD_ERROR(load_swf(write("text.swf", header + "1 0 5 abc 4 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1 -1\n")),
                    "text.swf", "text.swf:3: field 4 (run time): not a number 'abc'");
  EXPECT_LOAD_ERROR(load_swf(write("nan.swf", header + "1 0 5 nan 4 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1 -1\n")),
                    "nan.swf", "nan.swf:3: field 4 (run time)");
  EXPECT_LOAD_ERROR(load_swf(write("half.swf", header + "1 0 5 100 2.5 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1 -1\n")),
                    "half.swf", "half.swf:3: field 5 (allocated processors): not a whole number 2.5");
  EXPECT_LOAD_ERROR(load_swf(write("huge.swf", header + "1 0 5 100 1e12 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1 -1\n")),
                    "huge.swf", "huge.swf:3: field 5", "implausible");
  EXPECT_LOAD_ERROR(load_swf(write("empty.swf", "")), "empty.swf", "no job lines");
  EXPECT_LOAD_ERROR(load_swf(write("header.swf", header)), "header.swf", "no job lines");
  EXPECT_LOAD_ERROR(load_swf(write("allskipped.swf", header + "1 0 5 -1 4 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1 -1\n")),
                    "allskipped.swf", "every one of the 1 jobs");
  EXPECT_LOAD_ERROR(load_swf((dir_ / "absent.swf").string()), "absent.swf", "cannot open");
  EXPECT_LOAD_ERROR(load_swf(write("longline.swf", std::string(3 << 20, '7'))), "longline.swf", "longline.swf:1:",
                    "longer than");
  SwfOptions bad_scale;
  bad_scale.runtime_scale = 0;
  EXPECT_LOAD_ERROR(load_swf(write("ok.swf", header + kGoodLine), bad_scale), "ok.swf", "runtime_scale");

  // Requested processors stand in for unknown allocated ones; CRLF and blank lines are fine.
  auto crlf = load_swf(write("crlf.swf", header + "\r\n1 0 5 100 -1 -1 -1 3 200 -1 1 1 1 -1 -1 -1 -1 -1\r\n"));
  ASSERT_TRUE(crlf.ok()) << crlf.error();
  ASSERT_EQ(crlf->jobs.size(), 1u);
  EXPECT_EQ(crlf->jobs[0].tasks.size(), 3u);
  EXPECT_EQ(crlf->jobs[0].name, "job1");
  EXPECT_EQ(crlf->jobs[0].tasks[2].name, "job1.2");
  EXPECT_EQ(crlf->jobs[0].tasks[0].flops, 100e9);
}

TEST_F(SwfBad, RefusesTruncatedAndGarbledGzip) {
  // The first 100 kB of the LCG log: a gzip stream cut short.
  const std::string lcg = read(kShared + "swf/LCG-2005-1.swf.gz");
  ASSERT_GT(lcg.size(), 100000u);
  EXPECT_LOAD_ERROR(load_swf(write("cut.swf.gz", lcg.substr(0, 100000))), "cut.swf.gz", "gzip");

  // A small gzip trace with bytes in the middle of the deflate stream overwritten.
  std::string text = "; header\n";
  for (int j = 1; j <= 2000; ++j) {
    text += std::to_string(j) + " " + std::to_string(j * 7) + " 0 " + std::to_string(100 + j % 13) +
            " 1 -1 -1 1 500 -1 1 3 4 -1 -1 -1 -1 -1\n";
  }
  const std::string good = write_gz("good.swf.gz", text);
  auto loaded = load_swf(good);
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_EQ(loaded->jobs.size(), 2000u);
  std::string bytes = read(good);
  ASSERT_GT(bytes.size(), 200u);
  for (std::size_t i = bytes.size() / 3; i < bytes.size() / 3 + 40; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  auto garbled = load_swf(write("garbled.swf.gz", bytes));
  ASSERT_FALSE(garbled.ok());
  EXPECT_NE(garbled.error().find("garbled.swf.gz"), std::string::npos) << garbled.error();

  // JSON loaders read gzip through the same path.
  EXPECT_LOAD_ERROR(load_wfcommons(write("cut.json.gz", lcg.substr(0, 5000))), "cut.json.gz", "gzip");
}

// ---- requests: what tasks ask for (issue 16) -----------------------------------------------

// SWF field 10, requested memory in KB per processor: job 184 of the HPC2N log (line 155)
// asks for 819200 KB on each of its 16 processors; its neighbours give -1 (none).
TEST(SwfRequests, RequestedMemoryIsPerProcessorKilobytes) {
  SwfOptions window;
  window.first_job = 130;  // job lines are numbered from line 24: job 184 is the 132nd
  window.max_jobs = 3;
  auto trace = load_swf(kShared + "swf/HPC2N-2002-2.2-cln.first3170jobs.swf", window);
  ASSERT_TRUE(trace.ok()) << trace.error();
  ASSERT_EQ(trace->requests.size(), trace->jobs.size());
  bool seen = false;
  for (std::size_t j = 0; j < trace->jobs.size(); ++j) {
    const DagJob& job = trace->jobs[j];
    ASSERT_EQ(trace->requests[j].size(), job.tasks.size()) << job.name;
    for (const Resources& r : trace->requests[j]) {
      EXPECT_EQ(r.cores, 1);
      EXPECT_EQ(r.memory, job.name == "job184" ? 819200.0 * 1024 : 0.0) << job.name;
    }
    if (job.name == "job184") {
      seen = true;
      EXPECT_EQ(job.tasks.size(), 16u);
    }
  }
  EXPECT_TRUE(seen) << "job184 not in the window";
}

using SwfRequestsBad = TempDir;

TEST_F(SwfRequestsBad, MemoryBelowMinusOneIsRefusedWithItsLine) {
  const std::string text = "; header\n1 0 5 100 2 -1 -1 2 200 1000 1 1 1 -1 -1 -1 -1 -1\n"
                           "2 0 5 100 2 -1 -1 2 200 -2 1 1 1 -1 -1 -1 -1 -1\n";
  EXPECT_LOAD_ERROR(load_swf(write("mem.swf", text)), "mem.swf", "mem.swf:3: field 10 (requested memory)",
                    "got -2");
  auto ok = load_swf(write("ok.swf", "1 0 5 100 2 -1 -1 2 200 1000 1 1 1 -1 -1 -1 -1 -1\n"));
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ(ok->requests.at(0), (TaskRequests(2, Resources{.cores = 1, .memory = 1024000})));
}

// WfCommons 1.5 (Makeflow): coreCount and memoryInBytes of workflow.execution.tasks.
TEST(WfCommonsRequests, Schema15CoresAndMemory) {
  TaskRequests requests;
  auto job = load_wfcommons(kShared + "wfcommons/blast-chameleon-medium-001.json", 1e9, &requests);
  ASSERT_TRUE(job.ok()) << job.error();
  ASSERT_EQ(requests.size(), job->tasks.size());
  double total = 0;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ(requests[i].cores, 1);
    total += requests[i].memory;
    if (job->tasks[i].name == "split_fasta_ID000001") {
      EXPECT_EQ(requests[i].memory, 9000000);
    }
    if (job->tasks[i].name == "blastall_ID000237") {
      EXPECT_EQ(requests[i].memory, 1202000000);
    }
  }
  EXPECT_EQ(total, 314864000000.0);
  // Pegasus epigenomics records neither: one core, memory not given.
  auto epi = load_wfcommons(kShared + "wfcommons/epigenomics-chameleon-hep-1seq-100k-001.json", 1e9, &requests);
  ASSERT_TRUE(epi.ok()) << epi.error();
  ASSERT_EQ(requests.size(), 41u);
  for (const Resources& r : requests) EXPECT_EQ(r, (Resources{.cores = 1}));
}

using WfCommonsRequestsFiles = TempDir;

// Schema 1.4's cores and memoryInBytes, and the requests following load_trace_jobs' order.
TEST_F(WfCommonsRequestsFiles, Schema14AndTopologicalOrder) {
  const std::string text = R"({"name": "x", "schemaVersion": "1.4", "workflow": {"tasks": [
      {"name": "child", "runtimeInSeconds": 1, "parents": ["root"], "cores": 2, "memoryInBytes": 2000},
      {"name": "root", "runtimeInSeconds": 1, "memoryInBytes": 1000}]}})";
  const std::string path = write("x.json", text);
  TaskRequests requests;
  auto job = load_wfcommons(path, 1e9, &requests);
  ASSERT_TRUE(job.ok()) << job.error();
  EXPECT_EQ(requests, (TaskRequests{{.cores = 2, .memory = 2000}, {.cores = 1, .memory = 1000}}));
  TraceWorkload trace;
  trace.type = "wfcommons";
  trace.files = {path};
  trace.require = {{"disk", "ssd"}};
  trace.spread = Spread::kHost;
  auto jobs = load_trace_jobs(trace);
  ASSERT_TRUE(jobs.ok()) << jobs.error();
  ASSERT_EQ(jobs->jobs.size(), 1u);
  ASSERT_EQ(jobs->jobs[0].tasks[0].name, "root");  // parents first
  const JobSpec spec = trace_job_spec(*jobs, 0, trace);
  EXPECT_EQ(spec.tasks[0].request, (Resources{.cores = 1, .memory = 1000}));
  EXPECT_EQ(spec.tasks[1].request, (Resources{.cores = 2, .memory = 2000}));
  EXPECT_EQ(spec.tasks[1].require, trace.require);
  EXPECT_EQ(spec.tasks[1].spread, Spread::kHost);
  EXPECT_EQ(spec.tasks[1].parents, (std::vector<std::uint32_t>{0}));

  EXPECT_LOAD_ERROR(load_wfcommons(write("cores.json", R"({"workflow": {"tasks": [
      {"name": "a", "runtimeInSeconds": 1, "cores": 0}]}})")), "cores.json", "workflow.tasks[0]", "cores: must be > 0");
  EXPECT_LOAD_ERROR(load_wfcommons(write("mem.json", R"({"workflow": {"tasks": [
      {"name": "a", "runtimeInSeconds": 1, "memoryInBytes": -5}]}})")), "mem.json", "memoryInBytes");
}

// ---- the Alibaba v2017 batch task table -----------------------------------------------------

const std::string kAlibaba = kShared + "traces/alibaba-v2017-batch_task.derived.csv.gz";
constexpr double kGiB = 1024.0 * 1024 * 1024;

// The first two jobs by create time: job 9741 (lines 9318-9320, created at -1078: 75 + 224 +
// 1 instances at plan_cpu 100) and job 6850 (lines 52895-52900, from -849: six rows at
// plan_cpu 50, 66,356 instances).
TEST(Alibaba, TheFirstJobsOfTheRealTable) {
  AlibabaOptions options;
  options.max_jobs = 2;
  auto trace = load_alibaba(kAlibaba, options);
  ASSERT_TRUE(trace.ok()) << trace.error();
  EXPECT_EQ(trace->rows, 80553u);
  EXPECT_EQ(trace->skipped, 12449u);  // Waiting and Running tasks, and a few without a plan or duration
  ASSERT_EQ(trace->jobs.size(), 2u);
  ASSERT_EQ(trace->requests.size(), 2u);
  const DagJob& first = trace->jobs[0];
  EXPECT_EQ(first.name, "job9741");
  EXPECT_EQ(first.submit, 0);
  ASSERT_EQ(first.tasks.size(), 300u);
  EXPECT_TRUE(first.edges.empty());
  EXPECT_EQ(first.tasks[0].name, "63358.0");
  EXPECT_EQ(first.tasks[0].flops, (2891.0 + 1078) * 1e9);
  EXPECT_EQ(trace->requests[0][0].cores, 1.0);
  EXPECT_EQ(trace->requests[0][0].memory, std::ceil(0.016007041 * 64 * kGiB));
  EXPECT_EQ(first.tasks[75].name, "63357.0");
  EXPECT_EQ(first.tasks[75].flops, (2738.0 + 1078) * 1e9);
  EXPECT_EQ(trace->requests[0][75].memory, std::ceil(0.005404706 * 64 * kGiB));
  EXPECT_EQ(first.tasks[299].name, "63359.0");

  const DagJob& second = trace->jobs[1];
  EXPECT_EQ(second.name, "job6850");
  EXPECT_EQ(second.submit, 1078 - 849);
  EXPECT_EQ(second.tasks.size(), 66356u);
  EXPECT_EQ(second.tasks[0].flops, (93.0 + 849) * 1e9);
  EXPECT_EQ(trace->requests[1][0].cores, 0.5);
  EXPECT_EQ(trace->requests[1][0].memory, std::ceil(0.021308208 * 64 * kGiB));
}

TEST(Alibaba, OptionsScaleAndCap) {
  AlibabaOptions options;
  options.max_jobs = 10;
  options.max_instances = 2;
  options.time_scale = 0.5;
  options.runtime_scale = 2;
  options.reference_speed = 1e6;
  options.machine_memory = 100 * kGiB;
  auto trace = load_alibaba(kAlibaba, options);
  ASSERT_TRUE(trace.ok()) << trace.error();
  ASSERT_EQ(trace->jobs.size(), 10u);
  std::size_t tasks = 0;
  for (const DagJob& j : trace->jobs) tasks += j.tasks.size();
  EXPECT_EQ(tasks, 115u);  // each row's instances capped at 2
  EXPECT_EQ(trace->jobs[0].tasks.size(), 5u);
  EXPECT_EQ(trace->jobs[1].tasks.size(), 12u);
  EXPECT_EQ(trace->jobs[1].submit, (1078 - 849) * 0.5);
  EXPECT_EQ(trace->jobs[0].tasks[0].flops, (2891.0 + 1078) * 2 * 1e6);
  EXPECT_EQ(trace->requests[0][0].memory, std::ceil(0.016007041 * 100 * kGiB));
  for (std::size_t j = 1; j < trace->jobs.size(); ++j) EXPECT_GE(trace->jobs[j].submit, trace->jobs[j - 1].submit);

  // The window's second job comes first when the window starts there.
  AlibabaOptions from_second;
  from_second.first_job = 1;
  from_second.max_jobs = 1;
  auto second = load_alibaba(kAlibaba, from_second);
  ASSERT_TRUE(second.ok()) << second.error();
  ASSERT_EQ(second->jobs.size(), 1u);
  EXPECT_EQ(second->jobs[0].name, "job6850");
  EXPECT_EQ(second->jobs[0].submit, 0);

  AlibabaOptions past;
  past.first_job = 20000;
  EXPECT_LOAD_ERROR(load_alibaba(kAlibaba, past), "alibaba-v2017", "only 11939 jobs");
}

// Through the scenario's trace workload: load_trace_jobs and trace_job_spec.
TEST(Alibaba, AsATraceWorkload) {
  TraceWorkload trace;
  trace.type = "alibaba";
  trace.files = {kAlibaba};
  trace.max_jobs = 3;
  trace.max_instances = 1;
  trace.machine_memory = 8 * kGiB;
  trace.spread = Spread::kZone;
  auto jobs = load_trace_jobs(trace);
  ASSERT_TRUE(jobs.ok()) << jobs.error();
  ASSERT_EQ(jobs->jobs.size(), 3u);
  EXPECT_EQ(jobs->jobs[2].name, "job740");
  const JobSpec spec = trace_job_spec(*jobs, 1, trace, TaskKind::kSleep);
  ASSERT_EQ(spec.tasks.size(), 6u);
  EXPECT_EQ(spec.tasks[0].request, (Resources{.cores = 0.5, .memory = std::ceil(0.021308208 * 8 * kGiB)}));
  EXPECT_EQ(spec.tasks[0].kind, TaskKind::kSleep);
  EXPECT_EQ(spec.tasks[0].spread, Spread::kZone);
  EXPECT_EQ(spec.name, "job6850");
}

using AlibabaBad = TempDir;

TEST_F(AlibabaBad, RefusesMalformedRowsWithTheirLine) {
  const std::string header = "task_create_time,task_end_time,job_id,task_id,number_of_instances,status,cpu,mem\n";
  const std::string good = "10,20,1,1,2,Terminated,50,0.01\n";
  EXPECT_LOAD_ERROR(load_alibaba(write("short.csv", header + good + "10,20,1,2,2,Terminated,50\n")), "short.csv",
                    "short.csv:3: expected 8 comma-separated fields, got 7");
  EXPECT_LOAD_ERROR(load_alibaba(write("time.csv", header + "1x,20,1,1,2,Terminated,50,0.01\n")), "time.csv",
                    "time.csv:2: field 1 (create time): not a whole number");
  EXPECT_LOAD_ERROR(load_alibaba(write("count.csv", good + "10,20,1,2,-3,Terminated,50,0.01\n")), "count.csv",
                    "count.csv:2: field 5 (instances)");
  EXPECT_LOAD_ERROR(load_alibaba(write("status.csv", header + "10,20,1,1,2,Done,50,0.01\n")), "status.csv",
                    "status.csv:2: field 6 (status): unknown status");
  EXPECT_LOAD_ERROR(load_alibaba(write("plan.csv", header + "10,20,1,1,2,Terminated,-50,0.01\n")), "plan.csv",
                    "plan.csv:2: field 7 (plan_cpu): must be empty or a number >= 0");
  EXPECT_LOAD_ERROR(load_alibaba(write("mem.csv", header + "10,20,1,1,2,Terminated,50,lots\n")), "mem.csv",
                    "mem.csv:2: field 8 (plan_mem)");
  EXPECT_LOAD_ERROR(load_alibaba(write("empty.csv", header)), "empty.csv", "no task rows");
  EXPECT_LOAD_ERROR(load_alibaba(write("waiting.csv", header + "10,20,1,1,2,Waiting,,\n")), "waiting.csv",
                    "every one of the 1 rows was skipped");
  AlibabaOptions bad;
  bad.machine_memory = 0;
  EXPECT_LOAD_ERROR(load_alibaba(write("ok.csv", good), bad), "ok.csv", "machine_memory");

  // Without a header, plain and gzip; skipped rows are counted.
  const std::string rows = good + "5,30,2,7,1,Failed,100,0.5\n30,0,2,8,4,Running,100,0.5\n";
  for (const std::string& path : {write("plain.csv", rows), write_gz("rows.csv.gz", rows)}) {
    auto t = load_alibaba(path);
    ASSERT_TRUE(t.ok()) << t.error();
    EXPECT_EQ(t->rows, 3u);
    EXPECT_EQ(t->skipped, 1u);
    ASSERT_EQ(t->jobs.size(), 2u);
    EXPECT_EQ(t->jobs[0].name, "job2");  // created at 5, before job 1 at 10
    EXPECT_EQ(t->jobs[1].submit, 5);
    EXPECT_EQ(t->jobs[0].tasks.size(), 1u);
    EXPECT_EQ(t->requests[0][0], (Resources{.cores = 1, .memory = 32 * kGiB}));
    EXPECT_EQ(t->jobs[1].tasks.size(), 2u);
    EXPECT_EQ(t->jobs[1].tasks[1].name, "1.1");
  }
}

}  // namespace
}  // namespace fulcrum
