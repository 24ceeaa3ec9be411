#!/usr/bin/env bash
# Hostile and careless input, one row each, through the runner. For every
# row: the documented exit status (1 runtime or data, 2 usage or
# configuration), exactly one line on stderr naming the thing, no
# sanitizer report, no existing file changed, nothing new left behind, and
# no temporary file. Run with the release build and with the ASan/UBSan
# build (tools/test.sh).
set -u
NNKIT=$(realpath "$1")
SRC=$(realpath "$2")
FIXTURES=$(realpath "$3")
work=$(mktemp -d /tmp/nnkit-bad-XXXXXX)
trap 'chmod -R u+rwX "$work"; rm -rf "$work"' EXIT
cd "$work"
pass=0 fail=0
# under AddressSanitizer a failed huge allocation prints warnings, and its
# shadow memory needs more address space than a ulimit -v leaves
asan=0
ldd "$NNKIT" | grep -q libasan && asan=1

snapshot() { find . -path ./out -prune -o -path ./err -prune -o -type f -print0 | sort -z | xargs -0 md5sum 2>/dev/null; find . -type l -printf '%p -> %l\n' | sort; }

# bad NAME STATUS PATTERN CMD...: PATTERN is a grep -E for the one stderr line
bad() {
  local name=$1 want=$2 pattern=$3
  shift 3
  local before after
  before=$(snapshot)
  "$@" >out 2>err </dev/null
  local rc=$?
  after=$(snapshot)
  local why=""
  [ "$rc" = "$want" ] || why="status $rc, want $want"
  [ -z "$why" ] && [ "$(wc -l <err)" != 1 ] && why="$(wc -l <err) lines on stderr"
  [ -z "$why" ] && grep -q "Sanitizer\|runtime error" err && why="sanitizer report"
  [ -z "$why" ] && ! grep -Eq -- "$pattern" err && why="message does not match /$pattern/"
  [ -z "$why" ] && [ "$before" != "$after" ] && why="files changed: $(diff <(echo "$before") <(echo "$after") | head -3 | tr '\n' ' ')"
  [ -z "$why" ] && [ -n "$(find . -name '*.tmp.*')" ] && why="temporaries left: $(find . -name '*.tmp.*')"
  if [ -z "$why" ]; then
    pass=$((pass + 1))
  else
    echo "FAIL $name: $why"
    echo "  stderr: $(head -c 600 err)"
    fail=$((fail + 1))
  fi
}

# good NAME CMD...: works, and says nothing on stderr
good() {
  local name=$1
  shift
  "$@" >out 2>err </dev/null
  local rc=$?
  if [ "$rc" = 0 ] && ! grep -q "Sanitizer\|runtime error" err; then
    pass=$((pass + 1))
  else
    echo "FAIL $name: status $rc"
    echo "  stderr: $(head -c 600 err)"
    fail=$((fail + 1))
  fi
}

mkdir data
cp "$SRC/examples/data/iris.csv" data/
cat >exp.ini <<'EOF'
[data]
train = data/iris.csv
label = species
features = sepal_length,sepal_width,petal_length,petal_width
validation_split = 0.2
[input]
shape = 4
[layer hidden]
type = dense
units = 4
activation = relu
[layer output]
type = dense
units = 3
activation = softmax
[compile]
loss = sparse_categorical_crossentropy
metrics = accuracy
[fit]
epochs = 1
verbose = 0
[run]
dir = base
EOF
"$NNKIT" train exp.ini --run-name m >/dev/null 2>&1 || { echo "FAIL: the base model does not train"; exit 1; }
MODEL=base/m/model.nnk

