"""Helpers shared by the chaos test's modules: logging, the setup error, running a command,
waiting for a condition."""

import subprocess
import sys
import time


def log(*parts):
    print(f"[chaos {time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


class SetupError(Exception):
    pass


def run(argv, check=True, **kw):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if check and r.returncode != 0:
        raise SetupError(f"{' '.join(argv)}: exit {r.returncode}: {r.stderr.strip()}")
    return r



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

