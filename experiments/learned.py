#!/usr/bin/python3
"""The learned load predictor against the classic policies.

Three settings, each over >= 10 seeds (mean and p99 response time, Student-t 95 % CIs):

  (a) hetero   12 single-slot hosts in three groups of 1, 2 and 4 Gflop/s, every host given
               weight 1: no policy is told the speeds (weighted_round_robin degenerates to
               round robin); exponential tasks at 70 % of the capacity.
  (b) drift    the same cluster, and slowdowns that move from host to host over the run
               (a fast host becomes the slowest, recovers, another slows, ...): speed
               drifts the way noisy neighbours and throttling make it drift.
  (c) swf      a window of the KTH SP2 trace (examples/swf_kth.yaml's 100 hosts).

The learned policy is ``learned`` (online RLS from a cold start, every eligible worker
considered) and ``learned:d=2`` (two sampled workers per decision).

    /usr/bin/python3 experiments/learned.py [--quick] [--out DIR] [--seeds N]

writes DIR/learned.csv and DIR/learned.png and prints the table and, per setting, the
learned policy's p99 against the best classic policy's.
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

CLASSIC = ["jsq", "least_connections", "power_of_d:d=2", "weighted_round_robin"]
LEARNED = ["learned", "learned:d=2"]
GROUPS = [("slow", 1e9), ("mid", 2e9), ("fast", 4e9)]


def hetero(tasks: int, load: float = 0.7) -> dict:
    per_group = 4
    capacity = per_group * sum(speed for _, speed in GROUPS) / 1e9  # tasks/s at mean size 1e9
    return {
        "seed": 1,
        "cluster": {"hosts": [{"name": name, "count": per_group, "speed": speed, "slots": 1, "weight": 1}
                              for name, speed in GROUPS],
                    "queue_cap": -1},
        "workload": {"type": "poisson", "rate": round(load * capacity, 6),
                     "size": {"dist": "exponential", "mean": 1e9}, "tasks": tasks},
        "policy": "jsq",
    }


def drift(tasks: int) -> dict:
    """hetero at 60 % load, with a slowdown timeline that walks over the hosts: every
    `step` seconds a new host slows by 4-8x for 2-4 steps. Fixed (seed 7), so every policy
    and run seed sees the same drift."""
    sc = hetero(tasks, load=0.6)
    duration = tasks / sc["workload"]["rate"]
    rng = np.random.default_rng(7)
    hosts = [f"{name}-{i}" for name, _ in GROUPS for i in range(4)]
    step = 20.0
    faults = []
    t = 10.0
    while t < duration:
        host = hosts[rng.integers(len(hosts))] if rng.random() > 0.5 else f"fast-{rng.integers(4)}"
        faults.append({"kind": "slowdown", "host": host, "at": round(t, 3),
                       "factor": float(rng.choice([4, 6, 8])), "duration": round(step * rng.integers(2, 5), 3)})
        t += step
    sc["faults"] = faults
    return sc


def swf(jobs: int) -> dict:
    return {
        "seed": 1,
        "cluster": {"hosts": [{"name": "node", "count": 100, "speed": 1e9, "slots": 1}]},
        "workload": {"type": "swf", "file": os.path.join(REPO, "..", "shared", "workloads", "swf",
                                                         "KTH-SP2-1996-2.1-cln.swf"),
                     "max_jobs": jobs},
        "policy": "jsq",
    }


def run(settings: dict, seeds: int) -> pd.DataFrame:
    parts = []
    for name, scenario in settings.items():
        df = fulcrum.compare(fulcrum.load_scenario(scenario), CLASSIC + LEARNED, seeds=seeds)
        df = df[df["metric"].isin(["response_mean", "response_p99", "tasks_lost"])].copy()
        df.insert(0, "setting", name)
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


def verdicts(df: pd.DataFrame) -> pd.DataFrame:
    rows = []
    p99 = df[df["metric"] == "response_p99"]
    for setting, g in p99.groupby("setting", sort=False):
        classic = g[g["policy"].isin(CLASSIC)].sort_values("mean").iloc[0]
        for policy in LEARNED:
            mine = g[g["policy"] == policy].iloc[0]
            rows.append({"setting": setting, "learned": policy, "p99": mine["mean"], "ci95": mine["ci95"],
                         "best_classic": classic["policy"], "classic_p99": classic["mean"],
                         "classic_ci95": classic["ci95"], "reduction": 1 - mine["mean"] / classic["mean"]})
    return pd.DataFrame(rows)


def plot(df: pd.DataFrame, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings = list(dict.fromkeys(df["setting"]))
    policies = CLASSIC + LEARNED
    fig, axes = plt.subplots(2, len(settings), figsize=(4.2 * len(settings), 6.5), squeeze=False)
    for col, setting in enumerate(settings):
        for row, metric in enumerate(["response_mean", "response_p99"]):
            ax = axes[row][col]
            g = df[(df["setting"] == setting) & (df["metric"] == metric)].set_index("policy").loc[policies]
            colors = ["#999999"] * len(CLASSIC) + ["#d62728", "#ff9896"]
            ax.bar(range(len(policies)), g["mean"], yerr=g["ci95"], color=colors, capsize=3)
            ax.set_xticks(range(len(policies)))
            ax.set_xticklabels(policies, rotation=40, ha="right", fontsize=8)
            ax.set_title(f"{setting}: {metric.replace('response_', '')} response (s)", fontsize=10)
            ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small runs, 3 seeds (for CI)")
    ap.add_argument("--seeds", type=int, default=None, help="seeds per policy (default 10; 3 with --quick)")
    ap.add_argument("--out", default=os.path.join(REPO, "experiments", "results"),
                    help="output directory (default: experiments/results)")
    a = ap.parse_args(argv)
    tasks, jobs, seeds = (2000, 200, 3) if a.quick else (20000, 1000, 10)
    seeds = a.seeds or seeds
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    df = run({"hetero": hetero(tasks), "drift": drift(tasks), "swf": swf(jobs)}, seeds)
    csv = os.path.join(a.out, "learned.csv")
    png = os.path.join(a.out, "learned.png")
    df.to_csv(csv, index=False)
    plot(df, png)
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print(f"{seeds} seeds per policy; mean ± 95 % CI")
        for setting in dict.fromkeys(df["setting"]):
            g = df[df["setting"] == setting]
            print(f"\n{setting}:")
            out = g.pivot(index="policy", columns="metric", values="mean").loc[CLASSIC + LEARNED]
            ci = g.pivot(index="policy", columns="metric", values="ci95").loc[CLASSIC + LEARNED]
            for m in ["response_mean", "response_p99"]:
                out[m] = [f"{v:.4g} ±{c:.2g}" for v, c in zip(out[m], ci[m])]
            out["tasks_lost"] = out["tasks_lost"].astype(int)
            print(out[["response_mean", "response_p99", "tasks_lost"]].to_string())
        print("\np99 of the learned policy against the best classic policy:")
        v = verdicts(df)
        print(v.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"wrote {csv} and {png} in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
