#!/usr/bin/python3
"""HEFT against the classic dispatch policies on real scientific workflows (WfCommons).

Each shared WfCommons instance (../shared/workloads/wfcommons, beside the repository) runs
alone, as one job, on the heterogeneous 16-host cluster of examples/montage_heft.yaml:
8 fast hosts (4 slots at 2 Gflop/s) and 8 slow ones (2 slots at 1 Gflop/s), 80 Gflop/s in
all, 10 Gbit/s links with 100 us latency. A task's flops are its measured runtime x 1 Gflop/s;
its input files move over the network from its parents' hosts. Ready tasks wait centrally
(late binding, cluster.queue_cap = 0) in critical-path order; HEFT plans the whole DAG at
submission (it knows every task's size), the classic policies only see queue lengths.

Two lower bounds frame a job's makespan:

    critical_path   the longest chain with every task on the fastest host, data for free
    work_bound      total work / total speed (80 Gflop/s), every slot busy all the time

and `ratio` is makespan / max(critical_path, work_bound) (1 = optimal).

    /usr/bin/python3 experiments/workflows.py [--quick] [--out DIR]

writes DIR/workflows.csv (one row per workflow and policy: makespan mean and 95 % CI over
the seeds, both bounds, ratio) and DIR/workflows.png (makespan / lower bound, grouped by
workflow), and prints the table of makespans (workflows x policies).
"""

from __future__ import annotations

import argparse
import json
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

WORKLOADS = os.path.join(os.path.dirname(REPO), "shared", "workloads", "wfcommons")
GROUPS = [("fast", 8, 2e9, 4), ("slow", 8, 1e9, 2)]  # name, count, speed, slots
REFERENCE_SPEED = 1e9
POLICIES = ["heft", "round_robin", "random", "weighted_round_robin", "weighted_random",
            "least_connections", "jsq", "power_of_d:d=2"]
QUICK = ["epigenomics-chameleon-hep-1seq-100k-001.json", "montage-chameleon-2mass-005d-001.json"]


def total_speed() -> float:
    return sum(count * speed * slots for _, count, speed, slots in GROUPS)


def scenario(path: str) -> dict:
    return {
        "seed": 1,
        "cluster": {
            "hosts": [{"name": n, "count": c, "speed": s, "slots": k} for n, c, s, k in GROUPS],
            "network": {"latency": 1e-4, "bandwidth": 1.25e9},
            "queue_cap": 0,
        },
        "workload": {"type": "wfcommons", "file": path, "reference_speed": REFERENCE_SPEED},
        "policy": "heft",
        "priority": "critical_path",
    }


def total_runtime(path: str) -> float:
    """Sum of the measured task runtimes (s): schema 1.5 keeps them in workflow.execution,
    1.4 in workflow.tasks."""
    with open(path) as f:
        w = json.load(f)["workflow"]
    tasks = w["execution"]["tasks"] if "execution" in w else w["tasks"]
    return float(sum(t.get("runtimeInSeconds", t.get("runtime", 0.0)) for t in tasks))


