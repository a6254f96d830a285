#!/usr/bin/python3
"""Chaos test of fulcrum's real mode (docs/testing.md, "Chaos testing").

Starts a cluster — one scheduler on a file journal (default) or scheduler replicas on a
3-node ZooKeeper ensemble (--zk) —, workers, and a client that submits tasks throughout,
then runs rounds of faults chosen by a seeded RNG:

  * SIGKILL of the leader (file mode: the scheduler, restarted on its journal at once;
    ZooKeeper mode: the leader replica, restarted at the heal; it rejoins as a standby),
  * SIGKILL of a worker (restarted under the same name) or SIGSTOP of a worker (SIGCONT later),
  * network partitions, made with blackhole routes between network namespaces the test
    creates itself (one namespace per host, all joined by a bridge in a hub namespace,
    127.43.0.0/24 addresses on the veths, route_localnet=1 inside those namespaces only):
    a worker cut off from the scheduler(s), the scheduler cut off from every worker (file
    mode), the leader replica cut off from ZooKeeper and the other replicas (--zk),
  * --zk: SIGKILL of one ZooKeeper server, or one cut off from the other two.

Afterwards every fault is healed, the client stops, and the history checker waits until
every accepted task is terminal, then verifies, from independent sources:

  * the client's history: every submission acknowledged with task ids, no task id handed
    out twice (an acknowledged submission forgotten by a restarted scheduler);
  * the scheduler's records (`fulcrum status` of each accepted task): finished;
  * file mode: the journal itself, read record by record: exactly one TaskFinished per
    accepted task, no TaskFailed; the scheduler's fulcrum_tasks_finished_total (rebuilt
    from the journal after every restart) equals the number of finished tasks;
  * the execution log each task appends its token to: every finished task ran at least
    once (re-executions after a fault are allowed: execution is at-least-once, completion
    records exactly-once). Submissions whose reply was lost (indeterminate) may or may
    not have been accepted; they are reported, not counted as acknowledged.

Failover time = the leader's SIGKILL -> the first dispatch by the new leader (its
fulcrum_tasks_dispatched_total leaving 0, polled every 10 ms on /metrics); p50/p99 over
the rounds. Every process, namespace and temporary folder the test makes is removed at
the end, also on failure or Ctrl-C. Exit status: 0 when the history is clean, 1 when a
check failed, 2 on a setup error, 77 when --zk is asked for without ZooKeeper or a
binary with `scheduler --zk`.

  /usr/bin/python3 real/chaos/chaos.py --binary build/fulcrum --rounds 3 --quick
  /usr/bin/python3 real/chaos/chaos.py --binary build/fulcrum --rounds 100 --seed 1 --json out.json
"""

import argparse
import concurrent.futures
import ctypes
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

CLONE_NEWNET = 0x40000000
ZK_CLASSPATH = ["/etc/zookeeper/conf", "/usr/share/java/zookeeper.jar", "/usr/share/java/slf4j-log4j12.jar",
                "/usr/share/java/log4j-1.2.jar"]