# --- experiment files ---
bad "missing experiment" 2 "^nnkit: error: experiment 'nope.ini': cannot open: No such file" "$NNKIT" train nope.ini
mkdir adir.ini
bad "directory as experiment" 2 "^nnkit: error: experiment 'adir.ini': is a directory, not a file$" "$NNKIT" train adir.ini
: >empty.ini
bad "empty experiment" 2 "^nnkit: error: section \[data\]: missing required parameter 'train'" "$NNKIT" train empty.ini
head -c 3000 /dev/urandom | tr -d '\n' >garbage.ini
bad "binary garbage" 2 "^nnkit: error: garbage.ini:1: " "$NNKIT" train garbage.ini
printf '[fit]\nepochs = 1\x00 = 5\n' >nul.ini
bad "NUL byte" 2 "^nnkit: error: nul.ini:2: a NUL byte" "$NNKIT" train nul.ini
{ cat exp.ini; printf '; %s epochs = 0\n' "$(printf 'x%.0s' $(seq 250))"; } >long.ini
bad "long comment" 2 "^nnkit: error: long.ini:24: line longer than 198 characters$" "$NNKIT" train long.ini
{ cat exp.ini; printf '[layer hidden]\nunits = 8\n'; } >dupsec.ini
bad "duplicate section" 2 "^nnkit: error: dupsec.ini:24: section \[layer hidden\] repeats the one at line 8$" "$NNKIT" train dupsec.ini
sed 's/^epochs = 1$/epochs = 1\nepochs = 3/' exp.ini >dupkey.ini
bad "duplicate key" 2 "^nnkit: error: dupkey.ini:21: key 'epochs' repeats the one at line 20 in \[fit\]$" "$NNKIT" train dupkey.ini
bad "empty run.dir" 2 "^nnkit: error: section \[run\]: parameter 'dir' must name a directory, got ''$" "$NNKIT" train exp.ini --set run.dir=
bad "run name with a slash" 2 "^nnkit train: --run-name must be one path component, got '../x'" "$NNKIT" train exp.ini --run-name ../x
bad "overflowing shape" 2 "^nnkit: error: exp.ini:6: input 'input': shape 4294967296,4294967296 has too many values" \
  "$NNKIT" train exp.ini --set input.shape=4294967296,4294967296
if [ $asan = 0 ]; then
  bad "huge layer" 1 "^nnkit: error: layer 'output': out of memory for weight 'kernel'" \
    "$NNKIT" train exp.ini --set hidden.units=1048576 --set output.units=1048576 --set fit.batch_size=1000000
else # the same out-of-memory path, with AddressSanitizer's warnings about the failed allocation, and no leak
  "$NNKIT" train exp.ini --set hidden.units=1048576 --set output.units=1048576 >out 2>err </dev/null
  rc=$?
  [ $rc = 1 ] && [ "$(grep -vc "WARNING: AddressSanitizer failed to allocate" err)" = 1 ] &&
    grep -q "^nnkit: error: layer 'output': out of memory for weight 'kernel'" err && ! grep -q "LeakSanitizer\|ERROR:" err &&
    pass=$((pass + 1)) || { echo "FAIL huge layer (ASan): status $rc: $(cat err)"; fail=$((fail + 1)); }
fi

# --- data files ---
if [ "$(id -u)" != 0 ]; then # root reads it all the same
  cp data/iris.csv secret.csv && chmod 000 secret.csv
  bad "unreadable data" 1 "^nnkit: error: data 'secret.csv': cannot open: Permission denied$" "$NNKIT" train exp.ini --set data.train=secret.csv
fi
mkdir adir.csv
bad "directory as data" 1 "^nnkit: error: data 'adir.csv': is a directory, not a file$" "$NNKIT" train exp.ini --set data.train=adir.csv
: >empty.csv
bad "empty csv" 1 "^nnkit: error: data 'empty.csv': empty file" "$NNKIT" train exp.ini --set data.train=empty.csv
head -1 data/iris.csv >header.csv
bad "header only" 1 "^nnkit: error: data 'header.csv': no data rows$" "$NNKIT" train exp.ini --set data.train=header.csv
head -c 1500 data/iris.csv >trunc.csv
bad "truncated csv" 1 "^nnkit: error: data 'trunc.csv': line [0-9]+ has [0-9]+ fields, the header has 6$" "$NNKIT" train exp.ini --set data.train=trunc.csv
sed -E '5s/^[^,]*/inf/' data/iris.csv >inf-cell.csv
bad "Inf cell" 1 "^nnkit: error: data 'inf-cell.csv': line 5, column 'sepal_length': NaN or Inf \('inf'\)$" "$NNKIT" train exp.ini --set data.train=inf-cell.csv
sed -E '5s/^[^,]*/nan/' data/iris.csv >nan.csv
bad "missing (nan) cell" 1 "^nnkit: error: data 'nan.csv': 1 missing value \(the file's first: line 5, column 'sepal_length'\); set \[data\] missing" "$NNKIT" train exp.ini --set data.train=nan.csv
sed '7s/,0,setosa$/,inf,setosa/' data/iris.csv >inf.csv
bad "Inf label" 1 "^nnkit: error: data 'inf.csv': line 7, column 'species': NaN or Inf" "$NNKIT" train exp.ini --set data.train=inf.csv
sed '7s/,0,setosa$/,,setosa/' data/iris.csv >nolabel.csv
bad "missing label" 1 "^nnkit: error: data 'nolabel.csv': line 7, column 'species': the label is missing \(''\)$" "$NNKIT" train exp.ini --set data.train=nolabel.csv
sed '9s/,0,setosa$/,9,setosa/' data/iris.csv >range.csv
bad "label out of range" 1 "^nnkit: error: data 'range.csv': label 9 in row 8 is out of range: output layer 'output' has 3 classes$" \
  "$NNKIT" train exp.ini --set data.train=range.csv
