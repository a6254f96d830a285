#!/usr/bin/env bash
# Set up if needed, then run the whole test suite under ctest, then the fuzz targets
# briefly (scripts/fuzz.sh: 10 s each, clang + ASan/UBSan, in build-fuzz/).
# Usage: scripts/test.sh [--sanitize]   (--sanitize: ASan/UBSan build in build-asan/)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=build
if [ "${1:-}" = "--sanitize" ]; then BUILD_DIR=build-asan; fi
scripts/setup.sh "$@"
(cd "$BUILD_DIR" && ctest --output-on-failure -j"$(nproc)")
if [ "${1:-}" != "--sanitize" ]; then scripts/fuzz.sh 10; fi