def log(*parts):
    print(f"[chaos {time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


class SetupError(Exception):
    pass


def run(argv, check=True, **kw):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if check and r.returncode != 0:
        raise SetupError(f"{' '.join(argv)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


# --------------------------------------------------------------------------------------
# Hosts: network namespaces joined by a bridge, or all on one loopback address (--no-netns)
# --------------------------------------------------------------------------------------

def netns_available():
    """(True, "") if this process may create network namespaces, else (False, why)."""
    if os.geteuid() != 0:
        return False, "not root (ip netns add needs CAP_SYS_ADMIN)"
    if not shutil.which("ip"):
        return False, "no ip(8)"
    probe = f"fchprobe{os.getpid()}"
    r = run(["ip", "netns", "add", probe], check=False)
    if r.returncode != 0:
        return False, f"ip netns add refused: {r.stderr.strip()}"
    run(["ip", "netns", "del", probe], check=False)
    return True, ""


def remove_stale_namespaces():
    """Namespaces left by a chaos or deploy_demo run that died without cleaning up (its PID
    is gone). Names are fch<pid><tag>-<host> (Net)."""
    r = run(["ip", "netns", "list"], check=False)
    for line in r.stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        m = re.match(r"^fch(\d+)[a-z]*-", name)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            run(["ip", "netns", "del", name], check=False)


class Net:
    """One namespace per host, each with a veth into a bridge in a hub namespace.

    Only namespaces created here are touched: the host's own network is left alone (no
    veth end, route or sysctl in the root namespace). Partitions are blackhole routes
    inside the hosts' namespaces, which also stall established connections (segments are
    dropped, then retransmitted once the route is gone)."""

    def __init__(self, tag, subnet="127.43.0"):
        self.prefix = f"fch{os.getpid()}{tag}-"
        self.subnet = subnet
        self.hub = self.prefix + "hub"
        self.hosts = {}  # name -> ip
        self.blackholes = set()  # (host, dst ip)
        run(["ip", "netns", "add", self.hub])
        self._in(self.hub, "ip", "link", "set", "lo", "up")
        self._in(self.hub, "ip", "link", "add", "br0", "type", "bridge")
        self._in(self.hub, "ip", "link", "set", "br0", "up")

    def ns(self, host):
        return self.prefix + host

    def _in(self, ns, *argv, check=True):
        return run(["ip", "netns", "exec", ns, *argv], check=check)

    def add_host(self, host):
        ip = f"{self.subnet}.{len(self.hosts) + 1}"
        ns = self.ns(host)
        run(["ip", "netns", "add", ns])
        self._in(ns, "ip", "link", "set", "lo", "up")
        veth = f"v{len(self.hosts) + 1}"
        self._in(self.hub, "ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        self._in(self.hub, "ip", "link", "set", veth, "master", "br0")
        self._in(self.hub, "ip", "link", "set", veth, "up")
        # 127/8 is "martian" on a non-loopback device unless route_localnet is set; set
        # in this namespace only.
        self._in(ns, "sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1")
        self._in(ns, "sysctl", "-qw", "net.ipv4.conf.eth0.route_localnet=1")
        self._in(ns, "ip", "addr", "add", f"{ip}/24", "dev", "eth0")
        self._in(ns, "ip", "link", "set", "eth0", "up")
        self.hosts[host] = ip
        return ip

    def wrap(self, host, argv):
        return ["ip", "netns", "exec", self.ns(host), *argv]

    def enter(self, host):
        """Moves the calling thread (call it before starting threads) into host's namespace."""
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/var/run/netns/{self.ns(host)}", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise SetupError(f"setns: {os.strerror(ctypes.get_errno())}")
        finally:
            os.close(fd)

    def partition(self, side_a, side_b):
        """Cuts every host of side_a off from every host of side_b, both ways."""
        for a in side_a:
            for b in side_b:
                for src, dst in ((a, b), (b, a)):
                    key = (src, self.hosts[dst])
                    if key not in self.blackholes:
                        self._in(self.ns(src), "ip", "route", "add", "blackhole", f"{self.hosts[dst]}/32")
                        self.blackholes.add(key)

    def heal(self):
        for src, dst_ip in sorted(self.blackholes):
            self._in(self.ns(src), "ip", "route", "del", "blackhole", f"{dst_ip}/32", check=False)
        self.blackholes.clear()

    def cleanup(self):
        for host in list(self.hosts):
            run(["ip", "netns", "del", self.ns(host)], check=False)
        run(["ip", "netns", "del", self.hub], check=False)
        self.hosts.clear()


def own_loopback_address():
    """A loopback address of this process's own: 127.64.0.0 + pid (pid_max is at most 2^22,
    so no two live processes share one; real/tests/zk_fixture.h does the same)."""
    pid = os.getpid()
    return f"127.{64 + ((pid >> 16) & 63)}.{(pid >> 8) & 255}.{pid & 255}"


class FlatNet:
    """Every host on one loopback address (no namespaces): no partitions; ports made distinct.

    The ports are fixed for the run (a scheduler restarts on its port, ZooKeeper's are in
    zoo.cfg), so the address is this process's own and the ports lie below the kernel's
    ephemeral range: no other process, in particular no other test under ctest -j, can take
    one between its choice and its (re)bind."""

    def __init__(self):
        self.hosts = {}
        self._ports = {}
        self.ip = own_loopback_address()
        self._next = 20000
        try:
            with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
                self._ephemeral_low = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            self._ephemeral_low = 32768

    def add_host(self, host):
        self.hosts[host] = self.ip
        return self.ip

    def wrap(self, host, argv):
        return argv

    def port(self, host, base):
        key = (host, base)
        while key not in self._ports:
            if self._next >= self._ephemeral_low:
                raise SetupError(f"no free port on {self.ip} below {self._ephemeral_low}")
            candidate, self._next = self._next, self._next + 1
            with socket.socket() as s:
                try:
                    s.bind((self.ip, candidate))
                except OSError:
                    continue
            self._ports[key] = candidate
        return self._ports[key]

    def heal(self):
        pass

    def cleanup(self):
        pass


def host_port(net, host, base):
    return net.port(host, base) if isinstance(net, FlatNet) else base


# --------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------

class Proc:
    def __init__(self, name, host, argv, logfile):
        self.name, self.host, self.argv, self.logfile = name, host, argv, logfile
        self.popen = None
        self.stopped = False


class Procs:
    """Every process the test starts, by PID; stop_all() kills and reaps each of them."""

    def __init__(self, net, workdir):
        self.net, self.workdir = net, workdir
        self.all = []

    def start(self, proc):
        out = open(proc.logfile, "ab")
        out.write(f"--- {time.strftime('%H:%M:%S')} start: {' '.join(proc.argv)}\n".encode())
        out.flush()
        # ip netns exec execs the command: the PID is the daemon's own. Its output goes
        # through a thread that stamps each line with the wall clock (the daemons' own
        # lines carry no time), so that logs of several daemons can be lined up.
        proc.popen = subprocess.Popen(self.net.wrap(proc.host, proc.argv), stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)

        def copy(pipe, out):
            with out:
                for line in iter(pipe.readline, b""):
                    t = time.time()
                    out.write(time.strftime("%H:%M:%S", time.localtime(t)).encode() + f".{int(t * 1000) % 1000:03d} ".encode()
                              + line)
                    out.flush()
            pipe.close()
        threading.Thread(target=copy, args=(proc.popen.stdout, out), daemon=True).start()
        proc.stopped = False
        if proc not in self.all:
            self.all.append(proc)
        return proc

    @staticmethod
    def alive(proc):
        return proc.popen is not None and proc.popen.poll() is None

    def kill(self, proc, timeout=10):
        """SIGKILL, then wait until the PID is reaped (no zombie holds the port or lock)."""
        if proc.popen is None:
            return
        if proc.popen.poll() is None:
            try:
                os.kill(proc.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                proc.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                raise SetupError(f"{proc.name} (pid {proc.popen.pid}) survived SIGKILL for {timeout} s")
        proc.stopped = False

    def stop(self, proc):
        if self.alive(proc):
            os.kill(proc.popen.pid, signal.SIGSTOP)
            proc.stopped = True

    def cont(self, proc):
        if proc.stopped and self.alive(proc):
            os.kill(proc.popen.pid, signal.SIGCONT)
        proc.stopped = False

    def stop_all(self):
        for proc in self.all:
            if self.alive(proc):
                try:
                    os.kill(proc.popen.pid, signal.SIGCONT)
                    os.kill(proc.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for proc in self.all:
            if proc.popen is not None:
                try:
                    proc.popen.wait(10)
                except subprocess.TimeoutExpired:
                    log(f"warning: {proc.name} (pid {proc.popen.pid}) did not exit")


# --------------------------------------------------------------------------------------
# Probes
# --------------------------------------------------------------------------------------

def scrape(ip, port, timeout=0.5):
    """GET /metrics -> {series: value}; series is the sample's name with its labels."""
    with socket.create_connection((ip, port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(f"GET /metrics HTTP/1.1\r\nHost: {ip}\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    text = b"".join(chunks).decode(errors="replace")
    head, _, body = text.partition("\r\n\r\n")
    if " 200 " not in head.split("\r\n")[0]:
        raise OSError(f"metrics: {head.splitlines()[0] if head else 'no reply'}")
    out = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            try:
                out[series] = float(value)
            except ValueError:
                pass
    return out


def zk_four_letter(ip, port, word="ruok", timeout=0.5):
    with socket.create_connection((ip, port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(word.encode())
        chunks = []
        while True:
            b = s.recv(4096)
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks).decode(errors="replace")


def is_leader(m):
    """Whether a scheduler's scrape says it leads (a replica's leader gauge, if it has one)."""
    if m is None:
        return False
    for key in ("fulcrum_leader", "fulcrum_leading", "fulcrum_is_leader", "fulcrum_zk_leader"):
        if key in m:
            return m[key] == 1
    return m.get("fulcrum_scheduler_up") == 1


def wait_for(what, predicate, timeout, period=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(period)
    raise SetupError(f"timed out after {timeout} s waiting for {what}")


def read_journal(path):
    """{task id: count} of TaskFinished and of TaskFailed records in a journal file
    (docs/real/journal-format.md): header "FULCRUMJ" + u32 version, then records
    u32 length, u32 crc32, body = u8 type, u8 version, fields (TaskFinished/TaskFailed:
    u64 task first). Stops at a torn tail, as replay does."""
    import zlib
    finished, failed = {}, {}
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"FULCRUMJ":
        raise SetupError(f"{path}: not a journal")
    pos = 12
    while pos + 8 <= len(data):
        length, crc = struct.unpack_from("<II", data, pos)
        body = data[pos + 8:pos + 8 + length]
        if length < 2 or len(body) < length or zlib.crc32(body) != crc:
            break
        kind = body[0]
        if kind in (2, 3) and length >= 10:
            task = struct.unpack_from("<Q", body, 2)[0]
            target = finished if kind == 2 else failed
            target[task] = target.get(task, 0) + 1
        pos += 8 + length
    return finished, failed


def percentile(values, p):
    """Nearest-rank percentile."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))
    return v[k]


# --------------------------------------------------------------------------------------
# The cluster
# --------------------------------------------------------------------------------------

class Cluster:
    def __init__(self, args, net, workdir):
        self.args, self.net, self.workdir = args, net, workdir
        self.procs = Procs(net, workdir)
        self.zk_servers = []   # Proc
        self.schedulers = []   # Proc (file mode: one)
        self.workers = []      # Proc
        self.zk_hosts = ""
        self.exec_log = os.path.join(workdir, "executions.log")
        open(self.exec_log, "w").close()

    # --- ZooKeeper ---
    def start_zookeeper(self):
        n = 3
        names = [f"zk{i}" for i in range(1, n + 1)]
        ips = {h: self.net.add_host(h) for h in names}
        ports = {h: (host_port(self.net, h, 2181), host_port(self.net, h, 2888), host_port(self.net, h, 3888))
                 for h in names}
        servers = "\n".join(f"server.{i}={ips[h]}:{ports[h][1]}:{ports[h][2]}" for i, h in enumerate(names, 1))
        for i, h in enumerate(names, 1):
            data = os.path.join(self.workdir, h)
            os.makedirs(data, exist_ok=True)
            with open(os.path.join(data, "myid"), "w") as f:
                f.write(f"{i}\n")
            cfg = os.path.join(data, "zoo.cfg")
            with open(cfg, "w") as f:
                f.write(f"tickTime=500\ninitLimit=10\nsyncLimit=4\ndataDir={data}\nclientPort={ports[h][0]}\n"
                        f"clientPortAddress={ips[h]}\nadmin.enableServer=false\n"
                        f"4lw.commands.whitelist=ruok,srvr,stat,mntr\nmaxSessionTimeout=60000\n"
                        f"minSessionTimeout=1000\n{servers}\n")
            argv = ["java", "-Xmx256m", "-cp", ":".join(ZK_CLASSPATH), f"-Dzookeeper.log.dir={data}",
                    "-Dzookeeper.root.logger=INFO,CONSOLE", "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg]
            p = Proc(h, h, argv, os.path.join(self.workdir, f"{h}.log"))
            p.ip, p.port = ips[h], ports[h][0]
            self.zk_servers.append(self.procs.start(p))
        self.zk_hosts = ",".join(f"{p.ip}:{p.port}" for p in self.zk_servers)
        wait_for("the ZooKeeper ensemble to serve", self.zk_quorum, 30, 0.2)

    def zk_serving(self, p):
        try:
            return "Mode:" in zk_four_letter(p.ip, p.port, "srvr")
        except OSError:
            return False

    def zk_quorum(self):
        return all(self.zk_serving(p) for p in self.zk_servers if Procs.alive(p))

    # --- schedulers ---
    def scheduler_argv(self, p):
        a = self.args
        argv = [a.binary, "scheduler", "--listen", f"{p.ip}:{p.port}", "--metrics-port", str(p.metrics_port),
                "--grace", str(a.grace), "--max-attempts", "1000", "--suspect-after", "1", "--dead-after", "2",
                "--detector-period", "0.2", "--verbose"]
        if a.zk:
            # The journal is in ZooKeeper; the folder keeps only this replica's events.csv.
            # Snapshots often, so that compaction runs under the faults too.
            argv += ["--zk", self.zk_hosts, "--zk-root", a.zk_root, "--zk-session-timeout", str(a.zk_session_timeout),
                     "--zk-snapshot-every", str(a.zk_snapshot_every),
                     "--journal", os.path.join(self.workdir, f"{p.name}-local")]
        else:
            argv += ["--journal", os.path.join(self.workdir, "journal")]
        return argv

    def start_schedulers(self):
        count = self.args.replicas if self.args.zk else 1
        for i in range(1, count + 1):
            h = f"s{i}"
            ip = self.net.add_host(h)
            p = Proc(h, h, None, os.path.join(self.workdir, f"{h}.log"))
            p.ip, p.port, p.metrics_port = ip, host_port(self.net, h, 7070), host_port(self.net, h, 9464)
            p.argv = self.scheduler_argv(p)
            self.schedulers.append(self.procs.start(p))
        def elected():
            dead = [p for p in self.schedulers if not Procs.alive(p)]
            if dead:
                with open(dead[0].logfile, errors="replace") as f:
                    tail = f.read().strip().splitlines()[-3:]
                raise SetupError(f"scheduler {dead[0].name} exited: {' | '.join(tail)}")
            return self.leader() is not None
        wait_for("a leader", elected, 30, 0.1)

    def scheduler_metrics(self, p):
        if not Procs.alive(p) or p.stopped:
            return None
        try:
            return scrape(p.ip, p.metrics_port, 0.3)
        except OSError:
            return None

    def is_leader(self, m):
        return is_leader(m)

    def leader(self):
        best = None
        for p in self.schedulers:
            m = self.scheduler_metrics(p)
            if self.is_leader(m) and (best is None or m.get("fulcrum_epoch", 0) > best[1].get("fulcrum_epoch", 0)):
                best = (p, m)
        return best

    @property
    def client_target(self):
        if self.args.zk:
            return ["--zk", self.zk_hosts, "--zk-root", self.args.zk_root]
        s = self.schedulers[0]
        return ["--scheduler", f"{s.ip}:{s.port}"]

    # --- workers ---
    def start_workers(self):
        for i in range(1, self.args.workers + 1):
            h = f"w{i}"
            self.net.add_host(h)
            p = Proc(h, h, None, os.path.join(self.workdir, f"{h}.log"))
            p.argv = [self.args.binary, "worker", "--name", h, "--slots", "2", "--heartbeat", "0.3", "--verbose"]
            if self.args.zk:
                p.argv += ["--zk", self.zk_hosts, "--zk-root", self.args.zk_root]
            else:
                s = self.schedulers[0]
                p.argv += ["--scheduler", f"{s.ip}:{s.port}"]
            self.workers.append(self.procs.start(p))

        def all_up():
            lead = self.leader()
            return lead is not None and lead[1].get('fulcrum_workers{state="up"}', 0) >= len(self.workers)
        wait_for("every worker to register", all_up, 30, 0.1)


# --------------------------------------------------------------------------------------
# The client: submits throughout and keeps the history
# --------------------------------------------------------------------------------------

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
# Faults
# --------------------------------------------------------------------------------------

class Chaos:
    def __init__(self, args, cluster, net, rng):
        self.args, self.c, self.net, self.rng = args, cluster, net, rng
        self.failovers = []      # seconds
        self.failover_misses = 0
        self.events = []         # (round, what)
        self.netns = not isinstance(net, FlatNet)

    def note(self, rnd, what):
        self.events.append((rnd, round(time.monotonic() - self.t0, 3), what))
        log(f"round {rnd}: {what}")

    def kill_leader(self, rnd):
        lead = None
        deadline = time.monotonic() + 30  # --zk: a partition's heal may leave an election going on
        while lead is None and time.monotonic() < deadline:
            lead = self.c.leader()
            if lead is None:
                time.sleep(0.05)
        if lead is None:
            self.note(rnd, "no leader to kill within 30 s")
            self.failover_misses += 1
            return
        p, m = lead
        old_epoch = m.get("fulcrum_epoch", 0)
        t0 = time.monotonic()
        self.c.procs.kill(p)
        self.note(rnd, f"SIGKILL leader {p.name} (epoch {old_epoch:g})")
        if not self.args.zk:
            if self.args.sabotage == "wipe-journal" and rnd == self.args.rounds:
                # Shows that the checker is not vacuous: the restarted scheduler forgets
                # every accepted task (ctest chaos_detects_loss expects the report).
                with open(os.path.join(self.c.workdir, "journal", "journal.log"), "r+b") as f:
                    f.truncate(12)
                self.note(rnd, "SABOTAGE: journal wiped")
            self.c.procs.start(p)   # file mode: the restart is the failover
        else:
            self.dead_replicas.append(p)
        deadline = t0 + self.args.failover_timeout
        while time.monotonic() < deadline:
            for q in self.c.schedulers:
                mq = self.c.scheduler_metrics(q)
                if (mq and mq.get("fulcrum_epoch", 0) > old_epoch and self.c.is_leader(mq)
                        and mq.get("fulcrum_tasks_dispatched_total", 0) > 0):
                    dt = time.monotonic() - t0
                    self.failovers.append(dt)
                    self.note(rnd, f"new leader {q.name} (epoch {mq['fulcrum_epoch']:g}) dispatched after {dt:.3f} s")
                    return
            time.sleep(0.01)
        self.failover_misses += 1
        self.note(rnd, f"no dispatch by a new leader within {self.args.failover_timeout:g} s")

    def worker_fault(self, rnd):
        w = self.rng.choice([w for w in self.c.workers if Procs.alive(w) and not w.stopped] or [None])
        if w is None:
            return
        if self.rng.random() < 0.5:
            self.c.procs.kill(w)
            self.killed_workers.append(w)
            self.note(rnd, f"SIGKILL worker {w.name}")
        else:
            self.c.procs.stop(w)
            self.stopped_workers.append(w)
            self.note(rnd, f"SIGSTOP worker {w.name}")

    def network_fault(self, rnd, kind):
        scheds = [p.name for p in self.c.schedulers]
        zks = [p.name for p in self.c.zk_servers]
        if kind == "partition_worker":
            w = self.rng.choice(self.c.workers)
            self.net.partition([w.name], scheds + zks)
            self.note(rnd, f"partition worker {w.name} | schedulers{' + zookeeper' if zks else ''}")
        elif kind == "partition_scheduler":
            s = self.c.schedulers[0]
            self.net.partition([s.name], [w.name for w in self.c.workers])
            self.note(rnd, f"partition scheduler {s.name} | all workers")
        elif kind == "partition_leader":
            lead = self.c.leader()
            if lead:
                others = [n for n in scheds if n != lead[0].name]
                self.net.partition([lead[0].name], zks + others)
                self.note(rnd, f"partition leader {lead[0].name} | zookeeper + other replicas")
        elif kind == "kill_zk":
            z = self.rng.choice([z for z in self.c.zk_servers if Procs.alive(z)])
            self.c.procs.kill(z)
            self.killed_zk.append(z)
            self.note(rnd, f"SIGKILL zookeeper {z.name}")
        elif kind == "partition_zk":
            z = self.rng.choice(self.c.zk_servers)
            self.net.partition([z.name], [n for n in zks if n != z.name] + scheds + [w.name for w in self.c.workers])
            self.note(rnd, f"partition zookeeper {z.name} | everyone")

    def heal(self, rnd):
        self.net.heal()
        for w in self.stopped_workers:
            self.c.procs.cont(w)
        for w in self.killed_workers:
            self.c.procs.start(w)
        for z in self.killed_zk:
            self.c.procs.start(z)
        if self.c.zk_servers:
            # One ZooKeeper server impaired at a time: the next round starts only when the
            # restarted or reconnected one serves again (else a second fault would cost the
            # ensemble its quorum, which is not what is being tested).
            t = time.monotonic()
            wait_for("the ZooKeeper ensemble to serve again", self.c.zk_quorum, 60, 0.1)
            if time.monotonic() - t > 1:
                self.note(rnd, f"ZooKeeper ensemble serving again after {time.monotonic() - t:.1f} s")
        for s in self.dead_replicas:
            self.c.procs.start(s)
        for s in self.c.schedulers:
            if not Procs.alive(s):
                # A replica stops by itself when it loses its ZooKeeper session (fenced);
                # restart it, as systemd's Restart=always would.
                self.note(rnd, f"scheduler {s.name} had exited by itself (exit {s.popen.returncode}); restarted")
                self.c.procs.start(s)
        if self.stopped_workers or self.killed_workers or self.killed_zk or self.dead_replicas or self.partitioned:
            self.note(rnd, "healed")
        self.stopped_workers, self.killed_workers, self.killed_zk, self.dead_replicas = [], [], [], []
        self.partitioned = False

    def run(self, rounds):
        self.t0 = time.monotonic()
        self.stopped_workers, self.killed_workers, self.killed_zk, self.dead_replicas = [], [], [], []
        self.partitioned = False
        kinds = []
        if self.netns:
            kinds += ["partition_worker"]
            kinds += ["partition_leader"] if self.args.zk else ["partition_scheduler"]
            if self.args.zk:
                kinds += ["partition_zk"]
        if self.args.zk:
            kinds += ["kill_zk"]
        hold = 1.5 if self.args.quick else 2.5
        settle = 1.0 if self.args.quick else 2.0
        cycle = []
        for rnd in range(1, rounds + 1):
            # Every round: a worker fault; a network or ZooKeeper fault (kinds taken in a
            # seeded shuffled cycle, so that a short run covers each); and SIGKILL of the
            # leader: while the other faults hold, or, when the network fault cut the
            # leader off (its failover then waits for the heal), right after the heal.
            self.worker_fault(rnd)
            kind = None
            if kinds:
                if not cycle:
                    cycle = kinds[:]
                    self.rng.shuffle(cycle)
                kind = cycle.pop()
                time.sleep(0.2)
                self.network_fault(rnd, kind)
                self.partitioned = kind.startswith("partition")
            time.sleep(0.3)
            leader_cut_off = kind in ("partition_scheduler", "partition_leader")
            if not leader_cut_off:
                self.kill_leader(rnd)
            time.sleep(hold)
            self.heal(rnd)
            if leader_cut_off:
                time.sleep(0.5)
                self.kill_leader(rnd)
                self.heal(rnd)  # --zk: restart the killed replica
            time.sleep(settle)


# --------------------------------------------------------------------------------------
# The history checker
# --------------------------------------------------------------------------------------

def task_status(binary, target, task):
    r = subprocess.run([binary, "status", *target, str(task)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30)
    m = re.match(r"task (\d+) \(job (\d+)\): (\w+)", r.stdout)
    return m.group(3) if m and int(m.group(1)) == task else f"unknown ({r.stderr.strip()[:80]})"


def statuses(cluster, ids):
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return dict(zip(ids, pool.map(lambda t: task_status(cluster.args.binary, cluster.client_target, t), ids)))


def check_history(args, cluster, client, chaos):
    problems = []
    ids = [t for ts in client.accepted.values() for t in ts]
    token_of = {}
    overwritten = []  # accepted submissions whose task id was handed out again: lost
    for token, ts in client.accepted.items():
        for t in ts:
            if t in token_of:
                problems.append(f"task id {t} acknowledged twice ({token_of[t]}, {token})")
                overwritten.append(token_of[t])
            token_of[t] = token

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
    if live != 0:
        problems.append(f"not quiescent after {args.drain_timeout} s: {live} tasks still live on the leader")
    # The scheduler's answer for each accepted task (file mode: for a seeded sample of
    # 100 and every task the journal check below flags — the journal is the record there;
    # one `fulcrum status` process per task is slow on a loaded machine).
    journal_view = None
    if not args.zk:
        journal_view = read_journal(os.path.join(cluster.workdir, "journal", "journal.log"))
        flagged = [t for t in ids if journal_view[0].get(t, 0) != 1 or t in journal_view[1]]
        sample = random.Random(args.seed).sample(ids, min(100, len(ids)))
        asked = list(dict.fromkeys(flagged + sample))
    else:
        asked = list(dict.fromkeys(ids))
    states = statuses(cluster, asked)
    not_finished = {t: s for t, s in states.items() if s != "finished"}
    for t, s in sorted(not_finished.items())[:20]:
        problems.append(f"task {t} ({token_of[t]}) is {s}, not finished")

    # Executions: each token appended once per run of its task.
    runs = {}
    with open(cluster.exec_log) as f:
        for line in f:
            runs[line.strip()] = runs.get(line.strip(), 0) + 1
    never_ran = [t for t in ids if t not in not_finished and runs.get(token_of[t], 0) == 0]
    for t in never_ran[:20]:
        problems.append(f"task {t} ({token_of[t]}) finished but never ran")
    reexecuted = sum(1 for t in ids if runs.get(token_of[t], 0) > 1)
    indeterminate_tokens = {tok for tok, _ in client.indeterminate}
    accepted_unacked = sum(1 for tok in indeterminate_tokens if runs.get(tok, 0) > 0)

    # The leader's view and, in file mode, the journal itself.
    lead = cluster.leader()
    finished_total = lead[1].get("fulcrum_tasks_finished_total") if lead else None
    journal = None
    if not args.zk:
        finished, failed = journal_view
        not_finished.update({t: "not finished in the journal" for t in ids if finished.get(t, 0) == 0})
        dup = {t: n for t, n in finished.items() if n > 1}
        missing = [t for t in ids if finished.get(t, 0) == 0]
        for t, n in sorted(dup.items())[:20]:
            problems.append(f"task {t}: {n} TaskFinished records in the journal")
        for t in missing[:20]:
            problems.append(f"task {t} ({token_of[t]}): no TaskFinished record in the journal")
        for t in sorted(set(failed) & set(ids))[:20]:
            problems.append(f"task {t}: a TaskFailed record in the journal")
        extra = set(finished) - set(ids)
        if len(extra) > len(client.indeterminate):
            problems.append(f"{len(extra)} finished tasks nobody was told about, but only "
                            f"{len(client.indeterminate)} indeterminate submissions")
        journal = {"finished_records": sum(finished.values()), "distinct_finished": len(finished),
                   "duplicates": len(dup), "missing": len(missing), "failed_records": sum(failed.values()),
                   "finished_without_ack": len(extra)}
        if finished_total is not None and finished_total != len(finished):
            problems.append(f"fulcrum_tasks_finished_total {finished_total:g} != {len(finished)} tasks "
                            f"finished in the journal")
    elif finished_total is not None:
        # The new leader rebuilds the total from the journal in ZooKeeper: a completion
        # journaled twice would show as more than the tasks there can be.
        finished_accepted = len(set(ids)) - len(not_finished)
        if finished_total < finished_accepted:
            problems.append(f"fulcrum_tasks_finished_total {finished_total:g} < {finished_accepted} finished accepted tasks")
        if finished_total > len(set(ids)) + len(client.indeterminate):
            problems.append(f"fulcrum_tasks_finished_total {finished_total:g} > accepted + indeterminate submissions "
                            f"({len(set(ids))} + {len(client.indeterminate)}): a completion counted twice")

    fo = chaos.failovers
    summary = {
        "mode": "zookeeper" if args.zk else "file-journal",
        "netns": chaos.netns,
        "rounds": args.rounds,
        "seed": args.seed,
        "faults": sum(1 for e in chaos.events if e[2].startswith(("SIGKILL", "SIGSTOP", "partition"))),
        "submissions": client.seq,
        "accepted_tasks": sum(len(ts) for ts in client.accepted.values()),
        "refused_submissions": client.refused,
        "slow_submissions": client.slow,
        "indeterminate_submissions": len(client.indeterminate),
        "indeterminate_that_ran": accepted_unacked,
        "indeterminate_examples": [f"{tok}: {why}" for tok, why in client.indeterminate[:5]],
        "status_checked": len(asked),
        "finished": len(set(ids)) - len(not_finished),
        "lost": len(not_finished) + len(overwritten),
        "duplicated": (journal or {}).get("duplicates", 0),
        "reexecuted": reexecuted,
        "journal": journal,
        "fulcrum_tasks_finished_total": finished_total,
        "failover_samples": len(fo),
        "failover_misses": chaos.failover_misses,
        "failover_p50_s": round(percentile(fo, 50), 3) if fo else None,
        "failover_p99_s": round(percentile(fo, 99), 3) if fo else None,
        "failover_max_s": round(max(fo), 3) if fo else None,
        "grace_s": args.grace,
        "problems": problems,
        "ok": not problems and chaos.failover_misses == 0,
    }
    if chaos.failover_misses:
        problems.append(f"{chaos.failover_misses} leader kills without a dispatch by a new leader within "
                        f"{args.failover_timeout:g} s")
    return summary


def print_summary(s):
    print(f"chaos: {s['mode']} mode, {'network namespaces' if s['netns'] else 'no namespaces'}, "
          f"{s['rounds']} rounds (seed {s['seed']}), {s['faults']} faults")
    print(f"  submissions {s['submissions']}: accepted tasks {s['accepted_tasks']}, refused {s['refused_submissions']}, "
          f"indeterminate {s['indeterminate_submissions']} (ran: {s['indeterminate_that_ran']})")
    print(f"  finished {s['finished']}, lost {s['lost']}, duplicated {s['duplicated']}, "
          f"re-executed {s['reexecuted']} (at-least-once execution); `fulcrum status` asked for "
          f"{s['status_checked']} tasks")
    if s["journal"]:
        j = s["journal"]
        print(f"  journal: {j['finished_records']} TaskFinished records for {j['distinct_finished']} tasks, "
              f"{j['failed_records']} TaskFailed, {j['missing']} accepted tasks missing")
    if s["failover_samples"]:
        print(f"  failover (leader SIGKILL -> first dispatch by the new leader, grace {s['grace_s']} s): "
              f"n={s['failover_samples']} p50 {s['failover_p50_s']:.3f} s, p99 {s['failover_p99_s']:.3f} s, "
              f"max {s['failover_max_s']:.3f} s")
    for p in s["problems"]:
        print(f"  PROBLEM: {p}")
    print("  OK" if s["ok"] else "  FAILED")


# --------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True, help="the fulcrum executable")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="shorter fault holds and settles (the test command)")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--zk", action="store_true", help="scheduler replicas on a 3-node ZooKeeper ensemble")
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
    ap.add_argument("--keep", action="store_true", help="keep the work folder (logs, journal)")
    args = ap.parse_args()
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
        summary = check_history(args, cluster, client, chaos)
        summary["ok"] = not summary["problems"]
        summary["events"] = chaos.events
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
            print(f"chaos: logs and journal kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)
    print_summary(summary)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
