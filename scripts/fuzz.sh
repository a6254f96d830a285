#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang, ASan + UBSan) into build-fuzz/ and runs each
# for SECONDS (default 10) on a seed corpus made in a temp folder from examples/ and
# ../shared/workloads (read there, never copied into the project). A crash, leak, hang
# or sanitizer report fails the script and leaves the reproducer in build-fuzz/crashes/.
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-10}"
BUILD=build-fuzz
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S fuzz -B "$BUILD" -DCMAKE_CXX_COMPILER=clang++ >/dev/null
fi
if ! cmake --build "$BUILD" -j"$(nproc)" >"$BUILD/build.log" 2>&1; then
  grep -E -A5 "error" "$BUILD/build.log" | head -40 >&2
  echo "fuzz: build failed; full log in $BUILD/build.log" >&2
  exit 1
fi

corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
mkdir -p "$corpus"/{wire,scenario,loaders,journal,scheduler,tls} "$BUILD/crashes"
cp examples/*.yaml "$corpus/scenario/"
SHARED=../shared/workloads
if [ -d "$SHARED" ]; then
  # Loader seeds: a selector byte (0 SWF, 1 WfCommons, 2 DAG JSON), then the start of a file.
  for f in "$SHARED"/swf/*.swf; do { printf '\x00'; head -c 8192 "$f"; } >"$corpus/loaders/swf_$(basename "$f")"; done
  for f in "$SHARED"/wfcommons/*.json; do { printf '\x01'; head -c 8192 "$f"; } >"$corpus/loaders/wf_$(basename "$f")"; done
fi
for f in examples/dags/*.json; do { printf '\x02'; cat "$f"; } >"$corpus/loaders/dag_$(basename "$f")"; done

# Scheduler seeds: any bytes choose an event sequence (core/tests/scheduler_harness.h); a
# few fixed ones start it off.
for i in 1 2 3 4; do seq "$i" 7 2500 >"$corpus/scheduler/seed$i"; done

# Identity seeds (fuzz/tls_fuzz.cc): a selector byte (0 access file, 1 certificate, 2 CRL,
# 3 TLS bytes to the scheduler), then the text; certificates from a CA made here.
printf '\x00identities:\n  alice: {role: submitter, tenant: a}\n  ops: {role: operator}\n' >"$corpus/tls/access"
if [ -x build/fulcrum ] && build/fulcrum certs init "$corpus/ca" >/dev/null 2>&1 &&
   build/fulcrum certs issue "$corpus/ca" alice --role submitter --tenant a >/dev/null 2>&1; then
  { printf '\x01'; cat "$corpus/ca/alice.crt"; } >"$corpus/tls/cert"
  { printf '\x02'; cat "$corpus/ca/ca.crl"; } >"$corpus/tls/crl"
fi
printf '\x03\x16\x03\x01\x00\x05hello' >"$corpus/tls/hello"

status=0
for target in wire scenario loaders journal scheduler tls; do
  log="$BUILD/${target}_fuzz.log"
  if "$BUILD/${target}_fuzz" "$corpus/$target" -max_total_time="$SECONDS_EACH" -timeout=5 -rss_limit_mb=2048 \
       -max_len=16384 -artifact_prefix="$BUILD/crashes/${target}-" -print_final_stats=1 >"$log" 2>&1; then
    echo "fuzz: ${target}: ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') inputs in ${SECONDS_EACH} s)"
  else
    echo "fuzz: ${target}: FAILED — see $log and $BUILD/crashes/" >&2
    grep -E "ERROR|SUMMARY|Test unit written" "$log" | head -10 >&2
    status=1
  fi
done
exit $status
