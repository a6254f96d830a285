"""fulcrum: load scenarios, run them in simulation and compare policies from Python.

    import fulcrum
    sc = fulcrum.load_scenario()                      # the built-in default scenario
    r = fulcrum.run(sc, policy="jsq", seed=7, **{"workload.tasks": 500})
    r.tasks, r.workers, r.jobs, r.events               # pandas DataFrames
    r.summary                                          # dict of the summary metrics
    fulcrum.compare(sc, ["round_robin", "jsq"], seeds=3)  # tidy DataFrame

Scenarios are the YAML scenario files of the CLI (or a dict of the same shape); keys are
overridden with the CLI's ``--set`` strings ("workload.tasks=500"), so errors carry the
CLI's messages: a bad scenario raises ScenarioError (a ValueError), a failed run RunError
(a RuntimeError). Each simulation runs in a forked child with the GIL released; compare()
runs several at once. Long runs show a tqdm progress bar when interactive (a terminal or a
Jupyter kernel); ``progress=True/False`` forces it on or off.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from . import _core
from ._progress import progress_bar
from ._core import RunError, ScenarioError

__all__ = [
    "Scenario", "Result", "ScenarioError", "RunError",
    "load_scenario", "default_scenario", "policy_names", "classic_policies", "run", "compare", "sweep",
]


def default_scenario() -> str:
    """The built-in demo scenario as commented YAML text."""
    return _core.default_scenario()


def policy_names() -> list[str]:
    """The policy names fulcrum knows (specs may add parameters: "power_of_d:d=2")."""
    return _core.policy_names()


def classic_policies() -> list[str]:
    """The policies compare() runs when given none."""
    return _core.classic_policies()


def _override(key: str, value: Any) -> str:
    """A ``key.path=value`` override; non-strings are written as JSON (valid YAML)."""
    key = key.replace("__", ".")
    if isinstance(value, str):
        return f"{key}={value}"
    return f"{key}={json.dumps(value)}"


def _overrides(overrides: Mapping[str, Any] | Iterable[str] | None) -> list[str]:
    if overrides is None:
        return []
    if isinstance(overrides, str):
        return [overrides]
    if isinstance(overrides, Mapping):
        return [_override(k, v) for k, v in overrides.items()]
    return [str(o) for o in overrides]


class Scenario:
    """A validated scenario: where it came from plus the overrides applied to it.

    Setting ``policy`` or ``seed`` revalidates, so a bad value raises ScenarioError at once.
    """

    def __init__(self, path: str | None, text: str | None, source_name: str, overrides: list[str]):
        self._path = path
        self._text = text
        self._source_name = source_name
        self._overrides = list(overrides)
        self._core = _core.load(path=path, text=text, overrides=self._overrides, source_name=source_name)

    def with_overrides(self, overrides: Mapping[str, Any] | Iterable[str] | None) -> "Scenario":
        """A new scenario: this one with more overrides (later ones win)."""
        return Scenario(self._path, self._text, self._source_name, self._overrides + _overrides(overrides))

    def _set(self, key: str, value: Any) -> None:
        fresh = self.with_overrides({key: value})
        self._overrides, self._core = fresh._overrides, fresh._core

    @property
    def source(self) -> str:
        return self._core.source

    @property
    def overrides(self) -> list[str]:
        return list(self._overrides)

    @property
    def policy(self) -> str:
        return self._core.policy

    @policy.setter
    def policy(self, value: str) -> None:
        self._set("policy", value)

    @property
    def seed(self) -> int:
        return self._core.seed

    @seed.setter
    def seed(self, value: int) -> None:
        self._set("seed", int(value))

    def __repr__(self) -> str:
        return f"<fulcrum.Scenario {self.source} policy={self.policy} seed={self.seed}>"


def load_scenario(path_or_dict: str | os.PathLike | Mapping[str, Any] | None = None,
                  overrides: Mapping[str, Any] | Iterable[str] | None = None) -> Scenario:
    """Loads a scenario from a YAML file, a dict of the same shape, or (None) the default.

    ``overrides`` is a dict ``{"workload.tasks": 500}`` or a list of ``"key=value"`` strings.
    Raises ScenarioError with the CLI's message when the scenario is not valid.
    """
    ov = _overrides(overrides)
    if path_or_dict is None:
        return Scenario(None, _core.default_scenario(), "<default scenario>", ov)
    if isinstance(path_or_dict, Mapping):
        # YAML is a superset of JSON: the dict's JSON text is a valid scenario document.
        return Scenario(None, json.dumps(path_or_dict, indent=1), "<dict>", ov)
    return Scenario(os.fspath(path_or_dict), None, "", ov)


def _as_scenario(scenario: Scenario | str | os.PathLike | Mapping[str, Any] | None) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


class Result:
    """One run's records: DataFrames ``tasks``, ``workers``, ``jobs``, ``events``, ``tenants`` and the
    ``summary`` dict (metric name -> value, in the CLI's order)."""

    def __init__(self, scenario: Scenario, records: dict):
        self.scenario = scenario
        self._records = records
        self._frames: dict[str, pd.DataFrame] = {}

    def _frame(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            self._frames[name] = pd.DataFrame(self._records[name])
        return self._frames[name]

    @property
    def summary(self) -> dict[str, float]:
        return dict(self._records["summary"])

    @property
    def tasks(self) -> pd.DataFrame:
        return self._frame("tasks")

    @property
    def workers(self) -> pd.DataFrame:
        return self._frame("workers")

    @property
    def jobs(self) -> pd.DataFrame:
        return self._frame("jobs")

    @property
    def events(self) -> pd.DataFrame:
        return self._frame("events")

    @property
    def tenants(self) -> pd.DataFrame:
        """One row per tenant with work: shares, waits, preemptions (docs/fairness.md)."""
        return self._frame("tenants")

    def __repr__(self) -> str:
        s = self._records["summary"]
        return (f"<fulcrum.Result {self.scenario.source} policy={self.scenario.policy} seed={self.scenario.seed}: "
                f"{int(s['tasks_completed'])} tasks, response_mean={s['response_mean']:.4g}>")


def _fulcrum_binary() -> str:
    """The fulcrum executable that real mode starts daemons with: $FULCRUM_BINARY, else the
    one built beside this package."""
    binary = os.environ.get("FULCRUM_BINARY")
    if not binary:
        from ._build import FULCRUM_BINARY as binary
    if not os.access(binary, os.X_OK):
        raise RunError(f"real mode: the fulcrum executable {binary!r} is missing or not executable "
                       f"(build it, or set FULCRUM_BINARY)")
    return binary


def run(scenario: Scenario | str | os.PathLike | Mapping[str, Any] | None = None,
        policy: str | None = None, seed: int | None = None, mode: str = "sim",
        progress: bool | None = None, **set: Any) -> Result:
    """Runs a scenario once, in simulation (``mode="sim"``) or on real local processes
    (``mode="real"``: a scheduler daemon and one worker daemon per host on 127.0.0.1, as
    ``fulcrum run --mode real``; the scenario's ``real.time_scale`` sets its wall time).

    ``policy`` and ``seed`` override the scenario's; other keyword arguments are overrides,
    with ``__`` standing for ``.`` (``workload__tasks=500``) or passed as
    ``**{"workload.tasks": 500}``. Raises ScenarioError for a bad override or policy and
    RunError when the run fails.
    """
    sc = _as_scenario(scenario)
    extra = dict(set)
    if policy is not None:
        extra["policy"] = policy
    if seed is not None:
        extra["seed"] = int(seed)
    if extra:
        sc = sc.with_overrides(extra)
    if mode == "real":
        return Result(sc, _core.run_real(sc._core, _fulcrum_binary()))
    if mode != "sim":
        raise ValueError(f"run: mode must be 'sim' or 'real', got {mode!r}")
    with progress_bar(progress, total=None, desc=sc.policy, unit="task") as bar:
        return Result(sc, _core.simulate(sc._core, bar.update_to if bar else None))


def _ci95(xs: Sequence[float]) -> float:
    n = len(xs)
    if n < 2:
        return 0.0
    m = sum(xs) / n
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))
    return _core.t_quantile_95(n - 1) * sd / math.sqrt(n)


