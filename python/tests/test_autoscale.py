"""experiments/autoscale.py --quick: the autoscaled runs lose nothing and use fewer
host-seconds and less energy than the fixed cluster (run with PYTHONPATH=build/python and
Debian's /usr/bin/python3)."""

import pandas as pd

from quick_runs import run_quick


def test_autoscale_quick(tmp_path):
    p = run_quick("autoscale.py", tmp_path, cpu_seconds=60)
    assert "util-0.6" in p.stdout
    assert (tmp_path / "autoscale.png").stat().st_size > 0
    df = pd.read_csv(tmp_path / "autoscale.csv").set_index("config")
    assert set(df.index) == {"fixed-16", "util-0.6", "backlog-0.6"}
    assert (df["tasks_lost"] == 0).all()
    for config in ("util-0.6", "backlog-0.6"):
        assert df.loc[config, "host_seconds"] < 0.8 * df.loc["fixed-16", "host_seconds"]
        assert df.loc[config, "energy_joules"] < df.loc["fixed-16", "energy_joules"]
    assert (df["energy_joules"] > 0).all()


def test_real_mode_autoscale_grows_and_shrinks():
    """fulcrum.run(..., mode="real") with autoscale: the scheduler daemon starts standby
    hosts' workers on scale-out and retires them on scale-in; nothing is lost."""
    import fulcrum

    sc = fulcrum.load_scenario({
        "seed": 3,
        "cluster": {"hosts": [{"count": 4, "speed": 1e9, "slots": 2}]},
        "workload": {"type": "poisson", "rate": 1.0, "size": {"dist": "exponential", "mean": 1e9}, "tasks": 460,
                     "rate_profile": {"kind": "step", "at": [0, 40, 100], "factor": [1, 6, 1]}},
        "policy": "least_connections",
        "real": {"time_scale": 0.02},
        "autoscale": {"metric": "utilisation", "target": 0.6, "min": 1, "max": 4, "initial": 1, "period": 2,
                      "window": 6, "cooldown_out": 4, "cooldown_in": 10, "scale_in_after": 2, "boot_delay": 2},
    })
    # 460 tasks: the last ~60 arrive after the step, at the low rate, so the run has a
    # low phase long enough for the scale-in window and cooldown whatever the machine's load.
    r = fulcrum.run(sc, mode="real")
    assert r.summary["tasks_completed"] == 460 and r.summary["tasks_lost"] == 0
    assert r.tasks["id"].is_unique and (r.tasks["state"] == "finished").all()
    assert {"scale_out", "boot", "scale_in", "worker_retired"} <= set(r.events["kind"])
    assert (r.workers.set_index("worker").drop("w-0")["tasks"] > 0).any()
    assert r.summary["energy_joules"] == 0
    assert r.summary["makespan"] < r.summary["host_seconds"] < 4 * r.summary["makespan"]
