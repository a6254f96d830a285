#!/usr/bin/env bash
# Usage: core/bench/compare.sh BASE_CORE_BENCH HEAD_CORE_BENCH [ROUNDS]   (default 5 rounds)
#
# Side-by-side events/s of two core_bench builds (say, main's and a branch's, both built
# from the same core/bench/core_bench.cc), for the "no policy loses more than 5 %" check.
# Both binaries run with the same `--events`, so they do the same work on equally large
# task tables (see core_bench.cc); rounds alternate which runs first, and every run is
# pinned to one CPU (taskset, when there is one) so neither build is charged for the
# other's migrations. Prints, per benchmark, the median events/s of each side over the
# rounds and head/base; a ratio below 0.95 is flagged.
#
# Environment: EVENTS (default 600000 events per benchmark; weighted_round_robin at 10,000
# workers, which is O(workers) per decision, gets EVENTS/30), CPU (default 1), OUT (a
# folder for the JSON; default a fresh temporary one).
set -euo pipefail
BASE=${1:?usage: compare.sh BASE_CORE_BENCH HEAD_CORE_BENCH [ROUNDS]}
HEAD=${2:?usage: compare.sh BASE_CORE_BENCH HEAD_CORE_BENCH [ROUNDS]}
ROUNDS=${3:-5}
EVENTS=${EVENTS:-600000}
CPU=${CPU:-1}
OUT=${OUT:-$(mktemp -d -t core_bench_compare.XXXXXX)}
mkdir -p "$OUT"
for bin in "$BASE" "$HEAD"; do
  [ -x "$bin" ] || { echo "compare.sh: $bin is not an executable" >&2; exit 1; }
done
pin=()
if command -v taskset >/dev/null && taskset -c "$CPU" true 2>/dev/null; then pin=(taskset -c "$CPU"); fi

SLOW='^events/weighted_round_robin/workers:10000/'  # the name ends in /iterations:N
run() {  # run SIDE BIN ROUND
  "${pin[@]}" "$2" --events "$EVENTS" --benchmark_filter="-$SLOW" \
    --benchmark_out="$OUT/$1-$3-a.json" --benchmark_out_format=json >/dev/null
  "${pin[@]}" "$2" --events $((EVENTS / 30)) --benchmark_filter="$SLOW" \
    --benchmark_out="$OUT/$1-$3-b.json" --benchmark_out_format=json >/dev/null
}
for ((r = 1; r <= ROUNDS; ++r)); do
  if ((r % 2)); then run base "$BASE" "$r"; run head "$HEAD" "$r"
  else run head "$HEAD" "$r"; run base "$BASE" "$r"; fi
  echo "round $r/$ROUNDS done" >&2
done

/usr/bin/python3 - "$OUT" <<'EOF'
import glob, json, statistics, sys
out = sys.argv[1]
rate = {"base": {}, "head": {}}
for side in rate:
    for f in sorted(glob.glob(f"{out}/{side}-*.json")):
        for b in json.load(open(f))["benchmarks"]:
            name = b["run_name"].split("/iterations:")[0]
            rate[side].setdefault(name, []).append(b["items_per_second"])
print(f"{'benchmark':46s} {'base ev/s':>10s} {'head ev/s':>10s} {'head/base':>9s}")
worst = None
for name, base in rate["base"].items():
    b, h = statistics.median(base), statistics.median(rate["head"][name])
    worst = min(worst or h / b, h / b)
    flag = "  <-- more than 5 % slower" if h / b < 0.95 else ""
    print(f"{name:46s} {b/1e6:9.3f}M {h/1e6:9.3f}M {h/b:9.3f}{flag}")
print(f"lowest head/base: {worst:.3f}  (JSON in {out})")
EOF
