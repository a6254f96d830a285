#!/usr/bin/python3
"""Independent reference simulator for rigid parallel jobs under FCFS, EASY backfilling and
conservative backfilling (pure Python, standard library only).

It is written from the published rules (Lifka 1995, "The ANL/IBM SP scheduling system", for
EASY; Mu'alem & Feitelson, "Utilization, predictability, workloads, and user runtime
estimates in scheduling the IBM SP2 with backfilling", IEEE TPDS 12(6), 2001, for
conservative backfilling), not from fulcrum's code, so that fulcrum's simulator can be
checked against it job by job (start times).

Model
-----
The cluster is `procs` identical, fungible processors (no topology). A job needs `width`
of them at once for its run time and ends exactly at start + runtime: jobs are never killed
at their estimate. The schedulers only see the estimate; the simulation uses the run time.

Rules
-----
* Events. At one instant, every completion at that instant is handled first (its
  processors are freed), then every arrival at that instant (the job joins the queue),
  then ONE scheduling pass. Times are floats and are used exactly as given (end =
  start + runtime, estimated end = start + estimate); there is no epsilon anywhere.
* Queue order, re-evaluated at every pass (the keys are static, so the queue is kept
  sorted by them):
    - order=fcfs: submit time, then trace order;
    - order=sjf:  estimate, then submit time, then trace order.
  "Trace order" is the job's position after the stable sort of the kept jobs by submit
  time, i.e. the order of the lines in the file among jobs with the same submit time.
* discipline=fcfs: start jobs in queue order while the head fits in the free processors;
  stop at the first that does not fit (nobody overtakes it).
* discipline=easy (Lifka): start jobs in queue order while the head fits. When the head
  does not fit, compute its shadow time: the earliest instant at which enough processors
  are free for it, from the running jobs' ESTIMATED ends (start + estimate), taking the
  running jobs in order of estimated end, all jobs with the same estimated end together.
  extra = processors free at the shadow time (counting every running job whose estimated
  end is <= shadow) minus the head's width. Then scan the other waiting jobs in queue
  order: a job that fits in the processors free now starts now if
      now + estimate <= shadow       (it ends, by its estimate, before the head's start), or
      width <= extra                 (it leaves the head's processors alone);
  a job started under the second condition only (estimated end after the shadow) consumes
  extra (extra -= width); one started under the first condition does not. The head's
  reservation is recomputed at every pass (every event): it is never remembered.
* discipline=conservative (Mu'alem & Feitelson): the reservations are REBUILT FROM SCRATCH
  at every scheduling pass. The availability profile (free processors over time) is built
  from the running jobs' estimated ends; then each waiting job, in queue order, is given
  the earliest time t >= now at which its width fits in the profile over its whole
  estimated duration [t, t + estimate); it is reserved there (its width is subtracted from
  the profile over that interval) and, if t == now, it starts now. Reservations are not
  kept between passes (no separate "compression" step: rebuilding is the compression).
  As an exact shortcut, a pass stops as soon as no remaining waiting job is narrow enough
  for the processors still free now: such jobs cannot start in this pass, and their
  reservations would be discarded at the next one anyway, so start times are unchanged.
* Every job starts eventually; the processor count is never exceeded (asserted).

Estimates
---------
"user" (default): the SWF requested time (field 9) if > 0, else the run time, and never
less than the run time: estimate = max(requested, runtime). "exact": estimate = runtime.
Since estimates are >= run times, a running job's estimated end is never in the past.

SWF input (matching fulcrum's workload/swf.cc filtering)
--------------------------------------------------------
Lines whose first non-blank character is ';' are comments; "; MaxProcs: N" in the header
(else "; MaxNodes: N") gives the processor count unless --procs is given. Blank lines are
ignored. Every other line is a job line of 18 numeric fields. The window (--first-job S,
--max-jobs K; 0 = all) counts ALL job lines in file order before any filtering; lines after
the window are not read. Processors p = field 5 (allocated) if >= 0, else field 8
(requested); a job with submit < 0, run time (field 4) <= 0 or p <= 0 is skipped (and
counted). Kept jobs are stably sorted by submit time, and times are made relative to the
first kept job's submit. A malformed line (wrong number of fields, a field that is not a
number, a processor count that is not whole) or a job wider than the cluster is an error
naming file:line (exit code 2 on the command line).

Output
------
    /usr/bin/python3 experiments/backfill_reference.py TRACE.swf \\
        --discipline fcfs|easy|conservative [--order fcfs|sjf] [--estimates user|exact] \\
        [--procs N] [--first-job S] [--max-jobs K] [--out FILE.csv] [--summary]
    /usr/bin/python3 experiments/backfill_reference.py --table [--swf-dir DIR]

The CSV (to --out, else stdout) has one row per kept job in submit order:
job,submit,start,end,width,runtime,estimate,wait,bounded_slowdown, where job is "job" + the
SWF job number as written, and floats are written with repr() (full precision). Bounded
slowdown uses tau = 10 s: max((wait + runtime) / max(runtime, 10), 1). --summary prints
(to stderr when the CSV goes to stdout) the number of jobs, mean wait, mean bounded
slowdown, utilisation = sum(width * runtime) / (procs * (last end - first submit)) and
makespan = last end - first submit.

--table prints the mean bounded slowdown of lublin_256 and of the HPC2N window under FCFS
and SJF order, without backfilling (discipline fcfs) and with EASY (and, for reference,
conservative), user estimates; then it times the whole KTH SP2 trace under each discipline.

Importable: load_swf(path, first_job=0, max_jobs=0, estimates='user') -> (jobs, procs) and
simulate(jobs, procs, discipline, order='fcfs', estimates='user') -> list of dict.
"""

