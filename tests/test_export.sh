#!/usr/bin/env bash
# nnkit export: every example model as ONNX (passing ONNX's full checker,
# run by ONNX Runtime) and as one C99 file (compiled with cc -std=c99
# -Wall -Werror -O2 and nothing but libm) gives nnkit predict's outputs on
# the same rows within 1e-5 (relative to the value, at least 1); a model
# with every activation, batch normalization, normalization, dropout, add
# and concat too. Prints each model's code size and stack use.
set -u
NNKIT=$(realpath "$1")
SRC=$(realpath "$2")
FIXTURES=${3:+$(realpath "$3")}
work=$(mktemp -d /tmp/nnkit-export-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
cp -r "$SRC/examples" .
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
CC=${CC:-cc}

# a main() reading CSV rows of the model's inputs (one header line), printing its outputs;
# with ws, through PREFIX_predict_ws and a static workspace
main_c() { # prefix [ws]
  local up call
  up=$(echo "$1" | tr a-z A-Z)
  call="$1_predict(in, out)"
  [ "${2:-}" = ws ] && call="static float ws[${up}_WORKSPACE_FLOATS]; $1_predict_ws(in, out, ws)"
  cat <<EOF | sed "s/PREDICT/$call/"
#include "$1.h"
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    static char line[1 << 16];
    float in[${up}_INPUTS], out[${up}_OUTPUTS];
    if (!fgets(line, sizeof line, stdin))
        return 1;
    while (fgets(line, sizeof line, stdin)) {
        char *p = line;
        for (int j = 0; j < ${up}_INPUTS; j++) {
            in[j] = strtof(p, &p);
            if (*p == ',')
                p++;
        }
        PREDICT;
        for (int j = 0; j < ${up}_OUTPUTS; j++)
            printf("%s%.9g", j ? "," : "", out[j]);
        printf("\n");
    }
    return 0;
}
EOF
}

