#!/bin/sh
# compare.sh: fulcrum's real mode against Dask distributed, same machine, same run, same
# no-op workload (8 workers x 1 slot on loopback; throughput, then latency at 50 % load).
#
# Usage: real/bench/compare.sh [BUILD_DIR] [FULCRUM_TASKS] [DASK_TASKS] [-- extra real_bench args]
#   BUILD_DIR      holds fulcrum and real_bench (default: build); this script builds nothing:
#                  cmake --build build -j2 --target fulcrum real_bench
#   FULCRUM_TASKS  no-op tasks for real_bench's throughput phase (default 200000)
#   DASK_TASKS     no-op tasks for dask_noop.py's throughput phase (default 20000)
# Needs Debian's python3-distributed for /usr/bin/python3. The two run one after the other
# (never at once: they would share the CPUs), fulcrum first; the load average is printed
# before each so that a busy machine shows. Prints both reports, then the ratios.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build}
fulcrum_tasks=${2:-200000}
dask_tasks=${3:-20000}
[ $# -ge 3 ] && shift 3 || shift $#
[ "${1:-}" = "--" ] && shift
case $build in /*) ;; *) build=$root/$build ;; esac

for f in "$build/fulcrum" "$build/real_bench"; do
  [ -x "$f" ] || { echo "compare.sh: $f is missing (cmake --build build -j2 --target fulcrum real_bench)" >&2; exit 2; }
done
/usr/bin/python3 -c 'import distributed' 2>/dev/null ||
  { echo "compare.sh: /usr/bin/python3 cannot import distributed (apt-get install python3-distributed)" >&2; exit 2; }

out=$(mktemp -d /tmp/fulcrum-compare-XXXXXX)
trap 'rm -rf "$out"' EXIT INT TERM

echo "== $(date -u +%FT%TZ) $(uname -n), $(nproc) cpus, uptime:$(uptime | sed 's/.*up/ up/')"
echo "== fulcrum: $build/real_bench $build/fulcrum --tasks $fulcrum_tasks $*"
"$build/real_bench" "$build/fulcrum" --tasks "$fulcrum_tasks" "$@" | tee "$out/fulcrum.txt"
echo
echo "== dask: /usr/bin/python3 $here/dask_noop.py --tasks $dask_tasks   (uptime:$(uptime | sed 's/.*load/ load/'))"
/usr/bin/python3 "$here/dask_noop.py" --tasks "$dask_tasks" | tee "$out/dask.txt"
echo

value() {  # value FILE KEY: KEY=VALUE from the file's RESULT line
  sed -n "s/^RESULT .*\b$2=\([^ ]*\).*/\1/p" "$1"
}
f_tput=$(value "$out/fulcrum.txt" fulcrum_tasks_per_s)
d_tput=$(value "$out/dask.txt" dask_tasks_per_s)
echo "== summary (load now:$(uptime | sed 's/.*load average://'))"
awk -v ft="$f_tput" -v dt="$d_tput" \
    -v fe50="$(value "$out/fulcrum.txt" e2e_p50_ms)" -v fe99="$(value "$out/fulcrum.txt" e2e_p99_ms)" \
    -v de50="$(value "$out/dask.txt" rtt_p50_ms)" -v de99="$(value "$out/dask.txt" rtt_p99_ms)" \
    -v fd50="$(value "$out/fulcrum.txt" dispatch_p50_ms)" -v fd99="$(value "$out/fulcrum.txt" dispatch_p99_ms)" \
    -v fr50="$(value "$out/fulcrum.txt" response_p50_ms)" -v fr99="$(value "$out/fulcrum.txt" response_p99_ms)" \
    -v ds50="$(value "$out/dask.txt" to_start_p50_ms)" -v ds99="$(value "$out/dask.txt" to_start_p99_ms)" 'BEGIN {
  printf "  %-46s %16s %16s %8s\n", "", "fulcrum", "dask", "ratio";
  printf "  %-46s %16.0f %16.0f %7.1fx\n", "no-op throughput, tasks/s (fulcrum/dask)", ft, dt, ft / dt;
  if (fe99 != "" && de99 != "") {
    printf "  %-46s %7.3f / %6.3f %7.3f / %6.3f %7.1fx\n", "submit -> done p50 / p99 ms (dask/fulcrum p99)",
           fe50, fe99, de50, de99, de99 / fe99;
    printf "  %-46s %7.3f / %6.3f %7.3f / %6.3f\n", "dispatch p50 / p99 ms (see notes)", fd50, fd99, ds50, ds99;
    printf "  %-46s %7.3f / %6.3f\n", "fulcrum response (end - submit) p50 / p99 ms", fr50, fr99;
    printf "  notes: latencies at 50 %% of each system'"'"'s own throughput. submit -> done: fulcrum = client send ->\n";
    printf "  task end in the scheduler'"'"'s records; dask = client submit() -> future done at the client. dispatch:\n";
    printf "  fulcrum = records start - submit (scheduler accept -> TaskStarted; reads 0 when the start was\n";
    printf "  stamped with the dispatch time, see real_bench'"'"'s note); dask = client submit() -> compute start.\n";
  }
}'
