"""Chaos test of fulcrum's real mode (docs/testing.md, "Chaos testing").

Starts a cluster — one scheduler on a file journal (default) or scheduler replicas on a
3-node ZooKeeper ensemble (--zk) —, workers, and a client that submits tasks throughout,
then runs rounds of faults chosen by a seeded RNG:

  * SIGKILL of the leader (file mode: the scheduler, restarted on its journal at once;
    ZooKeeper mode: the leader replica, restarted at the heal; it rejoins as a standby),
  * SIGKILL of a worker (restarted under the same name) or SIGSTOP of a worker (SIGCONT later),
  * network partitions, made with blackhole routes between network namespaces the test
    creates itself (one namespace per host, all joined by a bridge in a hub namespace,
    127.43.0.0/24 addresses on the veths, route_localnet=1 inside those namespaces only):
    a worker cut off from the scheduler(s), the scheduler cut off from every worker (file
    mode), the leader replica cut off from ZooKeeper and the other replicas (--zk),
  * --zk: SIGKILL of one ZooKeeper server, or one cut off from the other two.

Afterwards every fault is healed, the client stops, and the history is recorded once
every accepted task is terminal: the client's submissions, `fulcrum status` of the
accepted tasks, the execution log, the leader's metrics and (file mode) the journal as
`fulcrum journal dump --json` prints it. The recording is saved as history.json in the
work folder; the checker, a pure function of it, then verifies, from independent sources:

  * the client's history: every submission acknowledged with task ids, no task id handed
    out twice (an acknowledged submission forgotten by a restarted scheduler);
  * the scheduler's records (`fulcrum status` of each accepted task): finished;
  * file mode: the journal itself, read record by record: exactly one TaskFinished per
    accepted task, no TaskFailed; the scheduler's fulcrum_tasks_finished_total (rebuilt
    from the journal after every restart) equals the number of finished tasks;
  * the execution log each task appends its token to: every finished task ran at least
    once (re-executions after a fault are allowed: execution is at-least-once, completion
    records exactly-once). Submissions whose reply was lost (indeterminate) may or may
    not have been accepted; they are reported, not counted as acknowledged.

Failover time = the leader's SIGKILL -> the first dispatch by the new leader (its
fulcrum_tasks_dispatched_total leaving 0, polled every 10 ms on /metrics); p50/p99 over
the rounds. Every process, namespace and temporary folder the test makes is removed at
the end, also on failure or Ctrl-C. Exit status: 0 when the history is clean, 1 when a
check failed, 2 on a setup error, 77 when --zk is asked for without ZooKeeper or a
binary with `scheduler --zk`.

  /usr/bin/python3 real/chaos/chaos.py --binary build/fulcrum --rounds 3 --quick
  /usr/bin/python3 real/chaos/chaos.py --binary build/fulcrum --rounds 100 --seed 1 --json out.json
  /usr/bin/python3 real/chaos/chaos.py --check-history WORKDIR/history.json   # the checker alone

Modules: common (helpers), net (hosts: namespaces or one loopback address), cluster
(processes and probes), nemesis (the faults), history (the client and the recording),
checker (the verdict, a pure function of a history), cli (the command line).
"""
