"""Matplotlib plots of fulcrum results. Every function draws on ``ax`` (a new figure's Axes
when None) and returns that Axes. Without a display the Agg backend is selected, so the
module works headless (CI, forked children, ssh)."""

from __future__ import annotations

import os
import sys
from typing import Any, Mapping

import numpy as np
import pandas as pd

import matplotlib

if "matplotlib.pyplot" not in sys.modules and not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["response_cdf", "utilisation", "utilisation_series", "utilisation_over_time", "queue_length", "gantt",
           "around_faults", "tenant_shares", "tenant_shares_series", "FAULT_START_KINDS", "DIMENSIONS"]

#: The resource dimensions of tasks.csv's requests and workers.csv's capacities.
DIMENSIONS = ("cores", "memory", "gpus")

#: Event kinds that mark the start of an injected fault (see the scenario's ``faults``).
FAULT_START_KINDS = ("crash", "slowdown_start", "link_cut", "pause_start", "leader_kill")


def _axes(ax):
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _finished(tasks: pd.DataFrame) -> pd.DataFrame:
    t = tasks
    if "state" in t.columns:
        t = t[t["state"] == "finished"]
    return t.dropna(subset=["submit", "end"])


def _response_times(obj: Any) -> np.ndarray:
    """Response times (end - submit) of finished tasks from a Result, a tasks DataFrame or an
    array of response times."""
    if hasattr(obj, "tasks"):
        obj = obj.tasks
    if isinstance(obj, pd.DataFrame):
        if "response" in obj.columns:
            return obj["response"].to_numpy(dtype=float)
        t = _finished(obj)
        return (t["end"] - t["submit"]).to_numpy(dtype=float)
    return np.asarray(obj, dtype=float)


def response_cdf(results: Mapping[str, Any] | pd.DataFrame | Any, ax=None, logx: bool = False):
    """Empirical CDF of response time (end - submit), one step line per run.

    ``results`` is a dict ``{label: Result}`` (values may also be tasks DataFrames), a single
    Result, or a DataFrame: either a tasks frame (one curve) or a long frame with a ``policy``
    (or ``label``) column and ``response`` or ``submit``/``end`` columns (one curve per label).
    """
    ax = _axes(ax)
    if isinstance(results, pd.DataFrame):
        key = next((k for k in ("policy", "label") if k in results.columns), None)
        series = {str(k): g for k, g in results.groupby(key)} if key else {"": results}
    elif isinstance(results, Mapping):
        series = dict(results)
    else:
        series = {"": results}
    for label, obj in series.items():
        x = np.sort(_response_times(obj))
        if len(x) == 0:
            continue
        y = np.arange(1, len(x) + 1) / len(x)
        ax.step(x, y, where="post", label=label or None)
    ax.set_xlabel("response time (s)")
    ax.set_ylabel("fraction of tasks ≤ x")
    ax.set_ylim(0, 1.01)
    if logx:
        ax.set_xscale("log")
    if any(series):
        ax.legend()
    ax.set_title("Response time CDF")
    return ax


def utilisation(result, ax=None):
    """Bar per worker of its utilisation (busy / (slots x makespan)), with the mean dashed."""
    ax = _axes(ax)
    w = result.workers
    name = "worker"
    ax.bar(w[name].astype(str), w["utilisation"], color="tab:blue")
    if len(w):
        ax.axhline(float(w["utilisation"].mean()), color="k", linestyle="--", linewidth=1, label="mean")
        ax.legend()
    ax.set_xlabel("worker")
    ax.set_ylabel("utilisation")
    ax.set_ylim(0, max(1.0, float(w["utilisation"].max()) if len(w) else 1.0) * 1.05)
    if len(w) > 16:
        ax.tick_params(axis="x", labelrotation=90, labelsize=6)
    ax.set_title("Worker utilisation")
    return ax


def _capacities(workers: pd.DataFrame, dimension: str) -> pd.Series:
    """Each worker's capacity in `dimension`, indexed by worker name (cores: ``cores``, else
    ``slots`` for records without it)."""
    column = dimension if dimension in workers.columns else ("slots" if dimension == "cores" else None)
    if column is None:
        return pd.Series(0.0, index=workers["worker"].astype(str))
    return pd.Series(workers[column].to_numpy(dtype=float), index=workers["worker"].astype(str))


