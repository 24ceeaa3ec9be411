#!/usr/bin/env bash
# Outside text against every file nnkit generates. Names that are not names
# are refused where they are read (experiment files, model files, data);
# text that may be anything (column names, classes, paths) reaches the C
# export only escaped: the exported C compiles with -Wall -Werror, defines
# only PREFIX_predict, and nothing injected survives the preprocessor. Every
# ONNX file written passes ONNX's full checker. Each refusal is one line.
set -u
NNKIT=$(realpath "$1")
SRC=$(realpath "$2")
work=$(mktemp -d /tmp/nnkit-hostile-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
cp -r "$SRC/examples" .
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
CC=${CC:-cc}

refused() { # name, status, the one stderr line (exact), command...
  local name=$1 want_rc=$2 want=$3
  shift 3
  "$@" >out 2>err
  local rc=$?
  if [ "$rc" = "$want_rc" ] && [ "$(cat err)" = "$want" ]; then ok; else
    bad "$name: status $rc (want $want_rc): $(cat err)"
    echo "  wanted: $want"
  fi
}

# --- names in experiment files: refused with file:line ---
rule="must be 1 to 64 letters, digits, '_' or '-', starting with a letter or '_'"
long=$(printf 'n%.0s' $(seq 100))
for header in 'layer x*/int(zz_injected)=42;/*' 'layer name with space' 'input a.b' 'callback c/d' 'layer 9lives' "layer $long"; do
  printf '[data]\ntrain = examples/data/iris.csv\nlabel = species\n[%s]\ntype = dense\nunits = 3\n' "$header" >names.ini
  kind=${header%% *} name=${header#* }
  [ ${#name} -gt 80 ] && name="${name:0:80}..."
  refused "[$header]" 2 "nnkit: error: names.ini:4: $kind name '$name' $rule" "$NNKIT" train names.ini
done

# --- crafted model files: names, shapes and values checked as they load ---
"$NNKIT" train examples/iris.ini --run-name iris >/dev/null 2>&1 || bad "train iris.ini"
craft() { # output, python expression turning the model's text into the crafted text
  python3 - "runs/iris/model.nnk" "$SRC/proto" "$1" "$2" <<'PY'
import struct, subprocess, sys, zlib
raw = open(sys.argv[1], 'rb').read()
proto = ['-I', sys.argv[2], sys.argv[2] + '/nnkit_model.proto']
text = subprocess.run(['protoc', '--decode=nnkit.Model'] + proto, input=raw[20:], capture_output=True, check=True).stdout.decode()
text = eval(sys.argv[4])
payload = subprocess.run(['protoc', '--encode=nnkit.Model'] + proto, input=text.encode(), capture_output=True, check=True).stdout
open(sys.argv[3], 'wb').write(b'NNKM' + struct.pack('<IQI', 1, len(payload), zlib.crc32(payload)) + payload)
PY
}
if command -v protoc >/dev/null && python3 -c '' 2>/dev/null; then
  craft evil_layer.nnk "text.replace('name: \"hidden\"', 'name: \"x*/int(zz_injected)=42;/*\"').replace('inputs: \"hidden\"', 'inputs: \"x*/int(zz_injected)=42;/*\"')"
  refused "model with a hostile layer name" 1 "nnkit: error: model 'evil_layer.nnk': layer name 'x*/int(zz_injected)=42;/*' $rule" \
    "$NNKIT" export evil_layer.nnk --format c -o evil.c
  [ ! -e evil.c ] && ok || bad "a refused export left evil.c"
  craft empty_layer.nnk "text.replace('name: \"hidden\"', 'name: \"\"').replace('inputs: \"hidden\"', 'inputs: \"\"')"
  refused "model with an empty layer name" 1 "nnkit: error: model 'empty_layer.nnk': layer name '' $rule" \
    "$NNKIT" predict empty_layer.nnk --input examples/data/iris.csv
  craft evil_input.nnk "text.replace('name: \"input\"', 'name: \"in put\"', 1).replace('inputs: \"input\"', 'inputs: \"in put\"')"
  refused "model with a hostile input name" 1 "nnkit: error: model 'evil_input.nnk': input name 'in put' $rule" \
    "$NNKIT" export evil_input.nnk -o evil.onnx
  craft shape.nnk "text.replace('name: \"hidden/kernel\"\n  shape: 4\n', 'name: \"hidden/kernel\"\n  shape: 1099511627776\n', 1)"
  refused "stored weight of another shape" 1 \
    "nnkit: error: model 'shape.nnk': tensor 'hidden/kernel' has shape 1099511627776x16, the architecture builds 4x16" \
    "$NNKIT" predict shape.nnk --input examples/data/iris.csv
  craft renamed.nnk "text.replace('name: \"hidden/kernel\"', 'name: \"hidden/bias\"', 1)"
  refused "stored weight under another name" 1 \
    "nnkit: error: model 'renamed.nnk': weight tensor 'hidden/bias' stored where the architecture has 'hidden/kernel'" \
    "$NNKIT" predict renamed.nnk --input examples/data/iris.csv
  # NaN in a weight: one rule for both formats
  craft nan.nnk "__import__('re').sub(r'(name: \"output/bias\"\n  shape: 3\n  data: )[^\n]*', r'\\1nan', text, 1)"
  for fmt in onnx c; do
    refused "NaN weight, $fmt export" 1 \
      "nnkit: error: export: layer 'output': weight 'bias' holds NaN at 0; a model with NaN or Inf in it cannot be exported" \
      "$NNKIT" export nan.nnk --format "$fmt" -o "nan.$fmt"
    [ ! -e "nan.$fmt" ] && ok || bad "a refused $fmt export left a file"
  done
else
  echo "SKIP: crafted model files (protoc or python3 missing)"
fi

# --- data: control characters are refused, naming the line ---
printf 'a,b,c\n1,2,red\n3,4,re\000d\n' >nul.csv
printf '[data]\ntrain = nul.csv\nlabel = a\n[input]\nshape = 2\n[layer o]\ntype = dense\nunits = 1\n[compile]\nloss = mse\n' >nul.ini
refused "NUL in a text cell" 1 "nnkit: error: data 'nul.csv': line 3, byte 7: control character 0x00 (NUL)" "$NNKIT" train nul.ini
printf 'a,b,a\n1,2,3\n' >dup.csv
sed 's/nul.csv/dup.csv/' nul.ini >dup.ini
refused "a repeated column" 1 "nnkit: error: data 'dup.csv': column 'a' appears twice in the header (columns 1 and 3)" \
  "$NNKIT" train dup.ini

# --- hostile columns, label, classes and paths: escaped in the C, checked in ONNX ---
# column and class texts that would end a C comment, splice a line with a
# trigraph, or open a new comment
col1='a*/int(zz_injected_col)=1;/*' col2='b??/' col3='c/*d' label='y*/int(zz_injected_label)=1;/*'
cls1='*/int(zz_injected_class)=1;/*' cls2='k??/'
awk -F, -v c1="$col1" -v c2="$col2" -v c3="$col3" -v l="$label" -v k1="$cls1" -v k2="$cls2" 'NR == 1 { print c1 "," c2 "," c3 ",x4," l; next }
  { print $1 "," $2 "," $3 "," $4 "," ($5 == 0 ? k1 : k2) }' examples/data/iris.csv | head -101 >hostile.csv
for cols in explicit all; do
  {
    printf '[data]\ntrain = hostile.csv\nlabel = %s\nstandardize = true\n' "$label"
    [ $cols = explicit ] && printf 'features = %s, %s, %s, x4\n' "$col1" "$col2" "$col3"
    printf '[input]\nshape = 4\n[layer h]\ntype = dense\nunits = 4\nactivation = relu\n[layer out]\ntype = dense\nunits = 2\n'
    printf 'activation = softmax\n[compile]\nloss = sparse_categorical_crossentropy\noptimizer = adam\n[fit]\nepochs = 3\nverbose = 0\n'
  } >hostile.ini
  "$NNKIT" train hostile.ini --run-name "hostile-$cols" >/dev/null 2>err || { bad "train on hostile columns ($cols): $(cat err)"; continue; }
  "$NNKIT" predict "runs/hostile-$cols/model.nnk" --input hostile.csv --classes 2>err | grep -q "zz_injected_class" && ok \
    || bad "predict names the hostile classes ($cols): $(cat err)"
  # the model under paths that hold a comment's end and a trigraph
  for dir in 'evil*' 'evil??' "evil*/int(zz_injected_path)=1;"; do
    mkdir -p "$dir" && cp "runs/hostile-$cols/model.nnk" "$dir/model.nnk"
    "$NNKIT" export "$dir/model.nnk" --format c -o hc.c 2>err || { bad "C export under '$dir' ($cols): $(cat err)"; continue; }
    if $CC -std=c99 -Wall -Wextra -Werror -O2 -c hc.c -o hc.o 2>err; then ok; else bad "hostile C ($cols, '$dir') does not compile: $(head -3 err)"; fi
    [ "$(nm -g --defined-only hc.o 2>/dev/null | awk '{print $3}')" = hc_predict ] && ok \
      || bad "hostile C ($cols, '$dir') defines more than hc_predict: $(nm -g --defined-only hc.o | paste -sd' ')"
    ! nm hc.o | grep -q zz_injected && ! $CC -std=c99 -E -P hc.c | grep -q zz_injected \
      && ! $CC -std=c99 -E -P -x c hc.h | grep -q zz_injected && ok || bad "injected text outside comments ($cols, '$dir')"
    "$NNKIT" export "$dir/model.nnk" -o hc.onnx 2>err || { bad "ONNX export under '$dir' ($cols): $(cat err)"; continue; }
    /usr/bin/python3 -c 'import sys, onnx; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)' hc.onnx 2>err && ok \
      || bad "ONNX checker on the hostile model ($cols): $(tail -1 err)"
  done
done
refused "C export to a file name that is no name" 2 \
  "nnkit: error: export: the output's file name may hold only letters, digits, '_', '-', '+' and '.' (the .c includes its header by that name)" \
  "$NNKIT" export "runs/hostile-all/model.nnk" --format c -o 'a"b.c'
[ ! -e 'a"b.c' ] && [ ! -e 'a"b.h' ] && ok || bad "a refused C export left files"

# --- the longest valid names make a valid ONNX file ---
n64=$(printf 'L%.0s' $(seq 64)) m64=$(printf 'M%.0s' $(seq 64))
printf '[data]\ntrain = examples/data/iris.csv\nlabel = species\nfeatures = sepal_length, sepal_width, petal_length, petal_width\n[input %s]\nshape = 4\n[layer %s]\ntype = dense\nunits = 3\n[layer %s]\ntype = dense\nunits = 3\n[compile]\nloss = sparse_categorical_crossentropy\n[fit]\nepochs = 1\nverbose = 0\n' \
  "$n64" "$m64" "${m64}x" >long.ini 2>/dev/null
refused "a 65-character name" 2 "nnkit: error: long.ini:10: layer name '${m64}x' $rule" "$NNKIT" train long.ini --run-name long
sed -i "s/\[layer ${m64}x\]/[layer ${m64:0:63}y]/" long.ini
"$NNKIT" train long.ini --run-name long >/dev/null 2>err && "$NNKIT" export runs/long/model.nnk -o long.onnx 2>err \
  && /usr/bin/python3 -c 'import sys, onnx; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)' long.onnx 2>err && ok \
  || bad "64-character names in ONNX: $(tail -1 err)"

echo "hostile: $pass passed, $fail failed"
[ "$fail" = 0 ]
