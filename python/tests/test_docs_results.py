"""docs/results.md against what fulcrum writes.

The page's tables whose header starts with "column", "field" or "kind" list names, one per
row, in backticks in the first cell; each table belongs to the heading above it
("## `tasks.csv`" -> section "tasks.csv"). This test runs a few examples (a plain one,
faults, a DAG, autoscaling; once with --format batsim; a compare --out; the scheduler
daemon's own events.csv; the Python API) and checks both ways: every column and key they
produce is documented in its section, and every documented one is produced by some run.
Event kinds are checked against the runs one way (the runs cannot produce every kind) and
against the source code the other way.
"""

import csv
import json
import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import fulcrum

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGE = os.path.join(REPO, "docs", "results.md")
BINARY = os.environ.get("FULCRUM_BINARY") or fulcrum._fulcrum_binary()
RUN_FILES = ["tasks.csv", "workers.csv", "jobs.csv", "events.csv", "summary.json"]
EXAMPLES = ["mm1_random", "faults", "heft_topcuoglu", "autoscale_diurnal"]
# Where the drivers name event kinds: notices, fault events, and the drivers' own.
KIND_SOURCES = ["core/notice.cc", "model/faults.cc", "sim/faults.cc", "sim/host_model.cc", "sim/failover.cc",
                "real/local_run.cc", "real/scheduler_daemon.cc", "real/scheduler_autoscale.cc",
                "real/scheduler_replica.cc"]
SMALL = {"workload.tasks": 200}


