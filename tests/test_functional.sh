#!/usr/bin/env bash
# The C API example: Wide & Deep built in code, trained, saved, reloaded.
set -u
EXAMPLE=$(realpath "$1")
SRC=$2
work=$(mktemp -d /tmp/nnkit-fn-XXXXXX)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { if eval "$1"; then pass=$((pass + 1)); else echo "FAIL: $2"; fail=$((fail + 1)); fi; }
"$EXAMPLE" "$SRC/examples/data/diabetes.csv" "$work/wd.nnk" >"$work/out" 2>&1
rc=$?
ok '[ $rc = 0 ]' "exit status $rc: $(cat "$work/out")"
ok 'grep -q "^reloaded from .*: predictions identical (89 rows x 2 outputs)$" "$work/out"' "reload"
ok 'grep -q "concat (concat) .* \[wide, hidden2\]" "$work/out"' "summary shows the connections"
ok '[ "$(grep -c "^epoch [0-9]*: val_main_output_mae" "$work/out")" = 5 ]' "the C callback ran every 20 epochs"
mae=$(sed -n "s/^test: .* main_output_mae \([0-9.]*\) .*/\1/p" "$work/out")
ok 'awk -v m="$mae" "BEGIN { exit !(m != \"\" && m < 52) }"' "test MAE '$mae' (want < 52)"
# the model keeps the 13 columns it was fit on: predict needs no --features
NNKIT=${3:-}
if [ -n "$NNKIT" ]; then
  "$NNKIT" predict "$work/wd.nnk" --input "$SRC/examples/data/diabetes.csv" >"$work/p.csv" 2>"$work/err"
  ok '[ "$(wc -l <"$work/p.csv")" = 443 ] && [ "$(head -1 "$work/p.csv")" = "main_output_0,aux_output_0" ]' \
    "predict from the C API's model without --features: $(cat "$work/err")"
  "$NNKIT" predict "$work/wd.nnk" --input "$SRC/examples/data/diabetes.csv" --rows 3 >"$work/p3.csv" 2>"$work/err"
  ok '[ "$(wc -l <"$work/p3.csv")" = 4 ] && [ "$(sed -n 2p "$work/p3.csv" | cut -d, -f1)" = "$(sed -n 2p "$work/p.csv" | cut -d, -f1)" ]' \
    "predict --rows 3: $(cat "$work/p3.csv" "$work/err")"
else
  echo "SKIP: predict from the C API's model (no nnkit given)"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