printf '\xef\xbb\xbf' | cat - data/iris.csv >bom.csv
good "UTF-8 byte order mark" "$NNKIT" train exp.ini --set data.train=bom.csv --run-name bom
labels=$(seq -s, -f 'nope%g' 5000)
bad "5000 label names" 2 "^nnkit: error: data 'data/iris.csv': no label column 'nope1'$" "$NNKIT" evaluate "$MODEL" --data data/iris.csv --label "$labels"
awk 'BEGIN { for (r = 0; r <= 20; r++) { line = ""; for (c = 0; c < 5000; c++) line = line (c ? "," : "") (r ? (r * c) % 7 : "f" c); print line (r ? "," r % 2 : ",y") } }' >wide.csv
cat >wide.ini <<'EOF'
[data]
train = wide.csv
label = y
[input]
shape = 5000
[layer out]
type = dense
units = 2
activation = softmax
[compile]
loss = sparse_categorical_crossentropy
[fit]
verbose = 0
[run]
dir = wideruns
EOF
good "5000 columns" "$NNKIT" train wide.ini --run-name w
# IDX: a 16-byte header claiming 60,000 28x28 images; nothing big is allocated
printf '\x00\x00\x08\x03\x00\x00\xea\x60\x00\x00\x00\x1c\x00\x00\x00\x1c' >tiny-images-idx3-ubyte
printf '\x00\x00\x08\x01\x00\x00\xea\x60' >tiny-labels-idx1-ubyte
bad "IDX header claims more than the file" 1 "^nnkit: error: data 'tiny-images-idx3-ubyte': (the file ends|truncated)" \
  bash -c "[ $asan = 1 ] || ulimit -v 4000000; exec \"$NNKIT\" train exp.ini --set data.train=tiny-images-idx3-ubyte --set input.shape=28,28"
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x01\x05\x06' >two-images-idx3-ubyte
printf '\x00\x00\x08\x01\x00\x00\x00\x00' >two-labels-idx1-ubyte
bad "labels file with no rows" 1 "^nnkit: error: data 'two-labels-idx1-ubyte': 0 labels for 2 samples in 'two-images-idx3-ubyte'$" \
  "$NNKIT" train exp.ini --set data.train=two-images-idx3-ubyte --set input.shape=1,1

# --- a cycle through 1,501 layers: named by its start and end, not cut short ---
{ sed -n '1,/^\[input\]$/p' exp.ini; printf 'shape = 4\n[layer first]\ntype = concat\ninputs = input, l1499\n'
  for i in $(seq 0 1499); do printf '[layer l%d]\ntype = dense\nunits = 4\ninputs = %s\n' "$i" "$([ "$i" = 0 ] && echo first || echo "l$((i - 1))")"; done
  printf '[layer out]\ntype = dense\nunits = 3\ninputs = l1499\n[compile]\nloss = mse\n'; } >cycle.ini
bad "a cycle of 1,501 layers" 2 "^nnkit: error: layers 'l0' -> 'l1' -> .* -> \.\.\. -> 'l0' form a cycle$" "$NNKIT" train cycle.ini

