"""Hosts: network namespaces joined by a bridge (Net), or all on one loopback address of
this process's own (FlatNet, --no-netns, or when namespaces cannot be made)."""

import ctypes
import os
import re
import shutil
import socket

from .common import SetupError, run

CLONE_NEWNET = 0x40000000


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

