"""Tests of the fulcrum Python package (run with PYTHONPATH=build/python, Debian's python3)."""

import json
import math
import os
import subprocess

import numpy
import pandas as pd
import pandas.testing
import pytest

import fulcrum

SMALL = {"workload.tasks": 500}


@pytest.fixture(scope="module")
def default():
    return fulcrum.load_scenario()


def test_default_scenario_loads(default):
    assert default.source == "<default scenario>"
    assert default.policy in fulcrum.policy_names() or default.policy.split(":")[0] in fulcrum.policy_names()
    assert "cluster:" in fulcrum.default_scenario()


def test_run_small(default):
    r = fulcrum.run(default, **SMALL)
    assert isinstance(r.tasks, pd.DataFrame)
    assert len(r.tasks) == 500
    assert list(r.tasks.columns) == ["id", "job", "flops", "submit", "dispatched", "start", "end", "worker",
                                     "attempts", "state", "cores", "memory", "gpus", "preemptions", "tenant"]
    assert (r.tasks["state"] == "finished").all()
    assert (r.tasks["worker"] != "").all()
    assert set(r.tasks["worker"]) <= set(r.workers["worker"])
    assert r.tasks["submit"].dtype == "float64" and r.tasks["id"].dtype == "int64"
    assert r.summary["tasks_lost"] == 0
    assert r.summary["tasks_completed"] == 500
    assert len(r.jobs) == 500
    assert list(r.events.columns) == ["time", "kind", "host", "detail", "alert"]


def test_same_seed_same_tasks(default):
    a = fulcrum.run(default, policy="jsq", seed=11, **SMALL)
    b = fulcrum.run(default, policy="jsq", seed=11, **SMALL)
    pandas.testing.assert_frame_equal(a.tasks, b.tasks)
    assert a.summary == b.summary
    c = fulcrum.run(default, policy="jsq", seed=12, **SMALL)
    assert not a.tasks["submit"].equals(c.tasks["submit"])


def test_policy_and_seed_properties(default):
    sc = default.with_overrides(SMALL)
    sc.policy = "least_connections"
    sc.seed = 5
    r = fulcrum.run(sc)
    assert r.scenario.policy == "least_connections" and r.scenario.seed == 5
    with pytest.raises(fulcrum.ScenarioError, match="unknown policy"):
        sc.policy = "no_such_policy"


def test_bad_scenario_names_key_and_line(tmp_path):
    text = fulcrum.default_scenario().rstrip("\n") + "\nbogus_key: 1\n"
    line = text.count("\n")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(fulcrum.ScenarioError) as err:
        fulcrum.load_scenario(path)
    assert isinstance(err.value, ValueError)
    message = str(err.value)
    assert "bogus_key" in message
    assert f"{path}:{line}:" in message


def test_bad_override_raises(default):
    with pytest.raises(fulcrum.ScenarioError, match="workload.tasks"):
        fulcrum.run(default, **{"workload.tasks": -3})


def test_unknown_policy_raises(default):
    with pytest.raises(fulcrum.ScenarioError, match="no_such_policy"):
        fulcrum.run(default, policy="no_such_policy", **SMALL)
    with pytest.raises(fulcrum.ScenarioError, match="no_such_policy"):
        fulcrum.compare(default.with_overrides(SMALL), ["jsq", "no_such_policy"], seeds=2)


def test_compare_tidy(default):
    policies = ["round_robin", "jsq", "power_of_d:d=2"]
    df = fulcrum.compare(default.with_overrides(SMALL), policies, seeds=3)
    assert list(df.columns) == ["policy", "metric", "mean", "ci95", "n"]
    metrics = list(fulcrum.run(default, **SMALL).summary)
    assert len(df) == len(policies) * len(metrics)
    assert not df.duplicated(["policy", "metric"]).any()
    assert list(df["policy"].unique()) == policies
    assert all(math.isfinite(x) for x in df["mean"]) and all(math.isfinite(x) for x in df["ci95"])
    assert (df["n"] == 3).all() and (df["ci95"] >= 0).all()
    # A comparison is reproducible: the same runs give the same table.
    again = fulcrum.compare(default.with_overrides(SMALL), policies, seeds=3)
    pandas.testing.assert_frame_equal(df, again)


def test_dict_scenario():
    sc = fulcrum.load_scenario({
        "seed": 3,
        "cluster": {"hosts": [{"name": "w", "count": 3, "speed": 1e9}]},
        "workload": {"tasks": 200, "rate": 2},
        "policy": "jsq",
    })
    assert sc.source == "<dict>" and sc.seed == 3
    r = fulcrum.run(sc)
    assert len(r.tasks) == 200 and len(r.workers) == 3
    assert r.summary["tasks_lost"] == 0


def test_dict_scenario_error():
    with pytest.raises(fulcrum.ScenarioError, match="bogus"):
        fulcrum.load_scenario({"cluster": {"hosts": [{"count": 1}]}, "bogus": 1})


# ------------------------------------------------------------ agreement with the CLI's files

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _fulcrum_binary():
    return os.environ.get("FULCRUM_BINARY") or fulcrum._fulcrum_binary()


