#!/usr/bin/python3
"""Dispatch policies under a timeline of faults: crashes, a slowdown, a pause, a cut link and
a leader kill, against the same runs without faults.

12 identical single-slot hosts (1 Gflop/s) serve Poisson arrivals of exponential tasks
(mean 1 Gflop) at 70 % load for about 600 s. The failure detector hears a heartbeat every
second, suspects a silent worker after 2 s and declares it dead after 4 s (its tasks go back
to the central queue). The timeline:

    t = 100   crash w-0, back after 100 s
    t = 150   slowdown w-1 x4 for 150 s       (never detected: the host still heartbeats)
    t = 250   pause w-2 for 20 s              (frozen: detected, its work moved)
    t = 300   link cut w-3 for 10 s
    t = 400   leader kill: a standby replays the journal after 2 s and reconciles
    t = 450   crash a quarter of the hosts (drawn from the seed), back after 60 s

Every classic policy runs on it, plus late binding (cluster.queue_cap = 0 with jsq: tasks
wait centrally until a slot is free, so a failed host holds at most its running task).
Speed-blind policies (round_robin, random, and their weighted forms, whose static weights
cannot see a slowdown) keep feeding the slowed host, whose queue grows at 0.7 - 0.25 tasks/s
for 150 s; queue-aware policies route around it.

    /usr/bin/python3 experiments/faults.py [--quick] [--out DIR] [--run-policies a,b]

writes DIR/faults.csv (one row per policy: every summary metric's mean and 95 % CI over the
seeds under faults, and the fault-free baseline's response mean/p99),
DIR/faults_bars.png (bar charts per policy) and DIR/faults_run.png (one seed's Gantt chart,
tasks in system and response time around each fault, for two policies), and prints the table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import fulcrum  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(REPO, "build", "python"))
    import fulcrum  # noqa: F401

import numpy as np
import pandas as pd

HOSTS = 12
LOAD = 0.7
LATE = "late_binding"
POLICIES = ["round_robin", "random", "weighted_round_robin", "weighted_random",
            "least_connections", "jsq", "power_of_d:d=2", LATE]
FAULTS = [
    {"kind": "crash", "host": "w-0", "at": 100, "recover_after": 100},
    {"kind": "slowdown", "host": "w-1", "at": 150, "factor": 4, "duration": 150},
    {"kind": "pause", "host": "w-2", "at": 250, "duration": 20},
    {"kind": "link", "host": "w-3", "at": 300, "duration": 10, "cut": True},
    {"kind": "leader_kill", "at": 400},
    {"kind": "crash", "fraction": 0.25, "at": 450, "recover_after": 60},
]
# columns of the printed table (the CSV has every summary metric)
SHOWN = ["response_mean", "response_p99", "tasks_lost", "tasks_failed", "tasks_retried", "wasted_work",
         "detection_latency_mean", "recovery_time_mean", "alerts"]


def scenario(tasks: int, faults: bool = True) -> dict:
    return {
        "seed": 1,
        "cluster": {
            "hosts": [{"name": "w", "count": HOSTS, "speed": 1e9, "slots": 1}],
            "network": {"latency": 1e-4, "bandwidth": 1.25e9},
            "queue_cap": -1,
        },
        "workload": {"type": "poisson", "rate": LOAD * HOSTS,
                     "size": {"dist": "exponential", "mean": 1e9}, "tasks": tasks},
        "policy": "jsq",
        "recovery": {"heartbeat_interval": 1, "suspect_after": 2, "dead_after": 4, "retry_backoff": 0.5},
        "faults": FAULTS if faults else [],
    }


def _variant(sc, policy: str):
    """(scenario, policy spec) for a policy label; late binding is jsq with queue_cap 0."""
    if policy == LATE:
        return sc.with_overrides({"cluster.queue_cap": 0}), "jsq"
    return sc, policy


def compare_all(sc, seeds: int) -> pd.DataFrame:
    parts = []
    for policy in POLICIES:
        s, spec = _variant(sc, policy)
        df = fulcrum.compare(s, [spec], seeds=seeds)
        df["policy"] = policy
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


def experiment(tasks: int, seeds: int) -> pd.DataFrame:
    faulty = compare_all(fulcrum.load_scenario(scenario(tasks, True)), seeds)
    clean = compare_all(fulcrum.load_scenario(scenario(tasks, False)), seeds)
    rows = []
    for policy in POLICIES:
        f = faulty[faulty["policy"] == policy].set_index("metric")
        c = clean[clean["policy"] == policy].set_index("metric")
        row = {"policy": policy, "hosts": HOSTS, "load": LOAD, "tasks": tasks, "n": int(f["n"].iloc[0])}
        for m in f.index:
            if m.startswith("jobs_") or m == "data_moved":
                continue  # independent tasks: one-task jobs, no data
            row[m] = f.loc[m, "mean"]
            row[m + "_ci95"] = f.loc[m, "ci95"]
        for m in ("response_mean", "response_p99"):
            row["baseline_" + m] = c.loc[m, "mean"]
            row["baseline_" + m + "_ci95"] = c.loc[m, "ci95"]
        row["response_mean_ratio"] = row["response_mean"] / row["baseline_response_mean"]
        rows.append(row)
    return pd.DataFrame(rows)


def plot_bars(df: pd.DataFrame, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(len(df))
    fig, axes = plt.subplots(2, 2, figsize=(13, 8))
    for ax, m, title in ((axes[0, 0], "response_mean", "mean response (s)"),
                         (axes[0, 1], "response_p99", "p99 response (s)")):
        ax.bar(x - 0.2, df["baseline_" + m], 0.4, yerr=df["baseline_" + m + "_ci95"], capsize=2,
               color="tab:gray", label="no faults")
        ax.bar(x + 0.2, df[m], 0.4, yerr=df[m + "_ci95"], capsize=2, color="tab:red", label="fault timeline")
        ax.set_ylabel(title)
        ax.legend()
    for ax, m, title in ((axes[1, 0], "recovery_time_mean", "mean recovery time (s)"),
                         (axes[1, 1], "wasted_work", "wasted work (s of service lost)")):
        ax.bar(x, df[m], 0.6, yerr=df[m + "_ci95"], capsize=2, color="tab:blue")
        ax.set_ylabel(title)
    for ax in axes.flat:
        ax.set_xticks(x)
        ax.set_xticklabels(df["policy"], rotation=30, ha="right", fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
        ax.set_ylim(bottom=0)
    n = int(df["n"].iloc[0])
    fig.suptitle(f"{HOSTS} hosts at {LOAD:.0%} load, crash / slowdown / pause / link cut / leader kill / "
                 f"correlated crash — mean ±95% CI over {n} seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_runs(runs: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from fulcrum import plots

    fig, axes = plt.subplots(3, len(runs), figsize=(7 * len(runs), 12), squeeze=False)
    for j, (label, r) in enumerate(runs.items()):
        plots.gantt(r, ax=axes[0, j], max_tasks=len(r.tasks))
        axes[0, j].set_title(f"{label}: Gantt chart (red: fault starts)")
        plots.queue_length(r, ax=axes[1, j])
        ev = r.events
        for t in ev.loc[ev["kind"].isin(plots.FAULT_START_KINDS), "time"]:
            axes[1, j].axvline(float(t), color="red", linestyle="--", linewidth=0.8)
        axes[1, j].set_title(f"{label}: tasks in system")
        plots.around_faults(r, window=50, ax=axes[2, j])
        axes[2, j].set_title(f"{label}: response time around faults")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 seeds (the full run has 10)")
    ap.add_argument("--out", default=os.path.join(REPO, "experiments", "results"),
                    help="output directory (default: experiments/results)")
    ap.add_argument("--run-policies", default="round_robin,jsq",
                    help="policies whose first seed is drawn in faults_run.png (default: round_robin,jsq)")
    a = ap.parse_args(argv)
    tasks = 5000  # ~600 s at 8.4 tasks/s: the timeline needs the whole run, quick or not
    seeds = 3 if a.quick else 10
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    df = experiment(tasks, seeds)
    csv = os.path.join(a.out, "faults.csv")
    bars = os.path.join(a.out, "faults_bars.png")
    runs_png = os.path.join(a.out, "faults_run.png")
    df.to_csv(csv, index=False)
    plot_bars(df, bars)
    sc = fulcrum.load_scenario(scenario(tasks, True))
    runs = {}
    for policy in a.run_policies.split(","):
        s, spec = _variant(sc, policy)
        runs[policy] = fulcrum.run(s, policy=spec)
    plot_runs(runs, runs_png)

    def pm(m):
        return [f"{v:.4g} ±{c:.2g}" for v, c in zip(df[m], df[m + "_ci95"])]
    table = pd.DataFrame({"policy": df["policy"]})
    for m in SHOWN:
        table[m] = pm(m) if m.startswith("response") else df[m].map(lambda v: f"{v:.4g}")
    table["baseline_mean"] = df["baseline_response_mean"].map(lambda v: f"{v:.4g}")
    table["baseline_p99"] = df["baseline_response_p99"].map(lambda v: f"{v:.4g}")
    table["mean_ratio"] = df["response_mean_ratio"].map(lambda v: f"{v:.3g}")
    with pd.option_context("display.width", 250, "display.max_columns", 50):
        print(f"{HOSTS} hosts, {LOAD:.0%} load, {tasks} tasks, fault timeline vs none, {seeds} seeds "
              f"(response: mean ±95% CI; other metrics: mean over seeds)")
        print(table.to_string(index=False))
    print(f"wrote {csv}, {bars} and {runs_png} in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
