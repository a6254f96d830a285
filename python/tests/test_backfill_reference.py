"""Tests of experiments/backfill_reference.py, the independent FCFS / EASY / conservative
backfilling reference simulator: hand-worked schedules, SWF loading and errors, a window of
lublin_256, and a randomized cross-check against a deliberately naive implementation."""
import io
import os
import random
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "experiments"))
import backfill_reference as br  # noqa: E402

SCRIPT = os.path.join(REPO, "experiments", "backfill_reference.py")
SWF_DIR = os.path.join(os.path.dirname(REPO), "shared", "workloads", "swf")
LUBLIN = os.path.join(SWF_DIR, "lublin_256.synthetic.swf")


def J(name, submit, runtime, width, estimate=None):
    return {"id": name, "submit": submit, "runtime": runtime, "width": width,
            "estimate": runtime if estimate is None else estimate}


def starts(jobs, procs, discipline, order="fcfs", estimates="user"):
    rows = br.simulate(jobs, procs, discipline, order, estimates)
    br.check_schedule(rows, procs)
    return {r["job"]: r["start"] for r in rows}


# (1) EASY backfills a short job in front of a blocked wide head.
# 10 procs. A (6 wide, 10 s) starts at 0; B (8 wide) arrives at 1 and does not fit (4 free):
# it is the head, its shadow time is A's estimated end 10, extra = 10 - 8 = 2. C (4 wide,
# estimate 5) arrives at 2: it fits the 4 free processors and 2 + 5 = 7 <= 10, so EASY starts
# it at 2; B still starts at 10. Without backfilling C waits behind B: B starts at 10
# leaving 2 processors, so C starts when B ends at 15.
def test_easy_backfills_short_job():
    jobs = [J("A", 0, 10, 6), J("B", 1, 5, 8), J("C", 2, 5, 4)]
    assert starts(jobs, 10, "easy") == {"A": 0, "B": 10, "C": 2}
    assert starts(jobs, 10, "conservative") == {"A": 0, "B": 10, "C": 2}
    assert starts(jobs, 10, "fcfs") == {"A": 0, "B": 10, "C": 15}


# (2) EASY must not backfill a job that would delay the head.
# As in (1), but C runs 20 s: 2 + 20 = 22 > shadow 10 and its width 4 > extra 2, so starting
# it would leave B only 10 - 4 = 6 < 8 processors at 10. C waits; at 10 B starts (2 left,
# C still does not fit); at 15 B ends and C starts.
def test_easy_does_not_delay_head():
    jobs = [J("A", 0, 10, 6), J("B", 1, 5, 8), J("C", 2, 20, 4)]
    for discipline in ("easy", "conservative", "fcfs"):
        assert starts(jobs, 10, discipline) == {"A": 0, "B": 10, "C": 15}, discipline


# (3) A job longer than the shadow but within `extra` backfills and consumes extra.
# 10 procs. A (6 wide, 10 s) at 0; B (7 wide, 5 s) at 1 is the head: shadow 10, extra
# 10 - 7 = 3. C and D (2 wide, 50 s each) both arrive at 2 (one pass): C fits (4 free),
# 2 + 50 > 10 but 2 <= extra 3, so it starts and extra becomes 1. D fits the 2 processors
# still free, but ends after the shadow and 2 > extra 1: it waits (had it started, only
# 10 - 2 - 2 = 6 < 7 processors would be free at 10 and B would be late). At 10 A ends, B
# starts (1 left); at 15 B ends and D starts.
def test_easy_extra_is_consumed():
    jobs = [J("A", 0, 10, 6), J("B", 1, 5, 7), J("C", 2, 50, 2), J("D", 2, 50, 2)]
    assert starts(jobs, 10, "easy") == {"A": 0, "B": 10, "C": 2, "D": 15}
    # A job that ends, by its estimate, by the shadow does not consume extra: E (2 wide, 8 s)
    # and F (2 wide, 50 s) at 2. E: 2 + 8 <= 10, starts, extra stays 3. F: 2 free, and
    # 2 <= extra 3: starts (extra 1). Had E consumed extra, F (2 > 1) would have waited.
    # At 10 A and E end: 8 free, B starts.
    jobs = [J("A", 0, 10, 6), J("B", 1, 5, 7), J("E", 2, 8, 2), J("F", 2, 50, 2)]
    assert starts(jobs, 10, "easy") == {"A": 0, "B": 10, "E": 2, "F": 2}


