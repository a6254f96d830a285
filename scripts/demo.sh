#!/usr/bin/env bash
# The main job: set up if needed, then compare the classic policies in simulation on the
# embedded default scenario and print the table. Extra arguments go to `fulcrum compare`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec build/fulcrum compare "$@"
