"""Rigid jobs and backfilling in the simulator against the independent reference
(experiments/backfill_reference.py, written from the papers' rules apart from the C++):
on SWF windows, a homogeneous cluster and a network that costs nothing, fulcrum's
SimGrid simulation starts every job when the reference does, under fcfs, easy and
conservative, with FCFS and SJF order (docs/backfilling.md). Also the results' job
columns and a gang refused for being wider than the cluster."""

import os
import sys

import pandas as pd
import pytest

import fulcrum

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SWF = os.path.join(os.path.dirname(REPO), "shared", "workloads", "swf")
sys.path.insert(0, os.path.join(REPO, "experiments"))
import backfill_reference as ref  # noqa: E402


def scenario(trace, procs, discipline, first_job=0, max_jobs=300, hosts=16):
    return {
        "cluster": {"hosts": [{"count": hosts, "slots": procs // hosts, "speed": 1e9}],
                    "network": {"latency": 0, "bandwidth": 1e15}},
        "workload": {"type": "swf", "file": os.path.join(SWF, trace), "first_job": first_job,
                     "max_jobs": max_jobs},
        "policy": "first_fit",
        "discipline": discipline,
    }


CASES = [
    # trace, processors, hosts, window
    ("lublin_256.synthetic.swf", 256, 16, 0, 300),
    ("HPC2N-2002-2.2-cln.first3170jobs.swf", 240, 15, 1000, 300),
]


@pytest.mark.parametrize("trace,procs,hosts,first,count", CASES)
@pytest.mark.parametrize("discipline,order,estimates", [
    ("fcfs", "fcfs", "user"), ("easy", "fcfs", "user"), ("conservative", "fcfs", "user"),
    ("easy", "sjf", "user"), ("easy", "fcfs", "exact"), ("fcfs", "sjf", "user"),
])
def test_every_job_starts_when_the_reference_says(trace, procs, hosts, first, count, discipline, order, estimates):
    spec = discipline + (f":order={order},estimates={estimates}" if (order, estimates) != ("fcfs", "user") else "")
    r = fulcrum.run(scenario(trace, procs, spec, first, count, hosts))
    jobs, _ = ref.load_swf(os.path.join(SWF, trace), first_job=first, max_jobs=count, estimates=estimates)
    want = pd.DataFrame(ref.simulate(jobs, procs, discipline, order=order, estimates=estimates))
    got = r.jobs.merge(want, left_on="name", right_on="job", suffixes=("", "_ref"))
    assert len(got) == len(want) > 0
    assert (got["width"] == got["width_ref"]).all()
    diff = (got["start"] - got["start_ref"]).abs()
    worst = got.loc[diff.idxmax()]
    # The simulated network costs nanoseconds (1e15 bytes/s): the same instants, not equal bits.
    assert diff.max() < 1e-6, f"{worst['name']}: fulcrum starts it at {worst['start']}, the reference at {worst['start_ref']}"
    assert r.summary["jobs_wait_mean"] == pytest.approx(want["wait"].mean(), abs=1e-6)
    assert r.summary["jobs_bounded_slowdown_mean"] == pytest.approx(want["bounded_slowdown"].mean(), rel=1e-9)


def test_jobs_columns_and_backfilling_helps():
    base = scenario("lublin_256.synthetic.swf", 256, "fcfs", 0, 200)
    fcfs = fulcrum.run(base)
    easy = fulcrum.run(base, discipline="easy")
    j = easy.jobs
    for col in ("width", "estimate", "wait", "bounded_slowdown"):
        assert col in j.columns
    assert (j["wait"] >= -1e-9).all() and (j["bounded_slowdown"] >= 1).all()
    assert (j["width"] == j["tasks"]).all(), "SWF jobs are rigid by default: every task of a job is one gang"
    assert easy.summary["jobs_wait_mean"] < fcfs.summary["jobs_wait_mean"]
    split = fulcrum.run(base, **{"workload.split": True, "discipline": "fifo"})
    assert (split.jobs["width"] == 1).all()


def test_a_job_wider_than_the_cluster_is_refused_with_its_line():
    sc = scenario("lublin_256.synthetic.swf", 64, "easy", 0, 50, hosts=4)  # lublin has 256-wide jobs
    with pytest.raises(fulcrum.RunError, match=r"lublin_256.synthetic.swf:\d+: job job\d+ asks for \d+ processors"):
        fulcrum.run(sc)
    # Split into independent tasks, the same jobs run.
    r = fulcrum.run(sc, **{"workload.split": True, "discipline": "fifo"})
    assert r.summary["tasks_completed"] == r.summary["tasks_submitted"]
