"""Parameter sweeps: every combination of a grid of overrides, policies and seeds.

    import fulcrum
    df = fulcrum.sweep(None, {"workload.rate": [20, 30]}, ["jsq", "random"], seeds=3)

Each run is described by a picklable plain tuple (scenario path or YAML text, source name,
overrides) so it can go to a process pool or a dask.distributed Client; the worker,
``_run_one``, rebuilds the scenario with ``_core.load`` and returns its summary dict.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import sys
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from typing import Any, Mapping, Sequence

import pandas as pd

from . import _core
from ._progress import progress_bar

# (path, text, source_name, overrides): everything _core.load needs, all plain and picklable.
RunSpec = tuple


def _run_one(item: RunSpec) -> dict:
    """Runs one scenario described by a plain tuple and returns its summary dict."""
    path, text, source_name, overrides = item
    sc = _core.load(path=path, text=text, overrides=list(overrides), source_name=source_name)
    return dict(_core.simulate(sc)["summary"])


def _add_path(path: str) -> None:
    """Process-pool initializer: lets spawned children import fulcrum."""
    if path not in sys.path:
        sys.path.insert(0, path)


def _package_parent() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _is_dask_client(executor: Any) -> bool:
    return (hasattr(executor, "gather") and hasattr(executor, "map")
            and type(executor).__name__ == "Client")


def _gather(futures: list, as_completed, bar) -> list:
    """The futures' results in order, ticking the bar as each one completes."""
    if bar is not None:
        for _ in as_completed(futures):
            bar.update(1)
    return [f.result() for f in futures]


def sweep(scenario: Any, grid: Mapping[str, Sequence[Any]], policies: Sequence[str] | str,
          seeds: int = 3, executor: Any = None, progress: bool | None = None) -> pd.DataFrame:
    """Runs every combination of ``grid`` (override key -> list of values) x ``policies`` x
    ``seeds`` seeds (the scenario's seed, seed+1, ...).

    Returns a DataFrame with one row per run, in grid-product order, then policy, then seed:
    a column per grid key, then policy, seed and every summary metric. ``executor`` is any
    concurrent.futures.Executor or a dask.distributed Client; by default a process pool
    (forkserver start method) with one worker per CPU. Every combination is validated in
    this process first, so a bad key or value raises ScenarioError before any run starts.
    A tqdm bar counts finished runs when interactive (``progress`` forces it on or off).
    """
    from . import _as_scenario, _override  # late: fulcrum/__init__ imports this module

    base = _as_scenario(scenario)
    if isinstance(policies, str):
        policies = [policies]
    policies = list(policies)
    if not policies:
        raise ValueError("sweep: give at least one policy")
    if seeds < 1:
        raise ValueError(f"sweep: seeds must be at least 1, got {seeds}")
    keys = list(grid)
    values = []
    for k in keys:
        v = grid[k]
        if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
            v = [v]
        values.append(list(v))

    path = os.path.abspath(base._path) if base._path is not None else None
    labels: list[tuple] = []
    items: list[RunSpec] = []
    for combo in itertools.product(*values):
        combo_ov = [_override(k, v) for k, v in zip(keys, combo)]
        for p in policies:
            for s in range(seeds):
                seed = base.seed + s
                ov = base._overrides + combo_ov + [_override("policy", p), _override("seed", seed)]
                # Validate here (raises ScenarioError) before anything runs.
                _core.load(path=path, text=base._text, overrides=ov, source_name=base._source_name)
                labels.append((*combo, p, seed))
                items.append((path, base._text, base._source_name, tuple(ov)))

    with progress_bar(progress, total=len(items), desc="sweep", unit="run") as bar:
        if executor is None:
            ctx = multiprocessing.get_context("forkserver")
            with ProcessPoolExecutor(max_workers=min(os.cpu_count() or 1, len(items)), mp_context=ctx,
                                     initializer=_add_path, initargs=(_package_parent(),)) as pool:
                summaries = _gather([pool.submit(_run_one, it) for it in items], as_completed, bar)
        elif _is_dask_client(executor):
            from distributed import as_completed as dask_as_completed
            futures = executor.map(_run_one, items, pure=False)
            if bar is not None:
                for _ in dask_as_completed(futures):
                    bar.update(1)
            summaries = executor.gather(futures)
        elif isinstance(executor, Executor):
            summaries = _gather([executor.submit(_run_one, it) for it in items], as_completed, bar)
        elif hasattr(executor, "map"):
            summaries = list(executor.map(_run_one, items))
        else:
            raise TypeError(f"sweep: executor must be a concurrent.futures.Executor or a dask Client, "
                            f"got {type(executor).__name__}")

    rows = []
    metrics: list[str] = []
    for label, summ in zip(labels, summaries):
        for m in summ:
            if m not in metrics:
                metrics.append(m)
        rows.append(list(label) + [summ.get(m) for m in metrics])
    columns = keys + ["policy", "seed"] + metrics
    return pd.DataFrame([r + [None] * (len(columns) - len(r)) for r in rows], columns=columns)
