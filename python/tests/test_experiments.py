"""Tests of the experiment scripts experiments/{heterogeneous,faults,workflows,packing}.py: each runs
with --quick into a temporary folder (run with PYTHONPATH=build/python and Debian's
/usr/bin/python3)."""

import math
import os

import pandas as pd
import pytest

from quick_runs import REPO, run_quick

WFCOMMONS = os.path.join(os.path.dirname(REPO), "shared", "workloads", "wfcommons")
ALIBABA = os.path.join(os.path.dirname(REPO), "shared", "workloads", "traces",
                       "alibaba-v2017-batch_task.derived.csv.gz")


def nonempty(path) -> bool:
    return path.exists() and path.stat().st_size > 0


# ---------------------------------------------------------------- heterogeneous.py

def test_heterogeneous_quick(tmp_path):
    p = run_quick("heterogeneous.py", tmp_path)
    assert "weighted_round_robin" in p.stdout
    assert nonempty(tmp_path / "heterogeneous.csv") and nonempty(tmp_path / "heterogeneous.png")
    df = pd.read_csv(tmp_path / "heterogeneous.csv")
    for col in ("load", "policy", "weighted", "stable", "response_mean", "response_mean_ci95",
                "response_p99", "response_p99_ci95", "n"):
        assert col in df.columns
    policies = {"round_robin", "random", "weighted_round_robin", "weighted_random", "jsq",
                "least_connections", "power_of_d:d=2", "least_connections:weighted=true"}
    assert set(df["policy"]) == policies
    assert sorted(df["load"].unique()) == [0.3, 0.6, 0.9]
    assert len(df) == 3 * len(policies) and (df["n"] == 3).all()
    assert (df["response_p99"] >= df["response_mean"]).all()
    m = df.set_index(["load", "policy"])["response_mean"]
    for load in (0.3, 0.6, 0.9):
        # on 1/2/4 Gflop/s hosts, weighting by speed beats the speed-blind split at every load
        # (measured: 2x at rho = 0.3, ~10x above rho = 3/7 where the slow hosts overflow)
        assert m[load, "weighted_round_robin"] < m[load, "round_robin"]
        assert m[load, "weighted_random"] < m[load, "random"]
    # above rho = 3/7 round robin overloads the slow hosts: its queues grow through the run
    stable = df.set_index(["load", "policy"])["stable"]
    assert stable[0.3, "round_robin"] and not stable[0.6, "round_robin"]
    assert m[0.9, "round_robin"] > 5 * m[0.9, "weighted_round_robin"]


# ---------------------------------------------------------------- faults.py

def test_faults_quick(tmp_path):
    p = run_quick("faults.py", tmp_path)
    assert "late_binding" in p.stdout
    for name in ("faults.csv", "faults_bars.png", "faults_run.png"):
        assert nonempty(tmp_path / name), name
    df = pd.read_csv(tmp_path / "faults.csv")
    for col in ("policy", "response_mean", "response_mean_ci95", "response_p99", "tasks_lost",
                "tasks_failed", "tasks_retried", "detection_latency_mean", "recovery_time_mean",
                "wasted_work", "baseline_response_mean", "baseline_response_p99", "n"):
        assert col in df.columns
    assert list(df["policy"]) == ["round_robin", "random", "weighted_round_robin", "weighted_random",
                                  "least_connections", "jsq", "power_of_d:d=2", "late_binding"]
    assert (df["n"] == 3).all()
    # whatever the policy, every accepted task finishes: none lost, none failed for good
    assert (df["tasks_lost"] == 0).all() and (df["tasks_lost_ci95"] == 0).all()
    assert (df["tasks_failed"] == 0).all()
    assert (df["tasks_completed"] == df["tasks_submitted"]).all()
    # crash + slowdown + pause + link cut + leader kill + 3 hosts in the correlated crash
    assert (df["faults_injected"] == 8).all()
    assert (df["tasks_retried"] > 0).all()
    # dead_after = 4 with 1 s heartbeats: detection takes 3..5 s; recovery comes after it
    assert df["detection_latency_mean"].between(3, 5).all()
    assert (df["recovery_time_mean"] >= df["detection_latency_mean"]).all()
    r = df.set_index("policy")
    # round robin keeps feeding the slowed host: faults cost it far more than they cost jsq
    assert r.loc["round_robin", "response_mean"] > 1.5 * r.loc["round_robin", "baseline_response_mean"]
    assert r.loc["round_robin", "response_p99"] > 3 * r.loc["jsq", "response_p99"]


