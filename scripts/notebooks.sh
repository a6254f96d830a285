#!/usr/bin/env bash
# Opens the notebooks: sets up if needed, then starts Debian's Jupyter Notebook server on
# notebooks/ with .venv/bin/python, whose kernel imports fulcrum. Extra arguments go to
# the server (e.g. --no-browser --port 8890).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
args=(--notebook-dir notebooks)
# Jupyter refuses to run as root unless told; root is how this machine's users work.
if [ "$(id -u)" -eq 0 ]; then args+=(--allow-root); fi
exec .venv/bin/python -m notebook "${args[@]}" "$@"
