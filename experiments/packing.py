#!/usr/bin/python3
"""Packing scorers (binpack, spread, tetris, first_fit) against jsq on multi-resource tasks:
a synthetic mix, the Alibaba v2017 batch tasks, and a zone outage with and without
`spread: zone`.

Policies (docs/policies.md). The four scorers bind a task only to a worker where its whole
request fits now, so tasks wait in the central queue; jsq is run both that way (late
binding, `cluster.queue_cap: 0`, label `jsq:late`) and in its default form (`queue_cap: -1`,
`jsq:local`: every task is dispatched on arrival to the shortest queue among the hosts it
fits, and waits in that host's FIFO until its request fits there).

1. Synthetic mix. 16 hosts of 16 cores and 64 GiB serve Poisson arrivals of exponential
   tasks (mean 10 s) of three classes: 45 % CPU-heavy {6 cores, 4 GiB}, 45 % memory-heavy
   {1 core, 24 GiB} and 10 % large {12 cores, 48 GiB}. Each class is far from the hosts'
   core:memory ratio but the mix matches it (mean request 4.35 cores and 17.4 GiB, 27.2 %
   of a host in both), so load rho is the same in both dimensions:
   rate = rho x cores / (mean cores x mean duration). Both queue disciplines (`strict`,
   `skip_ahead`), several loads, several seeds.
2. Alibaba v2017 batch tasks (../shared/workloads/traces). 18 hosts of 64 cores and
   64 GiB (machine_memory 64 GiB, so a task keeps its plan_mem share of a machine); five
   windows of 300 of the trace's jobs (max_instances 20 caps a row's instances), each
   window's arrivals stretched by a time_scale chosen so that its offered load is rho:
   the requests of the tasks that would be running if each started on arrival,
   time-averaged over the arrival window, in the binding dimension (memory, in every
   window), over the capacity. The trace is deterministic: the replicates (and the 95 %
   CIs) are the windows. Strict queue only, and without jsq:local: with the trace's
   sub-core requests, skip_ahead and local queues make the simulator end runs early or
   crash (see docs/experiments.md); such runs are counted (`invalid`) and left out of
   the means. `stretch` is a task's run time over its span in the trace: sub-core tasks
   share a host's cores when it runs more tasks than it has cores.
3. Zone outage. The same 18 hosts in 3 zones of 6; the same windows at offered load 0.6;
   zone z0 (the hosts binpack and first_fit fill first) crashes at 40 % of the arrival
   window for a quarter of it. binpack, spread, tetris and jsq:late with `spread: none`
   and `spread: zone` (a job's tasks prefer the zone that holds the fewest of them), under
   the outage and without it (the baseline). Strict queue.

    /usr/bin/python3 experiments/packing.py [--quick] [--out DIR] [--trace FILE]

writes DIR/packing_synthetic.csv, DIR/packing_alibaba.csv, DIR/packing_outage.csv (one row
per setting and policy: mean and 95 % CI of each metric over the seeds or windows) and
DIR/packing.png, DIR/packing_alibaba.png, DIR/packing_outage.png, and prints the tables.
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

TRACE = os.path.join(os.path.dirname(REPO), "shared", "workloads", "traces",
                     "alibaba-v2017-batch_task.derived.csv.gz")
GiB = 2 ** 30

# label -> (policy, cluster.queue_cap)
VARIANTS = {
    "binpack": ("binpack", 0),
    "spread": ("spread", 0),
    "tetris": ("tetris", 0),
    "first_fit": ("first_fit", 0),
    "jsq:late": ("jsq", 0),
    "jsq:local": ("jsq", -1),
}
POLICIES = list(VARIANTS)
QUEUES = ["strict", "skip_ahead"]

# --- synthetic mix -----------------------------------------------------------------------
HOST_CORES, HOST_MEMORY = 16, 64  # GiB
MEAN_SECONDS = 10.0
CLASSES = [  # share, cores, memory (GiB), name
    (0.45, 6, 4, "cpu"),
    (0.45, 1, 24, "memory"),
    (0.10, 12, 48, "large"),
]
MEAN_CORES = sum(s * c for s, c, _, _ in CLASSES)
MEAN_MEMORY = sum(s * m for s, _, m, _ in CLASSES)
LARGE_CORES = 12

# --- trace -------------------------------------------------------------------------------
TRACE_HOSTS, TRACE_CORES, ZONES = 18, 64, 3


def t95(n: int) -> float:
    """Student-t 0.975 quantile with n - 1 degrees of freedom (the CI fulcrum.compare gives)."""
    table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
             2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086]
    return table[n - 2] if n - 2 < len(table) else 1.96


def mean_ci(xs) -> tuple[float, float]:
    xs = [float(x) for x in xs]
    n = len(xs)
    m = sum(xs) / n
    if n < 2:
        return m, 0.0
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))
    ci = t95(n) * sd / math.sqrt(n)
    return m, (ci if ci > 1e-9 * abs(m) else 0.0)  # equal runs: rounding noise, not spread


def p99(xs: np.ndarray) -> float:
    """The k-th smallest, k = ceil(0.99 n), as the summary's response_p99."""
    if len(xs) == 0:
        return float("nan")
    xs = np.sort(xs)
    return float(xs[math.ceil(0.99 * len(xs)) - 1])


