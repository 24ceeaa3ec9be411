#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: the Check suites, the
# runner, resume, bad-input and plugin tests, then all of them again on the
# OpenBLAS compute backend (build/ runs on oneDNN where it is found), again
# under AddressSanitizer and UndefinedBehaviorSanitizer, the install test, and
# each fuzz harness for a short budget after replaying its saved crashes.
# Ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh || exit 1
status=0
tools/build.sh build || exit 1
meson test -C build --print-errorlogs --num-processes 2 || status=1
echo "test: every suite again on the other compute backend (OpenBLAS; build/ has oneDNN where it is found)"
tools/build.sh build-openblas -Dcompute=openblas || exit 1
meson test -C build-openblas --print-errorlogs --num-processes 2 || status=1
echo "test: every suite again under -Db_sanitize=address,undefined"
tools/build.sh build-asan -Db_sanitize=address,undefined -Dbuildtype=debug -Db_lundef=false || exit 1
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0 meson test -C build-asan --print-errorlogs --num-processes 2 -t 4 || status=1
echo "test: meson install into a prefix, and an out-of-tree plugin built against it"
tests/test_install.sh build-install build-install-root | tee build/install-test.log || status=1
echo "test: fuzz harnesses (saved crashes replayed, then ${NNKIT_FUZZ_SECONDS:-20} s each)"
tools/fuzz.sh "${NNKIT_FUZZ_SECONDS:-20}" | tee build/fuzz-test.log || status=1
# Count individual checks: Check's "Checks: N, Failures: F, Errors: E"
# lines and the scripts' "N passed, N failed" lines.
awk '
  /^[0-9]+%: Checks: / { gsub(/,/, ""); total += $3; bad += $5 + $7 }
  /^([a-z -]+: )?[0-9]+ passed, [0-9]+ failed$/ { n = NF - 3; total += $(n) + $(n + 2); bad += $(n + 2) }
  END { printf "%d passed, %d failed\n", total - bad, bad }
' build/meson-logs/testlog.txt build-openblas/meson-logs/testlog.txt build-asan/meson-logs/testlog.txt \
  build/install-test.log build/fuzz-test.log
exit $status
