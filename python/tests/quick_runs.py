"""Runs an experiment script (experiments/NAME.py --quick --out DIR) for the tests, under a
budget of CPU time rather than of wall time.

The quick runs are CPU-bound: faults.py --quick needs ~14 s of CPU, yet beside ctest -j4
and two CPU hogs on 2 cores it got 18 % of a core and took 100 s of wall time, past the
90 s timeout it had then. So what a run may spend is CPU time (RLIMIT_CPU, per process:
one that got slow is killed by SIGXCPU), and the wall-clock timeout only catches a hang.
"""

import os
import resource
import signal
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = "/usr/bin/python3"
HANG_TIMEOUT_S = 900


def run_quick(script: str, out, cpu_seconds: int = 90, args=()) -> subprocess.CompletedProcess:
    """Runs experiments/SCRIPT --quick --out OUT [ARGS] and asserts it succeeded."""
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", os.path.join(REPO, "build", "python"))  # ctest sets its build's
    env["MPLBACKEND"] = "Agg"

    def limit_cpu():  # SIGXCPU at the soft limit, SIGKILL at the hard one
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 10))

    p = subprocess.run([PYTHON, os.path.join(REPO, "experiments", script), "--quick", "--out", str(out), *args],
                       capture_output=True, text=True, timeout=HANG_TIMEOUT_S, env=env, preexec_fn=limit_cpu)
    over = f" (over its CPU budget of {cpu_seconds} s)" if p.returncode in (-signal.SIGXCPU, -signal.SIGKILL) else ""
    assert p.returncode == 0, f"{script} exited with {p.returncode}{over}:\n{p.stderr}"
    return p
