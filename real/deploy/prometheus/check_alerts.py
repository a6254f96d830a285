#!/usr/bin/python3
"""Checks real/deploy/prometheus/fulcrum-alerts.yml against live daemons (ctest
deploy_alert_rules): the rules are well-formed, and every fulcrum metric and label value
they name is one that a running scheduler or worker exposes on /metrics. A rule that
names a metric nobody exposes would never fire, silently.

  /usr/bin/python3 real/deploy/prometheus/check_alerts.py --binary build/fulcrum

Exit 0 when every rule checks out, 1 with the problems listed. Starts a scheduler (file
journal) and a worker on 127.0.0.1 and stops them at the end.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DURATION = re.compile(r"^[0-9]+[smhd]$")
METRIC = re.compile(r"\bfulcrum_[a-z_]+")
MATCHERS = re.compile(r"(fulcrum_[a-z_]+)\{([^}]*)\}")
LABEL = re.compile(r'([a-z_]+)\s*=\s*"([^"]*)"')


def parse_exposition(text):
    """{family: type} and [(name, {label: value})] of a Prometheus 0.0.4 exposition."""
    families, samples = {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            families[name] = kind
        elif line and not line.startswith("#"):
            m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s", line)
            if m:
                samples.append((m.group(1), dict(LABEL.findall(m.group(3) or ""))))
    return families, samples


def check_rules(rules_doc, families, samples):
    problems = []
    groups = rules_doc.get("groups") if isinstance(rules_doc, dict) else None
    if not groups:
        return ["no `groups`"]
    names = set()
    for g in groups:
        for r in g.get("rules", []):
            alert = r.get("alert", "?")
            where = f"{g.get('name', '?')}/{alert}"
            if not re.match(r"^Fulcrum[A-Za-z]+$", alert):
                problems.append(f"{where}: alert name should be FulcrumCamelCase")
            if alert in names:
                problems.append(f"{where}: alert name used twice")
            names.add(alert)
            expr = r.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                problems.append(f"{where}: no expr")
                continue
            if "for" in r and not DURATION.match(str(r["for"])):
                problems.append(f"{where}: `for: {r['for']}` is not a duration")
            if r.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
                problems.append(f"{where}: labels.severity must be critical, warning or info")
            if not r.get("annotations", {}).get("summary"):
                problems.append(f"{where}: no annotations.summary")
            if expr.count("(") != expr.count(")"):
                problems.append(f"{where}: unbalanced parentheses in expr")
            for metric in METRIC.findall(expr):
                base = re.sub(r"_(bucket|sum|count)$", "", metric)
                if metric not in families and not (base in families and families[base] == "histogram"):
                    problems.append(f"{where}: {metric} is not exposed by the scheduler or the worker")
            for metric, body in MATCHERS.findall(expr):
                for key, value in LABEL.findall(body):
                    if not any(n == metric and labels.get(key) == value for n, labels in samples):
                        problems.append(f'{where}: no sample of {metric} has {key}="{value}"')
    return problems


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def read_port(path, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                text = f.read().strip()
            if text:
                return int(text)
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{path} was not written")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--rules", default=os.path.join(HERE, "fulcrum-alerts.yml"))
    args = ap.parse_args()
    with open(args.rules) as f:
        rules_doc = yaml.safe_load(f)
    with open(os.path.join(HERE, "prometheus.yml.example")) as f:
        config = yaml.safe_load(f)
    problems = []
    if os.path.basename(args.rules) not in config.get("rule_files", []):
        problems.append("prometheus.yml.example does not load the rules file")

    procs = []
    with tempfile.TemporaryDirectory(prefix="fulcrum-alerts-") as tmp:
        try:
            sched = subprocess.Popen(
                [args.binary, "scheduler", "--listen", "127.0.0.1:0", "--journal", os.path.join(tmp, "j"),
                 "--port-file", os.path.join(tmp, "port"), "--metrics-port", "0",
                 "--metrics-port-file", os.path.join(tmp, "smetrics")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(sched)
            port = read_port(os.path.join(tmp, "port"))
            worker = subprocess.Popen(
                [args.binary, "worker", "--scheduler", f"127.0.0.1:{port}", "--name", "w", "--metrics-port", "0",
                 "--metrics-port-file", os.path.join(tmp, "wmetrics")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(worker)
            s_port, w_port = read_port(os.path.join(tmp, "smetrics")), read_port(os.path.join(tmp, "wmetrics"))
            families, samples = {}, []
            for p in (s_port, w_port):
                f, s = parse_exposition(scrape(p))
                families.update(f)
                samples += s
        finally:
            for p in procs:
                p.kill()
                p.wait()

    # The checker is not vacuous: a rule naming a metric nobody exposes, or a label value
    # no sample has, must be reported.
    bogus = {"groups": [{"name": "t", "rules": [
        {"alert": "FulcrumBogus", "expr": 'fulcrum_no_such_metric > 0 or fulcrum_workers{state="asleep"} > 0',
         "labels": {"severity": "info"}, "annotations": {"summary": "x"}}]}]}
    if len(check_rules(bogus, families, samples)) != 2:
        problems.append("the checker did not flag an unknown metric and an unknown label value")

    problems += check_rules(rules_doc, families, samples)
    count = sum(len(g.get("rules", [])) for g in rules_doc.get("groups", []))
    for p in problems:
        print(f"PROBLEM: {p}")
    print(f"alert rules: {count} checked against {len(families)} metric families; "
          f"{'OK' if not problems else f'{len(problems)} problems'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
