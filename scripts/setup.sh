#!/usr/bin/env bash
# Installs the Debian packages fulcrum needs (idempotent, quiet when nothing is missing),
# then configures and builds into build/, and makes the Python virtual environment .venv/
# in which `import fulcrum` works from anywhere (docs/python.md).
# Usage: scripts/setup.sh [--sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config
  libsimgrid-dev libboost-graph-dev libeigen3-dev
  libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libfmt-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev libasio-dev libssl-dev
  zookeeper libzookeeper-mt-dev default-jre-headless
  slurm-wlm munge
  python3-distributed
  pybind11-dev python3-dev python3-pybind11 python3-pandas python3-pytest python3-numpy
  python3-matplotlib python3-tqdm python3-yaml
  python3-nbclient python3-nbformat python3-ipykernel jupyter-nbconvert python3-notebook python3-venv
  mkdocs
  clang libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

BUILD_TYPE=Release
SANITIZE=OFF
BUILD_DIR=build
if [ "${1:-}" = "--sanitize" ]; then SANITIZE=ON; BUILD_TYPE=RelWithDebInfo; BUILD_DIR=build-asan; fi

mkdir -p "$BUILD_DIR"
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DFULCRUM_SANITIZE="$SANITIZE" >/dev/null
fi
log="$BUILD_DIR/build.log"
if ! cmake --build "$BUILD_DIR" -j"$(nproc)" >"$log" 2>&1; then
  grep -E -A5 "error|Error" "$log" | head -60 >&2
  echo "setup: build failed; full log in $log" >&2
  exit 1
fi
grep -E "warning:" "$log" >&2 || true

# The editable install: a virtual environment that sees Debian's python3-* packages, and
# a .pth file in it naming build/python (the package and its compiled module). Only the
# plain build: an ASan-instrumented module cannot load into an uninstrumented python.
if [ "$SANITIZE" = OFF ]; then
  if [ ! -x .venv/bin/python ]; then
    /usr/bin/python3 -m venv --system-site-packages .venv
  fi
  site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
  pth="$site/fulcrum-build.pth"
  want="$PWD/$BUILD_DIR/python"
  if [ "$(cat "$pth" 2>/dev/null)" != "$want" ]; then echo "$want" >"$pth"; fi
  # Notebooks started from .venv (scripts/notebooks.sh) get a kernel on .venv's python:
  # Debian's own python3 kernel would run /usr/bin/python3, which has no fulcrum.
  if [ ! -f .venv/share/jupyter/kernels/python3/kernel.json ]; then
    .venv/bin/python -Xfrozen_modules=off -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (fulcrum)" >/dev/null
  fi
fi