def documented():
    """{section: [(name, line)]} from the page's name tables."""
    sections = {}
    heading = None
    in_code = False
    table = None  # the name list of the table being read, or None
    with open(PAGE, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for number, line in enumerate(lines, 1):
        if line.strip().startswith("```"):
            in_code = not in_code
        if in_code:
            continue
        m = re.match(r"#+\s+(.*)", line)
        if m:
            heading = m.group(1).replace("`", "").strip()
            table = None
            continue
        if not line.startswith("|"):
            table = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if table is None:
            if cells[0] in ("column", "field", "kind"):
                assert heading not in sections, f"{PAGE}:{number}: a second name table under '{heading}'"
                table = sections.setdefault(heading, [])
            else:
                table = False  # some other table: ignored
            continue
        if table is False or set(cells[0]) <= set("-: "):
            continue
        m = re.fullmatch(r"`([^`]+)`", cells[0])
        assert m, f"{PAGE}:{number}: the first cell of a row under '{heading}' must be a name in backticks"
        table.append((m.group(1), number))
    return sections


DOC = documented()


def names(section):
    assert section in DOC, f"{PAGE}: no table of names under a heading '{section}'"
    return [n for n, _ in DOC[section]]


def line_of(section, name):
    return dict(DOC[section])[name]


def check_both_ways(section, produced_by):
    """produced_by: {name: [where it was produced]} (ordered). Fails naming each missing name."""
    doc = names(section)
    problems = [f"{section}: '{name}' is produced ({', '.join(where[:2])}) but not documented in "
                f"docs/results.md under '{section}'" for name, where in produced_by.items() if name not in doc]
    problems += [f"docs/results.md:{line_of(section, name)}: '{name}' is documented under '{section}' "
                 f"but no run produced it" for name in doc if name not in produced_by]
    assert not problems, "\n".join(problems)


def fulcrum_cli(*args, cwd=REPO):
    p = subprocess.run([BINARY, *args], capture_output=True, text=True, cwd=cwd, timeout=300)
    assert p.returncode == 0, f"fulcrum {' '.join(args)}: {p.stderr}"
    return p


def header(path):
    with open(path, newline="") as f:
        return next(csv.reader(f))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """{label: folder} of `fulcrum run --out` results, plus the compare folder."""
    base = tmp_path_factory.mktemp("results")
    out = {}
    for example in EXAMPLES:
        out[example] = base / example
        fulcrum_cli("run", f"examples/{example}.yaml", "--out", str(out[example]))
    out["batsim"] = base / "batsim"
    fulcrum_cli("run", "examples/heft_topcuoglu.yaml", "--format", "batsim", "--out", str(out["batsim"]))
    out["fairness"] = base / "fairness"
    fulcrum_cli("run", "examples/fairness.yaml", "--out", str(out["fairness"]))
    out["compare"] = base / "compare"
    fulcrum_cli("compare", "examples/faults.yaml", "--policies", "jsq,random", "--seeds", "2",
                "--out", str(out["compare"]))
    return out


def produced_columns(outputs, file_name, labels):
    produced = {}
    for label in labels:
        for column in header(outputs[label] / file_name):
            produced.setdefault(column, []).append(label)
    return produced


@pytest.mark.parametrize("file_name", ["tasks.csv", "workers.csv", "jobs.csv", "events.csv"])
def test_csv_columns_are_documented_both_ways(outputs, file_name):
    check_both_ways(file_name, produced_columns(outputs, file_name, EXAMPLES))
    for label in EXAMPLES:
        assert header(outputs[label] / file_name) == names(file_name), \
            f"{file_name} of {label}: the columns are not in the order the page lists them"


def test_batsim_jobs_columns_are_documented_both_ways(outputs):
    section = "jobs.csv with --format batsim"
    check_both_ways(section, produced_columns(outputs, "jobs.csv", ["batsim"]))
    assert header(outputs["batsim"] / "jobs.csv") == names(section)


def test_tenants_csv_is_documented_both_ways(outputs):
    check_both_ways("tenants.csv", {c: ["fairness"] for c in header(outputs["fairness"] / "tenants.csv")})
    assert header(outputs["fairness"] / "tenants.csv") == names("tenants.csv")
    assert not (outputs["mm1_random"] / "tenants.csv").exists(), "a run without tenants writes no tenants.csv"
    r = fulcrum.run(os.path.join(REPO, "examples", "fairness.yaml"), progress=False, **SMALL)
    assert list(r.tenants.columns) == names("tenants.csv"), "Result.tenants"


def test_summary_keys_are_documented_both_ways(outputs):
    produced = {}
    for label in EXAMPLES:
        with open(outputs[label] / "summary.json") as f:
            keys = list(json.load(f))
        assert keys == [k for k in names("summary.json") if k in keys], \
            f"summary.json of {label}: the keys are not in the order the page lists them"
        for key in keys:
            produced.setdefault(key, []).append(label)
    check_both_ways("summary.json", produced)


def test_comparison_csv_is_documented_both_ways(outputs):
    path = outputs["compare"] / "comparison.csv"
    check_both_ways("comparison.csv", {c: ["compare"] for c in header(path)})
    with open(path, newline="") as f:
        metrics = {row["metric"] for row in csv.DictReader(f)}
    unknown = sorted(metrics - set(names("summary.json")))
    assert not unknown, f"comparison.csv metrics that are not summary.json fields on the page: {unknown}"


def test_daemon_events_csv_has_the_documented_columns(tmp_path):
    journal, port_file = tmp_path / "journal", tmp_path / "port"
    daemon = subprocess.Popen([BINARY, "scheduler", "--journal", str(journal), "--port-file", str(port_file)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not port_file.exists():
            assert daemon.poll() is None, f"fulcrum scheduler exited: {daemon.stderr.read().decode()}"
            assert time.monotonic() < deadline, "fulcrum scheduler did not start within 20 s"
            time.sleep(0.02)
    finally:
        daemon.terminate()
        daemon.wait(timeout=20)
    # The header is buffered until the first event or the daemon's exit.
    columns = header(journal / "events.csv")
    check_both_ways("events.csv", {c: ["JOURNAL/events.csv"] for c in columns})


def test_event_kinds_the_runs_wrote_are_documented(outputs):
    doc = names("Event kinds")
    seen = {}
    for label in EXAMPLES:
        with open(outputs[label] / "events.csv", newline="") as f:
            for row in csv.DictReader(f):
                seen.setdefault(row["kind"], label)
    missing = sorted(f"'{k}' (in {label}'s events.csv)" for k, label in seen.items() if k not in doc)
    assert not missing, "event kinds written but not documented under 'Event kinds': " + ", ".join(missing)
    assert {"crash", "worker_dead", "leader_kill", "scale_out", "worker_retired"} <= set(seen), \
        "the example runs no longer exercise faults and autoscaling"


def test_documented_event_kinds_exist_in_the_code():
    text = ""
    for source in KIND_SOURCES:
        with open(os.path.join(REPO, source), encoding="utf-8") as f:
            text += f.read()
    missing = [f"docs/results.md:{line_of('Event kinds', k)}: '{k}'" for k in names("Event kinds")
               if f'"{k}"' not in text]
    assert not missing, ("documented event kinds that no driver writes (no \"kind\" literal in "
                         + ", ".join(KIND_SOURCES) + "): " + ", ".join(missing))


def test_python_frames_have_the_documented_columns():
    r = fulcrum.run(None, progress=False, **SMALL)
    for frame, file_name in [(r.tasks, "tasks.csv"), (r.workers, "workers.csv"), (r.jobs, "jobs.csv"),
                             (r.events, "events.csv")]:
        assert list(frame.columns) == names(file_name), f"Result DataFrame for {file_name}"
    metrics = [k for k in names("summary.json") if k not in ("scenario", "policy", "seed")]
    assert list(r.summary) == metrics, "Result.summary keys"

    sc = fulcrum.load_scenario(None, SMALL)
    tidy = fulcrum.compare(sc, ["jsq", "random"], seeds=1, progress=False)
    assert list(tidy.columns) == names("comparison.csv"), "fulcrum.compare columns"
    assert list(tidy[tidy["policy"] == "jsq"]["metric"]) == metrics, "fulcrum.compare: one row per summary metric"

    with ThreadPoolExecutor(1) as pool:
        rows = fulcrum.sweep(sc, {"workload.rate": [7]}, ["jsq"], seeds=1, executor=pool, progress=False)
    assert list(rows.columns) == ["workload.rate"] + names("fulcrum.sweep") + metrics, "fulcrum.sweep columns"
