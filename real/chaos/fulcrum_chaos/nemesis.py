"""The nemesis: rounds of faults chosen by a seeded RNG (leader and worker kills, SIGSTOPs,
network partitions, ZooKeeper server kills and partitions), their heals, and the
failover times they cause."""

import os
import time

from .cluster import Procs
from .common import log, wait_for
from .net import FlatNet


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

