"""The learned policy from Python: training sets, offline fitting, model files, real mode."""

import json
import os
import subprocess

import numpy as np
import pandas as pd
import pytest

import fulcrum
import fulcrum.learned

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HETERO = {
    "seed": 1,
    "cluster": {"hosts": [{"name": "slow", "count": 3, "speed": 1e9, "slots": 1},
                          {"name": "fast", "count": 3, "speed": 4e9, "slots": 1}],
                "queue_cap": -1},
    "workload": {"type": "poisson", "rate": 9.0, "size": {"dist": "exponential", "mean": 1e9}, "tasks": 3000},
    "policy": "random",
}


@pytest.fixture(scope="module")
def runs():
    sc = fulcrum.load_scenario(HETERO)
    # Records of a queue-aware policy: random dispatch would overload the slow hosts, and a
    # model fitted on an unstable system learns its queues, not its speeds.
    return [fulcrum.run(sc, policy="jsq", seed=s) for s in (1, 2, 3)]


def test_training_set_columns_and_targets(runs):
    ts = fulcrum.learned.training_set(runs[0])
    assert list(ts.columns) == ["bias", "service", "backlog", "waiting", "staleness",
                                "group:fast", "group:slow", "time"]
    finished = runs[0].tasks[runs[0].tasks["state"] == "finished"]
    assert len(ts) == len(finished) == 3000
    assert (ts["bias"] == 1).all()
    assert ((ts["group:fast"] + ts["group:slow"]) == 1).all()
    # Targets are the times from dispatch to completion, in completion order.
    expected = np.sort((finished["end"] - finished["dispatched"]).to_numpy())
    np.testing.assert_allclose(np.sort(ts["time"].to_numpy()), expected)


def test_training_set_from_cli_folder_equals_from_result(tmp_path, runs):
    binary = os.environ.get("FULCRUM_BINARY") or fulcrum._fulcrum_binary()
    scenario = tmp_path / "hetero.json"
    scenario.write_text(json.dumps(HETERO))
    out = tmp_path / "out"
    p = subprocess.run([binary, "run", str(scenario), "--policy", "jsq", "--seed", "1", "--out", str(out)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    pd.testing.assert_frame_equal(fulcrum.learned.training_set(out), fulcrum.learned.training_set(runs[0]))


def test_fit_beats_the_prior_and_the_policy_loads_it(tmp_path, runs):
    model = fulcrum.learned.fit(runs[:2])
    held_out = fulcrum.learned.training_set(runs[2])
    prior = fulcrum.learned.Model(weights=[0, 1, 1, 0, 0, 0, 0], groups=model.groups)
    fitted_err = np.mean(np.abs(model.predict(held_out) - held_out["time"]))
    prior_err = np.mean(np.abs(prior.predict(held_out) - held_out["time"]))
    assert fitted_err < prior_err
    path = tmp_path / "model.json"
    model.save(path)
    doc = json.loads(path.read_text())
    assert doc["format"] == "fulcrum.learned-model" and doc["version"] == 1
    assert len(doc["weights"]) == 7 and doc["groups"] == ["fast", "slow"]
    sc = fulcrum.load_scenario(HETERO)
    r = fulcrum.run(sc, policy=f"learned:model={path}", seed=7)
    base = fulcrum.run(sc, policy="jsq", seed=7)
    assert r.summary["tasks_completed"] == 3000 and r.summary["tasks_lost"] == 0
    # It has learned that the fast group is fast.
    fast = r.tasks["worker"].str.startswith("fast").mean()
    assert fast > 0.6
    assert r.summary["response_p99"] < base.summary["response_p99"]


def test_bad_model_file_is_refused(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "fulcrum.learned-model", "version": 1,
                               "features": ["bias", "service"], "weights": [0, 1]}))
    with pytest.raises(fulcrum.ScenarioError, match="features"):
        fulcrum.run(HETERO, policy=f"learned:model={bad}")
    with pytest.raises(fulcrum.ScenarioError, match="version"):
        bad.write_text(json.dumps({**fulcrum.learned.Model(weights=[0, 1, 1, 0, 0]).to_json(), "version": 99}))
        fulcrum._core.check_model(str(bad))


def test_learned_policy_dispatches_real_workers():
    sc = fulcrum.load_scenario({
        "seed": 3,
        "cluster": {"hosts": [{"name": "slow", "count": 1, "speed": 1e9, "slots": 1},
                              {"name": "fast", "count": 1, "speed": 4e9, "slots": 1}]},
        "workload": {"type": "poisson", "rate": 2.0, "size": {"dist": "exponential", "mean": 1e9}, "tasks": 60},
        "policy": "learned:mode=online",
        "real": {"task": "sleep", "time_scale": 0.02},
    })
    r = fulcrum.run(sc, mode="real")
    assert r.summary["tasks_completed"] == 60 and r.summary["tasks_lost"] == 0
    counts = r.tasks["worker"].value_counts()
    assert set(counts.index) == {"slow", "fast"}  # a group of one host is named as the group
    assert counts["fast"] > counts["slow"]


def test_learned_experiment_quick(tmp_path):
    p = subprocess.run(["/usr/bin/python3", os.path.join(REPO, "experiments", "learned.py"), "--quick",
                        "--out", str(tmp_path)], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(fulcrum.__file__))})
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "learned.png").stat().st_size > 0
    df = pd.read_csv(tmp_path / "learned.csv")
    assert set(df["setting"]) == {"hetero", "drift", "swf"}
    assert (df[df["metric"] == "tasks_lost"]["mean"] == 0).all()
    p99 = df[df["metric"] == "response_p99"].set_index(["setting", "policy"])["mean"]
    for setting in ["hetero", "drift"]:
        best_classic = min(p99[(setting, p)] for p in ["jsq", "least_connections", "power_of_d:d=2",
                                                       "weighted_round_robin"])
        # The goal is >= 20 % lower p99 on the drift setting; the quick run must show it.
        assert p99[(setting, "learned")] < 0.8 * best_classic, setting
