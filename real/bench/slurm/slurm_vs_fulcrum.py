#!/usr/bin/python3
"""Slurm (Debian's slurm-wlm 22.05) and fulcrum's real mode side by side, on this machine.

  /usr/bin/python3 real/bench/slurm/slurm_vs_fulcrum.py [--trace ../shared/workloads/swf/lublin_256.synthetic.swf
        --first-job 0 --jobs 60 --time-scale 0.01 --cpus 16] [--part order|throughput|failover|all] [--out DIR]

Three parts (README.md beside this file says what each measures and how):

  order       a window of an SWF trace, times x --time-scale, as real sleep jobs: Slurm
              (sbatch, sched/backfill) and `fulcrum run --mode real` (and, for reference,
              `fulcrum run --mode sim`) on one host of --cpus cores; job order, waits and
              bounded slowdown (tau = 10 s of trace time)
  throughput  N no-op jobs submitted as fast as possible to each (sbatch; fulcrum submit to
              a fulcrum scheduler + worker): jobs/s, submit-to-start p50/p99; plus srun and
              fulcrum submit+wait round trips
  failover    a stream of short jobs, each appending (job id, token, host, time) to a history
              file; SIGKILL of the primary controller mid-stream (Slurm: primary slurmctld,
              backup takes over; fulcrum: the leading scheduler replica on ZooKeeper, a
              standby takes over); both histories judged by real/chaos's checker

Everything runs as plain processes in private temporary folders on loopback (a private
munged, slurmctld(s), one slurmd in its own PID namespace; fulcrum daemons, ZooKeeper) and
is stopped at the end, also on failure or Ctrl-C. Tables are printed and written to
DIR/report.md, with CSVs beside it.

Exit status: 0 when every part asked for ran (whatever it found), 1 when a part failed to
run, 2 on bad arguments or a missing prerequisite.
"""

import argparse
import concurrent.futures
import csv
import json
import math
import os
import re
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.dont_write_bytecode = True  # no __pycache__ left in real/chaos/
sys.path.insert(0, os.path.join(REPO, "real", "chaos"))

# The chaos test's pieces: its history checker, its ZooKeeper/scheduler cluster and probes.
from fulcrum_chaos.checker import check as chaos_check  # noqa: E402
from fulcrum_chaos.checker import percentile  # noqa: E402
from fulcrum_chaos.cluster import ZK_CLASSPATH, Cluster, Proc, Procs  # noqa: E402
from fulcrum_chaos.common import SetupError  # noqa: E402
from fulcrum_chaos.history import HISTORY_FORMAT  # noqa: E402
from fulcrum_chaos.history import statuses as fulcrum_statuses  # noqa: E402
from fulcrum_chaos.net import FlatNet  # noqa: E402

TAU = 10.0  # bounded slowdown threshold, trace seconds
SCHED_PARAMS = "batch_sched_delay=0,sched_min_interval=0,bf_interval=1,bf_resolution=1"
SLURM_TOOLS = ["munged", "slurmctld", "slurmd", "sbatch", "srun", "squeue", "scontrol", "sinfo", "unshare"]
T_START = time.monotonic()


def log(*parts):
    dt = time.monotonic() - T_START
    print(f"[bench {int(dt // 60):02d}:{dt % 60:04.1f}]", *parts, file=sys.stderr, flush=True)


def tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
        return "\n".join(f"    {line}" for line in lines[-n:]) or "    (empty)"
    except OSError as e:
        return f"    (cannot read {path}: {e.strerror})"


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def pct(values, p):
    return percentile(values, p) if values else None


def fmt(x, digits=3):
    if x is None:
        return "—"
    if isinstance(x, float):
        if math.isnan(x):
            return "—"
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        return f"{x:.{digits}g}" if abs(x) < 1 else f"{x:.{max(1, digits - 1)}f}".rstrip("0").rstrip(".")
    return str(x)


def table(headers, rows):
    """A markdown table, columns padded so that it reads in a terminal too."""
    cells = [[str(h) for h in headers]] + [[fmt(c) if not isinstance(c, str) else c for c in r] for r in rows]
    width = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.rjust(width[i]) if i else c.ljust(width[i]) for i, c in enumerate(r)) + " |"
    return "\n".join([line(cells[0]), "|" + "|".join("-" * (w + 2) for w in width) + "|"] + [line(r) for r in cells[1:]])


def write_csv(path, rows, fields):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else "; ".join(map(str, r[k])) if isinstance(r.get(k), list)
                            else r.get(k)) for k in fields})


# --------------------------------------------------------------------------------------
# Processes: every one the harness starts, by PID, in its own session
# --------------------------------------------------------------------------------------

