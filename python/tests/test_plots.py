"""Tests of fulcrum.theory, fulcrum.plots and experiments/load_sweep.py
(run with PYTHONPATH=build/python and Debian's /usr/bin/python3)."""

import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import fulcrum  # noqa: E402
from fulcrum import plots, theory  # noqa: E402
from quick_runs import REPO, run_quick  # noqa: E402


# ---------------------------------------------------------------- theory

def test_mm1():
    assert theory.mm1_response(0.5, 1.0) == pytest.approx(2.0)
    assert theory.mm1_response(2.8, 4.0) == pytest.approx(1 / 1.2)
    assert theory.mm1_response(1.0, 1.0) == math.inf


def test_mmc_erlang_c():
    # c = 1 is M/M/1
    for lam in (0.1, 0.5, 0.9):
        assert theory.mmc_response(1, lam, 1.0) == pytest.approx(theory.mm1_response(lam, 1.0))
    # M/M/2, a = 1 Erlang: C = 1/3, E[T] = (1/3) / (2 - 1) + 1
    assert theory.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert theory.mmc_response(2, 1.0, 1.0) == pytest.approx(4 / 3)
    # large c stays finite (Erlang B recursion, no factorial overflow) and tends to 1/mu
    t = theory.mmc_response(500, 450.0, 1.0)
    assert 1.0 < t < 1.01
    assert theory.mmc_response(4, 4.0, 1.0) == math.inf


def test_supermarket():
    # d = 1 is M/M/1
    for rho in (0.0, 0.3, 0.5, 0.9, 0.99):
        assert theory.supermarket_response(rho, 1) == pytest.approx(1 / (1 - rho))
    assert theory.supermarket_response(0.5, 1, mu=2.0) == pytest.approx(theory.mm1_response(1.0, 2.0))
    # d = 2, rho = 0.9: 1 + .9^2 + .9^6 + .9^14 + .9^30 + .9^62 + ... = 2.6141 (Mitzenmacher's
    # table gives 2.6141 too; the 2.56 quoted in the brief does not match the formula)
    series = sum(0.9 ** (2 ** i - 2) for i in range(1, 12))
    assert series == pytest.approx(2.614057, abs=1e-6)
    assert theory.supermarket_response(0.9, 2) == pytest.approx(series, rel=1e-12)
    assert theory.supermarket_response(0.9, 2) == pytest.approx(2.6, abs=0.02)
    # more choices help, and mu scales time
    assert theory.supermarket_response(0.9, 3) < theory.supermarket_response(0.9, 2) < 10
    assert theory.supermarket_response(0.9, 2, mu=2.0) == pytest.approx(series / 2)


# ---------------------------------------------------------------- plots

@pytest.fixture(scope="module")
def small():
    return fulcrum.run(None, **{"workload.tasks": 300})


@pytest.fixture(scope="module")
def faulty():
    return fulcrum.run(os.path.join(REPO, "examples", "faults.yaml"), **{"workload.tasks": 1500})


def _artists(ax):
    return len(ax.lines) + len(ax.collections) + len(ax.patches) + len(ax.texts) + len(ax.images)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_response_cdf_dict_and_frame(small):
    other = fulcrum.run(None, policy="random", **{"workload.tasks": 300})
    ax = plots.response_cdf({"power_of_d": small, "random": other})
    assert isinstance(ax, matplotlib.axes.Axes)
    assert len(ax.lines) == 2
    x, y = ax.lines[0].get_data()
    assert y[-1] == pytest.approx(1.0) and len(x) == 300
    # a long DataFrame with a policy column: one curve per policy, on a given Axes
    long = pd.concat([small.tasks.assign(policy="a"), other.tasks.assign(policy="b")])
    _, ax2 = plt.subplots()
    assert plots.response_cdf(long, ax=ax2) is ax2
    assert len(ax2.lines) == 2


def test_utilisation(small):
    ax = plots.utilisation(small)
    assert isinstance(ax, matplotlib.axes.Axes) and _artists(ax) >= 1
    assert len(ax.patches) == len(small.workers)


def test_queue_length(small):
    ax = plots.queue_length(small)
    assert isinstance(ax, matplotlib.axes.Axes) and _artists(ax) >= 1
    t, n = plots.queue_length_series(small.tasks)
    assert n.min() >= 0 and n[-1] == 0 and n.max() >= 1


def test_gantt(small, faulty):
    ax = plots.gantt(small)
    assert isinstance(ax, matplotlib.axes.Axes) and _artists(ax) >= 1
    ax = plots.gantt(faulty, max_tasks=200)
    assert len(ax.lines) >= 5  # fault starts drawn as vertical lines


def test_around_faults(small, faulty):
    ax = plots.around_faults(small)  # no faults: says so
    assert isinstance(ax, matplotlib.axes.Axes) and _artists(ax) >= 1
    ax = plots.around_faults(faulty, window=30)
    assert len(ax.collections) >= 3  # one scatter per fault start
    assert ax.get_xlim() == (-30, 30)


# ---------------------------------------------------------------- experiments/load_sweep.py

def test_load_sweep_quick(tmp_path):
    p = run_quick("load_sweep.py", tmp_path, cpu_seconds=60)
    assert "random" in p.stdout
    df = pd.read_csv(tmp_path / "load_sweep.csv")
    assert (tmp_path / "load_sweep.png").stat().st_size > 0
    assert set(df["policy"]) == {"random", "jsq", "power_of_d:d=2", "round_robin", "late_binding"}
    assert sorted(df["load"].unique()) == [0.5, 0.7, 0.9]
    assert (df["n"] == 2).all()
    low = df[(df["policy"] == "random") & (df["load"] == df["load"].min())].iloc[0]
    # Random dispatch to identical hosts is N independent M/M/1 queues, E[T] = 1/(1-rho) = 2 at
    # rho = 0.5. 3000 tasks x 2 seeds = 6000 response times; T is exponential (sd = mean), and
    # successive responses on a host are correlated over ~1/(1-sqrt(rho))^2 ~ 12 services, so
    # the relative standard error is a few percent (measured: sd 3.0 %, max 8 % over 40 seed
    # pairs; the empty start biases low by ~1 %). 15 % is about 5 sigma: stable, yet it fails
    # if dispatch overhead or the service rate is off.
    assert low["theory"] == pytest.approx(2.0)
    assert abs(low["response_mean"] / low["theory"] - 1) < 0.15
    # the central queue (M/M/c) matches Erlang C closely (at rho = 0.9 two short runs vary too
    # much between seeds to check)
    late = df[(df["policy"] == "late_binding") & (df["load"] <= 0.7)]
    assert ((late["response_mean"] / late["theory"] - 1).abs() < 0.15).all()
