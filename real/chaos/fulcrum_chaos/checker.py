"""The history checker: decides, from a recorded history alone (history.py describes it),
whether a task was lost or completed twice. A pure function: no process, file or clock,
so a saved history.json can be judged again, and unit tests feed it small hand-made ones
(real/chaos/tests/)."""


def percentile(values, p):
    """Nearest-rank percentile."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))
    return v[k]


def _by_task(counts):
    """{task id: value} with int keys (a saved history has them as strings)."""
    return {int(t): v for t, v in counts.items()}


def check(history):
    """The summary of a history: the figures, "problems" (each violation found, in words)
    and "ok" (no problem)."""
    zk = history["mode"] == "zookeeper"
    client = history["client"]
    accepted = client["accepted"]
    indeterminate = client["indeterminate"]
    problems = []
    ids = [t for ts in accepted.values() for t in ts]
    token_of = {}
    overwritten = []  # accepted submissions whose task id was handed out again: lost
    for token, ts in accepted.items():
        for t in ts:
            if t in token_of:
                problems.append(f"task id {t} acknowledged twice ({token_of[t]}, {token})")
                overwritten.append(token_of[t])
            token_of[t] = token

    # Quiescence: no task left blocked, pending, queued or running on the leader.
    live = history["live_tasks"]
    if live != 0:
        problems.append(f"not quiescent after {history['drain_timeout_s']} s: {live} tasks still live on the leader")
    # The scheduler's answer for the tasks it was asked about.
    states = _by_task(history["statuses"])
    not_finished = {t: s for t, s in states.items() if s != "finished"}
    for t, s in sorted(not_finished.items())[:20]:
        problems.append(f"task {t} ({token_of.get(t, 'no token')}) is {s}, not finished")

    # Executions: each token appended once per run of its task.
    runs = history["executions"]
    never_ran = [t for t in ids if t not in not_finished and runs.get(token_of[t], 0) == 0]
    for t in never_ran[:20]:
        problems.append(f"task {t} ({token_of[t]}) finished but never ran")
    reexecuted = sum(1 for t in ids if runs.get(token_of[t], 0) > 1)
    indeterminate_tokens = {tok for tok, _ in indeterminate}
    accepted_unacked = sum(1 for tok in indeterminate_tokens if runs.get(tok, 0) > 0)

    # The leader's view and, in file mode, the journal itself.
    finished_total = history["finished_total"]
    journal = None
    if not zk:
        finished = _by_task(history["journal"]["finished"])
        failed = _by_task(history["journal"]["failed"])
        not_finished.update({t: "not finished in the journal" for t in ids if finished.get(t, 0) == 0})
        dup = {t: n for t, n in finished.items() if n > 1}
        missing = [t for t in ids if finished.get(t, 0) == 0]
        for t, n in sorted(dup.items())[:20]:
            problems.append(f"task {t}: {n} TaskFinished records in the journal")
        for t in missing[:20]:
            problems.append(f"task {t} ({token_of[t]}): no TaskFinished record in the journal")
        for t in sorted(set(failed) & set(ids))[:20]:
            problems.append(f"task {t}: a TaskFailed record in the journal")
        extra = set(finished) - set(ids)
        if len(extra) > len(indeterminate):
            problems.append(f"{len(extra)} finished tasks nobody was told about, but only "
                            f"{len(indeterminate)} indeterminate submissions")
        journal = {"finished_records": sum(finished.values()), "distinct_finished": len(finished),
                   "duplicates": len(dup), "missing": len(missing), "failed_records": sum(failed.values()),
                   "finished_without_ack": len(extra)}
        if finished_total is not None and finished_total != len(finished):
            problems.append(f"fulcrum_tasks_finished_total {finished_total:g} != {len(finished)} tasks "
                            f"finished in the journal")
    elif finished_total is not None:
        # The new leader rebuilds the total from the journal in ZooKeeper: a completion
        # journaled twice would show as more than the tasks there can be.
        finished_accepted = len(set(ids)) - len(not_finished)
        if finished_total < finished_accepted:
            problems.append(f"fulcrum_tasks_finished_total {finished_total:g} < {finished_accepted} finished accepted tasks")
        if finished_total > len(set(ids)) + len(indeterminate):
            problems.append(f"fulcrum_tasks_finished_total {finished_total:g} > accepted + indeterminate submissions "
                            f"({len(set(ids))} + {len(indeterminate)}): a completion counted twice")

    fo = history["failovers"]
    if history["failover_misses"]:
        problems.append(f"{history['failover_misses']} leader kills without a dispatch by a new leader within "
                        f"{history['failover_timeout_s']:g} s")
    return {
        "mode": history["mode"],
        "netns": history["netns"],
        "rounds": history["rounds"],
        "seed": history["seed"],
        "faults": sum(1 for e in history["events"] if e[2].startswith(("SIGKILL", "SIGSTOP", "partition"))),
        "submissions": client["submissions"],
        "accepted_tasks": len(ids),
        "refused_submissions": client["refused"],
        "slow_submissions": client["slow"],
        "indeterminate_submissions": len(indeterminate),
        "indeterminate_that_ran": accepted_unacked,
        "indeterminate_examples": [f"{tok}: {why}" for tok, why in indeterminate[:5]],
        "status_checked": len(states),
        "finished": len(set(ids)) - len(not_finished),
        "lost": len(not_finished) + len(overwritten),
        "duplicated": (journal or {}).get("duplicates", 0),
        "reexecuted": reexecuted,
        "journal": journal,
        "fulcrum_tasks_finished_total": finished_total,
        "failover_samples": len(fo),
        "failover_misses": history["failover_misses"],
        "failover_p50_s": round(percentile(fo, 50), 3) if fo else None,
        "failover_p99_s": round(percentile(fo, 99), 3) if fo else None,
        "failover_max_s": round(max(fo), 3) if fo else None,
        "grace_s": history["grace_s"],
        "problems": problems,
        "ok": not problems,
    }



def print_summary(s):
    print(f"chaos: {s['mode']} mode, {'network namespaces' if s['netns'] else 'no namespaces'}, "
          f"{s['rounds']} rounds (seed {s['seed']}), {s['faults']} faults")
    print(f"  submissions {s['submissions']}: accepted tasks {s['accepted_tasks']}, refused {s['refused_submissions']}, "
          f"indeterminate {s['indeterminate_submissions']} (ran: {s['indeterminate_that_ran']})")
    print(f"  finished {s['finished']}, lost {s['lost']}, duplicated {s['duplicated']}, "
          f"re-executed {s['reexecuted']} (at-least-once execution); `fulcrum status` asked for "
          f"{s['status_checked']} tasks")
    if s["journal"]:
        j = s["journal"]
        print(f"  journal: {j['finished_records']} TaskFinished records for {j['distinct_finished']} tasks, "
              f"{j['failed_records']} TaskFailed, {j['missing']} accepted tasks missing")
    if s["failover_samples"]:
        print(f"  failover (leader SIGKILL -> first dispatch by the new leader, grace {s['grace_s']} s): "
              f"n={s['failover_samples']} p50 {s['failover_p50_s']:.3f} s, p99 {s['failover_p99_s']:.3f} s, "
              f"max {s['failover_max_s']:.3f} s")
    for p in s["problems"]:
        print(f"  PROBLEM: {p}")
    print("  OK" if s["ok"] else "  FAILED")