# (4) EASY and conservative differ: EASY protects only the head, so a backfilled job may
# delay the SECOND waiting job; conservative protects every waiting job.
# 10 procs. A (5 wide, 10 s) at 0. At 1: B (8 wide, 10 s; the head) and C (9 wide, 10 s).
# D (2 wide, 30 s) arrives at 2.
# EASY at 2: head B, shadow 10, extra 10 - 8 = 2; D fits (5 free) and 2 <= extra: it starts
#   at 2 (ends 32). At 10 A ends, B starts; at 20 B ends, 8 free < 9: C waits for D, 32.
# Conservative at 2: profile 5 free on [2,10), 10 after. B reserved [10,20) (2 free there),
#   C reserved [20,30) (1 free there). D at 2 would need 2 processors over [2,32), but only
#   1 is free on [20,30): the earliest fit is 30. So C starts at 20 and D at 30.
def test_easy_and_conservative_differ():
    jobs = [J("A", 0, 10, 5), J("B", 1, 10, 8), J("C", 1, 10, 9), J("D", 2, 30, 2)]
    assert starts(jobs, 10, "easy") == {"A": 0, "B": 10, "C": 32, "D": 2}
    assert starts(jobs, 10, "conservative") == {"A": 0, "B": 10, "C": 20, "D": 30}


# (5) fcfs never overtakes: C (1 wide, 1 s) at 2 fits the 4 free processors right away,
# but B (8 wide, blocked until A ends at 10) is ahead of it: C starts with B, at 10 (B
# leaves 2 processors free). EASY starts C at 2 (2 + 1 <= shadow 10).
def test_fcfs_never_overtakes():
    jobs = [J("A", 0, 10, 6), J("B", 1, 5, 8), J("C", 2, 1, 1)]
    s = starts(jobs, 10, "fcfs")
    assert s == {"A": 0, "B": 10, "C": 10}
    assert starts(jobs, 10, "easy")["C"] == 2
    # In general: under fcfs, start times follow queue order.
    rnd = random.Random(5)
    jobs = [J(f"j{i}", rnd.randint(0, 30), rnd.randint(1, 9), rnd.randint(1, 8)) for i in range(60)]
    rows = br.simulate(jobs, 8, "fcfs")
    assert all(a["start"] <= b["start"] for a, b in zip(rows, rows[1:]))


# (6) sjf orders by estimate, then submit time, then trace order.
# 4 procs; A (4 wide, 10 s) at 0 holds the machine. All others are 4 wide (one at a time)
# with runtime = estimate: B (est 5, submit 1), Z (est 3, submit 1), Y (est 3, submit 1,
# after Z in the trace), C (est 3, submit 2). At 10 the sjf queue is Z, Y (estimate 3,
# submit 1; trace order, not name order), C (estimate 3, submit 2), B (estimate 5):
# Z 10-13, Y 13-16, C 16-19, B 19. Under fcfs order: B 10, Z 15, Y 18, C 21.
def test_sjf_order():
    jobs = [J("A", 0, 10, 4), J("B", 1, 5, 4), J("Z", 1, 3, 4), J("Y", 1, 3, 4), J("C", 2, 3, 4)]
    for discipline in br.DISCIPLINES:
        assert starts(jobs, 4, discipline, "sjf") == {"A": 0, "Z": 10, "Y": 13, "C": 16, "B": 19}
        assert starts(jobs, 4, discipline, "fcfs") == {"A": 0, "B": 10, "Z": 15, "Y": 18, "C": 21}
    # Order by the estimate, not the run time: with user estimates Y (run 3, estimate 9) goes
    # after B (estimate 5): Z 10-13, C 13-16, B 16-21, Y 21.
    jobs = [J("A", 0, 10, 4), J("B", 1, 5, 4), J("Z", 1, 3, 4), J("Y", 1, 3, 4, 9), J("C", 2, 3, 4)]
    assert starts(jobs, 4, "easy", "sjf") == {"A": 0, "Z": 10, "C": 13, "B": 16, "Y": 21}
    # ... and with exact estimates Y's estimate is its run time again.
    assert starts(jobs, 4, "easy", "sjf", "exact") == {"A": 0, "Z": 10, "Y": 13, "C": 16, "B": 19}


