#!/usr/bin/env bash
# Usage: sim/bench/compare_bare.sh [TASKS] [HOSTS...]     (defaults: 100000, 100 1000 10000)
#
# Wall time of fulcrum's SimGrid driver next to a bare s4u program that does the same
# messages and executions with no scheduler (sim/bench/bare_s4u.cc). For each host count,
# runs `bare_s4u HOSTS TASKS LOAD` and `fulcrum run` on the equivalent scenario (HOSTS
# single-core hosts at 1e9 flop/s, Poisson arrivals at LOAD x HOSTS /s, exponential sizes
# of mean 1e9 flops) with policy round_robin (the same dispatches as bare) and
# power_of_d:d=2, and prints a table. The bare and round_robin makespans should be equal:
# both use the same arrival generator and seed.
#
# Environment: BUILD (default build), LOAD (default 0.8), REPEAT (default 1: runs each
# program that many times and reports the fastest, to damp noise from a busy machine),
# SEED (default 1; bare always uses the arrivals of seed 1, so keep it for the makespan
# check).
set -euo pipefail
cd "$(dirname "$0")/../.."

TASKS=${1:-100000}
shift || true
HOSTS_LIST=("$@")
((${#HOSTS_LIST[@]})) || HOSTS_LIST=(100 1000 10000)
BUILD=${BUILD:-build}
LOAD=${LOAD:-0.8}
SEED=${SEED:-1}
REPEAT=${REPEAT:-1}
BARE=$BUILD/bare_s4u
FULCRUM=$BUILD/fulcrum
for bin in "$BARE" "$FULCRUM"; do
  [ -x "$bin" ] || { echo "compare_bare: $bin not found (build first: scripts/setup.sh)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
json_field() { sed -n "s/^ *\"$1\": *\([^,]*\),\{0,1\}$/\1/p" "$2" | head -1; }

# run_timed OUT ERR CMD...: runs CMD REPEAT times, prints its best wall seconds, or FAIL
run_timed() {
  local out=$1 err=$2; shift 2
  local t0 t1 best="" i
  for ((i = 0; i < REPEAT; ++i)); do
    t0=$(now)
    if ! "$@" >"$out" 2>"$err"; then
      echo FAIL
      echo "compare_bare: failed: $* (see below)" >&2
      tail -5 "$err" >&2
      return
    fi
    t1=$(now)
    best=$(awk -v a="$t0" -v b="$t1" -v best="$best" 'BEGIN { t = b - a; if (best == "" || t < best) best = t; print best }')
  done
  printf "%.2f" "$best"
}

echo "# load $LOAD, best of $REPEAT, $(nproc) cores, uptime:$(uptime | sed 's/.*load average/ load average/')"
printf "%-7s %-9s %-8s %-13s %-15s %-10s %-11s %-14s %-14s\n" \
  hosts tasks bare_s fulcrum_rr_s fulcrum_pod2_s rr/bare pod2/bare bare_makespan rr_makespan
for HOSTS in "${HOSTS_LIST[@]}"; do
  rate=$(awk -v l="$LOAD" -v h="$HOSTS" 'BEGIN { printf "%.17g", l * h }')
  for policy in round_robin power_of_d:d=2; do
    cat >"$tmp/$HOSTS-${policy%%:*}.yaml" <<EOF
seed: $SEED
cluster:
  hosts:
    - {count: $HOSTS, speed: 1e9, slots: 1}
workload:
  type: poisson
  rate: $rate
  size: {dist: exponential, mean: 1e9}
  tasks: $TASKS
policy: "$policy"
EOF
  done
  bare_s=$(run_timed "$tmp/bare.out" "$tmp/bare.err" "$BARE" "$HOSTS" "$TASKS" "$LOAD")
  rr_s=$(run_timed "$tmp/rr.json" "$tmp/rr.err" "$FULCRUM" run "$tmp/$HOSTS-round_robin.yaml")
  pod_s=$(run_timed "$tmp/pod.json" "$tmp/pod.err" "$FULCRUM" run "$tmp/$HOSTS-power_of_d.yaml")
  bare_mk=$(sed -n 's/.*makespan=\([^ ]*\).*/\1/p' "$tmp/bare.out")
  rr_mk=$(json_field makespan "$tmp/rr.json")
  printf "%-7s %-9s %-8s %-13s %-15s %-10s %-11s %-14s %-14s\n" "$HOSTS" "$TASKS" "$bare_s" "$rr_s" "$pod_s" \
    "$(ratio "$rr_s" "$bare_s")" "$(ratio "$pod_s" "$bare_s")" "${bare_mk:--}" \
    "$(awk -v m="${rr_mk:-}" 'BEGIN { if (m == "") print "-"; else printf "%.6f", m }')"
done