def utilisation_series(tasks: pd.DataFrame, workers: pd.DataFrame,
                       dimensions: tuple[str, ...] = DIMENSIONS) -> pd.DataFrame:
    """Per-dimension utilisation over time as a step series: a DataFrame with a ``time``
    column and one column per dimension holding the fraction of the cluster's capacity in
    that dimension that tasks held from that time until the next row.

    It reads the records as the summary does (docs/results.md, "Resources"): a finished task
    held its request (``cores``, ``memory``, ``gpus`` of tasks.csv) on its worker over
    [``start``, ``end``); what a worker holds is capped at its capacity at each instant (a
    task's ``end`` is when the scheduler heard of it, so for a report's trip the records can
    show the worker's next task beside it); the capacity is the sum of workers.csv's
    ``cores`` (``memory``, ``gpus``) over all workers. Memory counts only on workers that
    limit it (``memory`` > 0), both held and capacity. A dimension no worker has is 0
    throughout. The series' average over the makespan is the summary's
    ``utilisation_<dimension>``.
    """
    t = tasks
    if "state" in t.columns:
        t = t[t["state"] == "finished"]
    t = t[(t["worker"].astype(str) != "") & (t["start"] >= 0) & (t["end"] >= t["start"])]
    n = len(t)
    host = np.concatenate([t["worker"].astype(str).to_numpy(), t["worker"].astype(str).to_numpy()])
    edges = pd.DataFrame({
        "host": host,
        "time": np.concatenate([t["start"].to_numpy(dtype=float), t["end"].to_numpy(dtype=float)]),
        "sign": np.concatenate([np.ones(n), -np.ones(n)]),
    })
    for d in dimensions:
        request = t[d].to_numpy(dtype=float) if d in t.columns else (np.ones(n) if d == "cores" else np.zeros(n))
        edges[d] = np.concatenate([request, request])
    # Each host's level after each of its edges (ends first at equal times), capped at its
    # capacity; the cluster's level is the running sum of the capped levels' changes.
    edges = edges.sort_values(["host", "time", "sign"], kind="stable")
    out = {}
    for d in dimensions:
        cap_of = _capacities(workers, d)
        cap = edges["host"].map(cap_of).fillna(0).to_numpy(dtype=float)
        step = edges[d].to_numpy(dtype=float) * edges["sign"].to_numpy(dtype=float)
        level = pd.Series(step, index=edges.index).groupby(edges["host"].to_numpy()).cumsum().to_numpy()
        change = np.clip(level, 0, cap) - np.clip(level - step, 0, cap)
        total = float(cap_of[cap_of > 0].sum())
        out[d] = (pd.Series(change, index=edges.index), total)
    by_time = edges["time"].sort_values(kind="stable")
    frame = pd.DataFrame({"time": by_time.to_numpy()})
    for d, (change, total) in out.items():
        level = np.cumsum(change.loc[by_time.index].to_numpy())
        frame[d] = level / total if total > 0 else np.zeros(len(level))
    # at equal times the last row holds the level after all of them
    return frame.groupby("time", sort=True, as_index=False).last()


def utilisation_over_time(result, ax=None, dimensions: tuple[str, ...] = DIMENSIONS):
    """Per-dimension utilisation over time (:func:`utilisation_series`): one step line per
    dimension the cluster has, its time-average (the summary's ``utilisation_<dimension>``)
    dashed in the same colour."""
    ax = _axes(ax)
    series = utilisation_series(result.tasks, result.workers, dimensions)
    summary = getattr(result, "summary", {}) or {}
    for i, d in enumerate(dimensions):
        if float(_capacities(result.workers, d).sum()) <= 0 or len(series) == 0:
            continue
        color = f"C{i}"
        x = np.concatenate([[series["time"].iloc[0]], series["time"].to_numpy(dtype=float)])
        y = np.concatenate([[0.0], series[d].to_numpy(dtype=float)])
        ax.step(x, y, where="post", linewidth=0.8, color=color, label=d)
        key = f"utilisation_{d}"
        if key in summary:
            ax.axhline(float(summary[key]), color=color, linestyle="--", linewidth=1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("fraction of capacity held")
    # a task's end is when the scheduler heard of it, so for a report's trip the records can
    # show a host's next task beside it: the series may pass 1 for such moments
    top = max([1.0] + [float(series[d].max()) for d in dimensions if len(series)])
    ax.set_ylim(0, top * 1.05)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right")
    ax.set_title("Utilisation by resource (dashed: time-average)")
    return ax


def tenant_shares_series(tasks: pd.DataFrame, workers: pd.DataFrame, dimension: str = "cores") -> pd.DataFrame:
    """Each tenant's share of the cluster's `dimension` over time, as a step series: a
    DataFrame with a ``time`` column and one column per tenant holding the fraction of the
    capacity its finished tasks held from that time until the next row (tasks.csv's
    ``tenant``, requests and [``start``, ``end``); the capacity is the sum of workers.csv's
    column, as :func:`utilisation_series` reads it). Averaged over the makespan, a column is
    tenants.csv's ``share_<dimension>``."""
    t = tasks
    if "state" in t.columns:
        t = t[t["state"] == "finished"]
    t = t[(t["start"] >= 0) & (t["end"] >= t["start"])]
    tenant = t["tenant"].astype(str) if "tenant" in t.columns else pd.Series("", index=t.index)
    amount = t[dimension].to_numpy(dtype=float) if dimension in t.columns else np.ones(len(t))
    total = float(_capacities(workers, dimension).sum())
    edges = pd.DataFrame({
        "time": np.concatenate([t["start"].to_numpy(dtype=float), t["end"].to_numpy(dtype=float)]),
        "tenant": np.concatenate([tenant.to_numpy(), tenant.to_numpy()]),
        "delta": np.concatenate([amount, -amount]) / (total if total > 0 else 1.0),
    }).sort_values("time", kind="stable")
    frame = pd.DataFrame({"time": edges["time"].to_numpy()})
    for name in sorted(set(tenant)):
        frame[name if name else "(default)"] = np.cumsum(np.where(edges["tenant"].to_numpy() == name,
                                                                  edges["delta"].to_numpy(), 0.0))
    return frame.groupby("time", sort=True, as_index=False).last()


def tenant_shares(result, ax=None, dimension: str = "cores"):
    """Each tenant's share of the cluster over time (:func:`tenant_shares_series`), stacked."""
    ax = _axes(ax)
    series = tenant_shares_series(result.tasks, result.workers, dimension)
    names = [c for c in series.columns if c != "time"]
    if names and len(series):
        ax.stackplot(series["time"].to_numpy(dtype=float), *[series[n].clip(lower=0).to_numpy(dtype=float)
                                                               for n in names], labels=names, step="post")
        ax.legend(loc="upper right")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"share of the cluster's {dimension}")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Tenants' shares of {dimension} over time")
    return ax


