#!/usr/bin/env bash
# examples/plugins/README.md's commands, verbatim, in the build tree's
# `meson devenv` (the README's own advice for a build tree): every
# template plugin builds with pkg-config's flags and passes check-plugin,
# and the runs and exports it shows succeed.
set -u
BUILD=$(realpath "$1")
SRC=$(realpath "$2")
work=$(mktemp -d /tmp/nnkit-plugin-readme-XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r "$SRC/examples" "$work/"
pass=0 fail=0
# the README's indented block, continuation lines joined
awk '/^    / { sub(/^ +/, ""); if (sub(/\\$/, "")) printf "%s", $0; else print }' "$SRC/examples/plugins/README.md" >"$work/commands.sh"
n=$(wc -l <"$work/commands.sh")
[ "$n" -ge 12 ] && pass=$((pass + 1)) || { echo "FAIL: only $n commands found in the README"; fail=$((fail + 1)); }
while IFS= read -r cmd; do
  (cd "$work/examples/plugins" && meson devenv -C "$BUILD" bash -o pipefail -c "cd '$work/examples/plugins' && $cmd") \
    >"$work/out" 2>&1 && pass=$((pass + 1)) || { echo "FAIL: $cmd"; tail -5 "$work/out"; fail=$((fail + 1)); }
done <"$work/commands.sh"
# what the last run says it does
grep -q "^r_squared [-0-9.e]*$" "$work/examples/plugins/runs/all/metrics.txt" \
  && grep -q "^val_r_squared " "$work/examples/plugins/runs/all/metrics.txt" \
  && grep -q "^nnkit: note: epoch 20: val/train [0-9.]*$" "$work/out" \
  && pass=$((pass + 1)) || { echo "FAIL: the plugin run's logs: $(cat "$work/examples/plugins/runs/all/metrics.txt" "$work/out" 2>&1 | head -12)"; fail=$((fail + 1)); }
echo "plugin readme: $pass passed, $fail failed"
[ "$fail" = 0 ]