import argparse
import bisect
import gzip
import heapq
import math
import os
import re
import sys
import time

TAU = 10.0
DISCIPLINES = ("fcfs", "easy", "conservative")
ORDERS = ("fcfs", "sjf")
ESTIMATES = ("user", "exact")
FIELDS = 18
FIELD_NAMES = (
    "job number", "submit time", "wait time", "run time", "allocated processors", "average CPU time",
    "used memory", "requested processors", "requested time", "requested memory", "status", "user id",
    "group id", "executable number", "queue number", "partition number", "preceding job number",
    "think time after preceding job")
COLUMNS = ("job", "submit", "start", "end", "width", "runtime", "estimate", "wait", "bounded_slowdown")
# A decimal number as std::from_chars(double) reads it (no '+', no hex, no underscores).
_NUMBER = re.compile(rb"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_HEADER = re.compile(rb"^\s*;\s*(MaxProcs|MaxNodes)\s*:\s*(\S+)")
_WS = b" \t\r\f\v"


class SwfError(ValueError):
    """A malformed or unusable trace; the message names the file (and line)."""


# --------------------------------------------------------------------------------------
# Loading


def _open(path):
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _estimate(requested, runtime, estimates):
    if estimates == "exact":
        return runtime
    if estimates != "user":
        raise ValueError(f"estimates must be one of {ESTIMATES}, got {estimates!r}")
    return max(requested if requested > 0 else runtime, runtime)


def load_swf(path, first_job=0, max_jobs=0, estimates="user", procs=None, stats=None):
    """Reads an SWF trace; returns (jobs, procs_from_header).

    jobs: list of dicts {id, submit, runtime, width, estimate, line} in submit order (stable),
    submit relative to the first kept job. procs_from_header: MaxProcs (else MaxNodes) from
    the header, or None. If `procs` is given (else the header's count, if any), a job wider
    than it is an SwfError naming path:line. If `stats` is a dict it receives job_lines
    (in the window), skipped, max_width, header_procs, header_nodes.
    """
    if first_job < 0 or max_jobs < 0:
        raise ValueError("first_job and max_jobs must be >= 0")
    window_end = math.inf if max_jobs == 0 else first_job + max_jobs
    header = {}
    kept = []
    seen = 0  # job lines so far, in file order
    skipped = 0
    number = 0
    with _open(path) as f:
        for number, raw in enumerate(f, 1):
            if seen >= window_end:
                break
            line = raw.rstrip(b"\n")
            stripped = line.lstrip(_WS)
            if not stripped:
                continue
            if stripped[:1] == b";":
                m = _HEADER.match(line)
                if m and m.group(1).decode() not in header:
                    try:
                        header[m.group(1).decode()] = float(m.group(2))
                    except ValueError:
                        pass
                continue
            at = f"{path}:{number}"
            tokens = line.split()
            if len(tokens) != FIELDS:
                raise SwfError(f"{at}: expected {FIELDS} fields, got {len(tokens)}")
            values = []
            for i, tok in enumerate(tokens):
                x = float(tok) if _NUMBER.match(tok) else math.nan
                if not math.isfinite(x):
                    shown = tok[:40].decode("ascii", "backslashreplace")
                    raise SwfError(f"{at}: field {i + 1} ({FIELD_NAMES[i]}): not a number '{shown}'")
                values.append(x)
            position = seen
            seen += 1
            if position < first_job:
                continue
            submit, runtime = values[1], values[3]
            field = 5 if values[4] >= 0 else 8
            p = values[field - 1]
            if p != math.floor(p):
                raise SwfError(f"{at}: field {field} ({FIELD_NAMES[field - 1]}): not a whole number {p!r}")
            if submit < 0 or runtime <= 0 or p <= 0:
                skipped += 1
                continue
            kept.append({"id": "job" + tokens[0].decode("ascii"), "submit": submit, "runtime": runtime,
                         "width": int(p), "estimate": _estimate(values[8], runtime, estimates), "line": number})
    if seen == 0:
        raise SwfError(f"{path}: no job lines ({number} lines read)")
    if seen <= first_job:
        raise SwfError(f"{path}: the window starts at job {first_job} but the trace has only {seen} jobs")
    if not kept:
        raise SwfError(f"{path}: every one of the {skipped} jobs in the window was skipped "
                       "(non-positive run time or processors, or negative submit time)")
    header_procs = header.get("MaxProcs")
    header_nodes = header.get("MaxNodes")
    from_header = None
    for v in (header_procs, header_nodes):
        if v is not None and v > 0 and v == math.floor(v):
            from_header = int(v)
            break
    kept.sort(key=lambda j: j["submit"])  # stable: ties stay in trace order
    origin = kept[0]["submit"]
    for j in kept:
        j["submit"] = j["submit"] - origin
    cap = procs if procs is not None else from_header
    if cap is not None:
        check_widths(kept, cap, path)
    if stats is not None:
        stats.update(job_lines=seen - first_job, skipped=skipped, max_width=max(j["width"] for j in kept),
                     header_procs=header_procs, header_nodes=header_nodes)
    return kept, from_header


def check_widths(jobs, procs, path="<jobs>"):
    for j in jobs:
        if j["width"] > procs:
            where = f"{path}:{j['line']}" if "line" in j else f"{path}: {j['id']}"
            raise SwfError(f"{where}: job {j['id']} needs {j['width']} processors but the cluster has {procs}")


# --------------------------------------------------------------------------------------
# Simulation


class _FirstFit:
    """Min segment tree over queue ranks: leaf = width of a waiting job, inf otherwise.
    first(lo, x) = the smallest rank >= lo whose leaf is <= x, or -1."""

    def __init__(self, n):
        size = 1
        while size < n:
            size *= 2
        self.size = size
        self.mn = [math.inf] * (2 * size)

    def set(self, pos, value):
        mn = self.mn
        i = pos + self.size
        mn[i] = value
        i >>= 1
        while i:
            a, b = mn[2 * i], mn[2 * i + 1]
            v = a if a < b else b
            if mn[i] == v:
                break
            mn[i] = v
            i >>= 1

    def first(self, lo, x):
        if lo >= self.size:
            return -1
        mn = self.mn
        i = lo + self.size
        while mn[i] > x:
            while i & 1:
                i >>= 1
            if i == 0:
                return -1
            i += 1
        size = self.size
        while i < size:
            i *= 2
            if mn[i] > x:
                i += 1
        return i - size


def simulate(jobs, procs, discipline, order="fcfs", estimates="user"):
    """Simulates `jobs` (dicts with id, submit, runtime, width and, for user estimates,
    estimate; the list order is the trace order) on `procs` processors.

    Returns one dict per job, in the order of `jobs` sorted stably by submit time, with the
    CSV columns: job, submit, start, end, width, runtime, estimate, wait, bounded_slowdown.
    estimates='exact' replaces each estimate by the run time; 'user' uses job['estimate']
    (default: the run time), which must be >= the run time.
    """
    if discipline not in DISCIPLINES:
        raise ValueError(f"discipline must be one of {DISCIPLINES}, got {discipline!r}")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if estimates not in ESTIMATES:
        raise ValueError(f"estimates must be one of {ESTIMATES}, got {estimates!r}")
    procs = int(procs)
    if procs <= 0:
        raise ValueError("procs must be > 0")
    jobs = sorted(jobs, key=lambda j: j["submit"])  # stable
    n = len(jobs)
    submit = [float(j["submit"]) for j in jobs]
    run = [float(j["runtime"]) for j in jobs]
    width = [int(j["width"]) for j in jobs]
    if estimates == "exact":
        est = list(run)
    else:
        est = [float(j.get("estimate", j["runtime"])) for j in jobs]
    for i, j in enumerate(jobs):
        if not (run[i] > 0 and math.isfinite(run[i])):
            raise ValueError(f"{j['id']}: runtime must be > 0 and finite")
        if not (est[i] >= run[i] and math.isfinite(est[i])):
            raise ValueError(f"{j['id']}: estimate {est[i]!r} is less than the runtime {run[i]!r}")
        if not (1 <= width[i] <= procs):
            raise ValueError(f"{j['id']}: width {width[i]} not in 1..{procs}")
        if not (submit[i] >= 0 and math.isfinite(submit[i])):
            raise ValueError(f"{j['id']}: submit must be >= 0")

    # Queue rank: the static key of the queue order; the queue is the waiting jobs by rank.
    if order == "fcfs":
        by_rank = list(range(n))  # already sorted by (submit, trace order)
    else:
        by_rank = sorted(range(n), key=lambda i: (est[i], submit[i], i))
    rank = [0] * n
    for r, i in enumerate(by_rank):
        rank[i] = r
    queue = _FirstFit(n)

    start = [None] * n
    free = procs
    completions = []  # heap of (end, job)
    running = []  # sorted (estimated end, job) of running jobs
    next_arrival = 0

    def begin(i, now):
        nonlocal free
        free -= width[i]
        assert free >= 0, "processor count exceeded"
        start[i] = now
        queue.set(rank[i], math.inf)
        heapq.heappush(completions, (now + run[i], i))
        bisect.insort(running, (now + est[i], i))

    def pass_fcfs(now):
        while free > 0:
            r = queue.first(0, procs)
            if r < 0:
                return None
            i = by_rank[r]
            if width[i] > free:
                return i
            begin(i, now)
        return None

    def pass_easy(now):
        head = pass_fcfs(now)
        if head is None or free == 0:
            return
        need = width[head]
        avail = free
        shadow = None
        for k, (t, i) in enumerate(running):
            avail += width[i]
            if k + 1 < len(running) and running[k + 1][0] == t:
                continue  # the same estimated instant counts together
            if avail >= need:
                shadow = t
                break
        assert shadow is not None and shadow > now
        extra = avail - need
        r = rank[head] + 1
        while free > 0:
            r = queue.first(r, free)
            if r < 0:
                return
            i = by_rank[r]
            if now + est[i] <= shadow:
                begin(i, now)
            elif width[i] <= extra:
                begin(i, now)
                extra -= width[i]
            r += 1

    def pass_conservative(now):
        if free == 0:
            return
        # Profile: free processors on [T[k], T[k+1]), the last segment open-ended.
        T = [now]
        F = [free]
        for t, i in running:
            assert t > now
            if t == T[-1]:
                F[-1] += width[i]
            else:
                T.append(t)
                F.append(F[-1] + width[i])
        r = 0
        while True:
            # Stop when no remaining waiting job fits what is free now (exact: see docstring).
            if queue.first(r, F[0]) < 0:
                return
            r = queue.first(r, procs)
            i = by_rank[r]
            w, d = width[i], est[i]
            m = len(T)
            k = 0
            while True:  # earliest breakpoint k from which w fits for d
                if F[k] >= w:
                    end = T[k] + d
                    j = k + 1
                    while j < m and T[j] < end:
                        if F[j] < w:
                            break
                        j += 1
                    else:
                        break
                    k = j + 1
                else:
                    k += 1
            e = bisect.bisect_left(T, end, k + 1)
            if e == m or T[e] != end:
                T.insert(e, end)
                F.insert(e, F[e - 1])
            for j in range(k, e):
                F[j] -= w
            if k == 0:
                begin(i, now)
                assert F[0] == free
            r += 1

    schedule = {"fcfs": pass_fcfs, "easy": pass_easy, "conservative": pass_conservative}[discipline]
    while next_arrival < n or completions:
        now = math.inf
        if completions:
            now = completions[0][0]
        if next_arrival < n and submit[next_arrival] < now:
            now = submit[next_arrival]
        while completions and completions[0][0] == now:
            _, i = heapq.heappop(completions)
            free += width[i]
            del running[bisect.bisect_left(running, (start[i] + est[i], i))]
        while next_arrival < n and submit[next_arrival] == now:
            queue.set(rank[next_arrival], width[next_arrival])
            next_arrival += 1
        schedule(now)
    # Nothing running and nothing to arrive: every job must have started (and ended).
    assert free == procs and all(s is not None for s in start), "a job never started"
    return _rows(jobs, submit, start, run, width, est)


def _rows(jobs, submit, start, run, width, est):
    rows = []
    for i, j in enumerate(jobs):
        s = start[i]
        wait = s - submit[i]
        rows.append({"job": j["id"], "submit": submit[i], "start": s, "end": s + run[i], "width": width[i],
                     "runtime": run[i], "estimate": est[i], "wait": wait,
                     "bounded_slowdown": max((wait + run[i]) / max(run[i], TAU), 1.0)})
    return rows
def summarize(rows, procs):
    """jobs, mean wait, mean bounded slowdown, utilisation, makespan of a simulate() result."""
    n = len(rows)
    first = min(r["submit"] for r in rows)
    last = max(r["end"] for r in rows)
    makespan = last - first
    area = sum(r["width"] * r["runtime"] for r in rows)
    return {"jobs": n, "mean_wait": sum(r["wait"] for r in rows) / n,
            "mean_bounded_slowdown": sum(r["bounded_slowdown"] for r in rows) / n,
            "utilisation": area / (procs * makespan) if makespan > 0 else math.nan, "makespan": makespan}


def write_csv(rows, out):
    out.write(",".join(COLUMNS) + "\n")
    for r in rows:
        out.write(",".join(r[c] if c == "job" else repr(r[c]) for c in COLUMNS) + "\n")


def check_schedule(rows, procs):
    """Asserts every job starts at or after its submit and the processors are never exceeded."""
    events = []
    for r in rows:
        assert r["start"] >= r["submit"], r
        assert r["end"] == r["start"] + r["runtime"], r
        events.append((r["end"], 0, -r["width"]))  # ends first at the same instant
        events.append((r["start"], 1, r["width"]))
    used = 0
    for _, _, dw in sorted(events):
        used += dw
        assert 0 <= used <= procs, "processor count exceeded"


# --------------------------------------------------------------------------------------
# Literature table and KTH timing

TABLE_TRACES = (("lublin_256", "lublin_256.synthetic.swf"),
                ("HPC2N (first 3170 jobs)", "HPC2N-2002-2.2-cln.first3170jobs.swf"))
KTH = "KTH-SP2-1996-2.1-cln.swf"
DEFAULT_SWF_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                               "shared", "workloads", "swf")


