"""Checks what scripts/notebooks.sh starts: Jupyter on .venv's python, whose default
kernel runs .venv's python and imports fulcrum.

Usage: /usr/bin/python3 python/tests/notebooks_open.py REPO   (ctest notebooks_open)
"""
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def own_loopback_address() -> str:
    """A loopback address of this process's own: 127.64.0.0 + pid (pid_max is at most 2^22),
    as in real/chaos/chaos.py: other test processes (ctest -j) never bind it."""
    pid = os.getpid()
    return f"127.{64 + ((pid >> 16) & 63)}.{(pid >> 8) & 255}.{pid & 255}"


def free_port(ip: str) -> int:
    """A free port of `ip` below the kernel's ephemeral range: the server binds it later
    (--port-retries=0), and no other process's bind to port 0 or connect() can take one
    there meanwhile."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        ephemeral_low = int(f.read().split()[0])
    for port in range(20000, ephemeral_low):
        with socket.socket() as s:
            try:
                s.bind((ip, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port on {ip}")


def main() -> int:
    repo = os.path.abspath(sys.argv[1])
    python = os.path.join(repo, ".venv", "bin", "python")
    ip = own_loopback_address()
    port, token = free_port(ip), secrets.token_hex(16)
    runtime = tempfile.mkdtemp(prefix=f"fulcrum_nb_{os.getpid()}_")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=runtime)
    env.pop("PYTHONPATH", None)
    server = subprocess.Popen(
        [python, "-m", "notebook", "--no-browser", "--allow-root", f"--ip={ip}", f"--port={port}",
         "--port-retries=0", f"--NotebookApp.token={token}", "--notebook-dir", os.path.join(repo, "notebooks")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://{ip}:{port}/api"

    def call(path, method="GET"):
        req = urllib.request.Request(base + path, method=method, headers={"Authorization": f"token {token}"},
                                     data=b"{}" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                specs = call("/kernelspecs")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    print("the notebook server did not start:", server.stderr.read().decode()[-2000:])
                    return 1
                time.sleep(0.3)
        default = specs["kernelspecs"][specs["default"]]["spec"]
        if default["argv"][0] != python:
            print(f"the default kernel runs {default['argv'][0]}, not {python}")
            return 1
        # The kernel a notebook gets imports fulcrum (from /, without PYTHONPATH). Its
        # channels are Unix sockets in `runtime`: over TCP, jupyter_client picks ports free
        # a moment ago, which another test process may take before the kernel binds them.
        probe = ("from jupyter_client.manager import KernelManager\n"
                 f"km = KernelManager(kernel_name='python3', transport='ipc', ip={os.path.join(runtime, 'k')!r})\n"
                 "km.start_kernel()\n"
                 "kc = km.client()\n"
                 "kc.start_channels()\n"
                 "kc.wait_for_ready(timeout=60)\n"
                 "out = []\n"
                 "r = kc.execute_interactive('import fulcrum; print(fulcrum.__file__)', timeout=60,\n"
                 "    output_hook=lambda m: out.append(m['content'].get('text', '')))\n"
                 "kc.stop_channels(); km.shutdown_kernel(now=True)\n"
                 "print(r['content']['status'], ''.join(out).strip())\n")
        result = subprocess.run([python, "-c", probe], env=env, cwd="/", capture_output=True, text=True,
                                timeout=120)
        if not result.stdout.startswith("ok ") or "/python/fulcrum/" not in result.stdout:
            print("a notebook kernel could not import fulcrum:", result.stdout, result.stderr[-2000:])
            return 1
        print("notebook server and kernel on", python, "->", result.stdout.strip())
        return 0
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        subprocess.run(["rm", "-rf", runtime])


if __name__ == "__main__":
    sys.exit(main())
