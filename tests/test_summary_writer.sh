#!/usr/bin/env bash
# The C API example: a hand-written training loop logging to TensorBoard.
set -u
EXAMPLE=$(realpath "$1")
NNKIT=$(realpath "$2")
work=$(mktemp -d /tmp/nnkit-sw-XXXXXX)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { if eval "$1"; then pass=$((pass + 1)); else echo "FAIL: $2"; fail=$((fail + 1)); fi; }
"$EXAMPLE" "$work/run" >"$work/out" 2>&1
rc=$?
ok '[ $rc = 0 ] && grep -Eq "^fitted y = (2.99|3.00)[0-9]x \+ (1.99|2.00)[0-9]; logs in" "$work/out"' "example output: $(cat "$work/out")"
"$NNKIT" events "$work"/run/events.out.tfevents.* >"$work/events" 2>&1
rc=$?
ok '[ $rc = 0 ]' "events: $(cat "$work/events")"
ok '[ "$(grep -c " loss  *scalar" "$work/events")" = 100 ]' "100 loss points"
ok '[ "$(grep -c "residuals  *histogram  *20 buckets, 64 values" "$work/events")" = 10 ]' "10 histograms"
ok 'grep -q "residual_strip  *image  *1 image(s) 64x8" "$work/events"' "image"
ok 'grep -q "notes  *text" "$work/events"' "text"
ok 'grep -q "session end, status 1" "$work/events"' "hparams end"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
