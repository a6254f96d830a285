"""Resources in the Python frames and plots: the request columns of ``tasks``, the capacity
and per-dimension utilisation of ``workers``, the summary's utilisation_*, fragmentation and
tasks_unschedulable, and fulcrum.plots.utilisation_series / utilisation_over_time
(run with PYTHONPATH=build/python and Debian's /usr/bin/python3)."""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import fulcrum  # noqa: E402
from fulcrum import plots  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GIB = 2 ** 30

# Two host kinds (GPU hosts that limit memory, plain hosts that do not) and three task
# classes, one of which fits no host (3 GPUs): small enough to run in about a second.
MIXED = {
    "seed": 5,
    "cluster": {"hosts": [
        {"name": "gpu", "count": 2, "speed": 1e9, "resources": {"cores": 8, "memory": "32GiB", "gpus": 2}},
        {"name": "cpu", "count": 2, "speed": 1e9, "slots": 4},
    ]},
    "workload": {"rate": 6, "tasks": 600, "size": {"dist": "exponential", "mean": 1e9}, "classes": [
        {"share": 0.6, "resources": {"cores": 1, "memory": "2GiB"}},
        {"share": 0.35, "resources": {"cores": 4, "memory": "8GiB", "gpus": 1}},
        {"share": 0.05, "resources": {"cores": 1, "gpus": 3}},
    ]},
    "policy": "jsq",
    "queue": "skip_ahead",
}


@pytest.fixture(scope="module")
def mixed():
    return fulcrum.run(fulcrum.load_scenario(MIXED))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_frames_carry_requests_and_capacities(mixed):
    t, w = mixed.tasks, mixed.workers
    assert list(t.columns)[-5:] == ["cores", "memory", "gpus", "preemptions", "tenant"]
    assert {"cores", "memory", "gpus", "utilisation_cores", "utilisation_memory", "utilisation_gpus"} <= set(w.columns)
    assert set(t["cores"]) == {1.0, 4.0}
    assert set(t["gpus"]) == {0.0, 1.0, 3.0}
    assert set(t["memory"]) == {0.0, 2 * GIB, 8 * GIB}
    gpu = w[w["group"] == "gpu"].iloc[0]
    cpu = w[w["group"] == "cpu"].iloc[0]
    assert (gpu["cores"], gpu["memory"], gpu["gpus"]) == (8.0, 32.0 * GIB, 2.0)
    assert (cpu["cores"], cpu["memory"], cpu["gpus"]) == (4.0, 0.0, 0.0)  # memory 0: not limited
    assert (w["cores"] == w["slots"]).all()
    assert cpu["utilisation_memory"] == 0 and cpu["utilisation_gpus"] == 0
    assert 0 < gpu["utilisation_memory"] < 1 and 0 < gpu["utilisation_gpus"] < 1


def test_summary_counts_unschedulable_tasks(mixed):
    s = mixed.summary
    unfit = int((mixed.tasks["gpus"] > 2).sum())
    assert unfit > 0
    assert s["tasks_unschedulable"] == unfit
    assert s["tasks_failed"] == unfit  # refused at submission: failed, never lost
    assert s["tasks_lost"] == 0
    refused = mixed.tasks[mixed.tasks["gpus"] > 2]
    assert (refused["state"] == "failed").all() and (refused["attempts"] == 0).all()
    assert (mixed.events["kind"] == "task_unschedulable").sum() == unfit
    for key in ("utilisation_cores", "utilisation_memory", "utilisation_gpus", "fragmentation"):
        assert 0 <= s[key] <= 1, key


def _time_average(series, column, start, makespan):
    """The step series' mean over [start, start + makespan)."""
    t = np.append(series["time"].to_numpy(float), start + makespan)
    return float(np.sum(series[column].to_numpy(float) * np.diff(t))) / makespan