# --- nnkit plot: a damaged training.csv, an output nowhere, a full disk ---
"$NNKIT" plot base/m -o old.png >/dev/null 2>&1 || echo "FAIL: plot of the base run"
mkdir -p short long text
printf 'epoch,loss,accuracy\n0,1,0.5\n1,0.9\n' >short/training.csv
printf 'epoch,loss,accuracy\n0,1,0.5,7\n' >long/training.csv
printf 'epoch,loss,accuracy\n0,1,0.5\n1,0.9,high\n' >text/training.csv
bad "plot: a short row" 1 "^nnkit: error: history 'short/training.csv': line 3 has 2 fields, the header has 3$" "$NNKIT" plot short -o s.png
bad "plot: a long row" 1 "^nnkit: error: history 'long/training.csv': line 2 has 4 fields, the header has 3$" "$NNKIT" plot long
bad "plot: text for a number" 1 "^nnkit: error: history 'text/training.csv': line 3, column 3: 'high' is not a number$" "$NNKIT" plot text
bad "plot into no directory" 1 "^nnkit: error: plot: cannot create 'nodir/p.png': No such file or directory$" "$NNKIT" plot base/m -o nodir/p.png
for ext in png svg; do
  [ $ext = svg ] && { "$NNKIT" plot base/m -o old.svg >/dev/null 2>&1 || echo "FAIL: plot of the base run as SVG"; }
  bad "plot on a full disk ($ext): the old picture stays" 1 "^nnkit: error: plot: 'old.$ext' could not be written whole \(disk full\?\); nothing was replaced$" \
    bash -c "ulimit -f 2; trap '' XFSZ; exec \"$NNKIT\" plot base/m -o old.$ext"
done

# --- model files ---
mkdir adir.nnk
bad "directory as model" 1 "^nnkit: error: model 'adir.nnk': is a directory, not a file$" "$NNKIT" evaluate adir.nnk --data data/iris.csv
head -c 100 "$MODEL" >trunc.nnk
bad "truncated model" 1 "^nnkit: error: model 'trunc.nnk': truncated or padded" "$NNKIT" predict trunc.nnk --input data/iris.csv
bad "export a truncated model" 1 "^nnkit: error: model 'trunc.nnk': truncated or padded" "$NNKIT" export trunc.nnk -o t.onnx
bad "export a missing model" 1 "^nnkit: error: model 'nope.nnk': cannot open: No such file or directory$" "$NNKIT" export nope.nnk --format c -o t.c
bad "export into no directory" 1 "^nnkit: error: file 'nodir/t.onnx': cannot create: No such file or directory$" "$NNKIT" export "$MODEL" -o nodir/t.onnx
mkdir hdir.h
bad "export C whose header cannot be written" 1 "^nnkit: error: file 'hdir.h': " "$NNKIT" export "$MODEL" --format c -o hdir.c
bad "export to another format" 2 "^nnkit export: --format must be onnx or c, got 'tflite'" "$NNKIT" export "$MODEL" --format tflite -o t.tflite
# a model file whose input shape overflows, sealed with a valid checksum
python3 - "$MODEL" "$SRC/proto" <<'PY' >/dev/null 2>&1
import struct, subprocess, sys, zlib
raw = open(sys.argv[1], 'rb').read()
text = subprocess.run(['protoc', '--decode=nnkit.Model', '-I', sys.argv[2], sys.argv[2] + '/nnkit_model.proto'],
                      input=raw[20:], capture_output=True, check=True).stdout.decode()
text = text.replace('shape: 4\n', 'shape: 4294967296\n  shape: 4294967296\n', 1)
payload = subprocess.run(['protoc', '--encode=nnkit.Model', '-I', sys.argv[2], sys.argv[2] + '/nnkit_model.proto'],
                         input=text.encode(), capture_output=True, check=True).stdout
open('huge.nnk', 'wb').write(b'NNKM' + struct.pack('<IQI', 1, len(payload), zlib.crc32(payload)) + payload)
PY
if [ -e huge.nnk ]; then
  bad "model with an overflowing shape" 1 "^nnkit: error: model 'huge.nnk': input 'input': a shape needs 1 to 3 dimensions" "$NNKIT" predict huge.nnk --input data/iris.csv
