"""Unit tests of the chaos test's history checker (real/chaos/fulcrum_chaos/checker.py) on
small saved histories (histories/*.json), and of the reading of `fulcrum journal dump
--json`. Standard library only:

  /usr/bin/python3 -m unittest discover -s real/chaos/tests -v      (ctest chaos_checker_test)
"""

import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from fulcrum_chaos.checker import check, percentile  # noqa: E402
from fulcrum_chaos.history import count_journal_records, load_history, save_history  # noqa: E402


def saved(name):
    return load_history(os.path.join(HERE, "histories", name))


def problems_matching(summary, text):
    return [p for p in summary["problems"] if text in p]


class CleanRuns(unittest.TestCase):
    def test_a_clean_file_journal_run_passes(self):
        s = check(saved("clean_file.json"))
        self.assertEqual(s["problems"], [])
        self.assertTrue(s["ok"])
        self.assertEqual((s["accepted_tasks"], s["finished"], s["lost"], s["duplicated"]), (3, 3, 0, 0))
        self.assertEqual(s["reexecuted"], 1)  # tok000002 ran twice: at-least-once execution is allowed
        self.assertEqual(s["journal"], {"finished_records": 3, "distinct_finished": 3, "duplicates": 0, "missing": 0,
                                        "failed_records": 0, "finished_without_ack": 0})
        self.assertEqual(s["faults"], 2)  # the SIGSTOP and the SIGKILL
        self.assertEqual(s["failover_p50_s"], 1.043)
        self.assertEqual(s["indeterminate_submissions"], 1)

    def test_a_clean_zookeeper_run_passes(self):
        s = check(saved("clean_zk.json"))
        self.assertEqual(s["problems"], [])
        self.assertTrue(s["ok"])
        self.assertIsNone(s["journal"])
        self.assertEqual((s["accepted_tasks"], s["finished"], s["status_checked"], s["faults"]), (3, 3, 3, 3))

    def test_int_and_string_task_ids_give_the_same_verdict(self):
        # A history checked in memory has int task ids; a saved one has strings.
        h = saved("finished_twice.json")
        in_memory = copy.deepcopy(h)
        in_memory["statuses"] = {int(t): v for t, v in h["statuses"].items()}
        in_memory["journal"]["finished"] = {int(t): v for t, v in h["journal"]["finished"].items()}
        self.assertEqual(check(in_memory), check(h))

    def test_a_saved_history_reads_back_equal(self):
        h = saved("clean_file.json")
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "history.json")
            save_history(path, h)
            self.assertEqual(load_history(path), h)
            with open(path, "w") as f:
                json.dump({"format": 99}, f)
            with self.assertRaises(ValueError):
                load_history(path)