@pytest.mark.parametrize("example,policy,seed", [
    ("mm1_random.yaml", "jsq", 4),
    ("faults.yaml", "power_of_d:d=2", 2),
    ("montage_heft.yaml", "heft", 1),
])
def test_results_equal_cli_files(tmp_path, example, policy, seed):
    """Python's DataFrames hold exactly what `fulcrum run --out` writes for the same
    scenario, policy and seed: same columns, same values (the CSVs print 17 digits)."""
    path = os.path.join(REPO, "examples", example)
    out = tmp_path / "cli"
    cli = subprocess.run([_fulcrum_binary(), "run", path, "--policy", policy, "--seed", str(seed),
                          "--out", str(out)], capture_output=True, text=True, cwd=REPO)
    assert cli.returncode == 0, cli.stderr
    r = fulcrum.run(path, policy=policy, seed=seed)
    for name in ["tasks", "workers", "jobs", "events"]:
        expected = pd.read_csv(out / f"{name}.csv", keep_default_na=False, float_precision="round_trip")
        got = getattr(r, name)
        assert list(got.columns) == list(expected.columns), name
        assert len(got) == len(expected), name
        for col in got.columns:
            if pd.api.types.is_bool_dtype(got[col]):  # the CSVs write 1 and 0
                assert got[col].tolist() == [bool(int(x)) for x in expected[col]], f"{name}.{col}"
            elif pd.api.types.is_numeric_dtype(got[col]):
                numpy.testing.assert_array_equal(got[col].to_numpy(dtype=float),
                                                 expected[col].to_numpy(dtype=float), err_msg=f"{name}.{col}")
            else:
                assert [str(x).lower() for x in got[col]] == [str(x).lower() for x in expected[col]], f"{name}.{col}"
    summary = json.loads((out / "summary.json").read_text())
    metrics = summary.get("metrics", summary)
    for key, value in r.summary.items():
        assert key in metrics, key
        assert metrics[key] == pytest.approx(value, rel=1e-12, abs=1e-12) or (math.isnan(value)), key


def test_dtypes():
    r = fulcrum.run(os.path.join(REPO, "examples", "faults.yaml"), seed=3)
    assert dict(r.tasks.dtypes.astype(str)) == {
        "id": "int64", "job": "int64", "flops": "float64", "submit": "float64", "dispatched": "float64",
        "start": "float64", "end": "float64", "worker": "object", "attempts": "int64", "state": "object",
        "cores": "float64", "memory": "float64", "gpus": "float64", "preemptions": "int64", "tenant": "object"}
    assert dict(r.workers.dtypes.astype(str)) == {
        "worker": "object", "group": "object", "speed": "float64", "slots": "int64", "tasks": "int64",
        "busy_time": "float64", "utilisation": "float64", "cores": "float64", "memory": "float64",
        "gpus": "float64", "utilisation_cores": "float64", "utilisation_memory": "float64",
        "utilisation_gpus": "float64"}
    assert dict(r.jobs.dtypes.astype(str)) == {
        "job": "int64", "name": "object", "submit": "float64", "start": "float64", "end": "float64",
        "makespan": "float64", "tasks": "int64", "critical_path": "float64", "success": "bool",
        "width": "int64", "estimate": "float64", "wait": "float64", "bounded_slowdown": "float64", "tenant": "object"}
    assert dict(r.events.dtypes.astype(str)) == {
        "time": "float64", "kind": "object", "host": "object", "detail": "object", "alert": "bool"}
    assert len(r.events) > 0 and r.events["alert"].any()
    assert all(isinstance(v, float) for v in r.summary.values())


# ------------------------------------------------------------------------- progress, real mode

def test_progress_is_reported_in_this_process():
    sc = fulcrum.load_scenario(None, {"workload.tasks": 20000})
    calls = []
    fulcrum._core.simulate(sc._core, lambda done, total: calls.append((done, total)))
    assert calls, "no progress reported"
    assert calls[-1] == (20000, 20000)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_progress_bar_when_asked(capsys):
    fulcrum.run(None, progress=True, **{"workload.tasks": 20000})
    err = capsys.readouterr().err
    assert "task" in err  # tqdm's bar, on stderr
    fulcrum.compare(fulcrum.load_scenario(None, SMALL), ["jsq", "random"], seeds=2, progress=True)
    assert "run" in capsys.readouterr().err
    fulcrum.run(None, progress=False, **SMALL)
    assert capsys.readouterr().err == ""


def test_real_mode_runs_local_processes():
    sc = fulcrum.load_scenario({
        "seed": 2,
        "cluster": {"hosts": [{"name": "w", "count": 2, "speed": 1e9, "slots": 1}]},
        "workload": {"type": "poisson", "rate": 1.0, "size": {"dist": "exponential", "mean": 1e9}, "tasks": 40},
        "policy": "jsq",
        "real": {"task": "sleep", "time_scale": 0.02},
    })
    r = fulcrum.run(sc, mode="real")
    sim = fulcrum.run(sc)
    assert r.summary["tasks_completed"] == 40 and r.summary["tasks_lost"] == 0
    assert list(r.tasks.columns) == list(sim.tasks.columns)
    assert set(r.tasks["worker"]) <= {"w-0", "w-1"}
    assert (r.tasks["state"] == "finished").all()
    with pytest.raises(ValueError, match="mode"):
        fulcrum.run(sc, mode="cloud")
