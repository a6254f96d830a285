"""Offline training of the ``learned`` policy's load predictor.

    import fulcrum, fulcrum.learned
    runs = [fulcrum.run(sc, policy="random", seed=s) for s in range(5)]
    model = fulcrum.learned.fit(runs, alpha=1e-3)
    model.save("model.json")              # then policy "learned:model=model.json"

The training set holds one row per finished task: the features it had when it was
dispatched (computed by the C++ code the policy uses, replaying the run's records) and its
time from dispatch to completion. ``fit`` is ridge regression (numpy); the file it writes
is the versioned JSON format policies/learned.h reads and checks.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd

from . import _core

FORMAT = "fulcrum.learned-model"
VERSION = 1


def _frames(run) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(tasks, workers) of a Result, or of a results folder written by ``fulcrum run --out``."""
    if hasattr(run, "tasks") and hasattr(run, "workers"):
        return run.tasks, run.workers
    folder = os.fspath(run)
    return (pd.read_csv(os.path.join(folder, "tasks.csv"), keep_default_na=False, float_precision="round_trip"),
            pd.read_csv(os.path.join(folder, "workers.csv"), keep_default_na=False, float_precision="round_trip"))


def training_set(run, rate_smoothing: float = 0.3) -> pd.DataFrame:
    """The training examples of one run (a Result or a results folder): a DataFrame with a
    column per feature (``bias, service, backlog, waiting, staleness``, then ``group:NAME``
    per host group) and the target ``time`` (seconds from dispatch to completion)."""
    tasks, workers = _frames(run)
    index = {name: i for i, name in enumerate(workers["worker"])}
    worker = [index.get(w, -1) if isinstance(w, str) else -1 for w in tasks["worker"]]
    names, groups, rows, target = _core.training_set(
        tasks["flops"].astype(float).tolist(), tasks["dispatched"].astype(float).tolist(),
        tasks["start"].astype(float).tolist(), tasks["end"].astype(float).tolist(), worker,
        tasks["state"].astype(str).tolist(), workers["group"].astype(str).tolist(),
        workers["slots"].astype(int).tolist(), rate_smoothing)
    columns = list(names) + [f"group:{g}" for g in groups]
    df = pd.DataFrame(rows, columns=columns, dtype=float)
    df["time"] = target
    return df


@dataclass
class Model:
    """Weights for the learned policy: one per feature, then one per host group."""
    weights: list[float]
    groups: list[str] = field(default_factory=list)
    rate_smoothing: float = 0.3
    features: list[str] = field(default_factory=lambda: ["bias", "service", "backlog", "waiting", "staleness"])
    trained_on: dict = field(default_factory=dict)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return X[self.columns].to_numpy(dtype=float) @ np.asarray(self.weights)

    @property
    def columns(self) -> list[str]:
        return self.features + [f"group:{g}" for g in self.groups]

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "features": self.features, "groups": self.groups,
                "weights": [float(w) for w in self.weights], "rate_smoothing": self.rate_smoothing,
                "trained_on": self.trained_on}

    def save(self, path: str | os.PathLike) -> None:
        """Writes the model file, then reads it back through the C++ loader (which raises
        ScenarioError if the policy would refuse it)."""
        with open(path, "w") as f:
            json.dump(self.to_json(), f, indent=1)
            f.write("\n")
        _core.check_model(os.fspath(path))


def fit(runs: Iterable, alpha: float = 1e-3, rate_smoothing: float = 0.3) -> Model:
    """Ridge regression of completion time on the features, over every run's training set.

    The groups are the union of the runs' host groups; a run without a group has zeros in
    its column. ``alpha`` is the ridge penalty (on every weight but the bias), scaled by
    the number of examples.
    """
    sets = [training_set(r, rate_smoothing) for r in runs]
    if not sets or sum(len(s) for s in sets) == 0:
        raise ValueError("fit: no finished tasks to learn from")
    data = pd.concat(sets, ignore_index=True).fillna(0.0)
    groups = sorted(c[len("group:"):] for c in data.columns if c.startswith("group:"))
    model = Model(weights=[], groups=groups, rate_smoothing=rate_smoothing)
    X = data[model.columns].to_numpy(dtype=float)
    y = data["time"].to_numpy(dtype=float)
    penalty = alpha * len(y) * np.eye(X.shape[1])
    penalty[0, 0] = 0.0
    model.weights = np.linalg.solve(X.T @ X + penalty, X.T @ y).tolist()
    model.trained_on = {"examples": int(len(y)), "alpha": alpha}
    return model
