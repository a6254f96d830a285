#!/usr/bin/env bash
# Replays every example scenario and compares its summary.json with the golden file
# beside it (examples/NAME.summary.json), like SimGrid's .tesh files.
# Usage: examples/check.sh path/to/fulcrum [--update]
set -euo pipefail
FULCRUM=$1
UPDATE=${2:-}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for scenario in examples/*.yaml; do
  name=$(basename "$scenario" .yaml)
  golden=examples/$name.summary.json
  "$FULCRUM" run "$scenario" --out "$tmp/$name" >/dev/null
  if [ "$UPDATE" = "--update" ]; then
    cp "$tmp/$name/summary.json" "$golden"
    echo "updated $golden"
  elif ! diff -u "$golden" "$tmp/$name/summary.json"; then
    echo "FAIL $scenario: summary differs from $golden" >&2
    status=1
  else
    echo "ok   $scenario"
  fi
done
exit $status
