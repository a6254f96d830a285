#!/usr/bin/python3
"""Mean response time against load for the classic dispatch policies, checked against theory.

N identical single-slot hosts (speed 1 Gflop/s) serve Poisson arrivals of exponential tasks
(mean 1 Gflop, so mu = 1/s) at rate rho * N. Network latency is 1 us so dispatch adds next
to nothing and the models apply:

    random              N independent M/M/1 queues     1 / (1 - rho)
    late_binding (cap 0) one central FIFO, M/M/N        Erlang C
    power_of_d:d=2      supermarket model (N -> inf)    sum_i rho^(2^i - 2)

jsq and round_robin have no simple closed form and are plotted without a theory curve.

    /usr/bin/python3 experiments/load_sweep.py [--quick] [--out DIR]

writes DIR/load_sweep.csv and DIR/load_sweep.png and prints the table.
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

from fulcrum import theory

POLICIES = ["random", "jsq", "power_of_d:d=2", "round_robin"]
LATE = "late_binding"


def scenario(hosts: int, load: float, tasks: int) -> dict:
    return {
        "seed": 1,
        "cluster": {
            "hosts": [{"name": "h", "count": hosts, "speed": 1e9, "slots": 1}],
            "network": {"latency": 1e-6, "bandwidth": 1.25e10},
            "queue_cap": -1,
        },
        "workload": {"type": "poisson", "rate": load * hosts,
                     "size": {"dist": "exponential", "mean": 1e9}, "tasks": tasks},
        "policy": "random",
    }


def theory_for(policy: str, load: float, hosts: int) -> float:
    if policy == "random":
        return theory.mm1_response(load, 1.0)
    if policy == LATE:
        return theory.mmc_response(hosts, load * hosts, 1.0)
    if policy.startswith("power_of_d"):
        return theory.supermarket_response(load, 2)
    return float("nan")


def sweep(hosts: int, loads, tasks: int, seeds: int) -> pd.DataFrame:
    rows = []
    for load in loads:
        sc = fulcrum.load_scenario(scenario(hosts, load, tasks))
        parts = [fulcrum.compare(sc, POLICIES, seeds=seeds)]
        late = fulcrum.compare(sc.with_overrides({"cluster.queue_cap": 0}), ["jsq"], seeds=seeds)
        late["policy"] = LATE
        parts.append(late)
        df = pd.concat(parts)
        df = df[df["metric"] == "response_mean"]
        for _, r in df.iterrows():
            rows.append({"load": load, "policy": r["policy"], "hosts": hosts, "tasks": tasks,
                         "response_mean": r["mean"], "ci95": r["ci95"], "n": int(r["n"]),
                         "theory": theory_for(r["policy"], load, hosts)})
    out = pd.DataFrame(rows)
    out["rel_err"] = out["response_mean"] / out["theory"] - 1
    return out


def plot(df: pd.DataFrame, path: str, hosts: int) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    fine = np.linspace(df["load"].min(), df["load"].max(), 200)
    for policy, g in df.groupby("policy", sort=False):
        line = ax.errorbar(g["load"], g["response_mean"], yerr=g["ci95"], marker="o", ms=4,
                           capsize=2, label=policy)
        if g["theory"].notna().any():
            ax.plot(fine, [theory_for(policy, x, hosts) for x in fine], linestyle="--",
                    color=line[0].get_color(), linewidth=1)
    ax.plot([], [], "k--", linewidth=1, label="theory (M/M/1, M/M/c, supermarket d=2)")
    ax.set_yscale("log")
    # limits from the means and theory, not the error bars (n = 2 gives t = 12.7, huge CIs)
    ys = pd.concat([df["response_mean"], df["theory"]]).replace(np.inf, np.nan).dropna()
    ax.set_ylim(ys.min() * 0.8, ys.max() * 1.5)
    ax.set_xlabel("load ρ")
    ax.set_ylabel("mean response time (1/μ)")
    ax.set_title(f"Mean response vs load, {hosts} single-slot hosts")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="8 hosts, 3 loads, 3000 tasks, 2 seeds")
    ap.add_argument("--out", default=os.path.join(REPO, "experiments", "results"),
                    help="output directory (default: experiments/results)")
    a = ap.parse_args(argv)
    if a.quick:
        hosts, loads, tasks, seeds = 8, [0.5, 0.7, 0.9], 3000, 2
    else:
        hosts, loads, tasks, seeds = 50, [round(x, 2) for x in np.linspace(0.5, 0.95, 10)], 50000, 5
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    df = sweep(hosts, loads, tasks, seeds)
    csv = os.path.join(a.out, "load_sweep.csv")
    png = os.path.join(a.out, "load_sweep.png")
    df.to_csv(csv, index=False)
    plot(df, png, hosts)
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(df[["load", "policy", "response_mean", "ci95", "n", "theory", "rel_err"]]
              .to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"wrote {csv} and {png} in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