# --- scenarios ---------------------------------------------------------------------------

def synthetic(hosts: int, load: float, tasks: int, queue: str, label: str, seed: int) -> dict:
    policy, cap = VARIANTS[label]
    rate = load * hosts * HOST_CORES / (MEAN_CORES * MEAN_SECONDS)
    return {
        "seed": seed,
        "cluster": {"hosts": [{"name": "w", "count": hosts, "speed": 1e9,
                               "resources": {"cores": HOST_CORES, "memory": f"{HOST_MEMORY}GiB"}}],
                    "queue_cap": cap},
        "workload": {"type": "poisson", "rate": rate, "tasks": tasks,
                     "size": {"dist": "exponential", "mean": MEAN_SECONDS * 1e9},
                     "classes": [{"share": s, "resources": {"cores": c, "memory": f"{m}GiB"}}
                                 for s, c, m, _ in CLASSES]},
        "policy": policy,
        "queue": queue,
    }


def trace_cluster(cap: int, hosts: int) -> dict:
    per = hosts // ZONES
    return {"zones": {f"z{z}": {} for z in range(ZONES)},
            "hosts": [{"name": f"z{z}", "count": per, "speed": 1e9, "zone": f"z{z}",
                       "resources": {"cores": TRACE_CORES, "memory": "64GiB"}} for z in range(ZONES)],
            "queue_cap": cap}


def trace_scenario(trace: str, window: dict, queue: str, label: str, seed: int = 1,
                   spread: str = "none", outage: bool = False) -> dict:
    policy, cap = VARIANTS[label]
    sc = {
        "seed": seed,
        "cluster": trace_cluster(cap, window["hosts"]),
        "workload": {"type": "alibaba", "file": trace, "first_job": window["first_job"],
                     "max_jobs": window["jobs"], "max_instances": window["max_instances"],
                     "machine_memory": "64GiB", "time_scale": window["time_scale"], "spread": spread},
        "policy": policy,
        "queue": queue,
    }
    if outage:
        span = window["arrival_window"]
        sc["faults"] = [{"kind": "zone_outage", "zone": "z0", "at": round(0.4 * span, 3),
                         "duration": round(0.25 * span, 3)}]
    return sc


