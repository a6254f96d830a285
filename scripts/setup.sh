#!/usr/bin/env bash
# Installs the Debian packages fulcrum needs (idempotent, quiet when nothing is missing),
# then configures and builds into build/. Usage: scripts/setup.sh [--sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config
  libsimgrid-dev libboost-graph-dev libeigen3-dev
  libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libfmt-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev libasio-dev libssl-dev
  zookeeper libzookeeper-mt-dev default-jre-headless
  python3-distributed
  pybind11-dev python3-dev python3-pybind11 python3-pandas python3-pytest python3-numpy
  python3-matplotlib python3-tqdm python3-yaml
  python3-nbclient python3-nbformat python3-ipykernel jupyter-nbconvert
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
