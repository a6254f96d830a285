#!/usr/bin/python3
"""Fair sharing among tenants: FIFO against weighted DRF and the fair share of running
tasks, and what preemption buys a tenant's guarantee and what it costs.

The cluster is eight hosts of 16 cores and 64 GiB. Three tenants, each offered the same
load in core-seconds, ask for different things (docs/fairness.md):

    cpu     <4 cores, 2 GiB> tasks of mean 20 s      (CPU-bound, wide)
    mem     <1 core, 16 GiB> tasks of mean 20 s      (memory-bound)
    small   <1 core, 1 GiB> tasks of mean 5 s        (light, many)

Together they offer 1.5 times the cluster's cores, arriving as one Poisson stream for
600 s (seed by seed). Over a whole run shares follow demand (every task runs in the end),
so shares are read while a tenant is backlogged (tenants.csv's backlogged_share: its
dominant share averaged over the time some task of it waited) and fairness by the
summary's jain_fairness (Jain's index over the backlogged tenants' dominant share /
weight, averaged over the time two or more competed). Grid:

1. discipline: fifo (late binding, strict arrival order), drf, fair; weights 1:1:1 and
   cpu 2 : mem 1 : small 1. Per tenant: backlogged share, wait; jain_fairness. DRF should
   give competing tenants equal weighted dominant shares (here, with all three
   backlogged, 4/9 each: cores bind), FIFO whatever the arrival mix and packing give.
2. preemption: a tenant `interactive` of priority class 1 (<1 core, 1 GiB> tasks of mean
   5 s, 0.3 x the cores) beside `batch` (the same tasks, mean 200 s, 1.2 x the cores): the
   room interactive needs is held by long work. drf without preemption, and with
   preemption at grace 0, 5 and 30 s: interactive's and batch's waits, tasks_preempted,
   the wasted work (seconds of preempted attempts) and the makespan.

    /usr/bin/python3 experiments/fairness.py [--quick] [--out DIR]

writes DIR/fairness.csv (one row per part, setting and tenant: mean and 95 % CI over the
seeds), DIR/fairness.png (shares over time under fifo and drf; wait by tenant; the cost
of preemption) and prints the tables. --quick: 2 seeds of 200 s.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import fulcrum  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(REPO, "build", "python"))
    import fulcrum  # noqa: F401

import pandas as pd

from fulcrum import plots

CLASSES = {
    # tenant: (cores, memory GiB, mean seconds)
    "cpu": (4, 2, 20.0),
    "mem": (1, 16, 20.0),
    "small": (1, 1, 5.0),
}
CORES = 8 * 16


def t95(n: int) -> float:
    table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228]
    return table[n - 2] if 2 <= n < len(table) + 2 else 1.96


def mean_ci(xs) -> tuple[float, float]:
    xs = [float(x) for x in xs]
    n = len(xs)
    m = sum(xs) / n
    if n < 2:
        return m, 0.0
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))
    return m, t95(n) * sd / math.sqrt(n)


def scenario(discipline: str, span: float, weights=(1, 1, 1)) -> dict:
    """Each tenant offers CORES / 2 core-seconds a second (1.5 x the cluster in all)."""
    offered = CORES / 2
    rates = {t: offered / (c * s) for t, (c, _, s) in CLASSES.items()}
    total = sum(rates.values())
    classes = []
    for t, (c, m, s) in CLASSES.items():
        classes.append({"share": rates[t] / total, "tenant": t,
                        "resources": {"cores": c, "memory": f"{m}GiB"},
                        "size": {"dist": "exponential", "mean": s * 1e9}})
    shares = [c["share"] for c in classes]
    classes[-1]["share"] = 1 - sum(shares[:-1])  # the shares sum to 1 exactly
    tenants = {t: {"weight": w} for t, w in zip(CLASSES, weights)}
    sc = {
        "seed": 1,
        "cluster": {"hosts": [{"count": 8, "speed": 1e9, "resources": {"cores": 16, "memory": "64GiB"}}]},
        "tenants": tenants,
        "discipline": discipline,
        "policy": "least_connections",
        "workload": {"rate": total, "tasks": int(total * span), "classes": classes},
    }
    if discipline == "fifo":
        sc["cluster"]["queue_cap"] = 0
    return sc


def run(sc: dict, seed: int) -> tuple[dict, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    r = fulcrum.run(sc, seed=seed, progress=False)
    return r.summary, r.tenants, r.tasks, r.workers


def part_shares(seeds: list[int], span: float) -> list[dict]:
    rows = []
    for weights in [(1, 1, 1), (1, 3, 1)]:
        for discipline in ["fifo", "drf", "fair"]:
            per_tenant: dict[str, dict[str, list[float]]] = {
                t: {"backlogged_share": [], "wait_mean": []} for t in CLASSES}
            jain = []
            for seed in seeds:
                summary, tenants, _, _ = run(scenario(discipline, span, weights), seed)
                jain.append(summary["jain_fairness"])
                for _, row in tenants.iterrows():
                    per_tenant[row["tenant"]]["backlogged_share"].append(row["backlogged_share"])
                    per_tenant[row["tenant"]]["wait_mean"].append(row["wait_mean"])
            j, jci = mean_ci(jain)
            for t, w in zip(CLASSES, weights):
                ds, dci = mean_ci(per_tenant[t]["backlogged_share"])
                wm, wci = mean_ci(per_tenant[t]["wait_mean"])
                rows.append({"part": "shares", "setting": f"{discipline} weights {':'.join(map(str, weights))}",
                             "tenant": t, "weight": w, "backlogged_share": ds, "backlogged_share_ci": dci,
                             "weighted_share": ds / w, "wait_mean": wm, "wait_mean_ci": wci,
                             "jain_fairness": j, "jain_fairness_ci": jci})
    return rows


def preemption_scenario(span: float, grace: float | None) -> dict:
    """batch: <1 core, 1 GiB> tasks of mean 200 s offering 1.2 x the cluster's cores;
    interactive: <1 core, 1 GiB> tasks of mean 5 s, priority class 1, offering 0.3 x."""
    batch, interactive = 1.2 * CORES / 200, 0.3 * CORES / 5
    total = batch + interactive
    sc = {
        "seed": 1,
        "cluster": {"hosts": [{"count": 8, "speed": 1e9, "resources": {"cores": 16, "memory": "64GiB"}}]},
        "tenants": {"batch": {}, "interactive": {}},
        "discipline": "drf",
        "policy": "least_connections",
        "workload": {"rate": total, "tasks": int(total * span), "classes": [
            {"share": batch / total, "tenant": "batch", "resources": {"cores": 1, "memory": "1GiB"},
             "size": {"dist": "exponential", "mean": 200e9}},
            {"share": 1 - batch / total, "tenant": "interactive", "priority_class": 1,
             "resources": {"cores": 1, "memory": "1GiB"}, "size": {"dist": "exponential", "mean": 5e9}}]},
    }
    if grace is not None:
        sc["preemption"] = {"grace": grace}
    return sc


def part_preemption(seeds: list[int], span: float) -> list[dict]:
    rows = []
    for label, grace in [("no preemption", None), ("grace 0 s", 0.0), ("grace 5 s", 5.0), ("grace 30 s", 30.0)]:
        got: dict[str, list[float]] = {k: [] for k in ["interactive_wait", "batch_wait", "tasks_preempted",
                                                        "wasted_work", "makespan"]}
        for seed in seeds:
            summary, tenants, _, _ = run(preemption_scenario(span, grace), seed)
            by = tenants.set_index("tenant")
            got["interactive_wait"].append(by.loc["interactive", "wait_mean"])
            got["batch_wait"].append(by.loc["batch", "wait_mean"])
            got["tasks_preempted"].append(summary["tasks_preempted"])
            got["wasted_work"].append(summary["wasted_work"])
            got["makespan"].append(summary["makespan"])
        row = {"part": "preemption", "setting": label, "tenant": "interactive"}
        for name, xs in got.items():
            row[name], row[name + "_ci"] = mean_ci(xs)
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(REPO, "results", "fairness"))
    args = ap.parse_args()
    seeds = [1, 2] if args.quick else [1, 2, 3, 4, 5]
    span = 200.0 if args.quick else 600.0
    os.makedirs(args.out, exist_ok=True)

    shares = pd.DataFrame(part_shares(seeds, span))
    guarantee = pd.DataFrame(part_preemption(seeds, span))
    pd.concat([shares, guarantee], ignore_index=True).to_csv(os.path.join(args.out, "fairness.csv"), index=False)
    pd.set_option("display.width", 200)
    print("Shares while backlogged (mean over %d seeds; weighted_share = backlogged_share / weight):" % len(seeds))
    print(shares[["setting", "tenant", "backlogged_share", "backlogged_share_ci", "weighted_share", "wait_mean",
                  "jain_fairness"]].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print("\nPreemption for a higher priority class (interactive over long batch work), drf:")
    print(guarantee[["setting", "interactive_wait", "interactive_wait_ci", "batch_wait", "tasks_preempted",
                     "wasted_work", "makespan"]].to_string(index=False, float_format=lambda x: f"{x:.2f}"))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    for ax, discipline in zip(axes[0], ["fifo", "drf"]):
        r = fulcrum.run(scenario(discipline, span), seed=seeds[0], progress=False)
        plots.tenant_shares(r, ax=ax)
        ax.set_title(f"{discipline}: tenants' shares of cores (seed {seeds[0]})")
    ax = axes[1][0]
    for discipline in ["fifo", "drf", "fair"]:
        sub = shares[shares["setting"] == f"{discipline} weights 1:1:1"]
        ax.bar([f"{discipline}\n{t}" for t in sub["tenant"]], sub["wait_mean"], yerr=sub["wait_mean_ci"])
    ax.set_ylabel("mean wait (s)")
    ax.set_title("Wait by tenant, weights 1:1:1")
    ax.tick_params(axis="x", labelsize=7)
    ax = axes[1][1]
    ax.bar(guarantee["setting"], guarantee["interactive_wait"], yerr=guarantee["interactive_wait_ci"])
    ax2 = ax.twinx()
    ax2.plot(guarantee["setting"], guarantee["wasted_work"], "o-", color="C3", label="wasted core-s")
    ax.set_ylabel("interactive's mean wait (s)")
    ax2.set_ylabel("wasted work (core-s)")
    ax.set_title("Preemption for a higher class: wait against wasted work")
    ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "fairness.png"), dpi=110)
    print(f"\nwrote {args.out}/fairness.csv and fairness.png")


if __name__ == "__main__":
    main()