# (7) Completions before arrivals at the same instant, then one pass.
# 4 procs. A (4 wide, 10 s) at 0 ends at 10; B (4 wide) arriving at 10 starts at 10.
# With sjf: B (estimate 100) arrives at 5 and waits; C (estimate 1) arrives at 10. At 10 A's
# completion is handled, then C's arrival, then a single pass, which picks C (shorter):
# C 10-11, B 11. (A pass between the completion and the arrival would have started B.)
def test_completions_before_arrivals():
    jobs = [J("A", 0, 10, 4), J("B", 10, 5, 4)]
    for discipline in br.DISCIPLINES:
        assert starts(jobs, 4, discipline) == {"A": 0, "B": 10}
    jobs = [J("A", 0, 10, 4), J("B", 5, 100, 4), J("C", 10, 1, 4)]
    for discipline in br.DISCIPLINES:
        assert starts(jobs, 4, discipline, "sjf") == {"A": 0, "C": 10, "B": 11}
        assert starts(jobs, 4, discipline, "fcfs") == {"A": 0, "B": 10, "C": 110}
    # Ends are start + runtime exactly, with no epsilon: A ends at 0.1 + 0.2 =
    # 0.30000000000000004, after B's arrival at 0.3, so B starts at A's end, not at 0.3.
    jobs = [J("A", 0.1, 0.2, 4), J("B", 0.3, 1, 4)]
    for discipline in br.DISCIPLINES:
        rows = br.simulate(jobs, 4, discipline)
        assert rows[0]["end"] == 0.1 + 0.2 != 0.3
        assert rows[1]["start"] == 0.1 + 0.2


SWF_LINE = "{id} {submit} -1 {run} {alloc} -1 -1 {req} {reqtime} -1 1 1 1 1 1 1 -1 -1\n"


def write_swf(tmp_path, name, header, lines):
    path = tmp_path / name
    path.write_text(header + "".join(SWF_LINE.format(**l) for l in lines))
    return str(path)