# export RUN's model as NAME.c, compile it, run it on INPUT.csv (the model's
# columns, in order) and compare with nnkit predict on DATA
check_model() { # name run input.csv data [nnkit flags, e.g. --plugin-dir DIR]
  local name=$1 run=$2 input=$3 data=$4
  shift 4
  local flags=("$@")
  "$NNKIT" export "runs/$run/model.nnk" "${flags[@]}" --format c -o "$name.c" 2>err || { bad "$name: export: $(cat err)"; return; }
  main_c "$name" >"main_$name.c"
  $CC -std=c99 -Wall -Werror -O2 -c "$name.c" -o "$name.o" 2>err && $CC -std=c99 -Wall -Werror -O2 "main_$name.c" "$name.o" -lm \
    -o "$name" 2>>err || { bad "$name: compile: $(head -5 err)"; return; }
  "./$name" <"$input" >"$name.c.out"
  "$NNKIT" predict "runs/$run/model.nnk" "${flags[@]}" --input "$data" 2>err | tail -n +2 | head -n "$(wc -l <"$name.c.out")" >"$name.n.out"
  local rows cmp
  rows=$(wc -l <"$name.c.out")
  cmp=$(paste -d'|' "$name.c.out" "$name.n.out" | awk -F'|' '{ n = split($1, a, ","); split($2, b, ",");
      for (j = 1; j <= n; j++) { d = a[j] - b[j]; d = d < 0 ? -d : d; m = b[j] < 0 ? -b[j] : b[j]; r = d / (m > 1 ? m : 1); if (r > w) w = r } }
    END { printf "%g", w }')
  if [ "$rows" -gt 0 ] && [ "$(wc -l <"$name.n.out")" = "$rows" ] && awk -v w="$cmp" 'BEGIN { exit !(w <= 1e-5) }'; then
    ok
  else
    bad "$name: $rows rows, worst difference $cmp against nnkit predict"
  fi
  # buffers past 64 KiB: the workspace form gives the very same outputs
  if grep -q "_WORKSPACE_FLOATS" "$name.h"; then
    main_c "$name" ws >"ws_$name.c"
    $CC -std=c99 -Wall -Werror -O2 "ws_$name.c" "$name.o" -lm -o "ws_$name" 2>err && "./ws_$name" <"$input" >"$name.ws.out" \
      && cmp -s "$name.ws.out" "$name.c.out" && ok || bad "$name: predict_ws differs from predict: $(head -3 err)"
  fi
  # the ONNX model: ONNX's full checker, then ONNX Runtime on the same rows
  "$NNKIT" export "runs/$run/model.nnk" "${flags[@]}" -o "$name.onnx" 2>err || { bad "$name: onnx export: $(cat err)"; return; }
  local spec
  spec=$(/usr/bin/python3 -c '
import sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
assert m.ir_version == 8 and m.opset_import[0].version == 17
print(" ".join(i.name + ":" + "x".join(str(d.dim_value) for d in i.type.tensor_type.shape.dim[1:]) for i in m.graph.input))
' "$name.onnx" 2>err) || { bad "$name: onnx checker: $(tail -3 err)"; return; }
  node "$SRC/tests/onnx_run.js" "$name.onnx" "$input" $spec >"$name.o.out" 2>err || { bad "$name: onnx runtime: $(cat err)"; return; }
  cmp=$(paste -d'|' "$name.o.out" "$name.n.out" | awk -F'|' '{ n = split($1, a, ","); split($2, b, ",");
      for (j = 1; j <= n; j++) { d = a[j] - b[j]; d = d < 0 ? -d : d; m = b[j] < 0 ? -b[j] : b[j]; r = d / (m > 1 ? m : 1); if (r > w) w = r } }
    END { printf "%g", w }')
  if [ "$(wc -l <"$name.o.out")" = "$rows" ] && awk -v w="$cmp" 'BEGIN { exit !(w <= 1e-5) }'; then
    ok
  else
    bad "$name: ONNX Runtime's worst difference $cmp against nnkit predict"
  fi
  local bytes stack
  bytes=$(size -A "$name.o" | awk '$1 == ".text" || $1 == ".rodata" || $1 ~ /^\.rodata\./ { s += $2 } END { print s }')
  stack=$(sed -n 's/^#define [A-Z_0-9]*_STACK_BYTES \([0-9]*\).*/\1/p' "$name.h")
  echo "export: $name: $rows rows match in C and ONNX Runtime; C code and weights $bytes bytes, stack $stack bytes; ONNX $(wc -c <"$name.onnx") bytes"
}

# the columns an exported model reads (its header names them), out of a CSV file
columns() { # run csv
  local feats
  "$NNKIT" export "runs/$1/model.nnk" --format c -o "cols_$1.c" 2>/dev/null
  feats=$(sed -n 's|^/\* in: the CSV columns \(.*\) \*/$|\1|p' "cols_$1.h")
  awk -F, -v want="$feats" 'NR == 1 { n = split(want, w, ", *"); for (i = 1; i <= NF; i++) col[$i] = i }
    { line = ""; for (i = 1; i <= n; i++) line = line (i > 1 ? "," : "") $(col[w[i]]); print line }' "$2"
}

"$NNKIT" train examples/regression.ini --run-name reg --set fit.epochs=20 >/dev/null 2>&1 || bad "train regression"
cut -d, -f1-10 examples/data/diabetes.csv >reg.csv
check_model regression reg reg.csv examples/data/diabetes.csv

# missing cells: the saved fills (IsNaN and Where in ONNX); nan reads as missing everywhere
awk -F, -v OFS=, 'NR > 1 && NR % 5 == 0 { $3 = "nan" } NR > 1 && NR % 7 == 0 { $9 = "nan" } { print }' examples/data/diabetes.csv >miss.csv
"$NNKIT" train examples/regression.ini --set data.train=miss.csv --set data.missing=median --run-name miss --set fit.epochs=10 \
  >/dev/null 2>&1 || bad "train with missing cells"
cut -d, -f1-10 miss.csv >missin.csv
check_model missing miss missin.csv miss.csv

"$NNKIT" train examples/iris_perceptron.ini --run-name perceptron >/dev/null 2>&1 || bad "train perceptron"
columns perceptron examples/data/iris_setosa.csv >perc.csv
check_model perceptron perceptron perc.csv examples/data/iris_setosa.csv

"$NNKIT" train examples/wide_and_deep.ini --run-name wd --set fit.epochs=10 >/dev/null 2>&1 || bad "train wide and deep"
columns wd examples/data/diabetes.csv >wd.csv
check_model wide_and_deep wd wd.csv examples/data/diabetes.csv

"$NNKIT" train examples/fashion_mnist.ini --run-name fashion --set fit.epochs=1 >/dev/null 2>&1 || bad "train fashion"
/usr/bin/python3 - <<'EOF' >fashion.csv
import gzip
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    data = f.read()[16:]
print(",".join(f"p{i}" for i in range(784)))
for r in range(300):
    print(",".join(str(b) for b in data[r * 784:(r + 1) * 784]))
EOF
check_model fashion fashion fashion.csv fashion-mnist:test

# the CNN example (Conv, MaxPool between NHWC/NCHW transposes), then every
# vision layer: strided and dilated convolutions with same and valid
# padding, average and max pooling over partial windows, batch
# normalization on images, both global poolings, reshape
"$NNKIT" train examples/fashion_cnn.ini --run-name cnn --set fit.epochs=1 >/dev/null 2>&1 || bad "train the CNN"
check_model fashion_cnn cnn fashion.csv fashion-mnist:test
# the book's chapter-14 CNN (7x7 and 3x3 same convolutions, three poolings, dropout): trained on
# 64 labelled rows only, to keep the test short, then compared on 100 test rows
/usr/bin/python3 - <<'EOF' >book_train.csv
import gzip
with gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") as f:
    data = f.read()[16:]
with gzip.open("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz") as f:
    labels = f.read()[8:]
print("label," + ",".join(f"p{i}" for i in range(784)))
for r in range(64):
    print(str(labels[r]) + "," + ",".join(str(b) for b in data[r * 784:(r + 1) * 784]))
EOF
head -n 101 fashion.csv >book_rows.csv
"$NNKIT" train examples/fashion_cnn_book.ini --run-name book --set data.train=book_train.csv --set data.label=label \
  --set data.test= --set data.validation_split=0 --set fit.epochs=1 --set fit.verbose=0 --unset csv_logger >/dev/null 2>err \
  || bad "train the book's CNN: $(cat err)"
check_model book book book_rows.csv book_rows.csv
cat >vision.ini <<'EOF'
[data]
train = fashion-mnist:train
test = fashion-mnist:test
scale = 0.00392156862745098
[input]
shape = 28,28,1
[layer c1]
type = conv2d
filters = 4
kernel_size = 5,3
strides = 2,1
padding = same
activation = relu
[layer p1]
type = average_pooling2d
pool_size = 3
strides = 2
padding = same
[layer bn]
type = batch_normalization
[layer c2]
type = conv2d
filters = 6
kernel_size = 3
dilation_rate = 2
use_bias = false
activation = tanh
[layer p2]
type = max_pooling2d
padding = same
[layer g1]
type = global_average_pooling2d
keepdims = true
[layer r1]
type = reshape
target_shape = -1
[layer g2]
type = global_max_pooling2d
inputs = p2
[layer cat]
type = concat
inputs = r1, g2
[layer out]
type = dense
units = 10
activation = softmax
[compile]
loss = sparse_categorical_crossentropy
optimizer = adam
[fit]
epochs = 1
batch_size = 64
verbose = 0
EOF
"$NNKIT" train vision.ini --run-name vision >/dev/null 2>err || bad "train every vision layer: $(cat err)"
check_model vision vision fashion.csv fashion-mnist:test

# every activation, batch normalization, normalization, dropout, add, concat, flatten
{
  "$SRC/tests/every_layer_ini.sh"
  printf '[fit]\nepochs = 5\nbatch_size = 16\nverbose = 0\n'
} >every.ini
"$NNKIT" train every.ini --run-name every >/dev/null 2>err || bad "train every layer: $(cat err)"
columns every examples/data/iris.csv >every.csv
check_model every every every.csv examples/data/iris.csv

# the template plugin's model: its residual_block and swish map themselves (their export hooks)
mkdir -p plugin
${CC} -I"$SRC/core/include" -O2 -fPIC -shared -fvisibility=hidden -o plugin/myplugin.so "$SRC/examples/plugins/myplugin.c" -lm \
  || bad "build the template plugin"
"$NNKIT" train examples/plugins/residual.ini --plugin-dir plugin --run-name residual --set fit.epochs=10 >/dev/null 2>err \
  || bad "train residual.ini: $(cat err)"
check_model residual residual reg.csv examples/data/diabetes.csv --plugin-dir plugin
# a plugin layer without a hook: the export names it (fixture_badgrad's doubler)
if [ -n "${FIXTURES:-}" ]; then
  mkdir -p nohook && cp "$FIXTURES/fixture_badgrad.so" nohook/
  printf '[data]\ntrain = examples/data/diabetes.csv\nlabel = progression\nstandardize = true\n[input]\nshape = 10\n[layer d]\ntype = doubler\n[layer out]\ntype = dense\nunits = 1\n[compile]\nloss = mse\n[fit]\nepochs = 1\nverbose = 0\n' >nohook.ini
  "$NNKIT" train nohook.ini --plugin-dir nohook --run-name nohook >/dev/null 2>&1 || bad "train nohook"
  "$NNKIT" export runs/nohook/model.nnk --plugin-dir nohook -o nohook.onnx 2>err
  [ $? = 2 ] && [ "$(cat err)" = "nnkit: error: export: layer 'd' of type 'doubler' has no ONNX mapping" ] && [ ! -e nohook.onnx ] && ok \
    || bad "a layer without a mapping: $(cat err)"
  "$NNKIT" export runs/nohook/model.nnk --plugin-dir nohook --format c -o nohook.c 2>err
  [ $? = 2 ] && [ "$(cat err)" = "nnkit: error: export: layer 'd' of type 'doubler' has no C export" ] && [ ! -e nohook.c ] && ok \
    || bad "a layer without a C export: $(cat err)"
fi

# refusals: one line each, exit 2 (usage) or 2 (configuration)
"$NNKIT" export runs/reg/model.nnk --format tflite -o m.tflite 2>err
[ $? = 2 ] && grep -q "^nnkit export: --format must be onnx or c" err && ok || bad "tflite: $(cat err)"
"$NNKIT" export runs/reg/model.nnk -o m.pb 2>err
[ $? = 2 ] && grep -q "must end in .onnx" err && ok || bad "-o without .onnx: $(cat err)"
"$NNKIT" export runs/reg/model.nnk --format c -o model.txt 2>err
[ $? = 2 ] && grep -q "must end in .c" err && ok || bad "-o without .c: $(cat err)"
[ ! -e model.txt ] && [ ! -e model.h ] && ok || bad "a refused export left files"

echo "export: $pass passed, $fail failed"
[ "$fail" = 0 ]