def queue_length_series(tasks: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(times, number in system) step series from the tasks' submit and end times: +1 at
    each submit, -1 at each end (tasks that never ended stay in)."""
    sub = tasks["submit"].dropna().to_numpy(dtype=float)
    end = tasks["end"].dropna().to_numpy(dtype=float)
    if "state" in tasks.columns:  # only finished tasks leave
        end = tasks.loc[tasks["state"] == "finished", "end"].dropna().to_numpy(dtype=float)
    times = np.concatenate([sub, end])
    steps = np.concatenate([np.ones(len(sub)), -np.ones(len(end))])
    # at equal times departures come first, so the count never overshoots
    order = np.lexsort((steps, times))
    return times[order], np.cumsum(steps[order])


def queue_length(result, ax=None):
    """Number of tasks in the system (submitted, not yet finished) over time."""
    ax = _axes(ax)
    t, n = queue_length_series(result.tasks)
    if len(t):
        ax.step(np.concatenate([[t[0]], t]), np.concatenate([[0], n]), where="post", linewidth=0.8)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("tasks in system")
    ax.set_title("Tasks in system")
    return ax


def _fault_starts(events: pd.DataFrame) -> pd.DataFrame:
    if events is None or len(events) == 0 or "kind" not in events.columns:
        return pd.DataFrame(columns=["time", "kind", "host"])
    return events[events["kind"].isin(FAULT_START_KINDS)]


def gantt(result, ax=None, max_tasks: int = 2000):
    """Workers x time: a bar per task from start to end on its worker's row (the first
    ``max_tasks`` by start time), with fault starts from ``result.events`` as red vertical
    lines."""
    ax = _axes(ax)
    t = result.tasks.dropna(subset=["start", "end"])
    t = t[t["worker"].astype(str) != ""].sort_values("start").head(max_tasks)
    w = result.workers
    name = "worker"
    names = list(w[name].astype(str)) if len(w) else []
    for extra in t["worker"].astype(str).unique():
        if extra not in names:
            names.append(extra)
    row = {n: i for i, n in enumerate(names)}
    colors = plt.get_cmap("tab20").colors
    for n, g in t.groupby(t["worker"].astype(str)):
        i = row[n]
        spans = list(zip(g["start"].to_numpy(float), (g["end"] - g["start"]).to_numpy(float)))
        ax.broken_barh(spans, (i - 0.4, 0.8), facecolors=colors[i % len(colors)], edgecolors="none")
    faults = _fault_starts(result.events)
    for k, (_, f) in enumerate(faults.iterrows()):
        ax.axvline(float(f["time"]), color="red", linestyle="--", linewidth=1,
                   label="fault" if k == 0 else None)
    if len(faults):
        ax.legend(loc="upper right")
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=6 if len(names) > 16 else None)
    ax.set_ylim(-0.6, max(len(names), 1) - 0.4)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("worker")
    ax.set_title("Gantt chart")
    return ax


def around_faults(result, window: float = 50, ax=None):
    """Response time of the tasks submitted within ``window`` seconds of each fault start
    against their submit time minus the fault's time (one scatter per fault), with a vertical
    line at 0. Without faults the axes say so in a text."""
    ax = _axes(ax)
    t = _finished(result.tasks)
    faults = _fault_starts(result.events)
    for _, f in faults.iterrows():
        t0 = float(f["time"])
        near = t[(t["submit"] >= t0 - window) & (t["submit"] <= t0 + window)]
        label = f"{f['kind']} {f['host']}".strip() + f" @{t0:.0f}s"
        ax.scatter(near["submit"] - t0, near["end"] - near["submit"], s=6, alpha=0.6, label=label)
    ax.axvline(0, color="red", linestyle="--", linewidth=1)
    if len(faults):
        ax.legend(fontsize=6, markerscale=2)
    else:
        ax.text(0.5, 0.5, "no faults", transform=ax.transAxes, ha="center", va="center")
    ax.set_xlim(-window, window)
    ax.set_xlabel("submit time - fault time (s)")
    ax.set_ylabel("response time (s)")
    ax.set_title("Response time around faults")
    return ax
