#!/usr/bin/env bash
# enforcement_overhead.sh FULCRUM MODE [N]: what enforcing task requests costs a command.
# Starts a scheduler and one 2-slot worker with --enforce MODE (none, rlimit, cgroup_v1,
# cgroup_v2, auto) on 127.0.0.1, submits N (default 400) `true` commands as one job, and
# prints MODE, the tasks finished and the seconds from the first start to the last end,
# read from the scheduler's journal. Stops both daemons and removes its folder on exit.
#   real/bench/enforcement_overhead.sh build/fulcrum none
#   real/bench/enforcement_overhead.sh build/fulcrum cgroup_v1
set -euo pipefail
F=$1
MODE=$2
N=${3:-400}
d=$(mktemp -d)
S=
W=
trap 'kill $W $S 2>/dev/null; wait 2>/dev/null; rm -rf "$d"' EXIT
"$F" scheduler --listen 127.0.0.1:0 --journal "$d/j" --port-file "$d/port" &
S=$!
while [ ! -s "$d/port" ]; do sleep 0.05; done
P=$(cat "$d/port")
"$F" worker --scheduler "127.0.0.1:$P" --slots 2 --enforce "$MODE" --quiet &
W=$!
sleep 0.5
python3 -c 'import json, sys; print(json.dumps({"tasks": [{"command": "true"}] * int(sys.argv[1])}))' "$N" >"$d/job.json"
"$F" submit --scheduler "127.0.0.1:$P" --file "$d/job.json" >/dev/null
until [ "$("$F" journal dump --json "$d/j" | grep -c '"type": *"TaskFinished"')" -ge "$N" ]; do sleep 0.2; done
"$F" journal dump --json "$d/j" | python3 -c '
import json, sys
done = [r for r in map(json.loads, sys.stdin) if r["type"] == "TaskFinished"]
print(sys.argv[1], len(done), "tasks", round(max(r["end"] for r in done) - min(r["start"] for r in done), 2), "s")' "$MODE"