class Processes:
    def __init__(self):
        self.procs = []  # (name, Popen, logfile)
        self.lock = threading.Lock()

    def start(self, name, argv, logfile, env=None, cwd=None):
        out = open(logfile, "ab")
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                                 cwd=cwd, start_new_session=True)
        except OSError as e:
            raise SetupError(f"cannot start {name} ({argv[0]}): {e.strerror}")
        finally:
            out.close()
        with self.lock:
            self.procs.append((name, p, logfile))
        return p

    def stop(self, p, timeout=5.0):
        """SIGTERM to its process group, then SIGKILL; waits until reaped."""
        if p.poll() is None:
            for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
                try:
                    os.killpg(p.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    p.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        # What else is left in its group (children that outlived it).
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(1)
        except subprocess.TimeoutExpired:
            pass

    def stop_all(self):
        with self.lock:
            procs, self.procs = list(reversed(self.procs)), []
        for _, p, _ in procs:
            self.stop(p, timeout=3.0)


PROCS = Processes()


# --------------------------------------------------------------------------------------
# Slurm as plain processes
# --------------------------------------------------------------------------------------

class Slurm:
    """A private munged, one slurmctld (or a primary and a backup, each in its own UTS and
    mount namespace so that gethostname() says which one it is), and one slurmd in its own
    PID namespace (so that stopping it stops every slurmstepd and job it started)."""

    def __init__(self, workdir, cpus, ha=False, sched_params=SCHED_PARAMS):
        self.dir, self.cpus, self.ha, self.sched_params = workdir, cpus, ha, sched_params
        self.conf = os.path.join(workdir, "slurm.conf")
        self.env = dict(os.environ, SLURM_CONF=self.conf)
        self.ctlds = {}  # name -> Popen
        self.slurmd = None
        self.munged = None

    # --- files ---
    def _prepare(self):
        d = self.dir
        os.chmod(d, 0o755)  # munged wants its socket's folder reachable by everyone
        for sub in ("state", "spool", "munge", "ctld", "ctl1", "ctl2", "out"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        os.chmod(os.path.join(d, "munge"), 0o755)
        key = os.path.join(d, "munge", "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        self.munge_socket = os.path.join(d, "munge", "munge.socket")
        self.ctld_port = free_port()
        self.slurmd_port = free_port()
        if self.ha:
            self.controllers = [("ctl1", "127.0.0.2"), ("ctl2", "127.0.0.3")]
            communication = "CommunicationParameters=NoCtldInAddrAny"
        else:
            self.controllers = [(socket.gethostname().split(".")[0], "127.0.0.1")]
            communication = ""
        with open(os.path.join(HERE, "slurm.conf.in")) as f:
            text = string.Template(f.read()).substitute(
                CONTROLLERS="\n".join(f"SlurmctldHost={n}({a})" for n, a in self.controllers),
                COMMUNICATION=communication, CTLD_PORT=self.ctld_port, SLURMD_PORT=self.slurmd_port,
                CTLD_TIMEOUT=1 if self.ha else 120, MUNGE_SOCKET=self.munge_socket, SCHED_PARAMS=self.sched_params,
                DIR=d, CTLD_RUN=os.path.join(d, "ctld"), CPUS=self.cpus)
        with open(self.conf, "w") as f:
            f.write(text)
        self.hosts = os.path.join(d, "hosts")
        with open(self.hosts, "w") as f:
            f.write(f"127.0.0.1 localhost n1 {socket.gethostname()}\n")
            for n, a in self.controllers:
                f.write(f"{a} {n}\n")

    def ctld_log(self, name):
        return os.path.join(self.dir, name if self.ha else "ctld", "slurmctld.log")

    def _fail(self, what):
        parts = [what]
        for name in self.ctlds:
            parts.append(f"  slurmctld {name} log ({self.ctld_log(name)}), last lines:\n{tail(self.ctld_log(name))}")
            parts.append(f"  slurmctld {name} stdout/stderr:\n{tail(os.path.join(self.dir, f'slurmctld-{name}.out'), 8)}")
        parts.append(f"  slurmd log, last lines:\n{tail(os.path.join(self.dir, 'slurmd.log'))}")
        parts.append(f"  munged:\n{tail(os.path.join(self.dir, 'munge', 'munged.out'), 5)}")
        raise SetupError("\n".join(parts))

    # --- daemons ---
    def start(self):
        self._prepare()
        d = self.dir
        m = os.path.join(d, "munge")
        self.munged = PROCS.start("munged", ["munged", "-F", f"--socket={self.munge_socket}",
                                             f"--key-file={m}/munge.key", f"--log-file={m}/munged.log",
                                             f"--pid-file={m}/munged.pid", f"--seed-file={m}/munged.seed"],
                                  os.path.join(m, "munged.out"))
        deadline = time.monotonic() + 10
        while not os.path.exists(self.munge_socket):
            if self.munged.poll() is not None or time.monotonic() > deadline:
                raise SetupError(f"munged did not start:\n{tail(os.path.join(m, 'munged.out'))}\n{tail(os.path.join(m, 'munged.log'))}")
            time.sleep(0.05)
        for name, _ in self.controllers:
            self.start_ctld(name)
            time.sleep(0.3)  # the primary first
        self.slurmd = PROCS.start("slurmd", ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc",
                                             "slurmd", "-D", "-f", self.conf, "-N", "n1"],
                                  os.path.join(d, "slurmd.out"), env=self.env)
        deadline = time.monotonic() + 40
        while True:
            for name, p in self.ctlds.items():
                if p.poll() is not None:
                    self._fail(f"slurmctld {name} exited with status {p.returncode} while starting")
            if self.slurmd.poll() is not None:
                self._fail(f"slurmd exited with status {self.slurmd.returncode} while starting:\n"
                           f"{tail(os.path.join(d, 'slurmd.out'))}")
            r = self.run(["sinfo", "-h", "-o", "%T"], timeout=10)
            if r.returncode == 0 and r.stdout.strip() == "idle":
                break
            if time.monotonic() > deadline:
                self._fail(f"the node did not become idle within 40 s (sinfo: {r.stdout.strip()} {r.stderr.strip()})")
            time.sleep(0.25)
        if self.ha:
            deadline = time.monotonic() + 20
            while "backup) at ctl2 is UP" not in (r := self.run(["scontrol", "ping"], timeout=10)).stdout:
                if time.monotonic() > deadline:
                    self._fail(f"the backup slurmctld is not up: {r.stdout.strip()}")
                time.sleep(0.25)
        log(f"slurm up in {d}: {'primary + backup slurmctld' if self.ha else 'slurmctld'}, slurmd n1 CPUs={self.cpus}, "
            f"ports {self.ctld_port}/{self.slurmd_port}")

    def start_ctld(self, name):
        out = os.path.join(self.dir, f"slurmctld-{name}.out")
        if self.ha:
            # Its own hostname (slurmctld takes the role whose SlurmctldHost name matches),
            # a hosts file naming both controllers, and a private pid/log folder.
            script = (f"hostname {name} && mount --bind {self.hosts} /etc/hosts && "
                      f"mount --bind {os.path.join(self.dir, name)} {os.path.join(self.dir, 'ctld')} && "
                      f"exec slurmctld -D -f {self.conf}")
            argv = ["unshare", "--uts", "--mount", "sh", "-c", script]
        else:
            argv = ["slurmctld", "-D", "-f", self.conf]
        self.ctlds[name] = PROCS.start(f"slurmctld-{name}", argv, out, env=self.env)

    def run(self, argv, timeout=60, **kw):
        try:
            return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env,
                                  cwd=self.dir, timeout=timeout, **kw)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(argv, 124, "", f"timed out after {timeout} s")

    def sbatch(self, args, timeout=60):
        return self.run(["sbatch", "--parsable", "-o", "/dev/null", "-e", "/dev/null", *args], timeout=timeout)

    def queue(self):
        """Job ids still pending or running (None if the controller did not answer)."""
        r = self.run(["squeue", "-h", "-o", "%i"], timeout=30)
        if r.returncode != 0:
            return None
        return [x for x in r.stdout.split() if x]

    def wait_drained(self, timeout, what="jobs"):
        deadline = time.monotonic() + timeout
        left = None
        while time.monotonic() < deadline:
            left = self.queue()
            if left == []:
                return 0
            time.sleep(0.5)
        log(f"warning: {len(left) if left is not None else '?'} {what} still queued after {timeout:.0f} s")
        return len(left) if left is not None else None

    def jobs(self):
        """{job id: {field: value}} of every job the controller knows."""
        r = self.run(["scontrol", "-o", "show", "job"], timeout=60)
        out = {}
        for line in r.stdout.splitlines():
            f = dict(re.findall(r"(\w+)=(\S*)", line))
            if "JobId" in f:
                out[int(f["JobId"])] = f
        return out

    def jobcomp(self):
        out = {}
        try:
            with open(os.path.join(self.dir, "jobcomp.txt")) as f:
                for line in f:
                    fields = dict(re.findall(r"(\w+)=(\S*)", line))
                    if "JobId" in fields:
                        out[int(fields["JobId"])] = fields
        except OSError:
            pass
        return out

    def kill_primary(self):
        p = self.ctlds[self.controllers[0][0]]
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)

    def stop(self):
        # Jobs first (scancel), so that nothing is left running; then the daemons. The
        # slurmd PID namespace takes every slurmstepd and job with it in any case.
        if any(p.poll() is None for p in self.ctlds.values()):
            self.run(["scancel", "--full", "-u", "root"], timeout=10)
        for p in [self.slurmd, *self.ctlds.values(), self.munged]:
            if p is not None:
                PROCS.stop(p, timeout=3.0)


# --------------------------------------------------------------------------------------
# The trace window
# --------------------------------------------------------------------------------------

def load_window(path, first_job, count, cpus):
    """The window's jobs as fulcrum's SWF loader reads them (workload/swf.cc): job lines
    [first_job, first_job + count) in trace order, skipping those with run time <= 0,
    processors <= 0 or submit < 0; processors are field 5, else field 8. Processors are
    then scaled to fit a machine of `cpus` cores when the trace's is larger."""
    header = {}
    rows = []
    position = 0
    skipped = 0
    opener = open
    if path.endswith(".gz"):
        import gzip
        opener = gzip.open
    with opener(path, "rt", errors="replace") as f:
        for line in f:
            s = line.strip()
            if not s:
                continue
            if s.startswith(";"):
                m = re.match(r";\s*(\w+)\s*:\s*(\S+)", s)
                if m:
                    header[m.group(1)] = m.group(2)
                continue
            if position >= first_job + count:
                break
            fields = s.split()
            pos, position = position, position + 1
            if pos < first_job:
                continue
            if len(fields) < 18:
                raise SetupError(f"{path}: a job line with {len(fields)} fields (SWF has 18): {s[:80]}")
            v = [float(x) for x in fields[:18]]
            procs = v[4] if v[4] >= 0 else v[7]
            if v[1] < 0 or v[3] <= 0 or procs <= 0:
                skipped += 1
                continue
            rows.append({"id": fields[0], "fields": fields, "submit_abs": v[1], "runtime": v[3],
                         "procs_trace": int(procs), "requested_time": v[8]})
    if not rows:
        raise SetupError(f"{path}: no usable job in the window [{first_job}, {first_job + count})")
    rows.sort(key=lambda r: r["submit_abs"])
    machine = None
    for key in ("MaxProcs", "MaxNodes"):
        try:
            machine = int(float(header[key]))
            machine_from = f"the trace header's {key}"
            break
        except (KeyError, ValueError):
            pass
    if machine is None:
        machine = max(r["procs_trace"] for r in rows)
        machine_from = "the widest job of the window (no MaxProcs/MaxNodes in the header)"
    scaled = machine > cpus
    origin = rows[0]["submit_abs"]
    for r in rows:
        r["submit"] = r["submit_abs"] - origin
        p = r["procs_trace"]
        r["procs"] = min(cpus, max(1, math.ceil(p * cpus / machine))) if scaled else min(p, cpus)
        est = r["requested_time"] if r["requested_time"] > 0 else r["runtime"]
        r["estimate"] = max(est, r["runtime"])
        r["estimate_from"] = "requested" if r["requested_time"] > 0 else "runtime"
    info = {"machine": machine, "machine_from": machine_from, "scaled": scaled,
            "with_estimates": sum(1 for r in rows if r["requested_time"] > 0),
            "clipped": sum(1 for r in rows if not scaled and r["procs_trace"] > cpus),
            "skipped": skipped}
    return rows, info