else
  echo "SKIP: a crafted model file (python3 or protoc missing)"
fi
bad "predict into a directory" 1 "^nnkit: error: file 'adir.csv': rename failed: Is a directory$" \
  "$NNKIT" predict "$MODEL" --input data/iris.csv -o adir.csv
bad "an infinite learning rate" 2 "^nnkit: error: --set: compile: parameter 'learning_rate' must be a number in \[1e-30, 1e\+30\], got 'inf'$" \
  "$NNKIT" train exp.ini --set compile.learning_rate=inf
bad "a clip value that is no number" 2 "^nnkit: error: --set: compile: parameter 'clipvalue' must be a number in \[1e-30, 1e\+30\], got 'nan'$" \
  "$NNKIT" train exp.ini --set compile.clipvalue=nan
bad "--top past int64" 2 "^nnkit predict: option '--top' needs a positive integer, got '99999999999999999999'" \
  "$NNKIT" predict "$MODEL" --input data/iris.csv --top 99999999999999999999
bad "--top as a float" 2 "^nnkit predict: option '--top' needs a positive integer, got '1e3'" \
  "$NNKIT" predict "$MODEL" --input data/iris.csv --top 1e3
for which in / hidden/ /kernel hidden//kernel; do
  bad "weights '$which'" 2 "^nnkit: error: weights: '$which' names no weight \(give LAYER or LAYER/WEIGHT\)$" \
    "$NNKIT" weights "$MODEL" "$which"
done
bad "batch size not a number" 2 "^nnkit predict: option '--batch-size' needs a positive integer, got '1e15'" \
  "$NNKIT" predict "$MODEL" --input data/iris.csv --batch-size 1e15
good "huge batch size" "$NNKIT" predict "$MODEL" --input data/iris.csv --batch-size 1000000000000000 -o big.csv
# writing through a symbolic link replaces its target and keeps the link
echo old >target.csv && ln -s target.csv link.csv
good "output through a link" "$NNKIT" predict "$MODEL" --input data/iris.csv -o link.csv
[ -L link.csv ] && [ "$(readlink link.csv)" = target.csv ] && head -1 target.csv | grep -q "^prob_0" && pass=$((pass + 1)) ||
  { echo "FAIL: -o link.csv replaced the link"; fail=$((fail + 1)); }

# --- event files: a histogram claiming 10^18 buckets in 24 bytes ---
python3 - "$SRC/proto/tensorboard" <<'PY' >/dev/null 2>&1
import struct, subprocess, sys
def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 & -(crc & 1))
    return crc ^ 0xffffffff
def masked(data):
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xffffffff) + 0xa282ead8) & 0xffffffff
def record(payload):
    head = struct.pack('<Q', len(payload))
    return head + struct.pack('<I', masked(head)) + payload + struct.pack('<I', masked(payload))
text = '''step: 1 summary { value { tag: "h" metadata { plugin_data { plugin_name: "histograms" } }
  tensor { dtype: 2 tensor_shape { dim { size: 1000000000000000000 } dim { size: 3 } }
  tensor_content: "\\001\\002\\003\\004\\005\\006\\007\\010\\001\\002\\003\\004\\005\\006\\007\\010\\001\\002\\003\\004\\005\\006\\007\\010" } } }'''
d = sys.argv[1]
ev = subprocess.run(['protoc', '--encode=tensorboard.Event', '-I', d, d + '/event.proto'], input=text.encode(),
                    capture_output=True, check=True).stdout
open('absurd.tfevents', 'wb').write(record(ev) + b'\x01garbage')
# a whole record whose histogram declares 2^61 buckets and holds 2 (48 bytes)
text = text.replace('1000000000000000000', '2305843009213693952').replace('" } } }', '" } } }', 1)
text = text.replace('tensor_content: "', 'tensor_content: "' + '\\000' * 24, 1)
ev = subprocess.run(['protoc', '--encode=tensorboard.Event', '-I', d, d + '/event.proto'], input=text.encode(),
                    capture_output=True, check=True).stdout