# (8) Bad input: a job wider than the cluster, a wrong field count, a field that is not a
# number; each names file:line (and the field), and the command line exits with 2.
def test_bad_input(tmp_path):
    ok = dict(submit=0, run=10, alloc=2, req=2, reqtime=20)
    wide = write_swf(tmp_path, "wide.swf", "; MaxProcs: 4\n", [dict(ok, id=1), dict(ok, id=2, alloc=8)])
    with pytest.raises(br.SwfError, match=r"wide\.swf:3: job job2 needs 8 processors but the cluster has 4"):
        br.load_swf(wide)
    # --procs overrides the header, both ways.
    jobs, header = br.load_swf(wide, procs=8)
    assert header == 4 and [j["width"] for j in jobs] == [2, 8]
    fields = tmp_path / "fields.swf"
    fields.write_text("; MaxProcs: 4\n;\n" + SWF_LINE.format(id=1, **ok) + "2 0 -1 10 2 -1 -1 2 20 -1 1 1 1 1 1 1 -1\n")
    with pytest.raises(br.SwfError, match=r"fields\.swf:4: expected 18 fields, got 17"):
        br.load_swf(str(fields))
    nan = tmp_path / "nan.swf"
    nan.write_text("; MaxProcs: 4\n" + SWF_LINE.format(id=1, **dict(ok, run="1O")))
    with pytest.raises(br.SwfError, match=r"nan\.swf:2: field 4 \(run time\): not a number '1O'"):
        br.load_swf(str(nan))
    for path, message in ((wide, "wide.swf:3:"), (str(fields), "fields.swf:4:"), (str(nan), "nan.swf:2: field 4")):
        p = subprocess.run([sys.executable, SCRIPT, path, "--discipline", "easy"], capture_output=True, text=True)
        assert p.returncode == 2 and message in p.stderr and p.stdout == "", (p.returncode, p.stderr)
    p = subprocess.run([sys.executable, SCRIPT, wide, "--discipline", "easy", "--procs", "8"],
                       capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.count("\n") == 3


# SWF filtering, as in fulcrum's workload/swf.cc: the window counts every job line; skipped
# jobs (submit < 0, run <= 0, processors <= 0); field 5 else field 8; stable sort by submit;
# times relative to the first kept job; user estimate = max(requested or run, run); MaxNodes
# when there is no MaxProcs; lines after the window are not read.
def test_load_swf_filtering(tmp_path):
    lines = [
        dict(id=1, submit=100, run=10, alloc=1, req=1, reqtime=50),  # window skips it
        dict(id=2, submit=130, run=10, alloc=-1, req=3, reqtime=-1),  # field 8; estimate = run
        dict(id=3, submit=120, run=0, alloc=2, req=2, reqtime=50),  # run 0: skipped
        dict(id=4, submit=120, run=30, alloc=2, req=2, reqtime=20),  # requested < run: estimate 30
        dict(id=5, submit=-1, run=5, alloc=2, req=2, reqtime=20),  # submit < 0: skipped
        dict(id=6, submit=120, run=5, alloc=0, req=4, reqtime=20),  # allocated 0: skipped
        dict(id=7, submit=125, run=5.5, alloc=2, req=2, reqtime=20),
        dict(id=8, submit=120, run=5, alloc=2, req=2, reqtime=20),
        dict(id=9, submit=0, run=5, alloc=2, req=2, reqtime=20),  # after the window
    ]
    path = write_swf(tmp_path, "t.swf", "; Version: 2\n; MaxNodes: 16\n", lines)
    with pytest.raises(br.SwfError, match="window starts at job 20 but the trace has only 9 jobs"):
        br.load_swf(path, first_job=20)
    with open(path, "a") as f:
        f.write("this line is beyond the window and never parsed\n")
    stats = {}
    jobs, procs = br.load_swf(path, first_job=1, max_jobs=7, stats=stats)
    assert procs == 16 and stats["skipped"] == 3 and stats["job_lines"] == 7
    assert [(j["id"], j["submit"], j["width"], j["estimate"]) for j in jobs] == [
        ("job4", 0, 2, 30), ("job8", 0, 2, 20), ("job7", 5, 2, 20), ("job2", 10, 3, 10)]
    jobs, _ = br.load_swf(path, first_job=1, max_jobs=7, estimates="exact")
    assert [j["estimate"] for j in jobs] == [30, 5, 5.5, 10]
    with pytest.raises(br.SwfError, match="expected 18 fields"):
        br.load_swf(path)  # the whole file reads the bad last line


def test_cli_csv_and_summary(tmp_path):
    lines = [dict(id=17, submit=1000, run=10, alloc=6, req=6, reqtime=10),
             dict(id=18, submit=1001, run=5, alloc=8, req=8, reqtime=5),
             dict(id=19, submit=1002.5, run=0.1, alloc=4, req=4, reqtime=5)]
    path = write_swf(tmp_path, "c.swf", "; MaxProcs: 10\n", lines)
    out = tmp_path / "o.csv"
    p = subprocess.run([sys.executable, SCRIPT, path, "--discipline", "easy", "--out", str(out), "--summary"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert out.read_text().splitlines() == [
        "job,submit,start,end,width,runtime,estimate,wait,bounded_slowdown",
        "job17,0.0,0.0,10.0,6,10.0,10.0,0.0,1.0",
        "job18,1.0,10.0,15.0,8,5.0,5.0,9.0,1.4",
        "job19,2.5,2.5,2.6,4,0.1,5.0,0.0,1.0"]
    assert "mean wait 3.0" in p.stdout and "makespan 15.0" in p.stdout
    # Utilisation: (60 + 40 + 0.4) / (10 * 15).
    assert f"utilisation {(60 + 40 + 0.4) / 150!r}" in p.stdout
    buf = io.StringIO()
    br.write_csv(br.simulate(br.load_swf(path)[0], 10, "fcfs"), buf)
    assert buf.getvalue().splitlines()[3] == "job19,2.5,15.0,15.1,4,0.1,5.0,12.5,1.26"


# (9) A window of 300 jobs of lublin_256: under every discipline and order, the processors
# are never exceeded and every job starts at or after its submit; EASY's mean wait is no
# more than FCFS's.
@pytest.mark.skipif(not os.path.isfile(LUBLIN), reason="../shared/workloads/swf/lublin_256 is missing")
def test_lublin_window():
    jobs, procs = br.load_swf(LUBLIN, first_job=1000, max_jobs=300)
    assert procs == 256 and len(jobs) == 300
    mean_wait = {}
    for discipline in br.DISCIPLINES:
        for order in br.ORDERS:
            rows = br.simulate(jobs, procs, discipline, order)
            br.check_schedule(rows, procs)
            assert len(rows) == 300 and all(r["start"] >= r["submit"] for r in rows)
            mean_wait[discipline, order] = br.summarize(rows, procs)["mean_wait"]
    for order in br.ORDERS:
        assert mean_wait["easy", order] <= mean_wait["fcfs", order]


# --- A naive implementation, written separately and as plainly as possible (no heaps, no
# segment tree, no early stop), to cross-check simulate() on random small instances.

def naive(jobs, procs, discipline, order, estimates):
    jobs = sorted(jobs, key=lambda j: j["submit"])
    n = len(jobs)
    est = [j["runtime"] if estimates == "exact" else j["estimate"] for j in jobs]
    key = (lambda i: (jobs[i]["submit"], i)) if order == "fcfs" else (lambda i: (est[i], jobs[i]["submit"], i))
    start = [None] * n
    instants = sorted({j["submit"] for j in jobs})
    # Event loop over the sorted set of instants, extended as jobs start.
    now_set = set(instants)
    done = set()
    while any(s is None for s in start):
        now = min(t for t in now_set if t not in done)
        done.add(now)
        running = [i for i in range(n) if start[i] is not None and start[i] + jobs[i]["runtime"] > now]
        free = procs - sum(jobs[i]["width"] for i in running)
        queue = sorted((i for i in range(n) if start[i] is None and jobs[i]["submit"] <= now), key=key)

        def launch(i):
            nonlocal free
            start[i] = now
            free -= jobs[i]["width"]
            assert free >= 0
            now_set.add(now + jobs[i]["runtime"])
            running.append(i)

        if discipline in ("fcfs", "easy"):
            while queue and jobs[queue[0]]["width"] <= free:
                launch(queue.pop(0))
            if discipline == "easy" and queue:
                head = queue.pop(0)
                ests = sorted({start[i] + est[i] for i in running})
                for t in ests:
                    avail = free + sum(jobs[i]["width"] for i in running if start[i] + est[i] <= t)
                    if avail >= jobs[head]["width"]:
                        shadow, extra = t, avail - jobs[head]["width"]
                        break
                for i in queue:
                    w = jobs[i]["width"]
                    if w <= free:
                        if now + est[i] <= shadow:
                            launch(i)
                        elif w <= extra:
                            launch(i)
                            extra -= w
        else:
            blocks = [(now, start[i] + est[i], jobs[i]["width"]) for i in running]  # (from, to, width)

            def used(x):
                return sum(w for a, b, w in blocks if a <= x < b)

            for i in queue:
                w, d = jobs[i]["width"], est[i]
                for t in sorted({now} | {b for _, b, _ in blocks}):
                    points = [t] + [a for a, _, _ in blocks if t < a < t + d] + [b for _, b, _ in blocks if t < b < t + d]
                    if all(used(x) + w <= procs for x in points):
                        break
                blocks.append((t, t + d, w))
                if t == now:
                    launch(i)
    return start


@pytest.mark.parametrize("seed", range(40))
def test_against_naive(seed):
    rnd = random.Random(seed)
    procs = rnd.choice([4, 8, 10])
    jobs = []
    for k in range(rnd.randint(5, 35)):
        run = rnd.choice([rnd.randint(1, 12), rnd.randint(1, 4) * 2.5])
        est = run + rnd.choice([0, 0, rnd.randint(0, 15)])
        jobs.append(J(f"job{k}", rnd.randint(0, 25) * rnd.choice([1, 1, 0.5]), run, rnd.randint(1, procs), est))
    for discipline in br.DISCIPLINES:
        for order in br.ORDERS:
            for estimates in br.ESTIMATES:
                rows = br.simulate(jobs, procs, discipline, order, estimates)
                br.check_schedule(rows, procs)
                expect = naive(jobs, procs, discipline, order, estimates)
                assert [r["start"] for r in rows] == expect, (discipline, order, estimates)