def read_trace(path: str) -> tuple[pd.DataFrame, pd.Series]:
    """The rows the loader replays (docs/dags-and-traces.md) and the jobs' submit times in
    the loader's order (first appearance, then stably by submit)."""
    d = pd.read_csv(path, header=0, names=["create", "end", "job", "task", "instances", "status", "cpu", "mem"],
                    skipinitialspace=True)
    d["status"] = d["status"].astype(str).str.strip()
    ok = (d["status"].isin(["Terminated", "Failed"]) & (d["end"] > d["create"]) & (d["instances"] > 0)
          & (d["cpu"] > 0) & (d["mem"] > 0))
    d = d[ok]
    submit = d.groupby("job", sort=False)["create"].min().sort_values(kind="stable")
    return d, submit


def window_demand(rows: pd.DataFrame, submit: pd.Series, first_job: int, max_instances: int,
                  time_scale: float, until: float) -> tuple[float, float, float]:
    """The requests of the tasks that would be running if each started on arrival (cores and
    memory, in machines), time-averaged over [0, until]; and the peak of the larger."""
    start = (rows["job"].map(submit) - submit.iloc[first_job]).to_numpy(float) * time_scale
    end = start + (rows["end"] - rows["create"]).to_numpy(float)
    k = np.minimum(rows["instances"], max_instances).to_numpy(float)
    cores = k * rows["cpu"].to_numpy(float) / 100 / TRACE_CORES
    memory = k * rows["mem"].to_numpy(float)
    overlap = np.clip(np.minimum(end, until) - np.minimum(start, until), 0, None)
    times = np.concatenate([start, end])
    order = np.argsort(times, kind="stable")
    peak = max(np.cumsum(np.concatenate([cores, -cores])[order]).max(),
               np.cumsum(np.concatenate([memory, -memory])[order]).max())
    return float((cores * overlap).sum() / until), float((memory * overlap).sum() / until), float(peak)


def trace_window(d: pd.DataFrame, submit: pd.Series, first_job: int, jobs: int, max_instances: int,
                 load: float, hosts: int = TRACE_HOSTS) -> dict:
    """A window of the trace and the time_scale that puts its offered load at `load`.

    Offered load: the requests of the tasks that would be running if every task started on
    arrival, time-averaged over the (scaled) arrival window, in the binding dimension, over
    the cluster's capacity. The spans are the trace's; stretching the arrivals (time_scale)
    lowers the load. Found by bisection on log(time_scale)."""
    ids = submit.index[first_job:first_job + jobs]
    rows = d[d["job"].isin(ids)]
    window = float(submit.iloc[first_job + len(ids) - 1] - submit.iloc[first_job])

    def offered(ts: float) -> tuple[float, float, float]:
        c, m, peak = window_demand(rows, submit, first_job, max_instances, ts, max(window * ts, 1.0))
        return c / hosts, m / hosts, peak / hosts

    lo, hi = math.log(1e-3), math.log(1e3)
    for _ in range(60):
        mid = (lo + hi) / 2
        if max(offered(math.exp(mid))[:2]) > load:
            lo = mid
        else:
            hi = mid
    ts = float(f"{math.exp(hi):.4g}")
    c, m, peak = offered(ts)
    if abs(max(c, m) - load) > 0.01 * load:
        raise ValueError(f"trace window {first_job}+{jobs}: no time_scale gives offered load {load} on {hosts} hosts")
    return {"first_job": first_job, "jobs": len(ids), "max_instances": max_instances, "hosts": hosts,
            "tasks": int(np.minimum(rows["instances"], max_instances).sum()), "time_scale": ts,
            "arrival_window": window * ts, "load": load, "load_cores": c, "load_memory": m, "peak": peak,
            "span_max": float((rows["end"] - rows["create"]).max())}


# --- runs --------------------------------------------------------------------------------

def _add_path(path: str) -> None:
    if path not in sys.path:
        sys.path.insert(0, path)


