"""Tests of the fulcrum Python package (run with PYTHONPATH=build/python, Debian's python3)."""

import math

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
    assert list(r.tasks.columns) == ["id", "job", "submit", "start", "end", "worker", "attempts", "state"]
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