def table(swf_dir=DEFAULT_SWF_DIR, out=sys.stdout, kth=True):
    out.write("Mean bounded slowdown (tau = 10 s), user estimates\n")
    out.write(f"{'trace':26s} {'procs':>5s} {'jobs':>6s} {'skipped':>7s} "
              f"{'FCFS':>9s} {'SJF':>9s} {'FCFS+EASY':>10s} {'SJF+EASY':>9s} {'FCFS+cons':>10s} {'SJF+cons':>9s}\n")
    for label, name in TABLE_TRACES:
        stats = {}
        jobs, procs = load_swf(os.path.join(swf_dir, name), stats=stats)
        cells = []
        for discipline in DISCIPLINES:
            for order in ORDERS:
                rows = simulate(jobs, procs, discipline, order)
                cells.append(summarize(rows, procs)["mean_bounded_slowdown"])
        f_f, s_f, f_e, s_e, f_c, s_c = cells
        out.write(f"{label:26s} {procs:5d} {len(jobs):6d} {stats['skipped']:7d} "
                  f"{f_f:9.2f} {s_f:9.2f} {f_e:10.2f} {s_e:9.2f} {f_c:10.2f} {s_c:9.2f}\n")
    if not kth:
        return
    path = os.path.join(swf_dir, KTH)
    t0 = time.perf_counter()
    stats = {}
    jobs, procs = load_swf(path, stats=stats)
    out.write(f"\nKTH SP2, whole trace: {len(jobs)} jobs kept ({stats['skipped']} skipped), {procs} procs; "
              f"load {time.perf_counter() - t0:.2f} s\n")
    out.write(f"{'discipline':13s} {'order':5s} {'seconds':>8s} {'mean wait':>10s} {'mean bsld':>10s} {'util':>6s}\n")
    for discipline in DISCIPLINES:
        for order in ORDERS:
            t0 = time.perf_counter()
            rows = simulate(jobs, procs, discipline, order)
            dt = time.perf_counter() - t0
            s = summarize(rows, procs)
            out.write(f"{discipline:13s} {order:5s} {dt:8.2f} {s['mean_wait']:10.1f} "
                      f"{s['mean_bounded_slowdown']:10.2f} {s['utilisation']:6.3f}\n")
            out.flush()


