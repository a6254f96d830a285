"""History recording: the client that submits throughout and remembers what it was told,
and the recording, after the faults, of everything the checker judges (saved as JSON).

A history (format 1) is a JSON object:

  mode                "file-journal" or "zookeeper"
  netns, rounds, seed, grace_s, drain_timeout_s, failover_timeout_s   the run's settings
  client              submissions (count), accepted {token: [task ids]} in acceptance
                      order, indeterminate [[token, why]], refused, slow
  live_tasks          tasks blocked, pending, queued or running on the leader when the
                      drain ended (0: quiescent; null: no leader answered)
  statuses            {task id: state} as `fulcrum status` answered (file mode: a seeded
                      sample of 100 and every task the journal flags; --zk: every task)
  executions          {token: runs} from the execution log each task appends its token to
  finished_total      the leader's fulcrum_tasks_finished_total (null: no leader)
  journal             file mode: {"finished": {task id: TaskFinished records},
                      "failed": {task id: TaskFailed records}}; --zk: null
  failovers           seconds from each leader SIGKILL to the new leader's first dispatch
  failover_misses     leader kills without such a dispatch in time
  events              [round, seconds since the first round, what] of the nemesis

Task ids are JSON object keys, hence strings in a saved file; the checker reads both.
"""

import concurrent.futures
import json
import os
import random
import re
import subprocess
import threading
import time

from .common import SetupError, log

HISTORY_FORMAT = 1


class Client:
    """`submitters` threads, each submitting one task at a time: a submission stuck for
    its whole timeout (a replica that accepts a connection but never answers) does not
    stop the flow of work, which the failover measurement needs."""

    def __init__(self, cluster, rate, task_seconds, submitters=3):
        self.cluster, self.period, self.task_seconds = cluster, submitters / rate, task_seconds
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(submitters)]
        self.lock = threading.Lock()
        self.halt = threading.Event()
        self.accepted = {}       # token -> [task ids]
        self.indeterminate = []  # tokens whose submission may or may not have been accepted
        self.refused = 0         # could not connect: certainly not accepted
        self.slow = 0            # submissions that took more than 5 s
        self.seq = 0

    def start(self):
        for i, t in enumerate(self.threads):
            self.halt.wait(self.period * i / len(self.threads))  # spread them out
            t.start()

    def join(self, timeout):
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0, deadline - time.monotonic()))

    def run(self):
        binary = self.cluster.args.binary
        while not self.halt.is_set():
            with self.lock:
                self.seq += 1
                token = f"tok{self.seq:06d}"
            script = f"echo {token} >> {self.cluster.exec_log}; sleep {self.task_seconds}"
            # The token names the submission: a retry after a lost reply (a failover) gets
            # the same task ids back instead of making a second job.
            argv = [binary, "submit", *self.cluster.client_target, "--request-id", token, "--retry-for", "30",
                    "--timeout", "60", "--", "sh", "-c", script]
            try:
                t = time.monotonic()
                r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=40)
                if time.monotonic() - t > 5:
                    log(f"client: {token} took {time.monotonic() - t:.1f} s: exit {r.returncode} "
                        f"{r.stdout.strip()} {r.stderr.strip()}")
                    self.slow += 1
                if r.returncode == 0:
                    self.accepted[token] = [int(x) for x in r.stdout.split()]
                elif (errors := [line for line in r.stderr.splitlines() if line.startswith("error:")]) and all(
                        "cannot connect" in line or "no scheduler leads" in line for line in errors):
                    # Every attempt failed to reach a leader: the job certainly was not sent.
                    self.refused += 1
                else:
                    self.indeterminate.append((token, r.stderr.strip()))
            except subprocess.TimeoutExpired:
                self.indeterminate.append((token, "client timed out"))
            self.halt.wait(self.period)



# --------------------------------------------------------------------------------------
# The recording
# --------------------------------------------------------------------------------------