# ---------------------------------------------------------------- workflows.py

@pytest.mark.skipif(not os.path.isdir(WFCOMMONS), reason="../shared/workloads/wfcommons is missing")
def test_workflows_quick(tmp_path):
    p = run_quick("workflows.py", tmp_path)
    assert "heft" in p.stdout
    assert nonempty(tmp_path / "workflows.csv") and nonempty(tmp_path / "workflows.png")
    df = pd.read_csv(tmp_path / "workflows.csv")
    for col in ("workflow", "tasks", "policy", "makespan", "makespan_ci95", "n", "critical_path",
                "work_bound", "ratio"):
        assert col in df.columns
    policies = ["heft", "round_robin", "random", "weighted_round_robin", "weighted_random",
                "least_connections", "jsq", "power_of_d:d=2"]
    assert set(df["workflow"]) == {"epigenomics-hep-1seq-100k", "montage-2mass-005d"}
    assert len(df) == 2 * len(policies) and set(df["policy"]) == set(policies)
    assert dict(df.drop_duplicates("workflow")[["workflow", "tasks"]].values) == {
        "epigenomics-hep-1seq-100k": 41, "montage-2mass-005d": 58}
    assert (df["tasks_lost"] == 0).all()
    # no schedule beats the lower bounds: the critical path on the fastest host, and the work
    # spread over every slot
    bound = df[["critical_path", "work_bound"]].max(axis=1)
    assert all(math.isfinite(x) and x > 0 for x in df["makespan"])
    assert (df["makespan"] >= bound * (1 - 1e-9)).all()
    assert (df["ratio"] >= 1 - 1e-9).all()
    for wf, g in df.groupby("workflow"):
        g = g.set_index("policy")
        heft = g.loc["heft"]
        assert heft["makespan_ci95"] == 0  # HEFT plans deterministically: no spread over seeds
        # clairvoyant HEFT is at least as good as the best queue-length policy (measured: within
        # 1 % of the critical path on both; the classics put critical tasks on slow hosts)
        assert heft["makespan"] <= 1.01 * g.drop("heft")["makespan"].min(), wf
        assert heft["ratio"] < 1.05, wf


# ---------------------------------------------------------------- packing.py

