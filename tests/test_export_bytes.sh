#!/usr/bin/env bash
# nnkit export writes the same bytes for every example model as the
# exporter did before the built-in layers and activations carried their own
# export mappings (ABI 3): the SHA-256 of each .onnx, .c and .h is compared
# with tests/golden/exports.sha256, written by the old exporter with
#   tests/test_export_bytes.sh NNKIT SRC FIXTURES --write tests/golden/exports.sha256
# The models are built with fit.epochs=0, so their weights come from the
# seeded initializers and the data's statistics only (no BLAS sums whose
# rounding could differ between machines).
set -u
NNKIT=$(realpath "$1")
SRC=$(realpath "$2")
write=
[ "${4:-}" = --write ] && write=$(realpath -m "$5")
work=$(mktemp -d /tmp/nnkit-export-bytes-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
cp -r "$SRC/examples" .
pass=0 fail=0
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
CC=${CC:-cc}

model() { # run-name experiment [flags]
  local run=$1 ini=$2
  shift 2
  "$NNKIT" train "$ini" --run-name "$run" --set fit.epochs=0 "$@" >/dev/null 2>err || bad "train $run: $(cat err)"
}
exports() { # run-name [flags]: writes RUN.onnx, RUN.c and RUN.h
  local run=$1
  shift
  "$NNKIT" export "runs/$run/model.nnk" "$@" -o "$run.onnx" 2>err || bad "export $run as ONNX: $(cat err)"
  "$NNKIT" export "runs/$run/model.nnk" "$@" --format c -o "$run.c" 2>err || bad "export $run as C: $(cat err)"
}

model reg examples/regression.ini && exports reg
awk -F, -v OFS=, 'NR > 1 && NR % 5 == 0 { $3 = "nan" } NR > 1 && NR % 7 == 0 { $9 = "nan" } { print }' \
  examples/data/diabetes.csv >miss.csv
model miss examples/regression.ini --set data.train=miss.csv --set data.missing=median && exports miss
model perceptron examples/iris_perceptron.ini && exports perceptron
model iris examples/iris.ini && exports iris
model xor examples/xor.ini && exports xor
model multilabel examples/multilabel.ini && exports multilabel
model wd examples/wide_and_deep.ini && exports wd
model fashion examples/fashion_mnist.ini && exports fashion
"$SRC/tests/every_layer_ini.sh" >every.ini
model every every.ini && exports every
mkdir -p plugin
$CC -I"$SRC/core/include" -O2 -fPIC -shared -fvisibility=hidden -o plugin/myplugin.so "$SRC/examples/plugins/myplugin.c" -lm \
  || bad "build the template plugin"
model residual examples/plugins/residual.ini --plugin-dir plugin && exports residual --plugin-dir plugin

sha256sum -- *.onnx *.c *.h | sort -k2 >sums
if [ -n "$write" ]; then
  cp sums "$write"
  echo "export bytes: wrote $(wc -l <sums) sums to $write"
  exit 0
fi
while read -r sum file; do
  got=$(awk -v f="$file" '$2 == f { print $1 }' sums)
  if [ "$got" = "$sum" ]; then
    pass=$((pass + 1))
  else
    bad "$file: sha256 ${got:-missing}, the exporter before ABI 3 wrote $sum"
  fi
done <"$SRC/tests/golden/exports.sha256"
[ "$(wc -l <sums)" = "$(wc -l <"$SRC/tests/golden/exports.sha256")" ] || bad "$(wc -l <sums) files exported, the golden list has $(wc -l <"$SRC/tests/golden/exports.sha256")"
echo "export bytes: $pass passed, $fail failed"
[ "$fail" = 0 ]
