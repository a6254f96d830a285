"""The command line (real/chaos/chaos.py runs main()): sets the hosts and the cluster up,
runs the client and the nemesis, records the history, saves it, checks it, tears it all
down."""

import argparse
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time

from . import __doc__ as package_doc
from .checker import check, print_summary
from .cluster import ZK_CLASSPATH, Cluster
from .common import SetupError, log, run
from .history import Client, collect_history, load_history, save_history
from .nemesis import Chaos
from .net import FlatNet, Net, netns_available, remove_stale_namespaces


def main():
    ap = argparse.ArgumentParser(description=package_doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", help="the fulcrum executable (required unless --check-history)")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="shorter fault holds and settles (the test command)")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--zk", action="store_true", help="scheduler replicas on a 3-node ZooKeeper ensemble")
    ap.add_argument("--tls", action="store_true",
                    help="mutual TLS on every connection: a CA of the run, a certificate per worker (fulcrum certs)")
    ap.add_argument("--replicas", type=int, default=3, help="scheduler replicas (--zk)")
    ap.add_argument("--zk-root", default="/fulcrum")
    ap.add_argument("--zk-session-timeout", type=float, default=2)
    ap.add_argument("--zk-snapshot-every", type=int, default=50, help="batches between journal snapshots (--zk)")
    ap.add_argument("--grace", type=float, default=1, help="the scheduler's --grace")
    ap.add_argument("--rate", type=float, default=10, help="submissions per second")
    ap.add_argument("--task-seconds", type=float, default=0.2)
    ap.add_argument("--drain-timeout", type=float, default=60)
    ap.add_argument("--failover-timeout", type=float, default=60,
                    help="a leader kill without a dispatch by a new leader within this is a failure")
    ap.add_argument("--no-netns", action="store_true", help="everything on one loopback address, no partitions")
    ap.add_argument("--require-netns", action="store_true", help="fail instead of skipping the partitions")
    ap.add_argument("--sabotage", choices=["none", "wipe-journal"], default="none",
                    help="file mode: wipe the journal at the last leader kill (the checker must object)")
    ap.add_argument("--json", help="write the summary here")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (logs, journal, history.json)")
    ap.add_argument("--check-history", metavar="HISTORY_JSON",
                    help="run nothing: check a history.json an earlier run saved, print its summary (and --json)")
    args = ap.parse_args()
    if args.check_history:
        return check_saved(args.check_history, args.json)
    if not args.binary:
        ap.error("--binary is required")
    args.binary = os.path.abspath(args.binary)
    if not os.access(args.binary, os.X_OK):
        print(f"chaos: {args.binary} is not executable", file=sys.stderr)
        return 2

    use_netns = not args.no_netns
    if use_netns:
        ok, why = netns_available()
        if not ok:
            if args.require_netns:
                print(f"chaos: network namespaces needed but unavailable: {why}", file=sys.stderr)
                return 2
            print(f"chaos: SKIPPING the network partitions: {why}", file=sys.stderr)
            use_netns = False
    # --zk without its prerequisites: exit 77 (ctest's SKIP_RETURN_CODE), saying why.
    if args.zk and not os.path.exists(ZK_CLASSPATH[1]):
        print("chaos: SKIPPED: --zk needs ZooKeeper (/usr/share/java/zookeeper.jar)", file=sys.stderr)
        return 77
    if args.zk and "--zk" not in run([args.binary, "scheduler", "--help"], check=False).stdout:
        print(f"chaos: SKIPPED: --zk needs a binary whose scheduler has --zk ({args.binary} has not)", file=sys.stderr)
        return 77

    workdir = tempfile.mkdtemp(prefix="fulcrum-chaos-")
    net = None
    cluster = None
    client = None
    summary = None

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if use_netns:
            remove_stale_namespaces()
            net = Net("c")
            net.add_host("client")
            net.enter("client")  # the test's own probes and clients live on host "client"
        else:
            net = FlatNet()
        cluster = Cluster(args, net, workdir)
        t_setup = time.monotonic()
        if args.zk:
            cluster.start_zookeeper()
        cluster.start_schedulers()
        cluster.start_workers()
        log(f"cluster up in {time.monotonic() - t_setup:.1f} s: {len(cluster.schedulers)} scheduler(s), "
            f"{len(cluster.workers)} workers{', 3 ZooKeeper servers' if args.zk else ''}; work folder {workdir}")
        client = Client(cluster, args.rate, args.task_seconds)
        client.start()
        time.sleep(1)
        chaos = Chaos(args, cluster, net, random.Random(args.seed))
        chaos.run(args.rounds)
        time.sleep(1)
        client.halt.set()
        client.join(60)
        log(f"client stopped after {client.seq} submissions; checking the history")
        history_path = os.path.join(workdir, "history.json")
        save_history(history_path, collect_history(args, cluster, client, chaos))
        # The verdict is reached on the saved file alone, as --check-history would.
        history = load_history(history_path)
        summary = check(history)
        summary["events"] = history["events"]
    except SetupError as e:
        print(f"chaos: setup error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("chaos: interrupted", file=sys.stderr)
        return 2
    except Exception:  # a bug or an environment problem, not a finding: exit 2
        import traceback
        traceback.print_exc()
        return 2
    finally:
        if client is not None:
            client.halt.set()
        if cluster is not None:
            cluster.procs.stop_all()
        if net is not None:
            net.cleanup()
        if args.keep or (summary is not None and not summary["ok"] and args.sabotage == "none"):
            print(f"chaos: logs, journal and history.json kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return report(summary, args.json)


def report(summary, json_path):
    if json_path:
        with open(json_path, "w") as f:
            json.dump(summary, f, indent=1)
    print_summary(summary)
    return 0 if summary["ok"] else 1


def check_saved(path, json_path):
    """--check-history: the checker alone, on a saved history."""
    try:
        history = load_history(path)
        summary = check(history)
    except (OSError, ValueError, KeyError, TypeError, IndexError) as e:
        print(f"chaos: {path}: cannot check: {e!r}", file=sys.stderr)
        return 2
    summary["events"] = history["events"]
    return report(summary, json_path)
