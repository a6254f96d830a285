#!/usr/bin/python3
"""Weighted against speed-blind dispatch on hosts of mixed speeds, at several loads.

Three equal groups of single-slot hosts — slow (1 Gflop/s), medium (2 Gflop/s) and fast
(4 Gflop/s), listed in that order so the slow hosts have the lowest worker ids — serve
Poisson arrivals of exponential tasks (mean 1 Gflop). With n hosts per group the cluster
offers C = 7n Gflop/s; load rho means arrival rate rho * C tasks/s.

    round_robin, random                      speed-blind: every host gets 1/(3n) of the tasks
    weighted_round_robin, weighted_random    share ∝ weight (speed x slots)
    jsq, least_connections, power_of_d:d=2   queue-aware but speed-blind
    least_connections:weighted=true          tasks in system / weight

A speed-blind split sends each slow host rho * C / (3n) = rho * 7/3 tasks/s against a service
rate of 1/s, so round_robin and random are unstable above rho = 3/7 ≈ 0.43: their slow hosts'
queues grow for as long as tasks arrive, and their response times there grow with the run's
length (the `stable` column says which runs have a steady state at all). Weighted shares
keep every host at load rho. Queue-aware policies adapt without knowing speeds, but at low
load they still send work to idle slow hosts (least_connections breaks ties to the lowest
id, which here is a slow host).

    /usr/bin/python3 experiments/heterogeneous.py [--quick] [--out DIR]

writes DIR/heterogeneous.csv (one row per load and policy: mean and p99 response with their
95 % confidence half-widths over the seeds) and DIR/heterogeneous.png, and prints the table.
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

import pandas as pd

GROUPS = [("slow", 1e9), ("medium", 2e9), ("fast", 4e9)]  # name, speed (flop/s); 1 slot each
WEIGHTED = ["weighted_round_robin", "weighted_random", "least_connections:weighted=true"]
POLICIES = ["round_robin", "random", "weighted_round_robin", "weighted_random",
            "jsq", "least_connections", "power_of_d:d=2", "least_connections:weighted=true"]
SPEED_BLIND_SPLIT = ["round_robin", "random"]  # fixed equal shares, whatever the queues
METRICS = ["response_mean", "response_p99", "slowdown_mean", "utilisation_cv"]


def capacity(per_group: int) -> float:
    """Total service rate in tasks/s (mean task 1 Gflop)."""
    return per_group * sum(speed for _, speed in GROUPS) / 1e9


def scenario(per_group: int, load: float, tasks: int) -> dict:
    return {
        "seed": 1,
        "cluster": {
            "hosts": [{"name": name, "count": per_group, "speed": speed, "slots": 1} for name, speed in GROUPS],
            "network": {"latency": 1e-4, "bandwidth": 1.25e9},
            "queue_cap": -1,
        },
        "workload": {"type": "poisson", "rate": load * capacity(per_group),
                     "size": {"dist": "exponential", "mean": 1e9}, "tasks": tasks},
        "policy": "random",
    }


def stable(policy: str, load: float) -> bool:
    """Whether the policy's queues have a steady state at this load (see the docstring)."""
    if policy in SPEED_BLIND_SPLIT:
        slowest = min(speed for _, speed in GROUPS) / 1e9
        per_host = load * sum(speed for _, speed in GROUPS) / 1e9 / len(GROUPS)
        return per_host < slowest
    return load < 1


def sweep(per_group: int, loads, tasks: int, seeds: int) -> pd.DataFrame:
    rows = []
    for load in loads:
        df = fulcrum.compare(fulcrum.load_scenario(scenario(per_group, load, tasks)), POLICIES, seeds=seeds)
        for policy in POLICIES:
            d = df[df["policy"] == policy].set_index("metric")
            row = {"load": load, "policy": policy, "weighted": policy in WEIGHTED,
                   "stable": stable(policy, load), "hosts": per_group * len(GROUPS), "tasks": tasks,
                   "n": int(d["n"].iloc[0])}
            for m in METRICS:
                row[m] = d.loc[m, "mean"]
                row[m + "_ci95"] = d.loc[m, "ci95"]
            rows.append(row)
    return pd.DataFrame(rows)


def plot(df: pd.DataFrame, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hosts = int(df["hosts"].iloc[0])
    fig, axes = plt.subplots(1, 2, figsize=(13, 5), sharex=True)
    for ax, metric, title in ((axes[0], "response_mean", "mean response"),
                              (axes[1], "response_p99", "p99 response")):
        for policy, g in df.groupby("policy", sort=False):
            style = "-" if policy in WEIGHTED else ("--" if policy in SPEED_BLIND_SPLIT else ":")
            ax.errorbar(g["load"], g[metric], yerr=g[metric + "_ci95"], marker="o", ms=4, capsize=2,
                        linestyle=style, label=policy)
        limit = 3 / 7
        ax.axvline(limit, color="grey", linewidth=0.8)
        ax.text(limit, 0.98, " speed-blind split\n unstable →", transform=ax.get_xaxis_transform(),
                va="top", fontsize=7, color="grey")
        ax.set_yscale("log")
        # limits from the means, not the error bars (few seeds give wide t intervals)
        ax.set_ylim(df[metric].min() * 0.7, df[metric].max() * 1.6)
        ax.set_xlabel("load ρ (of the cluster's total speed)")
        ax.set_ylabel(f"{title} (s)")
        ax.set_title(f"{title}, {hosts} hosts: 1/3 each at 1, 2, 4 Gflop/s")
        ax.grid(True, which="both", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8,
               title="solid: weighted   dashed: speed-blind split   dotted: queue-aware")
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="12 hosts, 3 loads, 3000 tasks, 3 seeds")
    ap.add_argument("--out", default=os.path.join(REPO, "experiments", "results"),
                    help="output directory (default: experiments/results)")
    a = ap.parse_args(argv)
    if a.quick:
        per_group, loads, tasks, seeds = 4, [0.3, 0.6, 0.9], 3000, 3
    else:
        per_group, loads, tasks, seeds = 16, [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], 50000, 5
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    df = sweep(per_group, loads, tasks, seeds)
    csv = os.path.join(a.out, "heterogeneous.csv")
    png = os.path.join(a.out, "heterogeneous.png")
    df.to_csv(csv, index=False)
    plot(df, png)
    table = df.assign(
        response_mean=[f"{m:.4g} ±{c:.2g}" for m, c in zip(df["response_mean"], df["response_mean_ci95"])],
        response_p99=[f"{m:.4g} ±{c:.2g}" for m, c in zip(df["response_p99"], df["response_p99_ci95"])])
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(f"{per_group * len(GROUPS)} hosts (slow/medium/fast at 1/2/4 Gflop/s), {tasks} tasks, "
              f"{seeds} seeds, mean ±95% CI")
        print(table[["load", "policy", "weighted", "stable", "response_mean", "response_p99", "n"]]
              .to_string(index=False))
    print(f"wrote {csv} and {png} in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
