#!/usr/bin/python3
"""Runs the systemd units of real/deploy/ on "machines" made of network namespaces.

Each machine is a network namespace of its own (joined by a bridge, 127.43.0.0/24
addresses; see real/chaos/chaos.py) with its own /etc/fulcrum and /var/lib folders
(temporary). The command lines are the units' ExecStart lines, expanded the way systemd
does — EnvironmentFile= and Environment= variables (${NAME}: one word, $NAME: split on
spaces), the %i, %H and %% specifiers — so that the units cannot rot unnoticed. Only these
paths are mapped: /usr/local/bin/fulcrum -> --binary, /etc/fulcrum, /var/lib/fulcrum and
/var/lib/zookeeper -> the machine's folders. User=, StateDirectory= and sandboxing are
systemd's business and are not emulated.

Mode: with ZooKeeper replicas when the binary's `scheduler --help` offers --zk (three
ZooKeeper machines, two scheduler machines, the leader killed halfway), else one scheduler
on a file journal (restarted halfway, as Restart=always would). Two worker machines and a
client machine in both. Tasks are submitted from the client machine before and after the
restart and must all finish.

Exit status 0: passed; 1: failed; 77: skipped (no network namespaces: not root).

  /usr/bin/python3 real/deploy/deploy_demo.py --binary build/fulcrum [--mode file|zk] [--keep]
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "chaos"))
from fulcrum_chaos import cluster, common, net as chaos_net  # noqa: E402  (Net, Procs, Proc, probes)


def parse_unit(path):
    """{key: [values]} of the [Service] section (continuation lines joined)."""
    out, section, pending = {}, None, ""
    with open(path) as f:
        for raw in f:
            line = pending + raw.rstrip("\n")
            pending = ""
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            s = line.strip()
            if not s or s[0] in "#;":
                continue
            if s.startswith("["):
                section = s.strip("[]")
                continue
            if section == "Service" and "=" in s:
                k, v = s.split("=", 1)
                out.setdefault(k.strip(), []).append(v.strip())
    return out


def parse_env_file(path):
    env = {}
    with open(path) as f:
        for line in f:
            s = line.strip()
            if not s or s[0] in "#;" or "=" not in s:
                continue
            k, v = s.split("=", 1)
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
                v = v[1:-1]
            env[k.strip()] = v
    return env


def expand_exec(unit, instance, hostname, mapping):
    """The argv systemd would run for ExecStart= of `unit` (paths mapped for the demo)."""
    def mapped(text):
        for real, local in mapping.items():
            text = text.replace(real, local)
        return text

    keys = parse_unit(unit)
    env = {}
    for assignment in keys.get("Environment", []):
        for word in shlex.split(assignment):
            k, _, v = word.partition("=")
            env[k] = v
    for env_file in keys.get("EnvironmentFile", []):
        env.update(parse_env_file(mapped(env_file.lstrip("-"))))
    (line,) = keys["ExecStart"]
    line = line.replace("%%", "\0").replace("%i", instance).replace("%H", hostname).replace("\0", "%")
    argv = []
    for word in shlex.split(line):
        m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if m:
            argv += env.get(m.group(1), "").split()
            continue
        argv.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda g: env.get(g.group(1), ""), word))
    return [mapped(a) for a in argv]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--mode", choices=["auto", "file", "zk"], default="auto")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)

    ok, why = chaos_net.netns_available()
    if not ok:
        print(f"deploy_demo: SKIPPED: {why}")
        return 77
    help_text = subprocess.run([binary, "scheduler", "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True).stdout
    has_zk = "--zk" in help_text and os.path.exists(cluster.ZK_CLASSPATH[1])
    mode = args.mode if args.mode != "auto" else ("zk" if has_zk else "file")
    if mode == "zk" and not has_zk:
        print("deploy_demo: --mode zk needs a binary with `scheduler --zk` and ZooKeeper installed")
        return 1
    print(f"deploy_demo: {mode} mode{'' if has_zk or mode == 'zk' else ' (this binary has no scheduler --zk)'}")

    work = tempfile.mkdtemp(prefix="fulcrum-deploy-")
    net = procs = None
    failed = []
    try:
        chaos_net.remove_stale_namespaces()
        net = chaos_net.Net("d")
        # The ZooKeeper unit is run in both modes (the ensemble is only used with --zk).
        zk_hosts = ["zk1", "zk2", "zk3"] if os.path.exists(cluster.ZK_CLASSPATH[1]) else []
        sched_hosts = ["sched1", "sched2"] if mode == "zk" else ["sched1"]
        worker_hosts = ["worker1", "worker2"]
        ips = {h: net.add_host(h) for h in zk_hosts + sched_hosts + worker_hosts + ["client"]}
        net.enter("client")
        procs = cluster.Procs(net, work)

        def machine(h):
            root = os.path.join(work, h)
            for d in ("etc", "state", "zookeeper"):
                os.makedirs(os.path.join(root, d), exist_ok=True)
            return root, {"/usr/local/bin/fulcrum": binary, "/etc/fulcrum": os.path.join(root, "etc"),
                          "/var/lib/fulcrum": os.path.join(root, "state"),
                          "/var/lib/zookeeper": os.path.join(root, "zookeeper")}

        zk_connect = ",".join(f"{ips[h]}:2181" for h in zk_hosts)
        example_env = open(os.path.join(HERE, "fulcrum.env.example")).read()
        example_zoo = open(os.path.join(HERE, "zoo.cfg.example")).read()
        started = {}

        def start(h, unit, instance=""):
            root, mapping = machine(h)
            argv = expand_exec(os.path.join(HERE, unit), instance, h, mapping)
            print(f"  {h}: {' '.join(argv)}")
            p = cluster.Proc(f"{h}-{unit}", h, argv, os.path.join(work, f"{h}.log"))
            started[h] = procs.start(p)
            return p

        # ZooKeeper machines: zoo.cfg from the example with this ensemble's addresses.
        for n, h in enumerate(zk_hosts, 1):
            root, mapping = machine(h)
            cfg = example_zoo.replace("tickTime=2000", "tickTime=500")
            for i, other in enumerate(zk_hosts, 1):
                cfg = cfg.replace(f"10.0.0.{i}:2888:3888", f"{ips[other]}:2888:3888")
            cfg = cfg.replace("clientPortAddress=10.0.0.1", f"clientPortAddress={ips[h]}")
            cfg = cfg.replace("minSessionTimeout=4000", "minSessionTimeout=1000")
            cfg = cfg.replace("/var/lib/zookeeper", mapping["/var/lib/zookeeper"])
            open(os.path.join(root, "etc", "zoo.cfg"), "w").write(cfg)
            open(os.path.join(mapping["/var/lib/zookeeper"], "myid"), "w").write(f"{n}\n")
            start(h, "fulcrum-zookeeper.service")
        if zk_hosts:
            common.wait_for("the ZooKeeper ensemble", lambda: all(
                "Mode:" in cluster.zk_four_letter(ips[h], 2181, "srvr") for h in zk_hosts), 40, 0.2)
            modes = [re.search(r"Mode: (\w+)", cluster.zk_four_letter(ips[h], 2181, "srvr")).group(1) for h in zk_hosts]
            print(f"  ZooKeeper ensemble serving: {', '.join(f'{h} {m}' for h, m in zip(zk_hosts, modes))}")
            if sorted(modes) != ["follower", "follower", "leader"]:
                failed.append(f"ZooKeeper modes {modes}")

        # fulcrum.env: the example, with this machine's overrides appended (later wins).
        def write_env(h):
            root, _ = machine(h)
            lines = [f"FULCRUM_LISTEN={ips[h]}:7070", "FULCRUM_SCHEDULER_ARGS=\"--grace 1\"",
                     "FULCRUM_WORKER_ARGS=\"--heartbeat 0.5 --metrics-host 0.0.0.0\""]
            if mode == "zk":
                lines += [f"FULCRUM_STATE=\"--zk {zk_connect} --zk-root /fulcrum --zk-session-timeout 2\"",
                          f"FULCRUM_CONNECT=\"--zk {zk_connect} --zk-root /fulcrum\""]
            else:
                lines += [f"FULCRUM_CONNECT=\"--scheduler {ips[sched_hosts[0]]}:7070\""]
            open(os.path.join(root, "etc", "fulcrum.env"), "w").write(
                example_env + "\n# deploy_demo: this machine\n" + "\n".join(lines) + "\n")

        for h in sched_hosts + worker_hosts:
            write_env(h)
        for h in sched_hosts:
            start(h, "fulcrum-scheduler.service")
        for h in worker_hosts:
            start(h, "fulcrum-worker@.service", "1")

        def metrics(h):
            try:
                return cluster.scrape(ips[h], 9464, 0.3)
            except OSError:
                return None

        def leader():
            for h in sched_hosts:
                m = metrics(h)
                if m is not None and cluster.is_leader(m):
                    return h, m
            return None

        def workers_up():
            lead = leader()
            return lead is not None and lead[1].get('fulcrum_workers{state="up"}', 0) >= len(worker_hosts)
        common.wait_for("both workers to register", workers_up, 40, 0.2)
        # Workers' /metrics on their machine address (--metrics-host 0.0.0.0 in the env).
        for h in worker_hosts:
            m = cluster.scrape(ips[h], 9465, 1)
            if m.get("fulcrum_worker_connected") != 1:
                failed.append(f"{h}: fulcrum_worker_connected is not 1")

        target = (["--zk", zk_connect, "--zk-root", "/fulcrum"] if mode == "zk"
                  else ["--scheduler", f"{ips[sched_hosts[0]]}:7070"])

        def submit_and_wait(label, n=6):
            ids = []
            for i in range(n):
                r = subprocess.run([binary, "submit", *target, "--", "sh", "-c", f"echo {label}-{i}; sleep 0.2"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
                if r.returncode != 0:
                    failed.append(f"submit {label}-{i}: {r.stderr.strip()}")
                    continue
                ids += r.stdout.split()
            for t in ids:
                r = subprocess.run([binary, "wait", *target, t], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, timeout=60)
                if r.returncode != 0 or "finished" not in r.stdout:
                    failed.append(f"task {t}: {r.stdout.strip()} {r.stderr.strip()}")
            workers = set(re.findall(r" on (\S+),", "".join(
                subprocess.run([binary, "status", *target, t], stdout=subprocess.PIPE, text=True).stdout
                for t in ids)))
            print(f"  {label}: {len(ids)} tasks finished on {sorted(workers)}")

        submit_and_wait("before")
        lead_host, m = leader()
        epoch = m.get("fulcrum_epoch", 0)
        procs.kill(started[lead_host])
        print(f"  SIGKILL the leader on {lead_host} (epoch {epoch:g})")
        if mode == "file":
            start(lead_host, "fulcrum-scheduler.service")  # as Restart=always would
        common.wait_for("a new leader", lambda: (leader() or (None, {}))[1].get("fulcrum_epoch", 0) > epoch, 40, 0.1)
        lead_host, m = leader()
        print(f"  leader now on {lead_host} (epoch {m['fulcrum_epoch']:g})")
        submit_and_wait("after")
    except (common.SetupError, OSError, subprocess.SubprocessError) as e:
        failed.append(f"{type(e).__name__}: {e}")
    finally:
        if procs is not None:
            procs.stop_all()
        if net is not None:
            net.cleanup()
        if args.keep or failed:
            print(f"deploy_demo: logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    for f in failed:
        print(f"FAILED: {f}")
    print("deploy_demo: OK" if not failed else "deploy_demo: FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