def _one(sc: dict) -> dict:
    """One run: its summary, plus what the summary does not say (the large class's response,
    the jobs an outage touched)."""
    import fulcrum as f
    try:
        r = f.run(f.load_scenario(sc), progress=False)
    except f.RunError as e:  # a crashed simulation: counted, never averaged
        return {"error": str(e)}
    out = dict(r.summary)
    t = r.tasks
    done = t[t["state"] == "finished"]
    resp = (done["end"] - done["submit"]).to_numpy()
    # run time over the time the task needs alone on a core (every host runs at 1e9 flop/s):
    # above 1 when sub-core tasks share the host's cores (docs: sim/executors.cc)
    out["stretch"] = float(((done["end"] - done["start"]) / (done["flops"] / 1e9)).mean())
    large = done["cores"] >= LARGE_CORES
    out["large_response_mean"] = float(resp[large.to_numpy()].mean()) if large.any() else float("nan")
    out["large_response_p99"] = p99(resp[large.to_numpy()])
    out["small_response_p99"] = p99(resp[~large.to_numpy()])
    out["jobs_hit"] = float(t.loc[t["attempts"] > 1, "job"].nunique())
    out["jobs"] = float(t["job"].nunique())
    j = r.jobs
    out["jobs_makespan_p99"] = p99(j["makespan"].to_numpy()) if len(j) else float("nan")
    return out


def run_all(items: list[tuple[dict, dict]], workers: int | None = None) -> list[dict]:
    """Runs every (labels, scenario) on a process pool; returns the labels merged with each
    run's metrics."""
    ctx = multiprocessing.get_context("forkserver")
    parent = os.path.dirname(os.path.dirname(os.path.abspath(fulcrum.__file__)))
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1, mp_context=ctx,
                             initializer=_add_path, initargs=(parent,)) as pool:
        results = list(pool.map(_one, [sc for _, sc in items]))
    return [{**labels, **res} for (labels, _), res in zip(items, results)]


METRICS = ["response_mean", "response_p99", "wait_mean", "slowdown_mean", "stretch", "utilisation_cores",
           "utilisation_memory", "fragmentation", "makespan", "tasks_submitted", "tasks_completed",
           "tasks_lost", "tasks_failed", "tasks_retried", "tasks_unschedulable", "wasted_work",
           "jobs_makespan_mean", "jobs_makespan_p99", "jobs_hit", "jobs", "large_response_mean",
           "large_response_p99", "small_response_p99"]