open('mismatch.tfevents', 'wb').write(record(ev))
PY
if [ -e mismatch.tfevents ]; then
  bad "absurd histogram" 1 "^nnkit: error: event file 'absurd.tfevents': histogram whose shape disagrees with its content at offset 0; 8 damaged bytes skipped, 1 whole records read" \
    "$NNKIT" events absurd.tfevents
  bad "histogram shape against its content" 1 \
    "^nnkit: error: event file 'mismatch.tfevents': histogram whose shape disagrees with its content at offset 0; 0 damaged bytes skipped, 1 whole records read" \
    "$NNKIT" events mismatch.tfevents
else
  echo "SKIP: crafted event files (python3 or protoc missing)"
fi

# --- plugins ---
for f in null_backward offset struct_size type; do
  mkdir -p "p_$f" && cp "$FIXTURES/fixture_bad_$f.so" "p_$f/"
done
bad "plugin without backward" 2 "^nnkit: error: plugin 'p_null_backward/fixture_bad_null_backward.so': layer 'broken' has no backward function$" \
  "$NNKIT" train exp.ini --plugin-dir p_null_backward
bad "plugin offset past its config" 2 "^nnkit: error: plugin 'p_offset/fixture_bad_offset.so': layer 'broken': parameter 'units' lies outside the config struct" \
  "$NNKIT" plugins --plugin-dir p_offset
bad "plugin struct_size 0" 2 "^nnkit: error: plugin 'p_struct_size/fixture_bad_struct_size.so': a layer has struct_size 0, expected at least" \
  "$NNKIT" summary exp.ini --plugin-dir p_struct_size
bad "plugin parameter of no type" 2 "^nnkit: error: plugin 'p_type/fixture_bad_type.so': layer 'broken': parameter 'units' has unknown type 42$" \
  "$NNKIT" plugins --plugin-dir p_type
mkdir -p p_silent && cp "$FIXTURES/fixture_silent.so" p_silent/
sed 's/^\[layer output\]$/[layer quiet]\ntype = silent\n[layer output]/' exp.ini >silent.ini
bad "plugin build failing without a message" 2 \
  "^nnkit: error: layer 'quiet': type 'silent' from 'p_silent/fixture_silent.so' failed to build and gave no reason \(input from layer 'hidden' with shape \(None, 4\)\)$" \
  "$NNKIT" train silent.ini --plugin-dir p_silent
mkdir -p p_func && cp "$FIXTURES/fixture_funcrecord.so" p_func/
bad "plugin record that is a function" 2 "^nnkit: error: plugin 'p_func/fixture_funcrecord.so': not an nnkit plugin \(nnkit_plugin is not a data record\)$" \
  "$NNKIT" plugins --plugin-dir p_func
mkdir -p foreign && cp "$(ldd "$NNKIT" | awk '/libz\.so/ {print $3}')" foreign/libz.so
bad "foreign shared object" 2 "^nnkit: error: plugin 'foreign/libz.so': not an nnkit plugin \(no nnkit_plugin record\)$" \
  "$NNKIT" plugins --plugin-dir foreign

# --- a file-size limit mid-run: one line, and every file left is whole ---
bash -c "ulimit -f 8; exec \"$NNKIT\" train wide.ini --set fit.epochs=3 --run-name fsz" >out 2>err </dev/null
rc=$?
whole=1
for f in wideruns/fsz/events.* wideruns/fsz/*/events.*; do
  [ -e "$f" ] && { "$NNKIT" events "$f" >/dev/null 2>&1 || whole=0; }
done
[ -e wideruns/fsz/config.ini ] && { "$NNKIT" summary wideruns/fsz/config.ini >/dev/null 2>&1 || whole=0; }
if [ $rc = 1 ] && [ "$(wc -l <err)" = 1 ] && grep -Eq "^nnkit: error: .*(File too large|write failed)" err &&
  [ $whole = 1 ] && [ -z "$(find . -name '*.tmp.*')" ] && [ ! -e wideruns/fsz/model.nnk ]; then
  pass=$((pass + 1))
else
  echo "FAIL file-size limit: status $rc, whole $whole: $(cat err)"
  fail=$((fail + 1))
fi

echo "bad input: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