# --------------------------------------------------------------------------------------
# Command line


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trace", nargs="?", help="SWF trace (plain or gzip)")
    ap.add_argument("--discipline", choices=DISCIPLINES)
    ap.add_argument("--order", choices=ORDERS, default="fcfs")
    ap.add_argument("--estimates", choices=ESTIMATES, default="user")
    ap.add_argument("--procs", type=int, help="processors (default: the header's MaxProcs, else MaxNodes)")
    ap.add_argument("--first-job", type=int, default=0, help="job lines to skip (0-based)")
    ap.add_argument("--max-jobs", type=int, default=0, help="job lines in the window (0 = all)")
    ap.add_argument("--out", help="CSV file (default: stdout)")
    ap.add_argument("--summary", action="store_true", help="print summary metrics")
    ap.add_argument("--table", action="store_true", help="print the literature table and the KTH timing")
    ap.add_argument("--no-kth", action="store_true", help="with --table: skip the KTH timing")
    ap.add_argument("--swf-dir", default=DEFAULT_SWF_DIR, help="with --table: where the traces are")
    args = ap.parse_args(argv)
    if args.table:
        try:
            table(args.swf_dir, kth=not args.no_kth)
        except (SwfError, OSError) as e:
            print(f"backfill_reference: {e}", file=sys.stderr)
            return 2
        return 0
    if args.trace is None or args.discipline is None:
        ap.error("TRACE and --discipline are required (or use --table)")
    if args.procs is not None and args.procs <= 0:
        ap.error("--procs must be > 0")
    if args.first_job < 0 or args.max_jobs < 0:
        ap.error("--first-job and --max-jobs must be >= 0")
    try:
        stats = {}
        jobs, header = load_swf(args.trace, args.first_job, args.max_jobs, args.estimates, procs=args.procs,
                                stats=stats)
        procs = args.procs if args.procs is not None else header
        if procs is None:
            raise SwfError(f"{args.trace}: no '; MaxProcs:' or '; MaxNodes:' in the header; give --procs")
    except (SwfError, OSError) as e:
        print(f"backfill_reference: {e}", file=sys.stderr)
        return 2
    rows = simulate(jobs, procs, args.discipline, args.order, args.estimates)
    check_schedule(rows, procs)
    if args.out:
        with open(args.out, "w") as f:
            write_csv(rows, f)
    else:
        write_csv(rows, sys.stdout)
    if args.summary:
        s = summarize(rows, procs)
        dest = sys.stdout if args.out else sys.stderr
        print(f"jobs {s['jobs']} (skipped {stats['skipped']}), procs {procs}, discipline {args.discipline}, "
              f"order {args.order}, estimates {args.estimates}", file=dest)
        print(f"mean wait {s['mean_wait']!r}", file=dest)
        print(f"mean bounded slowdown {s['mean_bounded_slowdown']!r}", file=dest)
        print(f"utilisation {s['utilisation']!r}", file=dest)
        print(f"makespan {s['makespan']!r}", file=dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