def compare(scenario: Scenario | str | os.PathLike | Mapping[str, Any] | None = None,
            policies: Sequence[str] | None = None, seeds: int = 3,
            max_workers: int | None = None, progress: bool | None = None) -> pd.DataFrame:
    """Runs every policy on ``seeds`` seeds (the scenario's seed, seed+1, ...) and returns a
    tidy DataFrame: one row per policy and summary metric with columns policy, metric,
    mean, ci95 (Student-t 95 % half-width, as the CLI's compare) and n."""
    base = _as_scenario(scenario)
    if policies is None:
        policies = classic_policies()
    if isinstance(policies, str):
        policies = [policies]
    if seeds < 1:
        raise ValueError(f"compare: seeds must be at least 1, got {seeds}")
    runs = []  # (policy, scenario), validated before any run starts
    for p in policies:
        for s in range(seeds):
            runs.append((p, base.with_overrides({"policy": p, "seed": base.seed + s})))
    workers = max_workers or os.cpu_count() or 1
    # The C++ side forks every run from one thread (forking beside other threads is unsafe).
    with progress_bar(progress, total=len(runs), desc="compare", unit="run") as bar:
        results = _core.simulate_many([item[1]._core for item in runs], workers,
                                      (lambda _index: bar.update(1)) if bar else None)
    per_policy: dict[str, list[dict]] = {p: [] for p in policies}
    for (p, _), rec in zip(runs, results):
        per_policy[p].append(rec["summary"])
    rows = []
    for p in policies:
        summaries = per_policy[p]
        for metric in summaries[0]:
            xs = [float(s[metric]) for s in summaries]
            rows.append({"policy": p, "metric": metric, "mean": sum(xs) / len(xs), "ci95": _ci95(xs), "n": len(xs)})
    return pd.DataFrame(rows, columns=["policy", "metric", "mean", "ci95", "n"])


from .sweeps import sweep  # noqa: E402  (sweep uses the helpers above)
