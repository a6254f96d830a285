#!/usr/bin/python3
"""Host-seconds, energy and p99 response with and without the autoscaler, on a diurnal load.

16 hosts of 2 slots at 1 Gflop/s serve Poisson arrivals of exponential tasks (mean 1 Gflop,
1 slot-second) whose rate follows a "day" of 600 s: rate(t) = mean x (1 - 0.8 cos(2 pi t /
600)), from 0.2x the mean at night to 1.8x at noon (mean 10 tasks/s: 56 % of the whole
cluster at the peak, 6 % at night). Policy least_connections; power model 100 W idle, 200 W
with every core busy, 5 W off (SimGrid's energy plugin).

    fixed-16          every host on all the time
    util-0.6          autoscaled on utilisation, target 0.6 (2 to 16 hosts, 20 s boot)
    backlog-0.6       autoscaled on backlog (tasks in the system per slot), target 0.6

    /usr/bin/python3 experiments/autoscale.py [--quick] [--out DIR]

writes DIR/autoscale.csv (mean and 95 % CI over the seeds of each metric) and
DIR/autoscale.png (hosts powered over one run beside the rate; p99 against host-seconds)
and prints the table.
"""

from __future__ import annotations

import argparse
import math
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

HOSTS = 16
DAY = 600.0
AMPLITUDE = 0.8
MEAN_RATE = 10.0
AUTOSCALE = {"min": 2, "max": HOSTS, "initial": 2, "period": 5, "window": 30, "cooldown_out": 10,
             "cooldown_in": 60, "boot_delay": 20}
CONFIGS = {
    "fixed-16": None,
    "util-0.6": {"metric": "utilisation", "target": 0.6},
    "backlog-0.6": {"metric": "backlog", "target": 0.6},
}
COLOURS = {"fixed-16": "grey", "util-0.6": "C0", "backlog-0.6": "C1"}
METRICS = ["host_seconds", "energy_joules", "response_mean", "response_p99", "makespan", "tasks_lost"]


def scenario(days: float, autoscale: dict | None) -> dict:
    s = {
        "seed": 1,
        "cluster": {"hosts": [{"name": "w", "count": HOSTS, "speed": 1e9, "slots": 2}]},
        "workload": {"type": "poisson", "rate": MEAN_RATE, "size": {"dist": "exponential", "mean": 1e9},
                     "tasks": int(MEAN_RATE * DAY * days),
                     "rate_profile": {"kind": "diurnal", "period": DAY, "amplitude": AMPLITUDE}},
        "policy": "least_connections",
        "power": {"idle": 100, "busy": 200, "off": 5},
    }
    if autoscale is not None:
        s["autoscale"] = {**AUTOSCALE, **autoscale}
    return s


def measure(days: float, seeds: int) -> pd.DataFrame:
    rows = []
    for name, auto in CONFIGS.items():
        df = fulcrum.compare(fulcrum.load_scenario(scenario(days, auto)), ["least_connections"], seeds=seeds)
        df = df[df["metric"].isin(METRICS)]
        row = {"config": name, "n": int(df["n"].iloc[0])}
        for _, r in df.iterrows():
            row[r["metric"]] = r["mean"]
            row[r["metric"] + "_ci95"] = r["ci95"]
        rows.append(row)
    out = pd.DataFrame(rows)
    base = out[out["config"] == "fixed-16"].iloc[0]
    out["host_seconds_vs_fixed"] = out["host_seconds"] / base["host_seconds"] - 1
    out["energy_vs_fixed"] = out["energy_joules"] / base["energy_joules"] - 1
    return out


def hosts_over_time(days: float, auto: dict) -> tuple[list[float], list[int]]:
    """Hosts powered (booting included) over one run, from its events."""
    r = fulcrum.run(scenario(days, auto))
    times, up = [0.0], [AUTOSCALE["initial"]]
    for _, e in r.events.iterrows():
        if e["kind"] in ("boot", "worker_retired"):
            times.append(float(e["time"]))
            up.append(up[-1] + (1 if e["kind"] == "boot" else -1))
    times.append(float(r.tasks["end"].max()))
    up.append(up[-1])
    return times, up


def plot(df: pd.DataFrame, days: float, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    end = DAY * days
    xs = [end * i / 400 for i in range(401)]
    # Hosts a perfect scaler would keep at the target: rate x 1 slot-s / (2 slots x 0.6).
    left.plot(xs, [MEAN_RATE * (1 - AMPLITUDE * math.cos(2 * math.pi * x / DAY)) / (2 * 0.6) for x in xs],
              "k--", linewidth=1, label="rate / (2 slots x 0.6)")
    for name, auto in CONFIGS.items():
        if auto is None:
            continue
        t, up = hosts_over_time(days, auto)
        left.step(t, up, where="post", color=COLOURS[name], label=f"{name}: hosts powered")
    left.axhline(HOSTS, color="grey", linewidth=1, label="fixed-16")
    left.set_xlabel("time (s)")
    left.set_ylabel("hosts")
    left.set_title("Hosts powered under a diurnal load (seed 1)")
    left.legend(fontsize=8)
    left.grid(alpha=0.3)
    for _, r in df.iterrows():
        right.errorbar(r["host_seconds"], r["response_p99"], xerr=r["host_seconds_ci95"],
                       yerr=r["response_p99_ci95"], marker="o", capsize=3, color=COLOURS[r["config"]],
                       label=r["config"])
    right.set_xlabel("host-seconds")
    right.set_ylabel("p99 response (s)")
    right.set_title(f"p99 against capacity used ({int(df['n'].iloc[0])} seeds, 95 % CI)")
    right.grid(alpha=0.3)
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="one day (6,000 tasks), 2 seeds")
    ap.add_argument("--out", default=os.path.join(REPO, "experiments", "results"),
                    help="output directory (default: experiments/results)")
    a = ap.parse_args(argv)
    days, seeds = (1.0, 2) if a.quick else (3.0, 5)
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    df = measure(days, seeds)
    csv = os.path.join(a.out, "autoscale.csv")
    png = os.path.join(a.out, "autoscale.png")
    df.to_csv(csv, index=False)
    plot(df, days, png)
    cols = ["config", "host_seconds", "host_seconds_ci95", "host_seconds_vs_fixed", "energy_joules",
            "energy_vs_fixed", "response_mean", "response_p99", "response_p99_ci95", "tasks_lost", "n"]
    with pd.option_context("display.width", 200):
        print(df[cols].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"wrote {csv} and {png} in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
