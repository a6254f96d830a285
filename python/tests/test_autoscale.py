"""experiments/autoscale.py --quick: the autoscaled runs lose nothing and use fewer
host-seconds and less energy than the fixed cluster (run with PYTHONPATH=build/python and
Debian's /usr/bin/python3)."""

import os
import subprocess

import pandas as pd

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_autoscale_quick(tmp_path):
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", os.path.join(REPO, "build", "python"))
    env["MPLBACKEND"] = "Agg"
    p = subprocess.run(["/usr/bin/python3", os.path.join(REPO, "experiments", "autoscale.py"), "--quick",
                        "--out", str(tmp_path)], capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 0, p.stderr
    assert "util-0.6" in p.stdout
    assert (tmp_path / "autoscale.png").stat().st_size > 0
    df = pd.read_csv(tmp_path / "autoscale.csv").set_index("config")
    assert set(df.index) == {"fixed-16", "util-0.6", "backlog-0.6"}
    assert (df["tasks_lost"] == 0).all()
    for config in ("util-0.6", "backlog-0.6"):
        assert df.loc[config, "host_seconds"] < 0.8 * df.loc["fixed-16", "host_seconds"]
        assert df.loc[config, "energy_joules"] < df.loc["fixed-16", "energy_joules"]
    assert (df["energy_joules"] > 0).all()
