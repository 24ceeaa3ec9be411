#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: the Check suites and
# the runner tests, then the unit suites again under AddressSanitizer and
# UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh build
meson test -C build --print-errorlogs --num-processes 2
echo "test: unit suites under -Db_sanitize=address,undefined"
tools/build.sh build-asan -Db_sanitize=address,undefined -Dbuildtype=debug -Db_lundef=false
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs --num-processes 2 --suite unit
