#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz/ (clang, ASan + UBSan,
# build-fuzz/), replays every saved crash of tests/fuzz/crashes/ as a
# regression case, then fuzzes each harness for SECONDS (default 60) from
# its seed corpus tests/fuzz/corpus/<harness>/ plus what earlier runs
# found (build-fuzz/corpus/). A finding is copied to tests/fuzz/crashes/
# to be fixed and kept. Prints a line per harness (runs, coverage) and
# "fuzz: N passed, N failed".
#   tools/fuzz.sh [SECONDS] [HARNESS...]
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(experiment model csv idx idx_gzip events)
dir=build-fuzz
command -v clang >/dev/null || { echo "fuzz: clang is needed (tools/setup.sh installs it)" >&2; exit 1; }
if [ ! -f "$dir/build.ninja" ]; then
  CC=clang meson setup "$dir" -Dfuzz=true -Dtests=false -Dcompute=openblas -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debugoptimized >/dev/null || exit 1
fi
ninja -C "$dir" >/dev/null || exit 1
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
pass=0 fail=0
for h in "${harnesses[@]}"; do
  exe=$dir/tests/fuzz/fuzz_$h
  saved=(tests/fuzz/crashes/$h/*)
  if [ -e "${saved[0]}" ]; then
    if "$exe" -runs=1 "${saved[@]}" >"$dir/replay-$h.log" 2>&1; then
      pass=$((pass + 1))
    else
      echo "FAIL fuzz $h: a saved crash still fails; see $dir/replay-$h.log"
      fail=$((fail + 1))
    fi
  fi
  mkdir -p "$dir/corpus/$h" "$dir/findings/$h"
  "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
    -artifact_prefix="$dir/findings/$h/" "$dir/corpus/$h" "tests/fuzz/corpus/$h" >"$dir/fuzz-$h.log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz-$h.log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$dir/fuzz-$h.log" | tail -1 | awk '{print $2}')
  if [ $rc = 0 ]; then
    echo "fuzz $h: ${secs}s, ${runs:-0} runs, coverage ${cov:-0} edges, no findings"
    pass=$((pass + 1))
  else
    mkdir -p "tests/fuzz/crashes/$h"
    cp "$dir"/findings/"$h"/* "tests/fuzz/crashes/$h/" 2>/dev/null
    echo "FAIL fuzz $h: a finding after ${runs:-?} runs (saved in tests/fuzz/crashes/$h/); see $dir/fuzz-$h.log"
    grep -m3 -E "ERROR|SUMMARY|runtime error" "$dir/fuzz-$h.log" | sed 's/^/  /'
    fail=$((fail + 1))
  fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" = 0 ]
