#!/usr/bin/python3
"""Backfilling on Parallel Workloads Archive traces: FCFS, EASY and conservative backfilling,
in arrival (FCFS) and shortest-estimate-first (SJF) order, with the users' run-time
estimates and with exact ones, under three placement policies.

Every job of an SWF trace is a rigid job (a gang of one-core tasks that start together,
docs/backfilling.md). The clusters are homogeneous and the network costs nothing
(`{latency: 0, bandwidth: 1e15}`), the setting of the batch-scheduling literature:

    lublin_256   lublin_256.synthetic.swf (Lublin-Feitelson model, 10,000 jobs), 256
                 processors as 16 hosts x 16 cores; 5 windows of 2,000 jobs. Its requested
                 times are all -1, so its user estimates are the exact run times.
    HPC2N        HPC2N-2002-2.2-cln.first3170jobs.swf, 240 processors as 15 x 16; 3
                 windows of 1,024 jobs (the sequence length RLScheduler samples).
    KTH-SP2      KTH-SP2-1996-2.1-cln.swf (28,476 jobs), 100 processors as 10 x 10; 7
                 windows of 4,000 jobs.

(../shared/workloads/swf, beside the repository.) A window is `workload.first_job` /
`max_jobs`: its first job's submit time becomes 0 and it starts on an empty cluster. The
traces are deterministic: the replicates, and the 95 % CIs (Student t), are the windows.

Grid: discipline (fcfs, easy, conservative) x order (fcfs, sjf) x estimates (user, exact)
x policy (first_fit, binpack, jsq), every window. Where every user estimate of a trace's
windows is the run time (lublin_256), estimates=exact is the same scenario: those runs are
copied from estimates=user (`copied` in the CSV), not repeated (--quick runs them, as a
check). Placement can hardly matter here: every gang member asks for one core of identical
hosts, so any free core serves as well as any other, the pooled profile the discipline
plans with is exact, and every policy starts the same jobs at the same instants; the
`placement` table prints the largest relative difference between a policy and first_fit,
everything else the same (and each policy's wall time). `*_vs_fcfs` is a paired ratio: a
run's metric over that of discipline fcfs (no backfilling) on the same window, order,
estimates and policy; mean and CI over the windows. Metrics from the summary:
jobs_wait_mean, jobs_bounded_slowdown_mean (tau = 10 s), utilisation_mean, makespan;
`wall_s` is the run's wall time.

Last, the whole KTH trace (28,467 jobs kept, no max_jobs) is simulated under easy
(first_fit) on 10 x 10 and on 100 x 1 hosts, timed (wall seconds, in this process after
the grid).

    /usr/bin/python3 experiments/backfilling.py [--quick] [--out DIR]

writes DIR/backfilling.csv (one row per trace, discipline, order, estimates and policy:
mean and 95 % CI of each metric over the windows), DIR/backfilling_windows.csv (the
windows: jobs, arrival span, offered load, user estimate / run time),
DIR/backfilling_kth.csv (the whole-trace timing) and DIR/backfilling.png (per trace, by
discipline, order and estimates: mean bounded slowdown, mean wait, and bounded slowdown
over fcfs's), and prints the tables.
--quick: 2 windows of 200 jobs per trace, first_fit only, and a 2,000-job window of KTH
for the timing.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import fulcrum  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(REPO, "build", "python"))
    import fulcrum  # noqa: F401

import numpy as np
import pandas as pd

if os.path.join(REPO, "experiments") not in sys.path:
    sys.path.insert(0, os.path.join(REPO, "experiments"))
import backfill_reference as ref  # noqa: E402  (only its SWF reader: window statistics)

SWF = os.path.join(os.path.dirname(REPO), "shared", "workloads", "swf")
# name -> file, hosts, cores per host
TRACES = {
    "lublin_256": ("lublin_256.synthetic.swf", 16, 16),
    "HPC2N": ("HPC2N-2002-2.2-cln.first3170jobs.swf", 15, 16),
    "KTH-SP2": ("KTH-SP2-1996-2.1-cln.swf", 10, 10),
}
# name -> window length, first jobs
FULL_WINDOWS = {
    "lublin_256": (2000, [0, 2000, 4000, 6000, 8000]),
    "HPC2N": (1024, [0, 1024, 2048]),
    "KTH-SP2": (4000, [0, 4000, 8000, 12000, 16000, 20000, 24000]),
}
QUICK_WINDOWS = {
    "lublin_256": (200, [0, 5000]),
    "HPC2N": (200, [0, 1500]),
    "KTH-SP2": (200, [0, 10000]),
}
DISCIPLINES = ["fcfs", "easy", "conservative"]
ORDERS = ["fcfs", "sjf"]
ESTIMATES = ["user", "exact"]
POLICIES = ["first_fit", "binpack", "jsq"]
METRICS = ["jobs_wait_mean", "jobs_bounded_slowdown_mean", "utilisation_mean", "makespan", "wall_s"]
PAIRED = ["jobs_wait_mean", "jobs_bounded_slowdown_mean"]
KEYS = ["trace", "discipline", "order", "estimates", "policy"]


def t95(n: int) -> float:
    """Student-t 0.975 quantile with n - 1 degrees of freedom."""
    table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
             2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086]
    return table[n - 2] if n - 2 < len(table) else 1.96


def mean_ci(xs) -> tuple[float, float]:
    xs = [float(x) for x in xs]
    n = len(xs)
    if n == 0:
        return float("nan"), float("nan")
    m = sum(xs) / n
    if n < 2:
        return m, 0.0
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))
    ci = t95(n) * sd / math.sqrt(n)
    return m, (ci if ci > 1e-9 * abs(m) else 0.0)  # equal runs: rounding noise, not spread


def spec(discipline: str, order: str, estimates: str) -> str:
    return f"{discipline}:order={order},estimates={estimates}"


def scenario(trace: str, first_job: int, max_jobs: int, discipline: str, order: str, estimates: str,
             policy: str, hosts: int | None = None, cores: int | None = None) -> dict:
    file, h, c = TRACES[trace]
    return {
        "seed": 1,
        "cluster": {"hosts": [{"count": hosts or h, "slots": cores or c, "speed": 1e9}],
                    "network": {"latency": 0, "bandwidth": 1e15}},
        "workload": {"type": "swf", "file": os.path.join(SWF, file), "first_job": first_job, "max_jobs": max_jobs},
        "policy": policy,
        "discipline": spec(discipline, order, estimates),
    }


def window_stats(trace: str, first_job: int, max_jobs: int) -> dict:
    """What the window asks of its cluster: jobs kept, arrival span, offered load (the
    processor-seconds of its jobs over the processors x the arrival span) and how far the
    users' estimates overshoot (mean and median of estimate / run time)."""
    file, h, c = TRACES[trace]
    jobs, _ = ref.load_swf(os.path.join(SWF, file), first_job=first_job, max_jobs=max_jobs)
    span = max(j["submit"] for j in jobs)
    area = sum(j["width"] * j["runtime"] for j in jobs)
    over = np.array([j["estimate"] / j["runtime"] for j in jobs])
    return {"trace": trace, "first_job": first_job, "max_jobs": max_jobs, "jobs": len(jobs), "procs": h * c,
            "span_days": span / 86400, "offered_load": area / (h * c * span) if span > 0 else float("nan"),
            "estimate_over_runtime_mean": float(over.mean()),
            "estimate_over_runtime_median": float(np.median(over)),
            "estimates_exact": bool(all(j["estimate"] == j["runtime"] for j in jobs)),
            "width_mean": float(np.mean([j["width"] for j in jobs]))}