def short_name(path: str) -> str:
    name = os.path.basename(path)
    for suffix in (".schema-1.4.json", ".json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name.replace("-chameleon", "").replace("-001", "")


def experiment(files: list[str], seeds: int) -> pd.DataFrame:
    rows = []
    for path in files:
        sc = fulcrum.load_scenario(scenario(path))
        one = fulcrum.run(sc)  # HEFT once: the job's task count and critical path
        job = one.jobs.iloc[0]
        critical_path = float(job["critical_path"])
        work_bound = total_runtime(path) * REFERENCE_SPEED / total_speed()
        bound = max(critical_path, work_bound)
        df = fulcrum.compare(sc, POLICIES, seeds=seeds)
        for policy in POLICIES:
            d = df[df["policy"] == policy].set_index("metric")
            makespan = d.loc["jobs_makespan_mean", "mean"]
            ci = d.loc["jobs_makespan_mean", "ci95"]
            ci = ci if ci > 1e-9 * makespan else 0.0  # equal runs: rounding noise, not spread
            rows.append({"workflow": short_name(path), "tasks": int(job["tasks"]), "policy": policy,
                         "makespan": makespan, "makespan_ci95": ci,
                         "n": int(d["n"].iloc[0]),
                         "critical_path": critical_path, "work_bound": work_bound,
                         "ratio": makespan / bound,
                         "utilisation_mean": d.loc["utilisation_mean", "mean"],
                         "data_moved": d.loc["data_moved", "mean"],
                         "tasks_lost": d.loc["tasks_lost", "mean"]})
    return pd.DataFrame(rows)


def plot(df: pd.DataFrame, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workflows = list(dict.fromkeys(df["workflow"]))
    policies = list(dict.fromkeys(df["policy"]))
    width = 0.8 / len(policies)
    x = np.arange(len(workflows))
    fig, ax = plt.subplots(figsize=(max(8, 1.6 * len(workflows) + 4), 5.5))
    for i, p in enumerate(policies):
        g = df[df["policy"] == p].set_index("workflow").loc[workflows]
        bound = np.maximum(g["critical_path"], g["work_bound"])
        ax.bar(x - 0.4 + width * (i + 0.5), g["ratio"], width, yerr=g["makespan_ci95"] / bound,
               capsize=1.5, label=p, color="black" if p == "heft" else None)
    ax.axhline(1, color="grey", linewidth=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels([f"{w}\n({int(df[df['workflow'] == w]['tasks'].iloc[0])} tasks)" for w in workflows],
                       fontsize=8)
    ax.set_ylabel("makespan / max(critical path, work / total speed)")
    ax.set_ylim(bottom=0)
    n = int(df["n"].iloc[0])
    ax.set_title(f"HEFT vs classic policies on WfCommons workflows, 16 hosts (mean ±95% CI, {n} seeds)")
    ax.legend(fontsize=8, ncol=2)
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="two small workflows (41 and 58 tasks), 2 seeds")
    ap.add_argument("--out", default=os.path.join(REPO, "experiments", "results"),
                    help="output directory (default: experiments/results)")
    ap.add_argument("--workloads", default=WORKLOADS,
                    help="folder of WfCommons instances (default: ../shared/workloads/wfcommons)")
    a = ap.parse_args(argv)
    if a.quick:
        files, seeds = [os.path.join(a.workloads, f) for f in QUICK], 2
    else:
        files = sorted(os.path.join(a.workloads, f) for f in os.listdir(a.workloads) if f.endswith(".json"))
        seeds = 5
    missing = [f for f in files if not os.path.exists(f)]
    if missing or not files:
        print(f"workflows.py: missing WfCommons instances: {missing or a.workloads}", file=sys.stderr)
        return 2
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    df = experiment(files, seeds)
    csv = os.path.join(a.out, "workflows.csv")
    png = os.path.join(a.out, "workflows.png")
    df.to_csv(csv, index=False)
    plot(df, png)
    cell = df.assign(cell=[f"{m:.4g} ±{c:.2g}" for m, c in zip(df["makespan"], df["makespan_ci95"])])
    table = cell.pivot(index="workflow", columns="policy", values="cell")[POLICIES]
    info = df.drop_duplicates("workflow").set_index("workflow")[["tasks", "critical_path", "work_bound"]]
    table = info.join(table).loc[list(dict.fromkeys(df["workflow"]))]
    best = df.loc[df[df["policy"] != "heft"].groupby("workflow")["makespan"].idxmin()].set_index("workflow")
    heft = df[df["policy"] == "heft"].set_index("workflow")
    table["best_classic"] = best["policy"]
    table["heft_vs_best"] = (heft["makespan"] / best["makespan"]).map(lambda v: f"{v:.3f}")
    with pd.option_context("display.width", 300, "display.max_columns", 50):
        print(f"job makespan (s), mean ±95% CI over {seeds} seeds; 16 hosts (8 x 4 slots at 2 Gflop/s, "
              f"8 x 2 slots at 1 Gflop/s), late binding, critical-path order")
        print(table.to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"wrote {csv} and {png} in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
