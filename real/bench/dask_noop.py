#!/usr/bin/python3
"""Dask distributed baseline for real_bench: the same no-op workload on the same machine.

Usage (Debian's python3-distributed; run with /usr/bin/python3, not another python3):

    /usr/bin/python3 real/bench/dask_noop.py [--tasks 20000] [--workers 8] [--batch 1000]
                                            [--warmup 500] [--latency-seconds 5]
                                            [--latency-tasks M] [--rate R] [--no-latency]

A LocalCluster on 127.0.0.1 with --workers worker processes x 1 thread, no dashboard, no
nanny-restarts of note. Then, like real_bench:

 (a) throughput: --tasks no-op tasks submitted as client.map(noop, ..., pure=False) calls
     of --batch tasks each (the client pipelines them); tasks/s = N / (first submit ->
     every future done, as the client sees it: distributed.wait).
 (b) latency at 50 % of (a)'s throughput (or --rate): single tasks submitted open-loop at
     a steady rate paced by the monotonic clock for --latency-seconds. Reported p50/p99:
       rtt      client.submit() -> the future done (its done-callback runs on the
                client's event loop): the client's send, the scheduler's decision, the
                worker's run, the result notice back to the client.
       to start client.submit() -> the worker's compute start (task stream,
                time.time() on this machine): the client's send, the scheduler's
                transition and the dispatch to the worker, the worker's queueing; the
                analogue of real_bench's dispatch latency (which starts at the
                scheduler's accept instead of at the client).

The cluster is always closed at the end (context managers), even on error. The last line
is machine-readable (RESULT key=value ...).
"""

import argparse
import logging
import math
import os
import sys
import threading
import time


def noop(_):
    return None


def percentile(sorted_values, p):
    """Nearest-rank percentile, as real_bench computes it."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(p / 100.0 * len(sorted_values))))
    return sorted_values[rank - 1]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run_throughput(client, n, batch):
    from distributed import wait

    futures = []
    t0 = time.time()
    for start in range(0, n, batch):
        futures.extend(client.map(noop, range(start, min(n, start + batch)), pure=False))
    submitted = time.time()
    wait(futures)
    done = time.time()
    errors = sum(1 for f in futures if f.status != "finished")
    del futures
    return t0, submitted, done, errors


def run_latency(client, rate, count):
    from distributed import get_task_stream, wait

    sent = [0.0] * count          # time.monotonic() at submit
    sent_wall = [0.0] * count     # time.time() at submit
    done_at = [0.0] * count       # time.monotonic() when the future completed
    lag = [0.0] * count
    futures = [None] * count
    keys = {}
    remaining = [count]
    all_done = threading.Event()

    def on_done(i):
        def cb(_future):
            done_at[i] = time.monotonic()
            remaining[0] -= 1
            if remaining[0] == 0:
                all_done.set()
        return cb

    with get_task_stream(client) as stream:
        t0 = time.monotonic() + 0.02
        for i in range(count):
            due = t0 + i / rate
            now = time.monotonic()
            if now < due:
                time.sleep(due - now)
            sent_wall[i] = time.time()
            sent[i] = time.monotonic()
            lag[i] = sent[i] - due
            f = client.submit(noop, i, pure=False)
            futures[i] = f
            keys[f.key] = i
            f.add_done_callback(on_done(i))
        seconds = sent[-1] - sent[0]
        wait(futures)
        all_done.wait(60)
        # Let the task stream catch up with the last tasks.
        time.sleep(0.5)
    errors = sum(1 for f in futures if f.status != "finished")
    rtt = sorted(done_at[i] - sent[i] for i in range(count) if done_at[i] > 0)
    to_start = []
    for record in stream.data:
        i = keys.get(record.get("key"))
        if i is None:
            continue
        for ss in record.get("startstops", ()):
            if ss.get("action") == "compute":
                to_start.append(ss["start"] - sent_wall[i])
                break
    to_start.sort()
    lag.sort()
    return {
        "seconds": seconds,
        "achieved": (count - 1) / seconds if count > 1 and seconds > 0 else 0.0,
        "errors": errors,
        "rtt": rtt,
        "to_start": to_start,
        "lag_p99": percentile(lag, 99),
        "lag_max": lag[-1],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--latency-seconds", type=float, default=5.0)
    parser.add_argument("--latency-tasks", type=int, default=0)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--no-latency", action="store_true")
    args = parser.parse_args()

    import dask
    import distributed
    from distributed import Client, LocalCluster

    print(f"dask_noop: dask {dask.__version__}, distributed {distributed.__version__}, "
          f"{args.workers} worker processes x 1 thread, load average {loadavg()}, {os.cpu_count()} cpus", flush=True)
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        client.wait_for_workers(args.workers, timeout=120)
        if args.warmup > 0:
            run_throughput(client, args.warmup, args.batch)

        t0, submitted, done, errors = run_throughput(client, args.tasks, args.batch)
        tput = args.tasks / (done - t0)
        print(f"\n(a) throughput: {args.tasks} no-op tasks, client.map batches of {args.batch}")
        print(f"  {'first submit -> all futures done':44s} {tput:12.0f} tasks/s   ({done - t0:.3f} s)")
        print(f"  {'first submit -> last map() returned':44s} {args.tasks / (submitted - t0):12.0f} tasks/s   "
              f"({submitted - t0:.3f} s)")
        print(f"  not finished: {errors}", flush=True)

        result = f"RESULT dask_tasks_per_s={tput:.0f} dask_tasks={args.tasks}"
        if not args.no_latency:
            rate = args.rate if args.rate > 0 else 0.5 * tput
            count = args.latency_tasks or max(100, int(rate * args.latency_seconds))
            lat = run_latency(client, rate, count)
            print(f"\n(b) latency at {rate:.0f} tasks/s ({'--rate' if args.rate > 0 else '50 % of (a)'}), "
                  f"{count} single tasks over {lat['seconds']:.2f} s, achieved {lat['achieved']:.0f} tasks/s;")
            print(f"    pacer lateness p99 {1e3 * lat['lag_p99']:.3f} ms, max {1e3 * lat['lag_max']:.3f} ms; "
                  f"not finished: {lat['errors']}")
            print(f"  {'latency':12s} {'p50 ms':>10s} {'p99 ms':>10s} {'max ms':>10s}  what it includes")
            for name, values, what in (
                ("to start", lat["to_start"], "client submit() -> worker compute start (task stream)"),
                ("rtt", lat["rtt"], "client submit() -> future done (scheduler + worker + result notice)"),
            ):
                mx = values[-1] if values else float("nan")
                print(f"  {name:12s} {1e3 * percentile(values, 50):10.3f} {1e3 * percentile(values, 99):10.3f} "
                      f"{1e3 * mx:10.3f}  {what} [{len(values)} samples]")
            result += (f" rate={rate:.0f} to_start_p50_ms={1e3 * percentile(lat['to_start'], 50):.3f}"
                       f" to_start_p99_ms={1e3 * percentile(lat['to_start'], 99):.3f}"
                       f" rtt_p50_ms={1e3 * percentile(lat['rtt'], 50):.3f}"
                       f" rtt_p99_ms={1e3 * percentile(lat['rtt'], 99):.3f}")
        print("\n" + result, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