# --- runs --------------------------------------------------------------------------------

def _add_path(path: str) -> None:
    if path not in sys.path:
        sys.path.insert(0, path)


def _one(sc: dict) -> dict:
    import fulcrum as f
    t = time.perf_counter()
    try:
        r = f.run(f.load_scenario(sc), progress=False)
    except f.RunError as e:  # counted, never averaged
        return {"error": str(e)}
    out = {k: float(r.summary[k]) for k in METRICS if k in r.summary}
    out["wall_s"] = time.perf_counter() - t
    for k in ("tasks_submitted", "tasks_completed", "tasks_lost"):
        out[k] = float(r.summary[k])
    out["jobs"] = float(len(r.jobs))
    return out


def run_all(items: list[tuple[dict, dict]], workers: int | None = None) -> list[dict]:
    ctx = multiprocessing.get_context("forkserver")
    parent = os.path.dirname(os.path.dirname(os.path.abspath(fulcrum.__file__)))
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1, mp_context=ctx,
                             initializer=_add_path, initargs=(parent,)) as pool:
        results = list(pool.map(_one, [sc for _, sc in items]))
    return [{**labels, **res} for (labels, _), res in zip(items, results)]


def grid(windows: dict, policies: list[str], same: set[str] = frozenset()) -> pd.DataFrame:
    """Every run of the grid, one row each. For the traces in `same` (every user estimate
    is the run time) estimates=exact is the very same scenario: those runs are not
    repeated but copied from estimates=user, with `copied` True."""
    items = []
    for trace, (length, firsts) in windows.items():
        for first in firsts:
            for d in DISCIPLINES:
                for o in ORDERS:
                    for e in ESTIMATES:
                        if e != "user" and trace in same:
                            continue
                        for p in policies:
                            items.append(({"trace": trace, "window": first, "discipline": d, "order": o,
                                           "estimates": e, "policy": p},
                                          scenario(trace, first, length, d, o, e, p)))
    df = pd.DataFrame(run_all(items))
    df["copied"] = False
    copies = df[df["trace"].isin(same)].assign(estimates="exact", copied=True)
    df = pd.concat([df, copies], ignore_index=True)
    if "error" not in df:
        df["error"] = np.nan
    for m in METRICS + ["tasks_submitted", "tasks_completed", "tasks_lost", "jobs"]:
        if m not in df:
            df[m] = np.nan
    # a valid run ended with every task accounted for and every job run to the end
    df["valid"] = df["error"].isna() & (df["tasks_lost"] == 0) & (df["tasks_completed"] == df["tasks_submitted"])
    return df