def write_window(rows, path):
    """The window as an SWF file of its own (processors scaled, in fields 5 and 8), so that
    fulcrum reads exactly the jobs Slurm gets."""
    with open(path, "w") as f:
        f.write("; window written by real/bench/slurm/slurm_vs_fulcrum.py (processors scaled)\n")
        for r in rows:
            fields = list(r["fields"][:18])
            fields[4] = str(r["procs"])
            fields[7] = str(r["procs"])
            f.write(" ".join(fields) + "\n")


# --------------------------------------------------------------------------------------
# Part 1: job order on a trace window
# --------------------------------------------------------------------------------------

def fulcrum_scenario(args, window_swf, path, discipline):
    lines = [
        "# written by real/bench/slurm/slurm_vs_fulcrum.py",
        "seed: 1",
        "cluster:",
        f"  hosts: [{{name: n1, count: 1, slots: {args.cpus}}}]",
        "  queue_cap: 0        # late binding: tasks wait centrally, as in Slurm's queue",
        f"workload: {{type: swf, file: {window_swf}, first_job: 0, max_jobs: 0, "
        f"time_scale: {args.time_scale}, runtime_scale: {args.time_scale}}}",
        "real: {task: sleep, time_scale: 1}",
    ]
    if discipline:
        # A discipline other than fifo decides the order itself (`queue` is refused with it).
        lines.append(f"discipline: {discipline}")
    else:
        lines.append("queue: strict")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def validate(binary, scenario):
    r = subprocess.run([binary, "validate", scenario], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=120)
    return r.returncode, (r.stdout + r.stderr).strip()


def smoke_real(binary, scenario, work):
    out = tempfile.mkdtemp(prefix="fulcrum-smoke-", dir=work)
    argv = [binary, "run", scenario, "--mode", "real", "--out", out, "--set", "workload.max_jobs=2",
            "--set", "workload.time_scale=1e-6", "--set", "workload.runtime_scale=1e-6"]
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120,
                           start_new_session=True)
    except subprocess.TimeoutExpired:
        return 1, "timed out after 120 s"
    return r.returncode, r.stderr.strip()[-500:]


def read_fulcrum_jobs(outdir, rows, scale):
    """{trace job id: record in trace seconds} from fulcrum's jobs.csv and tasks.csv."""
    by_name = {f"job{r['id']}": r for r in rows}
    jobs = {}
    with open(os.path.join(outdir, "jobs.csv")) as f:
        for j in csv.DictReader(f):
            jobs[j["job"]] = j
    last_start = {}
    first_start = {}
    with open(os.path.join(outdir, "tasks.csv")) as f:
        for t in csv.DictReader(f):
            s = float(t["start"])
            if s >= 0:
                last_start[t["job"]] = max(last_start.get(t["job"], s), s)
                first_start[t["job"]] = min(first_start.get(t["job"], s), s)
    out = {}
    for jid, j in jobs.items():
        r = by_name.get(j["name"])
        if r is None:
            continue
        start, end = float(j["start"]), float(j["end"])
        out[r["id"]] = {"submit": float(j["submit"]) / scale, "start": start / scale if start >= 0 else None,
                        "start_all": last_start[jid] / scale if jid in last_start else None,
                        "end": end / scale if end >= 0 else None, "ok": j["success"] == "1"}
    return out


def slurm_order_run(args, slurm, rows, stamps, stop_flag):
    """Submits each job at its scaled submit time; returns {trace id: record} (trace s)."""
    scale = args.time_scale
    t0 = time.time() + 1.0
    sub = {}
    for r in rows:
        target = t0 + r["submit"] * scale
        while (dt := target - time.time()) > 0:
            if stop_flag.is_set():
                return None
            time.sleep(min(dt, 0.5))
        limit = max(1, math.ceil(r["estimate"] * scale / 60))
        r["time_limit_min"] = limit
        wrap = (f"date +%s.%N > {stamps}/$SLURM_JOB_ID.start; sleep {r['runtime'] * scale:.4f}; "
                f"date +%s.%N > {stamps}/$SLURM_JOB_ID.end")
        t_call = time.time()
        res = slurm.sbatch([f"--ntasks={r['procs']}", f"--time={limit}", f"--job-name=swf{r['id']}", "--wrap", wrap])
        t_ack = time.time()
        if res.returncode != 0:
            raise SetupError(f"sbatch of trace job {r['id']} failed: {res.stderr.strip()}")
        sub[r["id"]] = (int(res.stdout.strip().split(";")[0]), t_call, t_ack)
    bound = sum(r["runtime"] for r in rows) * scale + 120
    log(f"slurm: all {len(rows)} jobs submitted; waiting for them to finish (at most {bound:.0f} s)")
    deadline = time.monotonic() + bound
    while (q := slurm.queue()) != []:
        if stop_flag.is_set() or time.monotonic() > deadline:
            log(f"warning: slurm: {len(q or [])} jobs still queued; giving up on them")
            break
        time.sleep(1)
    comp = slurm.jobcomp()
    out = {}
    for r in rows:
        jobid, t_call, t_ack = sub[r["id"]]

        def stamp(kind):
            try:
                with open(os.path.join(stamps, f"{jobid}.{kind}")) as f:
                    return float(f.read().strip())
            except (OSError, ValueError):
                return None
        start, end = stamp("start"), stamp("end")
        c = comp.get(jobid, {})
        out[r["id"]] = {"submit": (t_ack - t0) / scale, "start": (start - t0) / scale if start else None,
                        "end": (end - t0) / scale if end else None, "slurm_job": jobid,
                        "state": c.get("JobState", "?"), "slurm_start": c.get("StartTime"),
                        "slurm_end": c.get("EndTime"), "ok": c.get("JobState") == "COMPLETED"}
        out[r["id"]]["start_all"] = out[r["id"]]["start"]
    return out


def order_metrics(rows, rec, scale):
    """Per-job waits and bounded slowdowns (trace s), and the summary of one system."""
    per = []
    for r in rows:
        x = rec.get(r["id"])
        if not x or x.get("start") is None or x.get("end") is None:
            per.append({"job": r["id"], "done": False})
            continue
        wait = x["start"] - x["submit"]
        resp = x["end"] - x["submit"]
        per.append({"job": r["id"], "done": True, "submit": x["submit"], "start": x["start"],
                    "start_all": x.get("start_all"), "end": x["end"], "wait": wait,
                    "wait_all": (x["start_all"] - x["submit"]) if x.get("start_all") is not None else None,
                    "response": resp, "bsld": max(1.0, resp / max(r["runtime"], TAU)),
                    "run_overhead_ms": ((x["end"] - (x.get("start_all") or x["start"])) - r["runtime"]) * scale * 1000})
    done = [p for p in per if p["done"]]
    # A job "overtook" when it started before some job submitted earlier than it (EASY /
    # backfilling, or independent tasks filling a gap); ties within 0.05 s of wall time.
    eps = 0.05 / scale
    overtook = sum(1 for p in done if any(q["submit"] < p["submit"] and q["start"] > p["start"] + eps for q in done))
    waits = [p["wait"] for p in done]
    summary = {"jobs": len(rows), "done": len(done),
               "wait_mean": sum(waits) / len(waits) if waits else None, "wait_p50": pct(waits, 50),
               "wait_p95": pct(waits, 95), "wait_max": max(waits) if waits else None,
               "wait_all_mean": (sum(p["wait_all"] for p in done if p["wait_all"] is not None) /
                                 max(1, sum(1 for p in done if p["wait_all"] is not None))) if done else None,
               "bsld_mean": sum(p["bsld"] for p in done) / len(done) if done else None,
               "bsld_max": max(p["bsld"] for p in done) if done else None,
               "makespan": (max(p["end"] for p in done) - min(p["submit"] for p in done)) if done else None,
               "overtook": overtook,
               "run_overhead_ms_mean": sum(p["run_overhead_ms"] for p in done) / len(done) if done else None}
    return per, summary


