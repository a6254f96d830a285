#!/usr/bin/env bash
# The CLI's contract on bad input: a clear message naming file, line and key, exit code 2,
# never a crash or a hang. And its happy paths: run writes the three result files,
# compare prints one row per policy.
# Usage: cli/tests/cli_test.sh path/to/fulcrum
set -uo pipefail
FULCRUM=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# expect_error CODE PATTERN -- ARGS...: runs fulcrum ARGS, wants exit CODE and PATTERN on stderr.
expect_error() {
  local code=$1 pattern=$2
  shift 3
  local err
  err=$(timeout 20 "$FULCRUM" "$@" 2>&1 >/dev/null)
  local rc=$?
  if [ "$rc" -ne "$code" ] || ! grep -qE -- "$pattern" <<<"$err"; then
    echo "FAIL: fulcrum $*: exit $rc (want $code), stderr: $err (want /$pattern/)" >&2
    failures=$((failures + 1))
  else
    echo "ok: fulcrum $* -> $rc: $err" | head -1
  fi
}

cat >"$tmp/typo.yaml" <<'Y'
seed: 1
cluster:
  hosts:
    - {count: 2, speed: 1e9}
  queue_kap: 0
workload: {rate: 1, tasks: 10}
Y
expect_error 2 "typo.yaml:5: .*queue_kap" -- validate "$tmp/typo.yaml"

cat >"$tmp/negative.yaml" <<'Y'
cluster:
  hosts:
    - {count: -3}
workload: {rate: 1, tasks: 10}
Y
expect_error 2 "negative.yaml:3: cluster.hosts\[0\].count" -- run "$tmp/negative.yaml"

cat >"$tmp/policy.yaml" <<'Y'
cluster: {hosts: [{count: 2}]}
workload: {rate: 1, tasks: 10}
policy: fastest_first
Y
expect_error 2 "policy.yaml:3: policy: .*unknown policy 'fastest_first'" -- run "$tmp/policy.yaml"

# What local processes cannot emulate is bad input for --mode real, refused before any daemon starts.
cat >"$tmp/zones.yaml" <<'Y'
cluster:
  hosts: [{count: 2, zone: a}]
  zones: {a: {latency: 0.001}}
workload: {rate: 1, tasks: 10}
Y
expect_error 2 "zones.yaml: cluster.zones: the latency and bandwidth between zones" -- run --mode real "$tmp/zones.yaml"
expect_error 2 "no_such.yaml: cannot read" -- run "$tmp/no_such.yaml"
expect_error 2 "cannot read|No such file" -- compare "$tmp/no_such.yaml"
expect_error 2 "power_of_d" -- compare --policies "jsq,power_of_d:d=0" --set workload.tasks=10
expect_error 2 "workload.rate" -- run --set workload.rate=-1
expect_error 2 "expected key.path=value" -- run --set workload.rate
printf 'cluster: {hosts: [{count: 2}\nworkload: [' >"$tmp/syntax.yaml"
expect_error 2 "syntax.yaml:[0-9]+" -- validate "$tmp/syntax.yaml"
expect_error 2 "" -- run --no-such-flag
printf '{"tasks": [{"id": "a", "flops": 1}, {"id": "b", "flops": 1}], "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "a"}]}' >"$tmp/cycle.json"
printf 'cluster: {hosts: [{count: 2}]}\nworkload: {type: dag, file: cycle.json}\n' >"$tmp/dag.yaml"
expect_error 2 "cycle.json.*cycle: " -- validate "$tmp/dag.yaml"
expect_error 2 "no_such_journal: cannot open" -- journal dump "$tmp/no_such_journal"
expect_error 2 "not a fulcrum journal" -- journal dump "$tmp/dag.yaml"
expect_error 2 "PATH or --zk" -- journal dump
# Real-mode job requests (docs/real/index.md): refused before any scheduler is contacted.
expect_error 2 "--request: memory: '4Gb': unknown unit 'Gb'" -- submit --request cores=1,memory=4Gb -- true
expect_error 2 "--request: 'gpus' is not NAME=AMOUNT" -- submit --request gpus -- true
expect_error 2 "--require: 'ssd' is not KEY=VALUE" -- submit --require ssd -- true
printf '{"tasks": [{"command": "true", "request": {"memory": "12 parsecs"}}]}' >"$tmp/job.json"
expect_error 2 "job.json: tasks\[0\].request.memory: '12 parsecs': unknown unit" -- submit --file "$tmp/job.json"
printf '{"tasks": [{"command": "true"}, {"command": "true", "spread": "rack"}]}' >"$tmp/job.json"
expect_error 2 "job.json: tasks\[1\].spread: must be \"zone\", \"host\" or \"none\"" -- submit --file "$tmp/job.json"
printf '{"tasks": [{"command": "true", "require": {"disk": ["ssd"]}}]}' >"$tmp/job.json"
expect_error 2 "job.json: tasks\[0\].require.disk: must be a string" -- submit --file "$tmp/job.json"
printf '{"tasks": [{"command": "true", "request": {"cores": -2}}]}' >"$tmp/job.json"
expect_error 2 "job.json: tasks\[0\].request.cores: must be a finite number >= 0" -- submit --file "$tmp/job.json"
expect_error 2 "--request and --require are for a command" -- submit --file "$tmp/job.json" --request cores=2

# Happy paths.
if ! "$FULCRUM" run --set workload.tasks=200 --out "$tmp/out" >"$tmp/summary.txt" ||
   [ ! -s "$tmp/out/tasks.csv" ] || [ ! -s "$tmp/out/workers.csv" ] || [ ! -s "$tmp/out/summary.json" ] ||
   ! grep -q '"tasks_completed": 200' "$tmp/out/summary.json"; then
  echo "FAIL: run --out did not write complete results" >&2
  failures=$((failures + 1))
fi
rows=$("$FULCRUM" compare --policies "jsq,power_of_d:d=2,random" --seeds 2 --set workload.tasks=300 2>/dev/null |
       grep -cE "^(jsq|power_of_d:d=2|random) ")
if [ "$rows" -ne 3 ]; then
  echo "FAIL: compare printed $rows policy rows, want 3" >&2
  failures=$((failures + 1))
fi
# Every command's --help ends with an example (the list of commands is read from --help).
commands=$("$FULCRUM" --help | awk '/^Subcommands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{on=0}')
if [ -z "$commands" ] || ! "$FULCRUM" --help | grep -q "^Example: fulcrum "; then
  echo "FAIL: fulcrum --help lists no commands or shows no example" >&2
  failures=$((failures + 1))
fi
# Subcommands of subcommands too.
if ! "$FULCRUM" journal dump --help | grep -q "^Example: fulcrum journal dump"; then
  echo "FAIL: fulcrum journal dump --help shows no example" >&2
  failures=$((failures + 1))
fi
for c in $commands; do
  if ! "$FULCRUM" "$c" --help | grep -q "^Example: fulcrum $c"; then
    echo "FAIL: fulcrum $c --help shows no example of fulcrum $c" >&2
    failures=$((failures + 1))
  fi
done
exit $((failures > 0))