def aggregate(runs: list[dict], keys: list[str]) -> pd.DataFrame:
    """Mean and 95 % CI of every metric per group, over the valid runs only: a run that
    crashed or ended with tasks unaccounted for (tasks_lost > 0, "must be 0: anything else
    is a bug", docs/results.md) is a simulator failure, not a result; `invalid` counts them."""
    df = pd.DataFrame(runs)
    if "error" not in df:
        df["error"] = np.nan
    for m in METRICS:
        if m not in df:
            df[m] = np.nan
    df["valid"] = df["error"].isna() & (df["tasks_lost"] == 0)
    rows = []
    for key, g in df.groupby(keys, sort=False):
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        ok = g[g["valid"]]
        row["n"] = len(ok)
        row["invalid"] = int((~g["valid"]).sum())
        row["crashed"] = int(g["error"].notna().sum())
        for m in METRICS:
            row[m], row[m + "_ci95"] = mean_ci(ok[m]) if len(ok) else (np.nan, np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


# --- the three parts ---------------------------------------------------------------------

def part_synthetic(hosts: int, loads, tasks: int, seeds: int) -> pd.DataFrame:
    items = []
    for load in loads:
        for queue in QUEUES:
            for label in POLICIES:
                for s in range(seeds):
                    items.append(({"load": load, "queue": queue, "policy": label, "seed": 1 + s},
                                  synthetic(hosts, load, tasks, queue, label, 1 + s)))
    df = aggregate(run_all(items), ["load", "queue", "policy"])
    df.insert(3, "hosts", hosts)
    df.insert(4, "tasks", tasks)
    # saturated: the cluster could not carry the offered load (queues grew through the run)
    df["saturated"] = df["utilisation_cores"] < 0.95 * df["load"]
    return df


TRACE_POLICIES = ["binpack", "spread", "tetris", "first_fit", "jsq:late"]
OUTAGE_POLICIES = ["binpack", "spread", "tetris", "jsq:late"]


def _valid(runs: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(runs)
    if "error" not in df:
        df["error"] = np.nan
    df["valid"] = df["error"].isna() & (df["tasks_lost"] == 0)
    return df


def paired(df: pd.DataFrame, keys: list[str], pair: list[str], column: str, ref: str,
           metrics: list[str]) -> pd.DataFrame:
    """Per group of `keys`: mean and 95 % CI over the replicates (`pair`) of metric / the
    same replicate's metric under `column` == `ref` (both runs valid): a paired comparison,
    free of the spread between windows."""
    v = df[df["valid"]]
    base = v[v[column] == ref].set_index(pair)
    rows = []
    for key, g in df.groupby(keys, sort=False):
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        g = g[g["valid"]].set_index(pair)
        common = g.index.intersection(base.index)
        for m in metrics:
            ratio = (g.loc[common, m] / base.loc[common, m]).to_numpy(float) if len(common) else []
            row[f"{m}_rel"], row[f"{m}_rel_ci95"] = mean_ci(ratio) if len(ratio) else (np.nan, np.nan)
        row["n_paired"] = len(common)
        rows.append(row)
    return pd.DataFrame(rows)


def part_alibaba(trace: str, windows: list[dict]) -> pd.DataFrame:
    items = []
    for w in windows:
        for label in TRACE_POLICIES:
            items.append(({"window": w["first_job"], "queue": "strict", "policy": label},
                          trace_scenario(trace, w, "strict", label)))
    runs = run_all(items)
    df = aggregate(runs, ["queue", "policy"])
    # each policy against spread on the same window
    rel = paired(_valid(runs), ["queue", "policy"], ["window"], "policy", "spread",
                 ["response_mean", "response_p99", "wait_mean", "stretch"])
    df = df.merge(rel, on=["queue", "policy"], how="left")
    df.insert(2, "load", windows[0]["load"])
    df.insert(3, "hosts", windows[0]["hosts"])
    df.insert(4, "windows", ",".join(str(w["first_job"]) for w in windows))
    return df


def part_outage(trace: str, windows: list[dict]) -> pd.DataFrame:
    items = []
    for w in windows:
        for label in OUTAGE_POLICIES:
            for spread in ("none", "zone"):
                for outage in (True, False):
                    items.append(({"window": w["first_job"], "policy": label, "spread": spread, "outage": outage},
                                  trace_scenario(trace, w, "strict", label, spread=spread, outage=outage)))
    runs = _valid(run_all(items))
    df = aggregate(runs[runs["outage"]].to_dict("records"), ["policy", "spread"])
    base = aggregate(runs[~runs["outage"]].to_dict("records"), ["policy", "spread"])
    for m in ("response_mean", "response_p99", "jobs_makespan_mean"):
        df["baseline_" + m] = base[m].to_numpy()
        df["baseline_" + m + "_ci95"] = base[m + "_ci95"].to_numpy()
    df["baseline_n"] = base["n"].to_numpy()
    # paired: spread: zone against spread: none (same policy, window, outage) ...
    zone = paired(runs[runs["outage"]], ["policy", "spread"], ["window", "policy"], "spread", "none",
                  ["response_mean", "response_p99", "jobs_makespan_mean", "wasted_work"])
    df = df.merge(zone, on=["policy", "spread"], how="left")
    # ... and the outage's cost: with it against without it (same policy, spread, window)
    runs["case"] = np.where(runs["outage"], "outage", "none")
    cost = paired(runs, ["policy", "spread", "case"], ["window", "policy", "spread"], "case", "none",
                  ["response_mean", "response_p99", "jobs_makespan_mean"])
    cost = cost[cost["case"] == "outage"].drop(columns="case")
    cost.columns = [c.replace("_rel", "_cost") if c.endswith(("_rel", "_rel_ci95")) else c for c in cost.columns]
    cost = cost.rename(columns={"n_paired": "n_cost"})
    df = df.merge(cost, on=["policy", "spread"], how="left")
    df.insert(2, "load", windows[0]["load"])
    df.insert(3, "hosts", windows[0]["hosts"])
    return df


# --- figures -----------------------------------------------------------------------------

COLOURS = {"binpack": "tab:blue", "spread": "tab:orange", "tetris": "tab:green", "first_fit": "tab:purple",
           "jsq:late": "tab:red", "jsq:local": "tab:gray"}


def plot_synthetic(df: pd.DataFrame, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("response_mean", "mean response (s)", True), ("response_p99", "p99 response (s)", True),
              ("large_response_p99", "p99 response, large tasks (s)", True),
              ("utilisation_cores", "core utilisation", False), ("fragmentation", "fragmentation", False)]
    fig, axes = plt.subplots(len(QUEUES), len(panels), figsize=(4.2 * len(panels), 7.5), squeeze=False)
    for i, queue in enumerate(QUEUES):
        q = df[df["queue"] == queue]
        for j, (m, title, log) in enumerate(panels):
            ax = axes[i, j]
            for label in POLICIES:
                g = q[q["policy"] == label]
                style = "--" if label.startswith("jsq") else "-"
                ax.errorbar(g["load"], g[m], yerr=g[m + "_ci95"], marker="o", ms=3, capsize=2, linestyle=style,
                            color=COLOURS[label], label=label)
            if log:
                ax.set_yscale("log")
            if m == "utilisation_cores":
                lo, hi = df["load"].min(), df["load"].max()
                ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.6, linestyle=":", label="offered")
            ax.set_title(f"{title} — {queue}", fontsize=9)
            ax.set_xlabel("offered load ρ (cores and memory)")
            ax.grid(True, which="both", alpha=0.3)
    handles, labels = axes[0, 3].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8)
    hosts, n = int(df["hosts"].iloc[0]), int(df["n"].iloc[0])
    fig.suptitle(f"Synthetic mix on {hosts} hosts of 16 cores / 64 GiB: 45 % {{6 c, 4 GiB}}, 45 % {{1 c, 24 GiB}}, "
                 f"10 % {{12 c, 48 GiB}}; mean ±95% CI over {n} seeds", fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 0.96))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_alibaba(df: pd.DataFrame, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("response_mean_rel", "mean response / spread's"), ("wait_mean_rel", "mean wait / spread's"),
              ("stretch", "run time / trace span"), ("utilisation_memory", "memory utilisation"),
              ("fragmentation", "fragmentation")]
    g = df.set_index("policy").loc[TRACE_POLICIES]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 4.0))
    x = np.arange(len(TRACE_POLICIES))
    for ax, (m, title) in zip(axes, panels):
        ax.bar(x, g[m], 0.6, yerr=g[m + "_ci95"], capsize=2, color=[COLOURS[p] for p in TRACE_POLICIES])
        if m == "stretch" or m.endswith("_rel"):
            ax.set_ylim(bottom=min(0.9, float(np.nanmin(g[m] - g[m + "_ci95"])) - 0.02))
            ax.axhline(1, color="black", linewidth=0.6)
        ax.set_xticks(x)
        ax.set_xticklabels([f"{p}\n(n={int(n)})" for p, n in zip(TRACE_POLICIES, g["n"])], fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle(f"Alibaba v2017 batch tasks on {int(df['hosts'].iloc[0])} hosts of 64 cores / 64 GiB, offered load "
                 f"{df['load'].iloc[0]:.2f}, strict queue: mean ±95% CI over the valid trace windows "
                 f"(ratios paired by window)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_outage(df: pd.DataFrame, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("response_mean", "mean response (s)"), ("response_p99", "p99 response (s)"),
              ("response_mean_cost", "mean response: outage / no outage"),
              ("response_mean_rel", "mean response: zone / none"), ("wasted_work_rel", "wasted work: zone / none")]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.8 * len(panels), 4.2))
    x = np.arange(len(OUTAGE_POLICIES))
    for ax, (m, title) in zip(axes, panels):
        spreads = ("zone",) if m.endswith("_rel") else ("none", "zone")
        for k, spread in enumerate(spreads):
            g = df[df["spread"] == spread].set_index("policy").loc[OUTAGE_POLICIES]
            off = 0 if len(spreads) == 1 else (k - 0.5) * 0.4
            ax.bar(x + off, g[m], 0.4, yerr=g[m + "_ci95"], capsize=2,
                   color=["tab:gray", "tab:green"][k if len(spreads) == 2 else 1], label=f"spread: {spread}")
            if "baseline_" + m in g:
                ax.scatter(x + off, g["baseline_" + m], marker="_", s=200, color="black",
                           zorder=3, label="no outage" if k == 0 else None)
        if m.endswith(("_rel", "_cost")):
            ax.axhline(1, color="black", linewidth=0.6)
            lo = float(np.nanmin(df[m] - df[m + "_ci95"]))
            ax.set_ylim(bottom=min(0.9, lo - 0.05))
        ax.set_xticks(x)
        ax.set_xticklabels(OUTAGE_POLICIES, rotation=30, ha="right", fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    hosts = int(df["hosts"].iloc[0])
    fig.suptitle(f"Zone z0 ({hosts // ZONES} of {hosts} hosts) crashes at 40 % of the arrival window for a quarter "
                 f"of it; Alibaba windows at offered load {df['load'].iloc[0]:.2f}, strict queue; mean ±95% CI over "
                 f"the windows (ratios paired by window)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- main --------------------------------------------------------------------------------

def cell(df: pd.DataFrame, m: str, digits: int = 4) -> list[str]:
    return [f"{v:.{digits}g} ±{c:.2g}" for v, c in zip(df[m], df[m + "_ci95"])]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="8 hosts, 2 loads, 2,000 tasks, 3 seeds; 2 windows of 60 jobs on 3 hosts")
    ap.add_argument("--out", default=os.path.join(REPO, "experiments", "results"),
                    help="output directory (default: experiments/results)")
    ap.add_argument("--trace", default=TRACE, help="the Alibaba v2017 batch task table (default: %(default)s)")
    a = ap.parse_args(argv)
    if a.quick:
        hosts, loads, tasks, seeds = 8, [0.6, 0.8], 2000, 3
        firsts, jobs, cap, trace_hosts = [4400, 6600], 60, 10, 3
    else:
        hosts, loads, tasks, seeds = 16, [0.5, 0.6, 0.7, 0.8, 0.9], 20000, 5
        firsts, jobs, cap, trace_hosts = [0, 2200, 4400, 6600, 8800], 300, 20, TRACE_HOSTS
    load_trace, load_outage = 0.9, 0.6
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()

    syn = part_synthetic(hosts, loads, tasks, seeds)
    t1 = time.time()
    d, submit = read_trace(a.trace)
    windows = [trace_window(d, submit, f, jobs, cap, load_trace, trace_hosts) for f in firsts]
    ali = part_alibaba(a.trace, windows)
    t2 = time.time()
    owindows = [trace_window(d, submit, f, jobs, cap, load_outage, trace_hosts) for f in firsts]
    out = part_outage(a.trace, owindows)
    t3 = time.time()

    paths = {name: os.path.join(a.out, f"packing_{name}.csv") for name in ("synthetic", "alibaba", "outage")}
    syn.to_csv(paths["synthetic"], index=False)
    ali.to_csv(paths["alibaba"], index=False)
    out.to_csv(paths["outage"], index=False)
    pngs = [os.path.join(a.out, n) for n in ("packing.png", "packing_alibaba.png", "packing_outage.png")]
    plot_synthetic(syn, pngs[0])
    plot_alibaba(ali, pngs[1])
    plot_outage(out, pngs[2])

    with pd.option_context("display.width", 250, "display.max_columns", 50, "display.max_rows", 500):
        print(f"1. synthetic mix: {hosts} hosts x 16 cores / 64 GiB, {tasks} tasks, {seeds} seeds, "
              f"mean ±95% CI ({t1 - t0:.0f} s)")
        t = syn.assign(response_mean=cell(syn, "response_mean"), response_p99=cell(syn, "response_p99"),
                       large_p99=cell(syn, "large_response_p99"))
        t["util_cores"] = syn["utilisation_cores"].map("{:.3f}".format)
        t["util_memory"] = syn["utilisation_memory"].map("{:.3f}".format)
        t["fragmentation"] = syn["fragmentation"].map("{:.3f}".format)
        print(t[["load", "queue", "policy", "response_mean", "response_p99", "large_p99", "util_cores",
                 "util_memory", "fragmentation", "saturated", "n", "invalid"]].to_string(index=False))
        print()
        print("2. Alibaba v2017 windows (first job, jobs, tasks, time_scale, arrival window s, "
              "offered load cores/memory, peak, longest span s):")
        for ws in (windows, owindows):
            for w in ws:
                print(f"   {w['first_job']:>5} {w['jobs']:>4} {w['tasks']:>6} {w['time_scale']:>7.4g} "
                      f"{w['arrival_window']:>7.0f} {w['load_cores']:.2f}/{w['load_memory']:.2f} {w['peak']:.2f} "
                      f"{w['span_max']:.0f}")
        t = ali.assign(response_mean=cell(ali, "response_mean"), response_p99=cell(ali, "response_p99"),
                       wait_mean=cell(ali, "wait_mean"), stretch=cell(ali, "stretch", 3),
                       mean_vs_spread=cell(ali, "response_mean_rel", 3), wait_vs_spread=cell(ali, "wait_mean_rel", 3))
        for m in ("utilisation_cores", "utilisation_memory", "fragmentation"):
            t[m] = ali[m].map("{:.3f}".format)
        print(f"   {trace_hosts} hosts x 64 cores / 64 GiB, offered load {load_trace}, strict queue, mean ±95% CI "
              f"over the valid runs of {len(windows)} windows ({t2 - t1:.0f} s)")
        print(t[["policy", "response_mean", "response_p99", "wait_mean", "mean_vs_spread", "wait_vs_spread", "stretch",
                 "utilisation_cores", "utilisation_memory", "fragmentation", "n", "invalid", "crashed"]]
              .to_string(index=False))
        print()
        t = out.assign(response_mean=cell(out, "response_mean"), response_p99=cell(out, "response_p99"),
                       jobs_makespan=cell(out, "jobs_makespan_mean"), jobs_hit=cell(out, "jobs_hit", 3))
        t["outage_cost"] = cell(out, "response_mean_cost", 3)
        t["mean_zone/none"] = cell(out, "response_mean_rel", 3)
        t["wasted_zone/none"] = cell(out, "wasted_work_rel", 3)
        t["base_mean"] = out["baseline_response_mean"].map("{:.4g}".format)
        t["base_p99"] = out["baseline_response_p99"].map("{:.4g}".format)
        t["retried"] = out["tasks_retried"].map("{:.4g}".format)
        t["wasted"] = out["wasted_work"].map("{:.4g}".format)
        print(f"3. zone outage (z0 of {ZONES} zones, {trace_hosts} hosts), offered load {load_outage}, strict queue, mean ±95% CI over "
              f"{len(owindows)} windows ({t3 - t2:.0f} s)")
        print(t[["policy", "spread", "response_mean", "response_p99", "jobs_makespan", "jobs_hit", "retried",
                 "wasted", "outage_cost", "mean_zone/none", "wasted_zone/none", "base_mean", "base_p99", "n",
                 "invalid", "crashed"]]
              .to_string(index=False))
    print(f"wrote {', '.join(paths.values())}, {', '.join(pngs)} in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
