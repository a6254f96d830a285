"""Cluster control: the processes the test starts (ZooKeeper servers, scheduler(s),
workers), the probes it reads them with (/metrics, ZooKeeper's four-letter words), and
which scheduler leads."""

import os
import signal
import socket
import subprocess
import threading
import time

from .common import SetupError, log, wait_for
from .net import host_port

ZK_CLASSPATH = ["/etc/zookeeper/conf", "/usr/share/java/zookeeper.jar", "/usr/share/java/slf4j-log4j12.jar",
                "/usr/share/java/log4j-1.2.jar"]


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
        self.ca = os.path.join(workdir, "ca")
        if getattr(args, "tls", False):
            # Mutual TLS on every connection (docs/real/security.md): a CA of this run, one
            # scheduler certificate the replicas share, the checker's client as operator.
            self.certs("init", self.ca)
            self.certs("issue", self.ca, "scheduler", "--role", "scheduler")
            self.certs("issue", self.ca, "chaos", "--role", "operator")

    def certs(self, *argv):
        r = subprocess.run([self.args.binary, "certs", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise SetupError(f"fulcrum certs {' '.join(argv)}: {r.stderr.strip()}")

    def tls_flags(self, name):
        return ["--cert", os.path.join(self.ca, f"{name}.crt")] if getattr(self.args, "tls", False) else []

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
        if getattr(a, "tls", False):
            argv += self.tls_flags("scheduler") + ["--access", os.path.join(self.ca, "access.yaml")]
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
            return ["--zk", self.zk_hosts, "--zk-root", self.args.zk_root, *self.tls_flags("chaos")]
        s = self.schedulers[0]
        return ["--scheduler", f"{s.ip}:{s.port}", *self.tls_flags("chaos")]

    # --- workers ---
    def start_workers(self):
        for i in range(1, self.args.workers + 1):
            h = f"w{i}"
            self.net.add_host(h)
            p = Proc(h, h, None, os.path.join(self.workdir, f"{h}.log"))
            p.argv = [self.args.binary, "worker", "--name", h, "--slots", "2", "--heartbeat", "0.3", "--verbose"]
            if getattr(self.args, "tls", False):
                self.certs("issue", self.ca, h, "--role", "worker")
                p.argv += self.tls_flags(h)
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