def aggregate(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % CI over the windows per trace x discipline x order x estimates x
    policy, and the paired ratios to discipline fcfs on the same window."""
    v = runs[runs["valid"]]
    base = v[v["discipline"] == "fcfs"].set_index(["trace", "order", "estimates", "policy", "window"])
    rows = []
    for key, g in runs.groupby(KEYS, sort=False):
        row = dict(zip(KEYS, key))
        ok = g[g["valid"]]
        row["n"] = len(ok)
        row["invalid"] = int((~g["valid"]).sum())
        row["windows"] = " ".join(str(w) for w in ok["window"])
        row["copied"] = bool(g["copied"].any())
        row["jobs"] = float(ok["jobs"].mean()) if len(ok) else float("nan")
        row["tasks_completed"] = float(ok["tasks_completed"].sum())
        row["tasks_submitted"] = float(g["tasks_submitted"].sum())
        for m in METRICS:
            row[m], row[m + "_ci95"] = mean_ci(ok[m])
        for m in PAIRED:
            ratio = []
            for w, x in zip(ok["window"], ok[m]):
                k = (row["trace"], row["order"], row["estimates"], row["policy"], w)
                if k in base.index and base.loc[k, m] > 0:
                    ratio.append(x / base.loc[k, m])
            row[m + "_vs_fcfs"], row[m + "_vs_fcfs_ci95"] = mean_ci(ratio)
        rows.append(row)
    out = pd.DataFrame(rows)
    ranks = {"trace": list(dict.fromkeys(runs["trace"])), "discipline": DISCIPLINES, "order": ORDERS,
             "estimates": ESTIMATES, "policy": list(dict.fromkeys(runs["policy"]))}
    key = lambda c: c.map({v: i for i, v in enumerate(ranks[c.name])})  # noqa: E731
    return out.sort_values(KEYS, key=key, kind="stable").reset_index(drop=True)


def placement_spread(runs: pd.DataFrame) -> pd.DataFrame:
    """Per trace: the largest relative difference of each metric between a policy and
    first_fit on the same window, discipline, order and estimates; and each policy's mean
    wall time per run (copied runs left out)."""
    v = runs[runs["valid"] & ~runs["copied"]]
    keys = ["trace", "window", "discipline", "order", "estimates"]
    ff = v[v["policy"] == "first_fit"].set_index(keys)
    rows = []
    for trace, g in v.groupby("trace", sort=False):
        row = {"trace": trace}
        other = g[g["policy"] != "first_fit"].set_index(keys)
        for m in ("jobs_wait_mean", "jobs_bounded_slowdown_mean", "utilisation_mean", "makespan"):
            if len(other):
                a, b = other[m], ff.loc[other.index, m].to_numpy()
                row[m + "_maxrel"] = float((np.abs(a.to_numpy() - b) / np.maximum(np.abs(b), 1e-300)).max())
            else:
                row[m + "_maxrel"] = float("nan")
        for p in g["policy"].unique():
            row[f"wall_s_{p}"] = float(g.loc[g["policy"] == p, "wall_s"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def time_kth(max_jobs: int) -> pd.DataFrame:
    """The whole KTH trace (or its first max_jobs) under easy, first_fit, user estimates:
    wall seconds of fulcrum.run, on 10 x 10 and 100 x 1 hosts."""
    rows = []
    for hosts, cores in ((10, 10), (100, 1)):
        sc = scenario("KTH-SP2", 0, max_jobs, "easy", "fcfs", "user", "first_fit", hosts, cores)
        t = time.perf_counter()
        r = fulcrum.run(fulcrum.load_scenario(sc), progress=False)
        wall = time.perf_counter() - t
        s = r.summary
        rows.append({"trace": "KTH-SP2", "max_jobs": max_jobs, "hosts": hosts, "cores": cores, "discipline": "easy",
                     "jobs": len(r.jobs), "tasks": int(s["tasks_submitted"]), "wall_s": wall,
                     "jobs_wait_mean": s["jobs_wait_mean"], "jobs_bounded_slowdown_mean": s["jobs_bounded_slowdown_mean"],
                     "utilisation_mean": s["utilisation_mean"], "makespan": s["makespan"]})
    return pd.DataFrame(rows)


# --- figure ------------------------------------------------------------------------------

VARIANTS = [("fcfs", "user", "tab:blue", ""), ("fcfs", "exact", "tab:blue", "//"),
            ("sjf", "user", "tab:orange", ""), ("sjf", "exact", "tab:orange", "//")]


def plot(df: pd.DataFrame, wins: pd.DataFrame, path: str, policy: str = "first_fit") -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    traces = list(dict.fromkeys(df["trace"]))
    panels = [("jobs_bounded_slowdown_mean", "mean bounded slowdown (τ = 10 s)"),
              ("jobs_wait_mean", "mean wait (h)"),
              ("jobs_bounded_slowdown_mean_vs_fcfs", "bounded slowdown / fcfs's\n(same order and estimates, paired by window)")]
    fig, axes = plt.subplots(len(panels), len(traces), figsize=(4.8 * len(traces), 11.5), squeeze=False)
    x = np.arange(len(DISCIPLINES))
    width = 0.8 / len(VARIANTS)
    for j, trace in enumerate(traces):
        t = df[(df["trace"] == trace) & (df["policy"] == policy)]
        w = wins[wins["trace"] == trace]
        for i, (m, title) in enumerate(panels):
            ax = axes[i, j]
            scale = 1 / 3600 if m == "jobs_wait_mean" else 1.0
            for k, (order, est, colour, hatch) in enumerate(VARIANTS):
                g = t[(t["order"] == order) & (t["estimates"] == est)].set_index("discipline").loc[DISCIPLINES]
                y, ci = g[m].to_numpy() * scale, g[m + "_ci95"].to_numpy() * scale
                lower = np.minimum(ci, 0.9 * y)  # log scale: keep the bar's lower whisker above 0
                ax.bar(x - 0.4 + width * (k + 0.5), y, width, yerr=[lower, ci], capsize=2, color=colour,
                       hatch=hatch, edgecolor="white" if not hatch else "black", linewidth=0.3,
                       label=f"order={order}, estimates={est}")
            ax.set_yscale("log")
            if m.startswith("jobs_bounded_slowdown_mean"):
                ax.axhline(1, color="black", linewidth=0.6)
            ax.set_xticks(x)
            ax.set_xticklabels(DISCIPLINES)
            if m.endswith("_vs_fcfs"):  # fcfs's own ratio is 1 by definition
                ax.set_xlim(0.5, len(DISCIPLINES) - 0.5)
            ax.grid(True, axis="y", which="both", alpha=0.3)
            n = int(t["n"].min())
            about = (f"\n{int(w['procs'].iloc[0])} procs, {n} windows of {int(w['max_jobs'].iloc[0])} jobs, "
                     f"offered load {w['offered_load'].mean():.2f}") if i == 0 else ""
            ax.set_title(f"{trace}: {title}{about}", fontsize=9)
    axes[0, 0].legend(fontsize=7, loc="upper right")
    fig.suptitle(f"Rigid jobs under FCFS, EASY and conservative backfilling ({policy}; zero-cost network): "
                 "mean ±95% CI over trace windows (lower whiskers cut at 10 % of the bar on the log scale)",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- main --------------------------------------------------------------------------------

def cell(df: pd.DataFrame, m: str, digits: int = 4, scale: float = 1.0) -> list[str]:
    return [f"{v * scale:.{digits}g} ±{c * scale:.2g}" for v, c in zip(df[m], df[m + "_ci95"])]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="2 windows of 200 jobs per trace, first_fit only; KTH timing on its first 2,000 jobs")
    ap.add_argument("--out", default=os.path.join(REPO, "experiments", "results"),
                    help="output directory (default: experiments/results)")
    a = ap.parse_args(argv)
    missing = [f for f, _, _ in TRACES.values() if not os.path.isfile(os.path.join(SWF, f))]
    if missing:
        print(f"backfilling.py: missing traces in {SWF}: {missing}", file=sys.stderr)
        return 2
    windows, policies, kth_jobs = (QUICK_WINDOWS, ["first_fit"], 2000) if a.quick else (FULL_WINDOWS, POLICIES, 0)
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()

    wins = pd.DataFrame([window_stats(tr, f, length) for tr, (length, firsts) in windows.items() for f in firsts])
    # --quick simulates every run (a check that exact = user estimates changes nothing there)
    same = set() if a.quick else {t for t, g in wins.groupby("trace") if g["estimates_exact"].all()}
    runs = grid(windows, policies, same)
    df = aggregate(runs)
    spread = placement_spread(runs)
    t1 = time.time()
    kth = time_kth(kth_jobs)
    t2 = time.time()

    paths = {k: os.path.join(a.out, f"backfilling{k}.csv") for k in ("", "_windows", "_kth")}
    df.to_csv(paths[""], index=False)
    wins.to_csv(paths["_windows"], index=False)
    kth.to_csv(paths["_kth"], index=False)
    png = os.path.join(a.out, "backfilling.png")
    plot(df, wins, png)

    with pd.option_context("display.width", 250, "display.max_columns", 50, "display.max_rows", 500):
        print("windows (jobs kept, arrival span, offered load = processor-seconds / (procs x span), "
              "user estimate / run time):")
        print(wins.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        print()
        print(f"grid: {int((~runs['copied']).sum())} runs ({int((~runs['valid']).sum())} invalid) in {t1 - t0:.0f} s"
              + (f"; estimates=exact copied from user for {', '.join(sorted(same))} (every estimate is the run time)"
                 if same else ""))
        print("policy first_fit; mean ±95% CI over the windows; *_vs_fcfs: paired ratio to discipline fcfs")
        ff = df[df["policy"] == "first_fit"]
        for trace, g in ff.groupby("trace", sort=False):
            t = g.assign(bsld=cell(g, "jobs_bounded_slowdown_mean"),
                         wait_h=cell(g, "jobs_wait_mean", scale=1 / 3600),
                         bsld_vs_fcfs=cell(g, "jobs_bounded_slowdown_mean_vs_fcfs", 3),
                         wait_vs_fcfs=cell(g, "jobs_wait_mean_vs_fcfs", 3),
                         util=cell(g, "utilisation_mean", 3),
                         makespan_d=cell(g, "makespan", 4, 1 / 86400))
            print(f"{trace} ({TRACES[trace][1]} x {TRACES[trace][2]}):")
            print(t[["discipline", "order", "estimates", "bsld", "bsld_vs_fcfs", "wait_h", "wait_vs_fcfs", "util",
                     "makespan_d", "n", "invalid"]].to_string(index=False))
            print()
        print("placement: largest relative difference from first_fit on the same window and discipline "
              "(over every order and estimate), and mean wall seconds per run:")
        print(spread.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        print()
        what = "whole trace" if kth_jobs == 0 else f"first {kth_jobs} jobs"
        print(f"KTH-SP2, {what}, easy, first_fit, user estimates (wall seconds of fulcrum.run):")
        print(kth.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"wrote {', '.join(paths.values())} and {png} in {t2 - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
