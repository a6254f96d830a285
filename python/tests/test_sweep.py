"""Tests of fulcrum.sweep (run with PYTHONPATH=build/python, Debian's python3)."""

import concurrent.futures
import os

import pandas.testing
import pytest

import fulcrum

GRID = {"workload.rate": [20, 28]}
POLICIES = ["jsq", "random"]


@pytest.fixture(scope="module")
def scenario():
    return fulcrum.load_scenario(overrides={"workload.tasks": 300})


@pytest.fixture(scope="module")
def serial(scenario):
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as ex:
        return fulcrum.sweep(scenario, GRID, POLICIES, seeds=2, executor=ex)


def test_serial_shape(scenario, serial):
    assert len(serial) == 8
    assert list(serial.columns[:3]) == ["workload.rate", "policy", "seed"]
    assert "response_mean" in serial.columns
    assert list(serial["workload.rate"]) == [20] * 4 + [28] * 4
    assert list(serial["policy"]) == ["jsq", "jsq", "random", "random"] * 2
    assert list(serial["seed"]) == [scenario.seed, scenario.seed + 1] * 4
    assert (serial["tasks_completed"] == 300).all()
    # Seeds differ, so the runs do too.
    assert serial["response_mean"].nunique() > 1


def test_process_pool_matches_serial(scenario, serial):
    df = fulcrum.sweep(scenario, GRID, POLICIES, seeds=2)
    pandas.testing.assert_frame_equal(df, serial)


def test_dask_matches_serial(scenario, serial, tmp_path):
    from dask.distributed import Client, LocalCluster

    # Worker processes must be able to import fulcrum.
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(fulcrum.__file__)))
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = pkg_parent + (os.pathsep + old if old else "")
    cluster = client = None
    try:
        # The workers' scratch space in this test's own folder, not the shared
        # /tmp/dask-worker-space.
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None, local_directory=str(tmp_path))
        client = Client(cluster)
        df = fulcrum.sweep(scenario, GRID, POLICIES, seeds=2, executor=client)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old
    pandas.testing.assert_frame_equal(df, serial)


class _NoRuns(concurrent.futures.Executor):
    def map(self, *args, **kwargs):
        raise AssertionError("a run started before validation finished")

    def submit(self, *args, **kwargs):
        raise AssertionError("a run started before validation finished")


def test_bad_grid_key_raises_before_running(scenario):
    with pytest.raises(fulcrum.ScenarioError):
        fulcrum.sweep(scenario, {"workload.rate": [20], "workload.no_such_key": [1]}, POLICIES,
                      seeds=2, executor=_NoRuns())
    # A bad value in the last combination is also caught before anything runs.
    with pytest.raises(fulcrum.ScenarioError):
        fulcrum.sweep(scenario, {"workload.rate": [20, "not-a-number"]}, POLICIES,
                      seeds=1, executor=_NoRuns())


def test_run_one_is_importable():
    import importlib
    mod = importlib.import_module("fulcrum.sweeps")
    assert callable(mod._run_one)