@pytest.mark.skipif(not os.path.isfile(ALIBABA), reason="../shared/workloads/traces (Alibaba v2017) is missing")
def test_packing_quick(tmp_path):
    p = run_quick("packing.py", tmp_path)
    assert "tetris" in p.stdout and "zone outage" in p.stdout
    for name in ("packing_synthetic.csv", "packing_alibaba.csv", "packing_outage.csv", "packing.png",
                 "packing_alibaba.png", "packing_outage.png"):
        assert nonempty(tmp_path / name), name
    policies = ["binpack", "spread", "tetris", "first_fit", "jsq:late", "jsq:local"]

    syn = pd.read_csv(tmp_path / "packing_synthetic.csv")
    for col in ("load", "queue", "policy", "response_mean", "response_mean_ci95", "response_p99",
                "utilisation_cores", "utilisation_memory", "fragmentation", "large_response_p99",
                "saturated", "n", "invalid"):
        assert col in syn.columns
    assert set(syn["policy"]) == set(policies) and set(syn["queue"]) == {"strict", "skip_ahead"}
    assert sorted(syn["load"].unique()) == [0.6, 0.8]
    assert len(syn) == 2 * 2 * len(policies)
    # every run is valid (nothing lost, no crash) and every seed counted
    assert (syn["invalid"] == 0).all() and (syn["n"] == 3).all()
    assert (syn["tasks_completed"] == syn["tasks_submitted"]).all() and (syn["tasks_unschedulable"] == 0).all()
    assert (syn["response_p99"] >= syn["response_mean"]).all()
    for m in ("utilisation_cores", "utilisation_memory", "fragmentation"):
        assert syn[m].between(0, 1).all(), m
    assert (syn["utilisation_cores"] <= syn["load"] * 1.05).all()
    r = syn.set_index(["load", "queue", "policy"])
    # measured (quick): jsq with local FIFO queues strands capacity behind heads that do not
    # fit: 0.50 of the cores against 0.61-0.72 with late binding at load 0.8
    for q in ("strict", "skip_ahead"):
        assert r.loc[(0.8, q, "jsq:local"), "utilisation_cores"] < r.loc[(0.8, q, "jsq:late"), "utilisation_cores"] - 0.05
    # binpack leaves whole hosts free: less stranded capacity than spread (0.13 against 0.28)
    assert r.loc[(0.6, "skip_ahead", "binpack"), "fragmentation"] < r.loc[(0.6, "skip_ahead", "spread"), "fragmentation"]
    # skip-ahead lets small tasks past a large head: far lower mean response than strict at 0.8
    for pol in ("binpack", "spread", "tetris"):
        assert r.loc[(0.8, "skip_ahead", pol), "response_mean"] < 0.5 * r.loc[(0.8, "strict", pol), "response_mean"]

    ali = pd.read_csv(tmp_path / "packing_alibaba.csv")
    assert list(ali["policy"]) == ["binpack", "spread", "tetris", "first_fit", "jsq:late"]
    assert (ali["queue"] == "strict").all()
    assert (ali["invalid"] == 0).all() and (ali["n"] == 2).all()
    assert (ali["tasks_completed"] == ali["tasks_submitted"]).all()
    # sub-core tasks share cores when a host runs more tasks than cores: run time >= span
    assert (ali["stretch"] >= 1 - 1e-9).all()

    out = pd.read_csv(tmp_path / "packing_outage.csv")
    assert set(out["policy"]) == {"binpack", "spread", "tetris", "jsq:late"}
    assert set(out["spread"]) == {"none", "zone"} and len(out) == 8
    assert (out["invalid"] == 0).all() and (out["n"] == 2).all()
    # the outage loses nothing: every task ends, none fails for good, some are retried
    assert (out["tasks_completed"] == out["tasks_submitted"]).all() and (out["tasks_failed"] == 0).all()
    assert (out["tasks_retried"] > 0).all() and (out["jobs_hit"] > 0).all()
    assert (out["response_mean"] >= out["baseline_response_mean"] * 0.999).all()
    o = out.set_index(["policy", "spread"])
    # binpack fills zone z0 first; spreading a job over zones puts less of it there
    assert o.loc[("binpack", "zone"), "wasted_work"] < o.loc[("binpack", "none"), "wasted_work"]


# ---------------------------------------------------------------- backfilling.py

@pytest.mark.skipif(not os.path.isdir(os.path.join(os.path.dirname(REPO), "shared", "workloads", "swf")),
                    reason="../shared/workloads/swf is missing")