def kendall_tau(a, b, eps):
    """Kendall's tau-b of two equally long lists (values within eps are ties)."""
    n = len(a)
    conc = disc = ta = tb = 0
    for i in range(n):
        for j in range(i + 1, n):
            da, db = a[i] - a[j], b[i] - b[j]
            tie_a, tie_b = abs(da) <= eps, abs(db) <= eps
            if tie_a and tie_b:
                continue
            if tie_a:
                ta += 1
            elif tie_b:
                tb += 1
            elif (da > 0) == (db > 0):
                conc += 1
            else:
                disc += 1
    denom = math.sqrt((conc + disc + ta) * (conc + disc + tb))
    return (conc - disc) / denom if denom else None


def part_order(args, work, out):
    scale = args.time_scale
    rows, info = load_window(args.trace, args.first_job, args.jobs, args.cpus)
    notes = []
    notes.append(f"Trace {args.trace}, job lines {args.first_job}..{args.first_job + args.jobs - 1}: {len(rows)} jobs "
                 f"({info['skipped']} skipped: run time or processors <= 0).")
    if info["scaled"]:
        notes.append(f"Processors scaled from a {info['machine']}-processor machine ({info['machine_from']}) to "
                     f"--cpus {args.cpus}: p -> min({args.cpus}, max(1, ceil(p x {args.cpus} / {info['machine']}))).")
    elif info["clipped"]:
        notes.append(f"{info['clipped']} jobs wider than --cpus {args.cpus} clipped to {args.cpus} processors.")
    notes.append(f"Times x {scale}: submit times and run times (each job is `sleep RUNTIME x {scale}`). "
                 f"Waits, responses and bounded slowdowns are in trace seconds (wall / {scale}); "
                 f"bounded slowdown = max(1, response / max(run time, {TAU:g} s)).")
    est_note = (f"{info['with_estimates']} of {len(rows)} jobs have a requested time (SWF field 9)"
                + ("; the others" if info["with_estimates"] else "; all jobs") +
                " use their run time as the estimate (an exact estimate)")
    notes.append(f"Every wall-clock latency is magnified by 1/{scale:g} here: a job that starts 0.5 s after its "
                 f"submission has waited {0.5 / scale:,.0f} s of trace time (part 2 measures these latencies).")
    notes.append(f"Slurm time limits: --time = max(1, ceil(max(estimate, run time) x {scale} / 60)) minutes, "
                 f"Slurm's granularity being the minute ({est_note}); so Slurm's backfill plans with limits of "
                 f"at least 60 s wall = {60 / scale:,.0f} s of trace time.")
    window = os.path.join(out, "window.swf")
    write_window(rows, window)

    # --- fulcrum: the scenario, with `discipline: easy` when this build takes it ---
    scen = os.path.join(out, "fulcrum_order.yaml")
    fulcrum_scenario(args, window, scen, "easy")
    rc, msg = validate(args.fulcrum, scen)
    validated = msg
    if rc == 0:
        # validate does not know what real mode refuses: a two-job real run, a million
        # times faster, tries the key there too before the measurement relies on it.
        rc, msg = smoke_real(args.fulcrum, scen, work)
        if rc != 0 and "discipline" not in msg:
            raise SetupError(f"fulcrum run --mode real (2 jobs, times x 1e-6) of {scen} failed: {msg}")
        fulcrum_mode = "EASY backfilling (`discipline: easy`)"
        if rc != 0:
            notes.append(f"`fulcrum validate` accepted `discipline: easy` but `run --mode real` refused it: {msg}")
            rc, msg = 1, "discipline"
    if rc == 0:
        pass
    elif "discipline" in msg:
        fulcrum_scenario(args, window, scen, None)
        rc, msg = validate(args.fulcrum, scen)
        validated = msg
        if rc != 0:
            raise SetupError(f"fulcrum validate {scen}: {msg}")
        fulcrum_mode = ("independent tasks: this fulcrum does not take `discipline: easy` (see above if `validate` "
                        "accepted it; else `validate` refused the key), so each SWF job of p processors ran as p "
                        "independent single-core tasks in FCFS order (`queue: strict`), not as a rigid gang with "
                        "EASY backfilling")
    else:
        raise SetupError(f"fulcrum validate {scen}: {msg}")
    notes.append(f"fulcrum: one host of {args.cpus} cores, `queue_cap: 0` (tasks wait centrally); ran as "
                 f"{fulcrum_mode}. fulcrum's job start is its first task's start (jobs.csv); "
                 f"'wait, all started' uses its last task's start (tasks.csv).")
    log(f"fulcrum: {'EASY backfilling' if fulcrum_mode.startswith('EASY') else 'independent tasks, FCFS'}; "
        f"validate: {validated.splitlines()[-1] if validated else ''}")

    # --- fulcrum in simulation: a reference for the same scheduler without real processes ---
    sim_out = os.path.join(out, "fulcrum_sim")
    r = subprocess.run([args.fulcrum, "run", scen, "--mode", "sim", "--out", sim_out], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=600)
    sim = None
    expected = sum(x["runtime"] for x in rows) * scale
    if r.returncode == 0:
        sim = read_fulcrum_jobs(sim_out, rows, scale)
        expected = max(x["end"] for x in sim.values() if x["end"] is not None) * scale
    else:
        log(f"warning: fulcrum run --mode sim failed: {r.stderr.strip()[-300:]}")
    log(f"part order: {len(rows)} jobs; expected to take about {expected:.0f} s of wall time "
        f"({'both systems at once' if not args.sequential else 'each system in turn'})")

    # --- both systems, at the same time (sleep jobs do not compete for the CPUs) ---
    real_out = os.path.join(out, "fulcrum_real")
    flog = os.path.join(work, "fulcrum_order_run.log")
    slurm = Slurm(tempfile.mkdtemp(prefix="slurm-order-", dir=work), args.cpus)
    stamps = os.path.join(slurm.dir, "stamps")
    stop_flag = threading.Event()
    frun = None
    slurm_rec = None
    timeout = expected * 2 + 180

    def start_fulcrum():
        return PROCS.start("fulcrum run --mode real", [args.fulcrum, "run", scen, "--mode", "real", "--out", real_out],
                           flog)
    try:
        slurm.start()
        os.makedirs(stamps, exist_ok=True)
        if not args.sequential:
            frun = start_fulcrum()
        slurm_rec = slurm_order_run(args, slurm, rows, stamps, stop_flag)
    finally:
        slurm.stop()
    if args.sequential:
        frun = start_fulcrum()
    try:
        frun.wait(timeout)
    except subprocess.TimeoutExpired:
        PROCS.stop(frun)
        raise SetupError(f"fulcrum run --mode real did not finish within {timeout:.0f} s:\n{tail(flog)}")
    if frun.returncode != 0:
        raise SetupError(f"fulcrum run --mode real failed (exit {frun.returncode}):\n{tail(flog)}")
    real = read_fulcrum_jobs(real_out, rows, scale)

    systems = [("slurm", slurm_rec), ("fulcrum-real", real)] + ([("fulcrum-sim", sim)] if sim else [])
    per, summ = {}, {}
    for name, rec in systems:
        per[name], summ[name] = order_metrics(rows, rec, scale)
    eps = 0.05 / scale
    # Order agreement: Kendall tau of start times, over jobs both finished.
    def starts(name):
        return {p["job"]: p["start"] for p in per[name] if p["done"]}
    submit_order = {r["id"]: r["submit"] for r in rows}
    for name, _ in systems:
        s = starts(name)
        common = [j for j in submit_order if j in s]
        summ[name]["tau_vs_fcfs"] = kendall_tau([submit_order[j] for j in common], [s[j] for j in common], eps)
        if name != "slurm":
            sl = starts("slurm")
            common = [j for j in s if j in sl]
            summ[name]["tau_vs_slurm"] = kendall_tau([sl[j] for j in common], [s[j] for j in common], eps)
    # Files.
    job_rows = []
    for name, _ in systems:
        for r, p in zip(rows, per[name]):
            job_rows.append(dict(system=name, job=r["id"], procs_trace=r["procs_trace"], procs=r["procs"],
                                 runtime=r["runtime"], estimate=r["estimate"], estimate_from=r["estimate_from"],
                                 time_limit_min=r.get("time_limit_min"), **{k: v for k, v in p.items() if k != "job"}))
    write_csv(os.path.join(out, "order_jobs.csv"), job_rows,
              ["system", "job", "procs_trace", "procs", "runtime", "estimate", "estimate_from", "time_limit_min",
               "done", "submit", "start", "start_all", "end", "wait", "wait_all", "response", "bsld", "run_overhead_ms"])
    cols = ["jobs", "done", "wait_mean", "wait_p50", "wait_p95", "wait_max", "wait_all_mean", "bsld_mean", "bsld_max",
            "makespan", "overtook", "tau_vs_fcfs", "tau_vs_slurm", "run_overhead_ms_mean"]
    write_csv(os.path.join(out, "order_summary.csv"), [dict(system=n, **summ[n]) for n, _ in systems], ["system"] + cols)

    # Report.
    names = [n for n, _ in systems]
    text = ["## Part 1 — job order on a trace window", ""] + [f"- {n}" for n in notes] + [""]
    labels = {"jobs": "jobs", "done": "finished", "wait_mean": "wait mean (s)", "wait_p50": "wait p50 (s)",
              "wait_p95": "wait p95 (s)", "wait_max": "wait max (s)", "wait_all_mean": "wait mean, all started (s)",
              "bsld_mean": "bounded slowdown mean", "bsld_max": "bounded slowdown max", "makespan": "makespan (s)",
              "overtook": "jobs that overtook an earlier one", "tau_vs_fcfs": "Kendall tau, start vs submit order",
              "tau_vs_slurm": "Kendall tau, start order vs Slurm's", "run_overhead_ms_mean": "run overhead mean (wall ms)"}
    text.append(table(["metric (trace seconds)"] + names, [[labels[c]] + [summ[n].get(c) for n in names] for c in cols]))
    text.append("")
    text.append("Start order (first 60 jobs by submit time; rank = position in the system's start order; "
                "wait in trace seconds):")
    text.append("")
    rank = {}
    for n in names:
        s = starts(n)
        ordered = sorted(s, key=lambda j: (s[j], submit_order[j]))
        rank[n] = {j: i + 1 for i, j in enumerate(ordered)}
    body = []
    for i, r in enumerate(rows[:60]):
        line = [r["id"], r["procs"], r["runtime"], r["submit"]]
        for n in names:
            p = per[n][i]
            line += [rank[n].get(r["id"], "—"), p.get("wait") if p["done"] else "—"]
        body.append(line)
    text.append(table(["job", "procs", "run (s)", "submit (s)"] +
                      [h for n in names for h in (f"{n} rank", f"{n} wait")], body))
    text.append("")
    return "\n".join(text), {"mode": fulcrum_mode}