class Findings(unittest.TestCase):
    def test_a_lost_task_is_flagged(self):
        s = check(saved("lost_task.json"))
        self.assertFalse(s["ok"])
        self.assertEqual(s["lost"], 1)
        self.assertTrue(problems_matching(s, "task 2 (tok000003) is unknown"), s["problems"])
        self.assertTrue(problems_matching(s, "task 2 (tok000003): no TaskFinished record in the journal"))
        self.assertEqual(s["journal"]["missing"], 1)

    def test_a_task_finished_twice_is_flagged(self):
        s = check(saved("finished_twice.json"))
        self.assertFalse(s["ok"])
        self.assertEqual(s["duplicated"], 1)
        self.assertEqual(problems_matching(s, "TaskFinished records"), ["task 1: 2 TaskFinished records in the journal"])
        # The leader's total counts tasks, the journal holds 4 records for 3 tasks.
        self.assertEqual(s["journal"]["finished_records"], 4)

    def test_a_task_failed_record_is_flagged(self):
        s = check(saved("task_failed.json"))
        self.assertFalse(s["ok"])
        self.assertEqual(s["problems"], ["task 0: a TaskFailed record in the journal"])

    def test_a_task_id_acknowledged_twice_is_flagged(self):
        # What ctest chaos_detects_loss looks for after --sabotage wipe-journal.
        s = check(saved("acked_twice.json"))
        self.assertFalse(s["ok"])
        self.assertIn("task id 0 acknowledged twice (tok000001, tok000004)", s["problems"])
        self.assertEqual(s["lost"], 1)

    def test_a_finished_task_that_never_ran_is_flagged(self):
        h = saved("clean_file.json")
        del h["executions"]["tok000003"]
        s = check(h)
        self.assertEqual(s["problems"], ["task 2 (tok000003) finished but never ran"])

    def test_a_task_not_finished_per_status_is_flagged(self):
        h = saved("clean_zk.json")
        h["statuses"]["1"] = "running"
        s = check(h)
        self.assertIn("task 1 (tok000002) is running, not finished", s["problems"])
        self.assertEqual(s["lost"], 1)

    def test_no_quiescence_is_flagged(self):
        h = saved("clean_file.json")
        h["live_tasks"] = 2
        self.assertEqual(check(h)["problems"], ["not quiescent after 60.0 s: 2 tasks still live on the leader"])
        h["live_tasks"] = None  # no leader answered
        self.assertFalse(check(h)["ok"])

    def test_a_leader_kill_without_failover_is_flagged(self):
        h = saved("clean_file.json")
        h["failover_misses"] = 1
        self.assertEqual(check(h)["problems"],
                         ["1 leader kills without a dispatch by a new leader within 60 s"])

    def test_the_leaders_total_must_match_the_journal(self):
        h = saved("clean_file.json")
        h["finished_total"] = 4.0
        self.assertEqual(check(h)["problems"],
                         ["fulcrum_tasks_finished_total 4 != 3 tasks finished in the journal"])
        h["finished_total"] = None  # no leader to ask: nothing to compare
        self.assertTrue(check(h)["ok"])

    def test_more_unacknowledged_completions_than_indeterminate_submissions(self):
        h = saved("clean_file.json")
        h["journal"]["finished"].update({"7": 1, "8": 1})  # 2 tasks nobody was told about, 1 indeterminate
        h["finished_total"] = 5.0
        s = check(h)
        self.assertEqual(s["problems"], ["2 finished tasks nobody was told about, but only 1 indeterminate submissions"])
        h["journal"]["finished"].pop("8")
        h["finished_total"] = 4.0
        self.assertTrue(check(h)["ok"])

    def test_zookeeper_totals_out_of_bounds(self):
        h = saved("clean_zk.json")
        h["finished_total"] = 4.0  # 3 accepted + 0 indeterminate
        self.assertEqual(check(h)["problems"],
                         ["fulcrum_tasks_finished_total 4 > accepted + indeterminate submissions (3 + 0): "
                          "a completion counted twice"])
        h["finished_total"] = 2.0
        self.assertEqual(check(h)["problems"], ["fulcrum_tasks_finished_total 2 < 3 finished accepted tasks"])


class JournalDump(unittest.TestCase):
    def test_counts_finished_and_failed_records_of_the_json_lines(self):
        with open(os.path.join(HERE, "journal_dump.jsonl")) as f:
            finished, failed = count_journal_records(f.read().splitlines())
        self.assertEqual(finished, {0: 1, 1: 2})
        self.assertEqual(failed, {2: 1})


class Percentile(unittest.TestCase):
    def test_nearest_rank(self):
        self.assertIsNone(percentile([], 50))
        self.assertEqual(percentile([3, 1, 2], 50), 2)
        self.assertEqual(percentile(list(range(1, 101)), 99), 99)
        self.assertEqual(percentile([5], 99), 5)


class CheckHistoryCommand(unittest.TestCase):
    def run_chaos(self, *argv):
        chaos = os.path.join(os.path.dirname(HERE), "chaos.py")
        return subprocess.run([sys.executable, chaos, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=60)

    def test_exit_status_and_summary(self):
        ok = self.run_chaos("--check-history", os.path.join(HERE, "histories", "clean_file.json"))
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIn("  OK", ok.stdout)
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "summary.json")
            bad = self.run_chaos("--check-history", os.path.join(HERE, "histories", "acked_twice.json"), "--json", out)
            self.assertEqual(bad.returncode, 1, bad.stderr)
            self.assertIn("PROBLEM: task id 0 acknowledged twice", bad.stdout)
            with open(out) as f:
                self.assertFalse(json.load(f)["ok"])
        missing = self.run_chaos("--check-history", os.path.join(HERE, "no-such.json"))
        self.assertEqual(missing.returncode, 2)
        self.assertIn("no-such.json", missing.stderr)


if __name__ == "__main__":
    unittest.main()