def task_status(binary, target, task):
    r = subprocess.run([binary, "status", *target, str(task)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30)
    m = re.match(r"task (\d+) \(job (\d+)\): (\w+)", r.stdout)
    return m.group(3) if m and int(m.group(1)) == task else f"unknown ({r.stderr.strip()[:80]})"


def statuses(cluster, ids):
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return dict(zip(ids, pool.map(lambda t: task_status(cluster.args.binary, cluster.client_target, t), ids)))



def count_journal_records(lines):
    """{task id: count} of TaskFinished and of TaskFailed records among JSON Lines as
    `fulcrum journal dump --json` prints them (one record per line, its kind in "type")."""
    finished, failed = {}, {}
    for line in lines:
        if not line.strip():
            continue
        record = json.loads(line)
        target = {"TaskFinished": finished, "TaskFailed": failed}.get(record.get("type"))
        if target is not None:
            target[record["task"]] = target.get(record["task"], 0) + 1
    return finished, failed


def read_journal(binary, path):
    """count_journal_records of the file journal in folder `path`, read by `fulcrum journal
    dump --json` (docs/real/journal-format.md). A damaged tail (exit 1: a crash mid-write,
    a torn sector) ends the journal there, as replay does: the records before it count,
    and the dump's message is logged. Any other failure is a SetupError."""
    argv = [binary, "journal", "dump", "--json", path]
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8",
                           errors="replace", timeout=300)
    except subprocess.TimeoutExpired:
        raise SetupError(f"{' '.join(argv)}: timed out")
    if r.returncode not in (0, 1):
        raise SetupError(f"{' '.join(argv)}: exit {r.returncode}: {r.stderr.strip()}")
    if r.returncode == 1:
        log(f"journal dump: {r.stderr.strip()} (the records before it are counted)")
    return count_journal_records(r.stdout.splitlines())


def collect_history(args, cluster, client, chaos):
    """Waits until the leader is quiescent (at most args.drain_timeout seconds), then reads
    every source the checker needs; returns the history (see the module's comment)."""
    # What the client was told, as it stands now (its threads have stopped, or were given
    # up on after a minute: copies, so that a late answer cannot change it midway).
    accepted, indeterminate = dict(client.accepted), list(client.indeterminate)
    ids = [t for ts in accepted.values() for t in ts]

    # Quiescence: no task left blocked, pending, queued or running on the leader.
    deadline = time.monotonic() + args.drain_timeout
    live = None
    while time.monotonic() < deadline:
        lead = cluster.leader()
        if lead is not None:
            live = sum(lead[1].get(f'fulcrum_tasks{{state="{s}"}}', 0) for s in ("blocked", "pending", "queued", "running"))
            if live == 0:
                break
        time.sleep(0.5)
    # The scheduler's answer for each accepted task (file mode: for a seeded sample of
    # 100 and every task the journal check flags — the journal is the record there;
    # one `fulcrum status` process per task is slow on a loaded machine).
    journal = None
    if not args.zk:
        finished, failed = read_journal(args.binary, os.path.join(cluster.workdir, "journal"))
        journal = {"finished": finished, "failed": failed}
        flagged = [t for t in ids if finished.get(t, 0) != 1 or t in failed]
        sample = random.Random(args.seed).sample(ids, min(100, len(ids)))
        asked = list(dict.fromkeys(flagged + sample))
    else:
        asked = list(dict.fromkeys(ids))
    states = statuses(cluster, asked)

    # Executions: each token appended once per run of its task.
    runs = {}
    with open(cluster.exec_log) as f:
        for line in f:
            runs[line.strip()] = runs.get(line.strip(), 0) + 1

    lead = cluster.leader()
    return {
        "format": HISTORY_FORMAT,
        "mode": "zookeeper" if args.zk else "file-journal",
        "netns": chaos.netns,
        "rounds": args.rounds,
        "seed": args.seed,
        "grace_s": args.grace,
        "drain_timeout_s": args.drain_timeout,
        "failover_timeout_s": args.failover_timeout,
        "client": {
            "submissions": client.seq,
            "accepted": accepted,
            "indeterminate": indeterminate,
            "refused": client.refused,
            "slow": client.slow,
        },
        "live_tasks": live,
        "statuses": states,
        "executions": runs,
        "finished_total": lead[1].get("fulcrum_tasks_finished_total") if lead else None,
        "journal": journal,
        "failovers": chaos.failovers,
        "failover_misses": chaos.failover_misses,
        "events": chaos.events,
    }


def save_history(path, history):
    """Writes the history as JSON (written whole, then renamed into place)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(history, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def load_history(path):
    with open(path) as f:
        history = json.load(f)
    if not isinstance(history, dict) or history.get("format") != HISTORY_FORMAT:
        raise ValueError(f"{path}: not a chaos history of format {HISTORY_FORMAT}")
    return history