# --------------------------------------------------------------------------------------
# Part 2: throughput and submit-to-start latency of no-op jobs
# --------------------------------------------------------------------------------------

def stamp_script(path, logfile, sleep=None, job_id_var=None):
    """A bash script that appends "ID TOKEN HOST TIME" to logfile (bash builtins only, so
    the job is one exec of bash), then optionally sleeps."""
    with open(path, "w") as f:
        f.write("#!/bin/bash\n")
        f.write(f'echo "{"${" + job_id_var + ":--}" if job_id_var else "-"} $1 $HOSTNAME $EPOCHREALTIME" >> {logfile}\n')
        if sleep:
            f.write(f"sleep {sleep}\n")
    os.chmod(path, 0o755)


def read_stamps(path):
    """[(job id, token, host, time)] of a stamp log."""
    out = []
    try:
        with open(path) as f:
            for line in f:
                p = line.split()
                if len(p) == 4:
                    try:
                        out.append((p[0], p[1], p[2], float(p[3])))
                    except ValueError:
                        pass
    except OSError:
        pass
    return out


def burst(n, submitters, submit_one):
    """Calls submit_one(token) n times from `submitters` threads; returns {token: (t_call,
    t_ack, ok, text)}."""
    results = {}
    lock = threading.Lock()
    tokens = [f"n{i:05d}" for i in range(n)]
    it = iter(tokens)

    def worker():
        while True:
            with lock:
                tok = next(it, None)
            if tok is None:
                return
            t_call = time.time()
            ok, text = submit_one(tok)
            with lock:
                results[tok] = (t_call, time.time(), ok, text)
    threads = [threading.Thread(target=worker) for _ in range(submitters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def wait_for_tokens(path, tokens, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = {s[1] for s in read_stamps(path)}
        if tokens <= seen:
            return True
        time.sleep(0.2)
    return False


def throughput_summary(name, results, stamps_path, how):
    starts = {}
    for _, tok, _, t in read_stamps(stamps_path):
        starts.setdefault(tok, t)
    ok = {tok: v for tok, v in results.items() if v[2]}
    lat = [starts[tok] - v[0] for tok, v in ok.items() if tok in starts]
    first_call = min(v[0] for v in results.values())
    last_ack = max(v[1] for v in results.values())
    last_start = max((starts[tok] for tok in ok if tok in starts), default=None)
    rows = [dict(system=name, token=tok, t_call=v[0], t_ack=v[1], accepted=v[2], start=starts.get(tok),
                 latency=(starts[tok] - v[0]) if tok in starts else None) for tok, v in sorted(results.items())]
    return rows, {"system": name, "how": how, "jobs": len(results), "accepted": len(ok), "ran": len(lat),
                  "submit_rate": len(results) / (last_ack - first_call) if last_ack > first_call else None,
                  "jobs_per_s": len(lat) / (last_start - first_call) if last_start and last_start > first_call else None,
                  "latency_p50": pct(lat, 50), "latency_p99": pct(lat, 99), "latency_max": max(lat) if lat else None}


def roundtrips(k, one):
    out = []
    for _ in range(k):
        t = time.time()
        if one():
            out.append(time.time() - t)
    return out


def part_throughput(args, work, out):
    n, k = args.noop_jobs, args.roundtrips
    summaries, job_rows, rt = [], [], {}
    errors = []
    # --- Slurm ---
    slurm = Slurm(tempfile.mkdtemp(prefix="slurm-noop-", dir=work), args.cpus)
    try:
        slurm.start()
        log_path = os.path.join(slurm.dir, "noop_starts.log")
        script = os.path.join(slurm.dir, "noop.sh")
        stamp_script(script, log_path, job_id_var="SLURM_JOB_ID")
        slurm.run(["srun", "-n1", "true"], timeout=60)  # warm up

        def submit(tok):
            r = slurm.sbatch(["-n1", "--time=1", script, tok])
            return r.returncode == 0, (r.stdout + r.stderr).strip()
        log(f"throughput: {n} sbatch submissions from {args.submitters} threads")
        res = burst(n, args.submitters, submit)
        if not wait_for_tokens(log_path, {t for t, v in res.items() if v[2]}, 120):
            errors.append("slurm: some no-op jobs did not run within 120 s")
        rows, s = throughput_summary("slurm", res, log_path, f"sbatch, {args.submitters} submitting threads")
        job_rows += rows
        summaries.append(s)
        log(f"throughput: {k} x srun -n1 true")
        rt["slurm: srun -n1 true"] = roundtrips(k, lambda: slurm.run(["srun", "-n1", "true"], timeout=60).returncode == 0)
    finally:
        slurm.stop()
    # --- fulcrum: a scheduler on a file journal and one worker of --cpus slots ---
    fdir = tempfile.mkdtemp(prefix="fulcrum-noop-", dir=work)
    port = free_port()
    target = ["--scheduler", f"127.0.0.1:{port}"]
    sched = worker = None
    try:
        sched = PROCS.start("fulcrum scheduler", [args.fulcrum, "scheduler", "--listen", f"127.0.0.1:{port}",
                                                  "--journal", os.path.join(fdir, "journal"),
                                                  "--port-file", os.path.join(fdir, "port")],
                            os.path.join(fdir, "scheduler.log"))
        deadline = time.monotonic() + 20
        while not os.path.exists(os.path.join(fdir, "port")):
            if sched.poll() is not None or time.monotonic() > deadline:
                raise SetupError(f"fulcrum scheduler did not start:\n{tail(os.path.join(fdir, 'scheduler.log'))}")
            time.sleep(0.05)
        worker = PROCS.start("fulcrum worker", [args.fulcrum, "worker", *target, "--name", "n1", "--slots",
                                                str(args.cpus), "--enforce", "none", "--quiet"],
                             os.path.join(fdir, "worker.log"))

        def run_f(argv, timeout=60):
            try:
                return subprocess.run([args.fulcrum, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                return subprocess.CompletedProcess(argv, 124, "", "timed out")

        def submit_wait(cmd):
            r = run_f(["submit", *target, "--", *cmd])
            if r.returncode != 0:
                return False
            return run_f(["wait", *target, r.stdout.split()[0]]).returncode == 0
        if not submit_wait(["true"]):  # warm up: the worker has registered once this ran
            raise SetupError(f"fulcrum: a first `true` did not run:\n{tail(os.path.join(fdir, 'worker.log'))}")
        log_path = os.path.join(fdir, "noop_starts.log")
        script = os.path.join(fdir, "noop.sh")
        stamp_script(script, log_path)

        def submit(tok):
            r = run_f(["submit", *target, "--", script, tok])
            return r.returncode == 0, (r.stdout + r.stderr).strip()
        log(f"throughput: {n} fulcrum submit from {args.submitters} threads")
        res = burst(n, args.submitters, submit)
        if not wait_for_tokens(log_path, {t for t, v in res.items() if v[2]}, 120):
            errors.append("fulcrum: some no-op jobs did not run within 120 s")
        rows, s = throughput_summary("fulcrum", res, log_path,
                                     f"fulcrum submit (one process per job), {args.submitters} submitting threads, "
                                     f"to `fulcrum scheduler` (file journal) + one `fulcrum worker --slots "
                                     f"{args.cpus} --enforce none`")
        job_rows += rows
        summaries.append(s)
        log(f"throughput: {k} x fulcrum submit -- true; fulcrum wait")
        rt["fulcrum: submit -- true; wait"] = roundtrips(k, lambda: submit_wait(["true"]))
    finally:
        for p in (worker, sched):
            if p is not None:
                PROCS.stop(p)
    write_csv(os.path.join(out, "throughput_jobs.csv"), job_rows,
              ["system", "token", "t_call", "t_ack", "accepted", "start", "latency"])
    rt_rows = [{"what": w, "n": len(v), "p50_ms": pct(v, 50) * 1000 if v else None,
                "p99_ms": pct(v, 99) * 1000 if v else None, "max_ms": max(v) * 1000 if v else None}
               for w, v in rt.items()]
    write_csv(os.path.join(out, "throughput_summary.csv"), summaries,
              ["system", "how", "jobs", "accepted", "ran", "submit_rate", "jobs_per_s", "latency_p50", "latency_p99",
               "latency_max"])
    write_csv(os.path.join(out, "roundtrip_summary.csv"), rt_rows, ["what", "n", "p50_ms", "p99_ms", "max_ms"])
    text = ["## Part 2 — throughput and submit-to-start latency of no-op jobs", "",
            f"- {n} jobs per system, submitted as fast as {args.submitters} threads can (one client process per "
            f"job: `sbatch -n1 noop.sh TOKEN` / `fulcrum submit -- noop.sh TOKEN`). The job is one bash process that "
            f"appends its token and `$EPOCHREALTIME` to a log (the start time), i.e. `true` plus one line of output.",
            "- submit-to-start: the job's own timestamp minus the moment the client process was started; "
            "jobs/s: jobs that ran / (last start - first submission); submit rate: submissions / (last "
            "acknowledgement - first submission).",
            f"- Slurm: {SCHED_PARAMS}; one slurmd with CPUs={args.cpus}. fulcrum: `fulcrum scheduler` on a file "
            f"journal and one worker with {args.cpus} slots.",
            "- Round trips: one job at a time, submit until the client sees it finished "
            "(`srun -n1 true`; `fulcrum submit -- true` then `fulcrum wait ID`).", ""]
    text.append(table(["system", "jobs", "ran", "submit rate (jobs/s)", "jobs/s", "submit→start p50 (s)",
                       "submit→start p99 (s)", "max (s)"],
                      [[s["system"], s["jobs"], s["ran"], s["submit_rate"], s["jobs_per_s"], s["latency_p50"],
                        s["latency_p99"], s["latency_max"]] for s in summaries]))
    text.append("")
    text.append(table(["round trip", "n", "p50 (ms)", "p99 (ms)", "max (ms)"],
                      [[r["what"], r["n"], r["p50_ms"], r["p99_ms"], r["max_ms"]] for r in rt_rows]))
    text.append("")
    for e in errors:
        text.append(f"- WARNING: {e}")
    return "\n".join(text), {}


# --------------------------------------------------------------------------------------
# Part 3: controller kill under load
# --------------------------------------------------------------------------------------

class Stream:
    """Submits `count` jobs at `rate` per second (each submission in a pool thread, so that a
    stuck one does not hold up the stream); remembers what each submission was told, as
    real/chaos's Client does: accepted (with ids), refused (certainly not accepted) or
    indeterminate."""

    def __init__(self, count, rate, submit_one):
        self.count, self.rate, self.submit_one = count, rate, submit_one
        self.accepted, self.ack_time, self.call_time, self.indeterminate = {}, {}, {}, []
        self.refused = self.slow = 0
        self.lock = threading.Lock()

    def run(self, t0):
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = []
            for i in range(self.count):
                target = t0 + i / self.rate
                while (dt := target - time.time()) > 0:
                    time.sleep(dt)
                futures.append(pool.submit(self._one, f"tok{i:05d}"))
            for f in futures:
                f.result()

    def _one(self, tok):
        t = time.time()
        try:
            kind, value = self.submit_one(tok)
        except OSError as e:  # the client could not even start: certainly not sent
            kind, value = "refused", f"client did not start: {e}"
        except Exception as e:  # noqa: BLE001 — a harness problem: counted, never a lost thread
            kind, value = "indeterminate", f"harness error: {e!r}"
        took = time.time() - t
        with self.lock:
            if took > 5:
                self.slow += 1
            if kind == "accepted":
                self.accepted[tok] = value
                self.ack_time[tok] = time.time()
                self.call_time[tok] = t
            elif kind == "refused":
                self.refused += 1
            else:
                self.indeterminate.append((tok, value))


class Takeover:
    """Polls `answers()` every 50 ms from the kill on: seconds until a controller answers
    again (None if not within `timeout`)."""

    def __init__(self, answers, t_kill, timeout=60):
        self.answers, self.t_kill, self.timeout, self.seconds = answers, t_kill, timeout, None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while time.time() - self.t_kill < self.timeout:
            try:
                if self.answers():
                    self.seconds = time.time() - self.t_kill
                    return
            except Exception:  # noqa: BLE001 — a probe that fails is "not yet"
                pass
            time.sleep(0.05)

    def result(self):
        self.thread.join(self.timeout + 5)
        return self.seconds


def failover_history(system, stream, statuses, stamps, live, t_kill, kill_what, drain_timeout):
    """A history in real/chaos's format (history.py), for its checker."""
    runs = {}
    for _, tok, _, _ in stamps:
        runs[tok] = runs.get(tok, 0) + 1
    after = sorted(t for _, _, _, t in stamps if t > t_kill)
    fo = [after[0] - t_kill] if after else []
    return {
        "format": HISTORY_FORMAT, "mode": "zookeeper",  # no file journal to read: the checker's generic checks
        "system": system, "netns": False, "rounds": 1, "seed": 0, "grace_s": None,
        "drain_timeout_s": drain_timeout, "failover_timeout_s": drain_timeout,
        "client": {"submissions": stream.count, "accepted": stream.accepted, "indeterminate": stream.indeterminate,
                   "refused": stream.refused, "slow": stream.slow},
        "live_tasks": live, "statuses": statuses, "executions": runs, "finished_total": None, "journal": None,
        "failovers": fo, "failover_misses": 0 if fo else 1, "events": [[1, 0.0, f"SIGKILL {kill_what}"]],
    }


def failover_figures(history, stream, stamps, t_kill, t0, takeover):
    s = chaos_check(history)
    s["kill_to_takeover_s"] = takeover
    # Submissions whose client started after the kill (one in flight at the kill may be
    # acknowledged by the dying controller just before it).
    tokens_after = {tok for tok, t in stream.call_time.items() if t > t_kill}
    after_ack = [stream.ack_time[t] for t in tokens_after]
    first_new = min((t for _, tok, _, t in stamps if tok in tokens_after), default=None)
    s["kill_at_s"] = t_kill - t0
    s["kill_to_first_start_s"] = s["failover_p50_s"]
    s["kill_to_first_ack_s"] = (min(after_ack) - t_kill) if after_ack else None
    s["kill_to_first_new_job_start_s"] = (first_new - t_kill) if first_new else None
    s["ran_twice"] = s["reexecuted"]
    runs = history["executions"]
    s["never_ran"] = sum(1 for tok in stream.accepted if runs.get(tok, 0) == 0)
    s["forgotten"] = sum(1 for v in history["statuses"].values() if str(v).startswith("unknown"))
    return s


def slurm_failover(args, work, out):
    slurm = Slurm(tempfile.mkdtemp(prefix="slurm-ha-", dir=work), args.cpus, ha=True)
    hist = os.path.join(slurm.dir, "history.log")
    script = os.path.join(slurm.dir, "job.sh")
    stamp_script(script, hist, sleep=args.failover_sleep, job_id_var="SLURM_JOB_ID")

    def submit(tok):
        # sbatch has no request id: only certain refusals (no controller, or the backup not
        # yet in charge) are retried, for up to 30 s, as `fulcrum submit --retry-for 30`.
        deadline = time.monotonic() + 30
        while True:
            r = slurm.sbatch(["-n1", "--time=1", f"--job-name={tok}", script, tok], timeout=40)
            if r.returncode == 0:
                return "accepted", [int(r.stdout.strip().split(";")[0])]
            err = r.stderr.strip()
            certain = any(m in err for m in ("standby mode", "Unable to contact slurm controller", "Connection refused"))
            if not certain:
                return "indeterminate", err or f"exit {r.returncode}"
            if time.monotonic() > deadline:
                return "refused", err
            time.sleep(0.2)
    try:
        slurm.start()
        stream = Stream(args.failover_jobs, args.failover_rate, submit)
        t0 = time.time() + 0.5
        th = threading.Thread(target=stream.run, args=(t0,))
        th.start()
        while time.time() < t0 + args.kill_at:
            time.sleep(0.01)
        t_kill = time.time()
        slurm.kill_primary()
        takeover = Takeover(lambda: slurm.run(["squeue", "-h", "-o", "%i"], timeout=5).returncode == 0, t_kill)
        log(f"failover: SIGKILL of the primary slurmctld at {t_kill - t0:.2f} s into the stream")
        th.join()
        log(f"failover: the backup slurmctld answered {takeover.result() or float('nan'):.2f} s after the kill")
        live = slurm.wait_drained(args.drain_timeout)
        jobs = slurm.jobs()
        ids = [i for ids in stream.accepted.values() for i in ids]
        statuses = {}
        for i in ids:
            st = jobs.get(i, {}).get("JobState")
            statuses[i] = "finished" if st == "COMPLETED" else (st.lower() if st else "unknown (not known to the controller)")
        stamps = read_stamps(hist)
        history = failover_history("slurm", stream, statuses, stamps, live, t_kill, "primary slurmctld",
                                   args.drain_timeout)
        with open(os.path.join(out, "failover_slurm_history.json"), "w") as f:
            json.dump(history, f, indent=1)
        shutil.copy(hist, os.path.join(out, "failover_slurm_history.log"))
        s = failover_figures(history, stream, stamps, t_kill, t0, takeover.result())
        ping = slurm.run(["scontrol", "ping"], timeout=10).stdout.strip().replace("\n", "; ")
        s["note"] = f"after the run: {ping.split(';')[0]}; {ping.split(';')[1].strip() if ';' in ping else ''}"
        return s
    finally:
        slurm.stop()


def fulcrum_failover(args, work, out):
    if not os.path.exists(ZK_CLASSPATH[1]) or not shutil.which("java"):
        raise SetupError("fulcrum failover needs ZooKeeper (/usr/share/java/zookeeper.jar) and java")
    wdir = tempfile.mkdtemp(prefix="fulcrum-ha-", dir=work)
    cargs = types.SimpleNamespace(binary=args.fulcrum, zk=True, replicas=2, zk_root="/fulcrum-bench",
                                  zk_session_timeout=args.zk_session_timeout, zk_snapshot_every=50, grace=0.5,
                                  workers=1)
    cluster = Cluster(cargs, FlatNet(), wdir)
    hist = os.path.join(wdir, "history.log")
    script = os.path.join(wdir, "job.sh")
    stamp_script(script, hist, sleep=args.failover_sleep)

    def submit(tok):
        argv = [args.fulcrum, "submit", *cluster.client_target, "--request-id", tok, "--retry-for", "30",
                "--timeout", "60", "--", script, tok]
        try:
            r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=40)
        except subprocess.TimeoutExpired:
            return "indeterminate", "client timed out"
        if r.returncode == 0:
            return "accepted", [int(x) for x in r.stdout.split()]
        errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
        if errors and all("cannot connect" in e or "no scheduler leads" in e for e in errors):
            return "refused", r.stderr.strip()
        return "indeterminate", r.stderr.strip()
    try:
        t = time.monotonic()
        cluster.start_zookeeper()
        cluster.start_schedulers()
        net = cluster.net
        net.add_host("w1")
        p = Proc("w1", "w1", [args.fulcrum, "worker", "--name", "n1", "--slots", str(args.cpus), "--heartbeat", "0.3",
                              "--enforce", "none", "--zk", cluster.zk_hosts, "--zk-root", cargs.zk_root],
                 os.path.join(wdir, "w1.log"))
        cluster.workers.append(cluster.procs.start(p))
        deadline = time.monotonic() + 30
        while True:
            lead = cluster.leader()
            if lead and lead[1].get('fulcrum_workers{state="up"}', 0) >= 1:
                break
            if time.monotonic() > deadline:
                raise SetupError(f"fulcrum worker did not register within 30 s:\n{tail(p.logfile)}")
            time.sleep(0.1)
        log(f"fulcrum up in {time.monotonic() - t:.1f} s: 3 ZooKeeper servers, 2 scheduler replicas, 1 worker "
            f"({args.cpus} slots); work folder {wdir}")
        stream = Stream(args.failover_jobs, args.failover_rate, submit)
        t0 = time.time() + 0.5
        th = threading.Thread(target=stream.run, args=(t0,))
        th.start()
        while time.time() < t0 + args.kill_at:
            time.sleep(0.01)
        lead = cluster.leader()
        if lead is None:
            raise SetupError("no fulcrum leader to kill")
        t_kill = time.time()
        killed = lead[0]
        cluster.procs.kill(killed)
        takeover = Takeover(lambda: (x := cluster.leader()) is not None and x[0] is not killed, t_kill)
        log(f"failover: SIGKILL of the leading scheduler replica {killed.name} at {t_kill - t0:.2f} s into the stream")
        th.join()
        log(f"failover: a new fulcrum leader answered {takeover.result() or float('nan'):.2f} s after the kill")
        # Drain: nothing blocked, pending, queued or running on the (new) leader.
        deadline = time.monotonic() + args.drain_timeout
        live = None
        while time.monotonic() < deadline:
            lead = cluster.leader()
            if lead is not None:
                live = sum(lead[1].get(f'fulcrum_tasks{{state="{s}"}}', 0) for s in ("blocked", "pending", "queued",
                                                                                       "running"))
                if live == 0:
                    break
            time.sleep(0.3)
        ids = [i for ids in stream.accepted.values() for i in ids]
        statuses = fulcrum_statuses(cluster, ids)
        stamps = read_stamps(hist)
        history = failover_history("fulcrum", stream, statuses, stamps, live, t_kill, "leader scheduler replica",
                                   args.drain_timeout)
        history["grace_s"] = cargs.grace
        with open(os.path.join(out, "failover_fulcrum_history.json"), "w") as f:
            json.dump(history, f, indent=1)
        shutil.copy(hist, os.path.join(out, "failover_fulcrum_history.log"))
        s = failover_figures(history, stream, stamps, t_kill, t0, takeover.result())
        s["note"] = (f"ZooKeeper session timeout {args.zk_session_timeout:g} s, --grace {cargs.grace:g} s: "
                     f"a killed leader is replaced once its session expires")
        return s
    finally:
        cluster.procs.stop_all()


def part_failover(args, work, out):
    results, errors = {}, []
    for name, fn in (("slurm", slurm_failover), ("fulcrum", fulcrum_failover)):
        try:
            results[name] = fn(args, work, out)
        except SetupError as e:
            errors.append(f"{name}: {e}")
            log(f"failover: {name} could not run: {e}")
    cols = [("submissions", "submissions"), ("accepted_tasks", "acknowledged"),
            ("refused_submissions", "refused (after retries)"), ("indeterminate_submissions", "indeterminate"),
            ("indeterminate_that_ran", "indeterminate that ran"),
            ("finished", "finished (per the controller afterwards)"),
            ("lost", "acknowledged, not finished (checker's lost)"),
            ("forgotten", "acknowledged, unknown to the controller afterwards"),
            ("never_ran", "acknowledged, never ran (no history line)"),
            ("ran_twice", "ran more than once (history lines)"), ("kill_at_s", "kill at (s into the stream)"),
            ("kill_to_takeover_s", "kill → a controller answers again (s)"),
            ("kill_to_first_start_s", "kill → first job start, any (s)"),
            ("kill_to_first_ack_s", "kill → first acknowledgement of a submission sent after it (s)"),
            ("kill_to_first_new_job_start_s", "kill → first start of a job sent after it (s)"),
            ("ok", "checker verdict ok")]
    names = list(results)
    write_csv(os.path.join(out, "failover_summary.csv"), [dict(system=n, **results[n]) for n in names],
              ["system"] + [c for c, _ in cols] + ["problems", "note"])
    text = ["## Part 3 — controller kill under load", "",
            f"- {args.failover_jobs} jobs at {args.failover_rate:g}/s; each job appends `job id, token, host, time` "
            f"to a history file and sleeps {args.failover_sleep:g} s. SIGKILL of the primary controller "
            f"{args.kill_at:g} s into the stream.",
            "- Slurm: primary and backup slurmctld (SlurmctldTimeout=1, shared StateSaveLocation), each in its own "
            "UTS+mount namespace; sbatch retried only on certain refusals (no controller / backup in standby) for "
            "up to 30 s. Status: `scontrol show job` after the queue drained.",
            f"- fulcrum: 2 scheduler replicas on a 3-server ZooKeeper ensemble (real/chaos's Cluster), "
            f"`fulcrum submit --zk --request-id TOKEN --retry-for 30`. Status: `fulcrum status` of every task.",
            "- Verdict: real/chaos's checker (fulcrum_chaos.checker.check) on each history: acknowledged jobs "
            "not finished or never run, ids handed out twice, and re-executions (a token in the history file more "
            "than once).", ""]
    if names:
        text.append(table(["", *names], [[label] + [results[n].get(c) for n in names] for c, label in cols]))
        text.append("")
        for n in names:
            probs = results[n]["problems"]
            for p in probs[:5]:
                text.append(f"- {n}: PROBLEM: {p}")
            if len(probs) > 5:
                text.append(f"- {n}: ... {len(probs) - 5} more problems (failover_summary.csv has them all; the "
                            f"checker lists at most 20 of a kind)")
            if results[n].get("note"):
                text.append(f"- {n}: {results[n]['note']}")
    for e in errors:
        text.append(f"- ERROR: {e}")
    text.append("")
    return "\n".join(text), {"errors": errors}


# --------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trace", default="../shared/workloads/swf/lublin_256.synthetic.swf",
                    help="SWF trace (plain or .gz); relative paths from the working directory, else the repository")
    ap.add_argument("--first-job", type=int, default=0, help="the window's first job line (0-based)")
    ap.add_argument("--jobs", type=int, default=60, help="job lines in the window")
    ap.add_argument("--time-scale", type=float, default=0.01, help="wall seconds per trace second")
    ap.add_argument("--cpus", type=int, default=16, help="cores of the one host (Slurm CPUs=, fulcrum slots)")
    ap.add_argument("--part", choices=["order", "throughput", "failover", "all"], default="all")
    ap.add_argument("--out", help="folder for report.md and the CSVs (default: a new folder in /tmp)")
    ap.add_argument("--fulcrum", default=os.path.join(REPO, "build", "fulcrum"), help="the fulcrum binary")
    ap.add_argument("--sequential", action="store_true",
                    help="order: run Slurm, then fulcrum (default: both at once; the jobs only sleep)")
    ap.add_argument("--noop-jobs", type=int, default=200, help="throughput: jobs per system")
    ap.add_argument("--submitters", type=int, default=4, help="throughput: submitting threads")
    ap.add_argument("--roundtrips", type=int, default=30, help="throughput: srun / submit+wait samples")
    ap.add_argument("--failover-jobs", type=int, default=60)
    ap.add_argument("--failover-rate", type=float, default=10, help="failover: submissions per second")
    ap.add_argument("--failover-sleep", type=float, default=0.2, help="failover: seconds each job sleeps")
    ap.add_argument("--kill-at", type=float, default=3.0, help="failover: seconds into the stream of the kill")
    ap.add_argument("--drain-timeout", type=float, default=60)
    ap.add_argument("--zk-session-timeout", type=float, default=2)
    ap.add_argument("--wait-build", type=float, default=0,
                    help="seconds to wait for the fulcrum binary to appear (a build in progress)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (daemon logs, state)")
    args = ap.parse_args()

    if args.cpus < 1 or args.jobs < 1 or args.time_scale <= 0:
        ap.error("--cpus and --jobs must be >= 1 and --time-scale > 0")
    if not os.path.isabs(args.trace) and not os.path.exists(args.trace):
        args.trace = os.path.join(REPO, args.trace)
    args.trace = os.path.abspath(args.trace)
    args.fulcrum = os.path.abspath(args.fulcrum)
    deadline = time.monotonic() + args.wait_build
    while not os.access(args.fulcrum, os.X_OK) and time.monotonic() < deadline:
        time.sleep(5)
    problems = []
    if not os.access(args.fulcrum, os.X_OK):
        problems.append(f"{args.fulcrum} is not there (build it: scripts/setup.sh)")
    missing = [t for t in SLURM_TOOLS if not shutil.which(t)]
    if missing:
        problems.append(f"missing {', '.join(missing)}: apt-get install slurm-wlm munge (scripts/setup.sh does)")
    if args.part in ("order", "all") and not os.path.exists(args.trace):
        problems.append(f"no trace {args.trace}")
    if os.geteuid() != 0:
        problems.append("run as root: the Slurm daemons run as root (SlurmUser=root) and use namespaces")
    if problems:
        for p in problems:
            print(f"slurm_vs_fulcrum: {p}", file=sys.stderr)
        return 2

    out = os.path.abspath(args.out) if args.out else tempfile.mkdtemp(prefix="slurm_vs_fulcrum-")
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="slurm_vs_fulcrum-work-")
    os.chmod(work, 0o755)  # munged wants every folder above its socket reachable by everyone
    # A copy of the binary: a rebuild of build/ during the run (it is relinked in place)
    # must not change or break what is measured. `run --mode real` starts its daemons from
    # /proc/self/exe, i.e. from the copy too.
    built = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.stat(args.fulcrum).st_mtime))
    fulcrum_source, args.fulcrum = args.fulcrum, os.path.join(work, "fulcrum")
    try:
        shutil.copy2(fulcrum_source, args.fulcrum)
    except OSError as e:
        print(f"slurm_vs_fulcrum: cannot copy {fulcrum_source}: {e}", file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)
        return 2

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    parts = ["order", "throughput", "failover"] if args.part == "all" else [args.part]
    fns = {"order": part_order, "throughput": part_throughput, "failover": part_failover}
    sections, failed = [], []
    header = ["# Slurm vs fulcrum (real mode) on this machine", "",
              f"{time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} CPUs, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at the start; Slurm "
              f"{subprocess.run(['slurmctld', '-V'], stdout=subprocess.PIPE, text=True).stdout.strip()}; "
              f"fulcrum: {fulcrum_source} (built {built}, copied for the run).", "",
              "Command: `" + " ".join(["/usr/bin/python3", os.path.relpath(os.path.abspath(__file__), os.getcwd()),
                                       *sys.argv[1:]]) + "`", ""]
    status = 0
    try:
        for part in parts:
            log(f"=== part {part}")
            t = time.monotonic()
            try:
                text, _ = fns[part](args, work, out)
                sections.append(text + f"\n_(part {part}: {time.monotonic() - t:.0f} s)_\n")
            except SetupError as e:
                failed.append(part)
                sections.append(f"## Part {part}: FAILED TO RUN\n\n```\n{e}\n```\n")
                log(f"part {part} failed: {e}")
            except Exception:  # a bug or an environment problem: the other parts still run
                import traceback
                failed.append(part)
                sections.append(f"## Part {part}: FAILED TO RUN (error in the harness)\n\n```\n"
                                f"{traceback.format_exc()}```\n")
                log(f"part {part} failed:\n{traceback.format_exc()}")
            print("\n" + sections[-1], flush=True)
    except KeyboardInterrupt:
        print("slurm_vs_fulcrum: interrupted", file=sys.stderr)
        status = 2
    finally:
        PROCS.stop_all()
        with open(os.path.join(out, "report.md"), "w") as f:
            f.write("\n".join(header + sections))
        if args.keep or failed:
            print(f"slurm_vs_fulcrum: work folder (logs, Slurm state) kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"report: {os.path.join(out, 'report.md')} (CSVs beside it); total {time.monotonic() - T_START:.0f} s")
    return status or (1 if failed else 0)


if __name__ == "__main__":
    sys.exit(main())