def test_backfilling_quick(tmp_path):
    p = run_quick("backfilling.py", tmp_path)
    assert "placement" in p.stdout and "KTH-SP2" in p.stdout
    for name in ("backfilling.csv", "backfilling_windows.csv", "backfilling_kth.csv", "backfilling.png"):
        assert nonempty(tmp_path / name), name
    df = pd.read_csv(tmp_path / "backfilling.csv")
    for col in ("trace", "discipline", "order", "estimates", "policy", "n", "invalid", "jobs_wait_mean",
                "jobs_wait_mean_ci95", "jobs_bounded_slowdown_mean", "jobs_bounded_slowdown_mean_ci95",
                "utilisation_mean", "utilisation_mean_ci95", "makespan", "makespan_ci95",
                "jobs_bounded_slowdown_mean_vs_fcfs", "jobs_wait_mean_vs_fcfs"):
        assert col in df.columns
    assert set(df["trace"]) == {"lublin_256", "HPC2N", "KTH-SP2"}
    assert set(df["discipline"]) == {"fcfs", "easy", "conservative"}
    assert set(df["order"]) == {"fcfs", "sjf"} and set(df["estimates"]) == {"user", "exact"}
    assert set(df["policy"]) == {"first_fit"} and len(df) == 3 * 3 * 2 * 2
    # two windows per trace, every run valid: every gang member ran to the end
    assert (df["n"] == 2).all() and (df["invalid"] == 0).all()
    assert (df["tasks_completed"] == df["tasks_submitted"]).all()
    assert (df["jobs_wait_mean"] >= 0).all() and (df["jobs_bounded_slowdown_mean"] >= 1).all()
    assert df["utilisation_mean"].between(0, 1, inclusive="right").all()
    assert (df.loc[df["discipline"] == "fcfs", "jobs_bounded_slowdown_mean_vs_fcfs"] == 1).all()
    r = df.set_index(["trace", "discipline", "order", "estimates"])
    metrics = ["jobs_wait_mean", "jobs_bounded_slowdown_mean", "utilisation_mean", "makespan"]
    for trace in ("lublin_256", "HPC2N", "KTH-SP2"):
        # strict FCFS in arrival order never looks at an estimate
        assert r.loc[(trace, "fcfs", "fcfs", "user"), metrics].tolist() == pytest.approx(
            r.loc[(trace, "fcfs", "fcfs", "exact"), metrics].tolist(), rel=1e-12)
        for order in ("fcfs", "sjf"):
            for est in ("user", "exact"):
                # backfilling lets jobs past a blocked head: lower mean wait on the same windows
                # (measured, quick: 0.13-0.98 of fcfs's)
                assert r.loc[(trace, "easy", order, est), "jobs_wait_mean"] <= \
                    r.loc[(trace, "fcfs", order, est), "jobs_wait_mean"] * (1 + 1e-9), (trace, order, est)
        # in arrival order, EASY cuts the mean bounded slowdown (measured, quick: 0.05-0.18 of fcfs's)
        assert r.loc[(trace, "easy", "fcfs", "user"), "jobs_bounded_slowdown_mean"] < \
            0.5 * r.loc[(trace, "fcfs", "fcfs", "user"), "jobs_bounded_slowdown_mean"], trace
    # lublin_256's requested times are all -1: its user estimates are the run times
    lub = df[df["trace"] == "lublin_256"].set_index(["discipline", "order", "estimates"])
    for d in ("fcfs", "easy", "conservative"):
        for order in ("fcfs", "sjf"):
            assert lub.loc[(d, order, "user"), metrics].tolist() == pytest.approx(
                lub.loc[(d, order, "exact"), metrics].tolist(), rel=1e-12), (d, order)
    wins = pd.read_csv(tmp_path / "backfilling_windows.csv")
    assert len(wins) == 6 and (wins["offered_load"] > 0).all()
    assert (wins.loc[wins["trace"] == "lublin_256", "estimate_over_runtime_mean"] == 1).all()
    assert (wins.loc[wins["trace"] != "lublin_256", "estimate_over_runtime_median"] > 1).all()
    kth = pd.read_csv(tmp_path / "backfilling_kth.csv")
    assert list(zip(kth["hosts"], kth["cores"])) == [(10, 10), (100, 1)]
    assert (kth["jobs"] == 2000).all() and (kth["wall_s"] > 0).all()
    # one-core gang members on identical cores: 10 x 10 and 100 x 1 start every job alike
    assert kth["jobs_wait_mean"].iloc[0] == pytest.approx(kth["jobs_wait_mean"].iloc[1], rel=1e-9)
    assert kth["jobs_bounded_slowdown_mean"].iloc[0] == pytest.approx(kth["jobs_bounded_slowdown_mean"].iloc[1],
                                                                      rel=1e-9)