def test_utilisation_series_averages_to_the_summary(mixed):
    series = plots.utilisation_series(mixed.tasks, mixed.workers)
    assert list(series.columns) == ["time", "cores", "memory", "gpus"]
    assert series["time"].is_monotonic_increasing and series["time"].is_unique
    start = float(mixed.tasks["submit"].min())
    makespan = mixed.summary["makespan"]
    for d in plots.DIMENSIONS:
        # capped at each worker's capacity: never above 1, although the records show a
        # worker's next task starting a report's trip before the last one's end
        assert -1e-12 <= series[d].min() and series[d].max() <= 1 + 1e-12, d
        assert series[d].iloc[-1] == pytest.approx(0, abs=1e-12), d  # everything ended
    for d in plots.DIMENSIONS:
        assert _time_average(series, d, start, makespan) == pytest.approx(mixed.summary[f"utilisation_{d}"],
                                                                          rel=1e-9), d


def test_utilisation_series_by_hand():
    """a: 4 cores, 8 memory, 2 GPUs; b: 2 cores, memory not limited (results/tests has the same
    case for the summary): t0 on a [0, 10) 2 cores 4 memory 1 GPU; t1 on a [5, 10) 1 core 2
    memory; t2 on b [0, 5) 2 cores 100 memory; a failed task is not counted."""
    tasks = pd.DataFrame({
        "submit": [0.0, 0.0, 0.0, 0.0], "start": [0.0, 5.0, 0.0, 1.0], "end": [10.0, 10.0, 5.0, 2.0],
        "worker": ["a", "a", "b", "b"], "state": ["finished", "finished", "finished", "failed"],
        "cores": [2.0, 1.0, 2.0, 2.0], "memory": [4.0, 2.0, 100.0, 0.0], "gpus": [1.0, 0.0, 0.0, 0.0]})
    workers = pd.DataFrame({"worker": ["a", "b"], "slots": [4, 2], "cores": [4.0, 2.0], "memory": [8.0, 0.0],
                            "gpus": [2.0, 0.0]})
    s = plots.utilisation_series(tasks, workers)
    assert s["time"].tolist() == [0.0, 5.0, 10.0]
    # [0, 5): 4 of 6 cores; memory 4 of 8 (b's 100 does not count: b does not limit memory)
    assert s["cores"].tolist() == pytest.approx([4 / 6, 3 / 6, 0])
    assert s["memory"].tolist() == pytest.approx([4 / 8, 6 / 8, 0])
    assert s["gpus"].tolist() == pytest.approx([0.5, 0.5, 0])
    assert _time_average(s, "cores", 0, 10) == pytest.approx(35 / 60)
    # what the records show beyond a worker's capacity is not held: a 1-core task on b over
    # [4, 6) beside t2 (2 cores) adds nothing until t2 ends at 5
    extra = pd.concat([tasks, pd.DataFrame({"submit": [0.0], "start": [4.0], "end": [6.0], "worker": ["b"],
                                            "state": ["finished"], "cores": [1.0], "memory": [0.0],
                                            "gpus": [0.0]})], ignore_index=True)
    s2 = plots.utilisation_series(extra, workers)
    assert s2["time"].tolist() == [0.0, 4.0, 5.0, 6.0, 10.0]
    assert s2["cores"].tolist() == pytest.approx([4 / 6, 4 / 6, 4 / 6, 3 / 6, 0])
    # no worker with a GPU or a memory limit: zeros, not NaN
    bare = plots.utilisation_series(tasks, workers.assign(memory=0.0, gpus=0.0))
    assert (bare["memory"] == 0).all() and (bare["gpus"] == 0).all()


def test_utilisation_over_time_plot(mixed):
    ax = plots.utilisation_over_time(mixed)
    assert isinstance(ax, matplotlib.axes.Axes)
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["cores", "memory", "gpus"]
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert [line.get_ydata()[0] for line in dashed] == pytest.approx(
        [mixed.summary["utilisation_cores"], mixed.summary["utilisation_memory"], mixed.summary["utilisation_gpus"]])
    # a cluster without GPUs or memory limits draws the cores only
    plain = fulcrum.run(None, **{"workload.tasks": 200})
    _, ax2 = plt.subplots()
    assert plots.utilisation_over_time(plain, ax=ax2) is ax2
    assert ax2.get_legend_handles_labels()[1] == ["cores"]
    assert plain.summary["utilisation_memory"] == 0 and plain.summary["utilisation_gpus"] == 0
    assert plain.summary["fragmentation"] == 0  # one-core tasks always fit a free core
