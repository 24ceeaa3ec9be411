#!/usr/bin/env bash
# The nnkit runner end to end: exit statuses, exact one-line errors,
# nothing half-written, train -> evaluate -> predict round trips.
set -u
NNKIT=$(realpath "$1")
SRC=$2
FIXTURES=$(realpath "$3")
work=$(mktemp -d /tmp/nnkit-runner-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
cp -r "$SRC/examples" .
pass=0 fail=0

check() { # name, expected status, expected stderr (exact, or '*' to skip), command...
  local name=$1 want_rc=$2 want_err=$3
  shift 3
  "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  local err
  err=$(cat "$work/err")
  if [ "$rc" != "$want_rc" ] || { [ "$want_err" != "*" ] && [ "$err" != "$want_err" ]; }; then
    echo "FAIL $name: status $rc (want $want_rc)"
    echo "  stderr: $err"
    [ "$want_err" != "*" ] && echo "  wanted: $want_err"
    fail=$((fail + 1))
  else
    pass=$((pass + 1))
  fi
}

kill_at_line() { # what, an extended regex, then a command: runs it with its output through a
  # FIFO and kill -9s it as soon as it writes a line matching the regex (the
  # read blocks until the line comes: no clock); fails when the run ends first
  local what=$1 pattern=$2
  shift 2
  rm -f progress.fifo
  mkfifo progress.fifo
  "$@" >progress.fifo 2>&1 &
  local pid=$! seen=0 line
  exec 3<progress.fifo # held open until after the kill, so no write meets a closed pipe
  while IFS= read -r line <&3; do
    [[ $line =~ $pattern ]] && { seen=1; break; }
  done
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null
  exec 3<&-
  rm -f progress.fifo
  [ $seen = 1 ] || { echo "FAIL: the run ended before $what"; fail=$((fail + 1)); return 1; }
}

ini() { # file, then lines
  local f=$1
  shift
  printf '%s\n' "$@" >"$f"
}

base=(
  "[data]" "train = examples/data/iris.csv" "label = species"
  "features = sepal_length,sepal_width,petal_length,petal_width" "standardize = true"
  "validation_split = 0.2"
  "[input]" "shape = 4"
  "[layer hidden]" "type = dense" "units = 16" "activation = relu"
  "[layer output]" "type = dense" "units = 3" "activation = softmax"
  "[compile]" "loss = sparse_categorical_crossentropy" "optimizer = sgd" "learning_rate = 0.1" "metrics = accuracy"
  "[fit]" "epochs = 3" "batch_size = 16" "verbose = 0"
)
ini good.ini "${base[@]}"

# --- configuration errors: exit 2, exact text, no run directory ---
ini e1.ini "${base[@]}" "[fitt]" "epochs = 3"
check "unknown section" 2 "nnkit: error: e1.ini:26: unknown section 'fitt' (did you mean 'fit'?); sections are data, input, layer NAME, compile, fit, callback NAME, run" $NNKIT train e1.ini
ini e2.ini "${base[@]}" "epohcs = 3"
check "unknown key" 2 "nnkit: error: e2.ini:26: unknown key 'epohcs' for section [fit] (did you mean 'epochs'?)" $NNKIT train e2.ini
check "wrong type" 2 "nnkit: error: --set: layer 'hidden': parameter 'units' must be an integer in [1, 1048576], got 'many'" $NNKIT train good.ini --set hidden.units=many
check "out of range" 2 "nnkit: error: --set: section [fit]: parameter 'batch_size' must be an integer in [1, 1000000], got '0'" $NNKIT train good.ini --set fit.batch_size=0
check "unknown activation" 2 "nnkit: error: layer 'hidden': unknown activation 'rleu' (did you mean 'relu'?); available: linear, heaviside, sign, sigmoid, tanh, relu, leaky_relu, elu, selu, softplus, softmax" $NNKIT train good.ini --set hidden.activation=rleu
check "unknown loss" 2 "nnkit: error: compile: unknown loss 'mse2' (did you mean 'mse'?); available: mse, mae, huber, binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy" $NNKIT train good.ini --set compile.loss=mse2
check "unknown optimizer key" 2 "nnkit: error: --set: unknown key 'momentun' for optimizer 'sgd' or loss 'sparse_categorical_crossentropy' (did you mean 'momentum'?)" $NNKIT train good.ini --set compile.momentun=0.9
check "bad --set" 2 "nnkit: error: --set 'nodot=3': expected section.key=value" $NNKIT train good.ini --set nodot=3
check "unknown option" 2 "nnkit train: unknown option '--epochs' (see 'nnkit train --help')" $NNKIT train good.ini --epochs 3
check "missing experiment" 2 "nnkit: error: experiment 'nope.ini': cannot open: No such file or directory" $NNKIT train nope.ini
check "unknown command" 2 "nnkit: unknown command 'trian' (commands: train, evaluate, predict, summary, plugins, weights, plot, events, export, check-plugin, lr-find, sweep)" $NNKIT trian
[ -e runs ] && { echo "FAIL: a configuration error left a runs/ directory"; fail=$((fail + 1)); } || pass=$((pass + 1))

# --- data errors: exit 1 ---
printf 'sepal_length,sepal_width,petal_length,petal_width,species\n1,2,3,4,0\n1,2,3\n' >ragged.csv
check "ragged csv" 1 "nnkit: error: data 'ragged.csv': line 3 has 3 fields, the header has 5" $NNKIT train good.ini --set data.train=ragged.csv
printf 'sepal_length,sepal_width,petal_length,petal_width,species\n1,2,3,4,0\n1,2,3,4,7\n1,2,3,4,1\n1,2,3,4,1\n1,2,3,4,1\n' >labels.csv
check "label out of range" 1 "nnkit: error: data 'labels.csv': label 7 in row 2 is out of range: output layer 'output' has 3 classes" $NNKIT train good.ini --set data.train=labels.csv
check "missing data" 1 "nnkit: error: data 'missing.csv': cannot open: No such file or directory" $NNKIT train good.ini --set data.train=missing.csv

# --- a real run: train, evaluate, predict, summary ---
check "train" 0 "" $NNKIT train good.ini --run-name r1
[ -f runs/r1/model.nnk ] && [ -f runs/r1/config.ini ] && pass=$((pass + 1)) || { echo "FAIL: run files missing"; fail=$((fail + 1)); }
# every run records its history, with no csv_logger configured
[ "$(head -1 runs/r1/training.csv)" = "epoch,accuracy,loss,val_accuracy,val_loss" ] && [ "$(wc -l <runs/r1/training.csv)" = 4 ] \
  && pass=$((pass + 1)) || { echo "FAIL: training.csv: $(cat runs/r1/training.csv)"; fail=$((fail + 1)); }
grep -q "^units = 16$" runs/r1/config.ini && grep -q "^momentum = 0$" runs/r1/config.ini && pass=$((pass + 1)) || { echo "FAIL: config.ini not resolved"; fail=$((fail + 1)); }
# defect: config.ini must be what ran: the shortest float that reads back,
# every callback parameter with its default, and the run's name
ini cfg.ini "${base[@]}" "[callback log]" "type = csv_logger"
check "config.ini is what ran" 0 "" $NNKIT train cfg.ini --run-name named --set data.validation_split=0.0833333333 --set fit.epochs=1
grep -q "^validation_split = 0.0833333333$" runs/named/config.ini && grep -q "^learning_rate = 0.1$" runs/named/config.ini \
  && grep -A4 "^\[callback log\]$" runs/named/config.ini | tr '\n' ' ' | grep -q "type = csv_logger filename = training.csv separator = , append = false" \
  && grep -A2 "^\[run\]$" runs/named/config.ini | grep -q "^name = named$" && pass=$((pass + 1)) || { echo "FAIL: config.ini: $(cat runs/named/config.ini)"; fail=$((fail + 1)); }
# defect: every optimizer's default learning rate is Keras's
check "default learning rates" 0 "" $NNKIT plugins
[ "$(grep -A1 "^  \(sgd\|adagrad\|rmsprop\|adam\|adamax\|nadam\|adamw\) " out | grep -o "learning_rate  *float > 0, default [0-9.]*" | awk '{print $NF}' | paste -sd' ')" = "0.01 0.001 0.001 0.001 0.001 0.001 0.001" ] \
  && pass=$((pass + 1)) || { echo "FAIL: default learning rates: $(grep -A1 "^  adam " out)"; fail=$((fail + 1)); }
ini adam.ini "${base[@]/learning_rate = 0.1/}"
check "adam's default rate" 0 "" $NNKIT train adam.ini --run-name adam --set compile.optimizer=adam --set fit.epochs=1
grep -q "^learning_rate = 0.001$" runs/adam/config.ini && pass=$((pass + 1)) || { echo "FAIL: adam without a rate: $(grep learning_rate runs/adam/config.ini)"; fail=$((fail + 1)); }
check "evaluate" 0 "" $NNKIT evaluate runs/r1/model.nnk --data examples/data/iris.csv
grep -q "^evaluate: loss [0-9.]* - accuracy [0-9.]*$" out && pass=$((pass + 1)) || { echo "FAIL: evaluate output: $(cat out)"; fail=$((fail + 1)); }
check "predict" 0 "" $NNKIT predict runs/r1/model.nnk --input examples/data/iris.csv -o probs.csv
[ "$(wc -l <probs.csv)" = 151 ] && [ "$(head -1 probs.csv)" = "prob_0,prob_1,prob_2" ] && pass=$((pass + 1)) || { echo "FAIL: predict output"; fail=$((fail + 1)); }
check "summary" 0 "" $NNKIT summary runs/r1/model.nnk
grep -q "Total params: 131 " out && pass=$((pass + 1)) || { echo "FAIL: summary: $(cat out)"; fail=$((fail + 1)); }
check "summary ini" 0 "" $NNKIT summary good.ini --set hidden.units=8
grep -q "hidden (dense) .*(None, 8) .* 40" out && pass=$((pass + 1)) || { echo "FAIL: summary ini: $(cat out)"; fail=$((fail + 1)); }
check "plugins" 0 "" $NNKIT plugins
grep -q "sparse_categorical_crossentropy" out && pass=$((pass + 1)) || { echo "FAIL: plugins"; fail=$((fail + 1)); }
check "help" 0 "" $NNKIT train --help

# --- console lines (stdout is not a terminal) and csv_logger ---
ini cb.ini "${base[@]}" "[callback csv]" "type = csv_logger" "filename = log.csv"
check "console+csv" 0 "" $NNKIT train cb.ini --run-name c1 --set fit.verbose=1 --set fit.epochs=2
grep -c "^Epoch [12]/2$" out | grep -q "^2$" && grep -Eq "^[0-9]+/[0-9]+ - [0-9]+s - [0-9]+ms/step - loss: [0-9.]+ - accuracy: [0-9.]+ - val_loss: [0-9.]+ - val_accuracy: [0-9.]+$" out \
  && pass=$((pass + 1)) || { echo "FAIL: console lines: $(cat out)"; fail=$((fail + 1)); }
[ "$(head -1 runs/c1/log.csv)" = "epoch,accuracy,loss,val_accuracy,val_loss" ] && [ "$(wc -l <runs/c1/log.csv)" = 3 ] \
  && grep -q "^1,0\.[0-9]*,[0-9.]*,0\.[0-9]*,[0-9.]*$" runs/c1/log.csv && pass=$((pass + 1)) || { echo "FAIL: csv_logger: $(cat runs/c1/log.csv)"; fail=$((fail + 1)); }
check "csv unwritable" 1 "nnkit: error: callback csv_logger: cannot open '/nonexistent/dir/log.csv': No such file or directory" \
  $NNKIT train cb.ini --run-name c2 --set csv.filename=/nonexistent/dir/log.csv

# --- plugin search order: NNKIT_PLUGIN_PATH comes before the built-ins ---
mkdir -p dup && cp "$FIXTURES/fixture_dup.so" dup/
check "duplicate component" 2 "*" env NNKIT_PLUGIN_PATH="$work/dup" $NNKIT plugins
grep -q "^nnkit: error: plugin '.*/nnkit-layers.so': duplicate layer 'dense', already provided by '$work/dup/fixture_dup.so'$" err \
  && pass=$((pass + 1)) || { echo "FAIL: duplicate: $(cat err)"; fail=$((fail + 1)); }
mkdir -p abi && cp "$FIXTURES/fixture_abi.so" abi/
check "abi mismatch" 2 "nnkit: error: plugin 'abi/fixture_abi.so': built for ABI 4.0, this nnkit has ABI 3.1 (and loads 2.0, 2.1 and 3.0)" $NNKIT train good.ini --plugin-dir abi

# --- tensorboard: every dashboard's records, readable by us and by protoc ---
PROTO=$SRC/proto/tensorboard
ini tb.ini "${base[@]}" "[callback tensorboard]" "histogram_freq = 1" "write_images = true" \
  "update_freq = 2" "write_gradients = true" "write_activations = true" \
  "embeddings_freq = 1" "embeddings_samples = 20"
check "tensorboard train" 0 "" $NNKIT train tb.ini --run-name tb
check "events train" 0 "" $NNKIT events runs/tb/train/events.out.tfevents.*
for want in "epoch_loss  *scalar" "epoch_accuracy  *scalar" "epoch_learning_rate  *scalar" "batch_loss  *scalar" \
            "hidden/kernel  *histogram" "hidden/bias/gradient  *histogram" "output/activation  *histogram" \
            "hidden/kernel_image  *image" "experiment  *text" "model_summary  *text" " graph "; do
  grep -q -- "$want" out && pass=$((pass + 1)) || { echo "FAIL: train events lack '$want'"; fail=$((fail + 1)); }
done
check "events validation" 0 "" $NNKIT events runs/tb/validation/events.out.tfevents.*
[ "$(grep -c "epoch_loss  *scalar" out)" = 3 ] && ! grep -q batch_ out && pass=$((pass + 1)) || { echo "FAIL: validation events: $(cat out)"; fail=$((fail + 1)); }
check "events session" 0 "" $NNKIT events runs/tb/events.out.tfevents.*
grep -q "session start, [0-9]* hparams" out && grep -q "session end, status 1" out && pass=$((pass + 1)) || { echo "FAIL: hparams events: $(cat out)"; fail=$((fail + 1)); }
# the projector: validation split (the fallback from test), 20 points of the hidden layer's 16 values
[ "$(wc -l <runs/tb/train/tensors.tsv)" = 20 ] && [ "$(head -1 runs/tb/train/tensors.tsv | tr '\t' '\n' | wc -l)" = 16 ] \
  && [ "$(wc -l <runs/tb/train/metadata.tsv)" = 20 ] && grep -q 'tensor_name: "hidden"' runs/tb/train/projector_config.pbtxt \
  && ! [ -e runs/tb/train/sprite.png ] && pass=$((pass + 1)) || { echo "FAIL: projector files"; fail=$((fail + 1)); }
# protoc decodes our records with our .proto files
f=$(ls runs/tb/validation/events.out.tfevents.*)
len=$(od -An -tu8 -j40 -N8 "$f" | tr -d ' ')
if command -v protoc >/dev/null; then
  dd if="$f" bs=1 skip=52 count="$len" status=none | protoc --decode=tensorboard.Event -I "$PROTO" "$PROTO/event.proto" >decoded 2>&1
  grep -q 'tag: "epoch_loss"' decoded && grep -q 'plugin_name: "scalars"' decoded && pass=$((pass + 1)) || { echo "FAIL: protoc --decode: $(cat decoded)"; fail=$((fail + 1)); }
else
  echo "SKIP: protoc decodes our records (protoc not installed)"
fi
# a torn tail and a flipped bit are found with their offsets; --repair cuts the tail
cp "$f" torn.tfevents && truncate -s -7 torn.tfevents
size=$(stat -c %s "$f")
check "events torn" 1 "*" $NNKIT events torn.tfevents
grep -q "truncated record (the file ends inside it) at offset" err && pass=$((pass + 1)) || { echo "FAIL: torn: $(cat err)"; fail=$((fail + 1)); }
check "events repair" 0 "" $NNKIT events --repair torn.tfevents
grep -q "^repaired 'torn.tfevents': kept [0-9]* whole records, dropped 1 damaged span of [0-9]* bytes (the first at offset [0-9]*)$" out && pass=$((pass + 1)) || { echo "FAIL: repair message: $(cat out)"; fail=$((fail + 1)); }
check "events repaired" 0 "" $NNKIT events torn.tfevents
# defect: one flipped bit in an early record made --repair drop every record
# after it; now only that record goes
records=$($NNKIT events "$f" | tail -n +2 | wc -l)
cp "$f" flip.tfevents && printf '\x7f' | dd of=flip.tfevents bs=1 seek=60 conv=notrunc status=none
check "events flipped" 1 "*" $NNKIT events flip.tfevents
grep -q "^nnkit: error: event file 'flip.tfevents': bad CRC at offset 40; [0-9]* damaged bytes skipped, [0-9]* whole records read (--repair keeps those)$" err \
  && [ "$(tail -n +2 out | wc -l)" = $((records - 1)) ] && pass=$((pass + 1)) || { echo "FAIL: flipped: $(cat err)"; fail=$((fail + 1)); }
check "events flipped repair" 0 "*" $NNKIT events --repair flip.tfevents
check "events flipped repaired" 0 "" $NNKIT events flip.tfevents
[ "$(tail -n +2 out | wc -l)" = $((records - 1)) ] && pass=$((pass + 1)) || { echo "FAIL: repair kept $(tail -n +2 out | wc -l) of $records records"; fail=$((fail + 1)); }
check "events missing" 1 "nnkit: error: event file 'nope.tfevents': cannot open: No such file or directory" $NNKIT events nope.tfevents

# --- tensorboard: bad options are refused before training ---
check "tb bad layer" 2 "nnkit: error: callback 'tensorboard': embeddings_layer 'hiden' is not a layer of the model; layers: hidden, output" \
  $NNKIT train tb.ini --run-name tb2 --set tensorboard.embeddings_layer=hiden
check "tb too many samples" 2 "nnkit: error: callback 'tensorboard': embeddings_samples is 500 but the validation data has 30 rows" \
  $NNKIT train tb.ini --run-name tb3 --set tensorboard.embeddings_samples=500
check "tb update_freq" 2 "nnkit: error: callback 'tensorboard': parameter 'update_freq' must be 'epoch', 'batch' or a positive integer, got 'often'" \
  $NNKIT train tb.ini --run-name tb4 --set tensorboard.update_freq=often
touch notadir
check "tb log_dir unwritable" 1 "nnkit: error: log directory 'notadir/tb5/train': cannot create 'notadir/tb5': Not a directory" \
  $NNKIT train tb.ini --run-name tb5 --set tensorboard.log_dir=notadir
[ ! -e runs/tb5/model.nnk ] && pass=$((pass + 1)) || { echo "FAIL: a failed run left a model"; fail=$((fail + 1)); }

# --- kill -9 mid-epoch: every event file still reads to its last whole record ---
# Killed at moments the run's own progress lines mark, never by the clock:
# as the first epoch ends, and as the third begins.
ini slow.ini "${base[@]}" "[callback tensorboard]" "update_freq = batch" "histogram_freq = 1"
for moment in "the end of epoch 1:^[0-9]+/[0-9]+ - " "the start of epoch 3:^Epoch 3/"; do
  rm -rf runs/kill
  kill_at_line "${moment%%:*}" "${moment#*:}" $NNKIT train slow.ini --run-name kill --set fit.epochs=100000 --set fit.batch_size=1 \
    --set fit.verbose=2 || continue
  ok=1
  for ev in runs/kill/events.* runs/kill/*/events.*; do
    [ -e "$ev" ] || { ok=0; continue; }
    $NNKIT events "$ev" >/dev/null 2>err || grep -q "truncated record" err || ok=0
  done
  [ $ok = 1 ] && pass=$((pass + 1)) || { echo "FAIL: after kill -9 at ${moment%%:*}: $(cat err)"; fail=$((fail + 1)); }
done

# --- functional models: Wide & Deep converges; graph errors name the layers ---
check "wide and deep" 0 "" $NNKIT train examples/wide_and_deep.ini --run-name wd --set fit.verbose=0
mae=$(sed -n 's/^test: .* main_output_mae \([0-9.]*\) .*/\1/p' out)
awk -v m="$mae" 'BEGIN { exit !(m != "" && m < 52) }' && pass=$((pass + 1)) || { echo "FAIL: wide and deep test MAE '$mae' (want < 52; the target's std is 77): $(cat out)"; fail=$((fail + 1)); }
grep -q "aux_output_loss" out && [ -e runs/wd/model.nnk ] && pass=$((pass + 1)) || { echo "FAIL: wide and deep logs"; fail=$((fail + 1)); }
check "wide and deep predict" 0 "" $NNKIT predict runs/wd/model.nnk --input examples/data/diabetes.csv
[ "$(head -1 out)" = "main_output_0,aux_output_0" ] && [ "$(wc -l <out)" = 443 ] && pass=$((pass + 1)) || { echo "FAIL: wide and deep predict: $(head -2 out)"; fail=$((fail + 1)); }
fbase=("[data]" "train = examples/data/diabetes.csv" "label = progression" "[input wide]" "columns = age, sex"
       "[input deep]" "columns = bmi, bp, s1" "[compile]" "loss = mse" "[fit]" "verbose = 0")
ini cyc.ini "${fbase[@]}" "[layer a]" "inputs = deep, c" "type = concat" "[layer c]" "inputs = a" "type = dense" "units = 3" \
  "[layer o]" "inputs = wide, c" "type = concat"
check "cycle" 2 "nnkit: error: layers 'c' -> 'a' -> 'c' form a cycle" $NNKIT train cyc.ini
ini unk.ini "${fbase[@]}" "[layer h]" "inputs = dep" "type = dense" "units = 3" "[layer o]" "inputs = wide, h" "type = concat"
check "unknown input" 2 "nnkit: error: layer 'h': unknown input 'dep' (did you mean 'deep'?)" $NNKIT train unk.ini
ini unused.ini "${fbase[@]}" "[layer h]" "inputs = deep" "type = dense" "units = 3"
check "unused input" 2 "nnkit: error: input 'wide': no layer uses it" $NNKIT train unused.ini
ini dead.ini "${fbase[@]}" "[layer h]" "inputs = deep" "type = dense" "units = 3" "[layer dead]" "inputs = deep" "type = dense" \
  "units = 2" "[layer o]" "inputs = wide, h" "type = concat"
check "unreached layer" 2 "nnkit: error: layer 'dead': its output reaches no other layer and it is not an output of the model" $NNKIT train dead.ini
ini add.ini "${fbase[@]}" "[layer h]" "inputs = deep" "type = dense" "units = 3" "[layer o]" "inputs = wide, h" "type = add"
check "merge shapes" 2 "nnkit: error: layer 'o': inputs 'wide' (None, 2) and 'h' (None, 3) do not fit: add needs equal shapes" $NNKIT train add.ini
check "output not a layer" 2 "nnkit: error: compile: output 'nope' is not a layer; layers: h, o" $NNKIT train add.ini --set compile.outputs=nope --set h.units=2
check "losses per output" 2 "nnkit: error: --set: compile: 3 losses for 2 outputs (give one for all, or one per output)" \
  $NNKIT train examples/wide_and_deep.ini --set "compile.loss=mse,mse,mae"

# --- training callbacks from an experiment file ---
ini es.ini "${base[@]}" "[callback early_stopping]" "monitor = val_loss" "patience = 1" "min_delta = 10" \
  "restore_best_weights = true" "[callback model_checkpoint]" "filepath = ckpt/e{epoch:02d}.nnk" \
  "[callback reduce_lr_on_plateau]" "patience = 1" "[callback terminate_on_nan]"
check "early stopping" 0 "" $NNKIT train es.ini --run-name es --set fit.epochs=50
[ "$(ls runs/es/ckpt | wc -l)" = 2 ] && [ -e runs/es/ckpt/e02.nnk ] && pass=$((pass + 1)) || { echo "FAIL: early stopping after 2 epochs with 2 checkpoints: $(ls runs/es/ckpt)"; fail=$((fail + 1)); }
check "monitor missing" 2 "nnkit: error: callback 'early_stopping': monitor 'val_accuracy_' is not logged in this run; logs: loss, accuracy, val_loss, val_accuracy" \
  $NNKIT train es.ini --run-name es2 --set early_stopping.monitor=val_accuracy_
[ ! -e runs/es2 ] && pass=$((pass + 1)) || { echo "FAIL: a configuration error left runs/es2"; fail=$((fail + 1)); }
check "checkpoint unwritable" 1 "nnkit: error: callback 'model_checkpoint': cannot create '/proc/nnkit': No such file or directory" \
  $NNKIT train es.ini --run-name es3 --set model_checkpoint.filepath=/proc/nnkit/m.nnk
ini sched.ini "${base[@]}" "[callback learning_rate_scheduler]" "schedule = exponential_decay" "decay_rate = 0.5" "decay_steps = 8" \
  "[callback tensorboard]"
check "lr schedule" 0 "" $NNKIT train sched.ini --run-name sched --set compile.optimizer=adam --set compile.learning_rate=0.01
check "lr schedule logged" 0 "" $NNKIT events runs/sched/train/events.out.tfevents.*
[ "$(grep "epoch_learning_rate" out | awk '{print $5}' | paste -sd' ')" = "0.00499999989 0.00249999994 0.00124999997" ] \
  && pass=$((pass + 1)) || { echo "FAIL: logged rates: $(grep epoch_learning_rate out)"; fail=$((fail + 1)); }

# --- lr-find: the book's learning-rate search on Fashion-MNIST ---
check "lr-find" 0 "" $NNKIT lr-find examples/fashion_mnist.ini --set fit.seed=7
sug=$(sed -n 's/^suggested learning rate: \([0-9.e-]*\) .*/\1/p' out)
awk -v s="$sug" 'BEGIN { exit !(s != "" && s >= 0.002 && s <= 0.2) }' && pass=$((pass + 1)) || { echo "FAIL: lr-find suggested '$sug': $(tail -5 out)"; fail=$((fail + 1)); }
check "lr-find curve" 0 "" $NNKIT events runs/fashion_mnist-lr-find-*/events.out.tfevents.*
[ "$(grep -c "lr_find/smoothed_loss" out)" -ge 50 ] && grep -q "lr_find/suggestion  *text" out && pass=$((pass + 1)) || { echo "FAIL: lr-find curve"; fail=$((fail + 1)); }
check "lr-find bounds" 2 "nnkit lr-find: --min-lr must be below --max-lr (see 'nnkit lr-find --help')" $NNKIT lr-find examples/fashion_mnist.ini --min-lr 1 --max-lr 0.1

# --- backup_and_restore: kill -9 mid-epoch, run again, same weights as an uninterrupted run ---
ini br.ini "[data]" "train = fashion-mnist:train" "validation_split = 0.0833333333" "scale = 0.00392156862745098" \
  "[input]" "shape = 28,28" "[layer flatten]" "[layer hidden]" "type = dense" "units = 64" "activation = relu" \
  "[layer drop]" "type = dropout" "rate = 0.2" "[layer output]" "type = dense" "units = 10" "activation = softmax" \
  "[compile]" "loss = sparse_categorical_crossentropy" "optimizer = adam" "learning_rate = 0.001" "metrics = accuracy" \
  "[fit]" "epochs = 2" "verbose = 2" "[callback backup_and_restore]" "save_freq = 100" \
  "[callback learning_rate_scheduler]" "schedule = exponential_decay" "decay_rate = 0.5" "decay_steps = 1000" \
  "[callback csv_logger]"
check "backup reference" 0 "" $NNKIT train br.ini --run-name brref
[ ! -e runs/brref/backup/training.nnkstate ] && pass=$((pass + 1)) || { echo "FAIL: the backup was not deleted after training"; fail=$((fail + 1)); }
# killed once backups exist, at moments the run's progress lines mark:
# as epoch 1 ends (17 backups of every 100 batches behind it) or as epoch 2
# starts (with epoch backups, the first one just written)
start_and_kill() { # the moment ("end" of epoch 1 or "start" of epoch 2), then more train arguments
  local pattern='^Epoch 2/2$'
  [ "$1" = end ] && pattern='^[0-9]+/[0-9]+ - '
  shift
  rm -rf runs/br-*
  kill_at_line "a backup" "$pattern" $NNKIT train br.ini "$@"
}
for extra in end start; do
  start_and_kill $extra
  check "resume after kill -9 (at the $extra of an epoch)" 0 "*" $NNKIT train br.ini
  grep -q "^nnkit: note: resuming from 'runs/br-.*/backup/training.nnkstate': epoch [0-9]*, batch [0-9]*$" err \
    && cmp -s runs/brref/model.nnk runs/br-*/model.nnk && cmp -s runs/brref/training.csv runs/br-*/training.csv \
    && pass=$((pass + 1)) || { echo "FAIL: resumed run (killed at the $extra of an epoch) differs from the uninterrupted one: $(cat err)"; fail=$((fail + 1)); }
done
# the first report's case: backups every epoch, killed in epoch 2, resumed
start_and_kill start --set backup_and_restore.save_freq=epoch
check "resume after kill -9 with epoch backups" 0 "*" $NNKIT train br.ini --set backup_and_restore.save_freq=epoch
grep -q "^nnkit: note: resuming from 'runs/br-.*/backup/training.nnkstate': epoch 2, batch 0$" err \
  && cmp -s runs/brref/model.nnk runs/br-*/model.nnk && cmp -s runs/brref/training.csv runs/br-*/training.csv \
  && grep -q "^epochs 2$" runs/br-*/metrics.txt && pass=$((pass + 1)) || { echo "FAIL: resumed run (epoch backups) differs from the uninterrupted one: $(cat err)"; fail=$((fail + 1)); }
start_and_kill start
check "backup of another experiment" 2 "*" $NNKIT train br.ini --set compile.learning_rate=0.002
grep -q "^nnkit: error: backup 'runs/br-.*/backup/training.nnkstate' belongs to another experiment (its configuration differs from this one); remove it to start afresh$" err \
  && pass=$((pass + 1)) || { echo "FAIL: foreign backup: $(cat err)"; fail=$((fail + 1)); }

# --- sweep: grid over two keys in parallel, hparams records, resume, errors before training ---
check "sweep" 0 "" $NNKIT sweep good.ini --grid hidden.units=4,16 --choice compile.learning_rate=0.05,0.2 --jobs 2 --objective val_accuracy
[ "$(grep -c "^trial-[0-9a-f]\{12\}  " out)" = 4 ] && grep -q "objective val_accuracy (max)" out && [ -f runs/good-sweep/best.ini ] \
  && grep -q "^\[layer hidden\]" runs/good-sweep/best.ini && pass=$((pass + 1)) || { echo "FAIL: sweep table: $(cat out)"; fail=$((fail + 1)); }
# mode auto asks the model: precision is better higher though its name has no "acc" (Keras's old rule said min)
check "sweep on precision" 0 "" $NNKIT sweep good.ini --grid hidden.units=4,8 --set "compile.metrics=accuracy, precision" \
  --objective val_precision --name by-precision
grep -q "objective val_precision (max)" out && pass=$((pass + 1)) || { echo "FAIL: sweep on precision: $(head -2 out)"; fail=$((fail + 1)); }
check "sweep search space text" 0 "" $NNKIT events runs/good-sweep/events.out.tfevents.*
grep -q "search_space  *text" out && pass=$((pass + 1)) || { echo "FAIL: sweep record: $(cat out)"; fail=$((fail + 1)); }
trial=$(ls -d runs/good-sweep/trial-*/ | head -1)
check "sweep trial session" 0 "" $NNKIT events "$trial"/events.out.tfevents.*
grep -q "session start, [0-9]* hparams: .*compile.learning_rate.*hidden.units" out && grep -q "session end, status 1" out && pass=$((pass + 1)) || { echo "FAIL: trial session: $(cat out)"; fail=$((fail + 1)); }
check "sweep resume" 0 "" $NNKIT sweep good.ini --grid hidden.units=4,16 --choice compile.learning_rate=0.05,0.2 --jobs 2 --objective val_accuracy
! grep -q "^  trial" out && grep -q "^best: trial-" out && pass=$((pass + 1)) || { echo "FAIL: a re-run trained again: $(cat out)"; fail=$((fail + 1)); }
# defect: a sweep run again with another search space reported the old
# results under the new values; trials are the same only when their whole
# configuration is
check "sweep changed space" 0 "" $NNKIT sweep good.ini --grid hidden.units=5,9 --choice compile.learning_rate=0.05,0.2 --jobs 2 --objective val_accuracy
[ "$(grep -c "^  trial-[0-9a-f]*: val_accuracy" out)" = 4 ] && [ "$(grep -c "^trial-[0-9a-f]\{12\}  .* [59]  *0\.[0-9]*  *$" out)" = 4 ] \
  && grep -Eq "^units = [59]$" runs/good-sweep/best.ini && grep -q "^name = $" runs/good-sweep/best.ini \
  && pass=$((pass + 1)) || { echo "FAIL: a sweep with a changed space reused old trials: $(cat out; grep units runs/good-sweep/best.ini)"; fail=$((fail + 1)); }
# defect: the HParams dashboard must show every run with all its
# hyper-parameters, so nothing writes a log-directory-wide experiment
# record (TensorBoard would pick one of several and hide the rest)
check "sweep two spaces" 0 "" $NNKIT sweep good.ini --grid fit.batch_size=8,32 --name other
all=$(for f in $(find runs -name 'events.out.tfevents.*'); do $NNKIT events "$f"; done)
! echo "$all" | grep -q "_hparams_/experiment" && [ "$(echo "$all" | grep -c "session start, .*fit.batch_size.*hidden.units")" -ge 10 ] \
  && pass=$((pass + 1)) || { echo "FAIL: hparams records: $(echo "$all" | grep hparams)"; fail=$((fail + 1)); }
# defect: a run killed in its first epoch reached no dashboard (the session
# start was not flushed)
mkdir -p kp && cp "$FIXTURES/fixture_kill.so" kp/
ini killed.ini "${base[@]}" "[callback tensorboard]" "[callback kill]" "type = fixture_kill"
(NNKIT_KILL_AT=batch_end:2 $NNKIT train killed.ini --plugin-dir kp --run-name killed; true) >/dev/null 2>&1
check "killed run's session" 0 "" $NNKIT events runs/killed/events.out.tfevents.*
grep -q "session start, [0-9]* hparams" out && pass=$((pass + 1)) || { echo "FAIL: a run killed in its first epoch has no session start: $(cat out)"; fail=$((fail + 1)); }
check "sweep inverted range" 2 "nnkit: error: --uniform 'compile.learning_rate=0.5:0.1': the range is empty or inverted (0.5 is not below 0.1)" \
  $NNKIT sweep good.ini --uniform compile.learning_rate=0.5:0.1
check "sweep unknown key" 2 "nnkit: error: --set: unknown key 'unitz' for layer 'hidden' (did you mean 'units'?)" $NNKIT sweep good.ini --grid hidden.unitz=4,8 --name bad
[ ! -e runs/bad ] && pass=$((pass + 1)) || { echo "FAIL: a refused sweep left runs/bad"; fail=$((fail + 1)); }

# --- check-plugin rejects a wrong gradient, a default out of range, another ABI ---
check "check-plugin bad gradient" 1 "" $NNKIT check-plugin "$FIXTURES/fixture_badgrad.so"
grep -q "doubler  *gradients  *FAIL [0-9]* of [0-9]* values wrong; first input\[0\]: analytic 0.120107, finite difference 0.240211" out && grep -q "^check-plugin: 5 passed, 1 failed$" out \
  && pass=$((pass + 1)) || { echo "FAIL: check-plugin bad gradient: $(cat out)"; fail=$((fail + 1)); }
check "check-plugin bad default" 1 "" $NNKIT check-plugin "$FIXTURES/fixture_baddefault.so"
grep -q "scaled  *parameter specs  *FAIL default out of range: (default): scaled: parameter 'slope' must be a number in \[0, 1\], got '5'" out \
  && pass=$((pass + 1)) || { echo "FAIL: check-plugin bad default: $(cat out)"; fail=$((fail + 1)); }
check "check-plugin abi" 2 "nnkit: error: plugin '$FIXTURES/fixture_abi.so': built for ABI 4.0, this nnkit has ABI 3.1 (and loads 2.0, 2.1 and 3.0)" \
  $NNKIT check-plugin "$FIXTURES/fixture_abi.so"

# --- bad model files and plugins ---
head -c 100 runs/r1/model.nnk >trunc.nnk
check "truncated model" 1 "*" $NNKIT evaluate trunc.nnk --data examples/data/iris.csv
grep -q "truncated" err && pass=$((pass + 1)) || { echo "FAIL: truncated model message"; fail=$((fail + 1)); }
mkdir -p junk && echo "not elf" >junk/libjunk.so
check "not a plugin" 2 "*" $NNKIT plugins --plugin-dir junk
grep -q "^nnkit: error: plugin 'junk/libjunk.so': cannot open: " err && pass=$((pass + 1)) || { echo "FAIL: junk plugin: $(cat err)"; fail=$((fail + 1)); }

# --- the book's examples (short versions) ---
check "iris perceptron" 0 "" $NNKIT train examples/iris_perceptron.ini --run-name p --set fit.verbose=0
check "perceptron accuracy" 0 "" $NNKIT evaluate runs/p/model.nnk --data examples/data/iris_setosa.csv
grep -q "accuracy 1.0000$" out && pass=$((pass + 1)) || { echo "FAIL: perceptron accuracy: $(cat out)"; fail=$((fail + 1)); }
check "regression" 0 "" $NNKIT train examples/regression.ini --run-name reg --set fit.epochs=5 --set fit.verbose=0
grep -q "^test: loss [0-9.]* - mae [0-9.]*$" out && pass=$((pass + 1)) || { echo "FAIL: regression output: $(cat out)"; fail=$((fail + 1)); }

# --- trainable = false freezes a layer (the book's transfer learning) ---
check "frozen start" 0 "" $NNKIT train good.ini --run-name frozen0 --set fit.epochs=0
check "frozen train" 0 "" $NNKIT train good.ini --run-name frozen --set hidden.trainable=false --set fit.epochs=3
$NNKIT weights runs/frozen0/model.nnk hidden >w0.txt 2>&1
$NNKIT weights runs/frozen/model.nnk hidden >w1.txt 2>&1
$NNKIT weights runs/frozen0/model.nnk output/kernel >o0.txt 2>&1
$NNKIT weights runs/frozen/model.nnk output/kernel >o1.txt 2>&1
sed 's/ (not trainable)//' w1.txt | cmp -s - w0.txt && ! cmp -s o0.txt o1.txt && grep -q "^hidden/kernel (4, 16) (not trainable)$" w1.txt \
  && pass=$((pass + 1)) || { echo "FAIL: a frozen layer changed, or the rest did not"; fail=$((fail + 1)); }
check "frozen summary" 0 "" $NNKIT summary runs/frozen/model.nnk
grep -q "^Trainable params: 51$" out && grep -q "^Non-trainable params: 80$" out && grep -q "^trainable = false$" runs/frozen/config.ini \
  && pass=$((pass + 1)) || { echo "FAIL: frozen summary: $(grep params out)"; fail=$((fail + 1)); }
check "trainable not a bool" 2 "nnkit: error: --set: layer 'hidden': parameter 'trainable' must be true or false, got 'maybe'" \
  $NNKIT train good.ini --set hidden.trainable=maybe

# --- the projector's default sample count adapts to a small test split ---
{ sed 's|^train = data/|train = examples/data/|' examples/regression.ini; printf '[callback tensorboard]\nembeddings_freq = 1\n'; } >projector.ini
check "projector on 89 rows" 0 "" $NNKIT train projector.ini --run-name proj --set fit.epochs=1 --set fit.verbose=0
[ "$(wc -l <runs/proj/train/tensors.tsv)" = 89 ] && [ "$(wc -l <runs/proj/train/metadata.tsv)" = 89 ] \
  && pass=$((pass + 1)) || { echo "FAIL: projector rows: $(wc -l <runs/proj/train/tensors.tsv)"; fail=$((fail + 1)); }

# --- XOR: an MLP learns it, a perceptron cannot ---
check "xor mlp" 0 "" $NNKIT train examples/xor.ini --run-name xor
check "xor mlp accuracy" 0 "" $NNKIT evaluate runs/xor/model.nnk --data examples/data/xor.csv
grep -q "accuracy 1.0000$" out && pass=$((pass + 1)) || { echo "FAIL: xor: $(cat out)"; fail=$((fail + 1)); }
sed 's|^train = data/iris_setosa.csv|train = data/xor.csv|; s|^label = is_setosa|label = y|; s|^features = .*|features = x1, x2|' \
  examples/iris_perceptron.ini >examples/xor_perceptron.ini
check "xor perceptron" 0 "" $NNKIT train examples/xor_perceptron.ini --run-name xorp --set fit.epochs=100 --set fit.verbose=0
check "xor perceptron accuracy" 0 "" $NNKIT evaluate runs/xorp/model.nnk --data examples/data/xor.csv
! grep -q "accuracy 1.0000$" out && pass=$((pass + 1)) || { echo "FAIL: a perceptron learned xor: $(cat out)"; fail=$((fail + 1)); }

# --- iris.ini: string labels become named classes ---
check "iris example" 0 "" $NNKIT train examples/iris.ini --run-name iris-example
printf 'sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.3,3.3,6.0,2.5\n' >flowers.csv
check "iris classes" 0 "" $NNKIT predict runs/iris-example/model.nnk --input flowers.csv --classes
[ "$(cut -d, -f1,2 out | tr '\n' ' ')" = "class,name 0,setosa 2,virginica " ] && grep -q "^val_accuracy 1$" runs/iris-example/metrics.txt \
  && pass=$((pass + 1)) || { echo "FAIL: iris example: $(cat out) $(cat runs/iris-example/metrics.txt)"; fail=$((fail + 1)); }

# --- data paths in an experiment file are relative to its directory ---
mkdir -p elsewhere/deep && sed 's|^train = data/|train = ../../examples/data/|' examples/regression.ini >elsewhere/deep/reg.ini
check "paths from the file's directory" 0 "" $NNKIT train elsewhere/deep/reg.ini --run-name relpath --set fit.epochs=1 --set fit.verbose=0
grep -q "^train = /.*/examples/data/diabetes.csv$" runs/relpath/config.ini && pass=$((pass + 1)) \
  || { echo "FAIL: config.ini data path: $(grep "^train" runs/relpath/config.ini)"; fail=$((fail + 1)); }
check "--set paths from here" 0 "" $NNKIT train elsewhere/deep/reg.ini --run-name relpath2 --set fit.epochs=1 --set fit.verbose=0 \
  --set data.train=examples/data/diabetes.csv
check "config.ini runs from anywhere" 0 "" $NNKIT train runs/relpath/config.ini --run-name relpath3 --set fit.epochs=1

# --- shuffle_split: a sorted file's validation split holds every class ---
ini splitcheck.ini "${base[@]}" "[callback tensorboard]" "embeddings_freq = 1" "embeddings_data = validation" "embeddings_samples = 30"
for shuf in false true; do
  check "shuffle_split $shuf" 0 "" $NNKIT train splitcheck.ini --run-name "split-$shuf" --set data.shuffle_split=$shuf --set fit.epochs=1
done
[ "$(sort -u runs/split-false/train/metadata.tsv | wc -l)" = 1 ] && [ "$(sort -u runs/split-true/train/metadata.tsv | wc -l)" = 3 ] \
  && [ "$(wc -l <runs/split-true/train/metadata.tsv)" = 30 ] && pass=$((pass + 1)) \
  || { echo "FAIL: shuffle_split: classes in validation $(sort -u runs/split-false/train/metadata.tsv | wc -l) and $(sort -u runs/split-true/train/metadata.tsv | wc -l)"; fail=$((fail + 1)); }

# --- nnkit weights: names, shapes and values as text, CSV and NumPy's .npy ---
check "weights text" 0 "" $NNKIT weights runs/r1/model.nnk
[ "$(grep -c "^[a-z]*/[a-z]* (" out)" = 4 ] && grep -q "^hidden/kernel (4, 16)$" out && grep -q "^output/bias (3,)$" out \
  && pass=$((pass + 1)) || { echo "FAIL: weights text: $(grep "(" out)"; fail=$((fail + 1)); }
check "weights csv" 0 "" $NNKIT weights runs/r1/model.nnk hidden/kernel --format csv -o kernel.csv
check "weights npy" 0 "" $NNKIT weights runs/r1/model.nnk hidden/kernel --format npy -o kernel.npy
# the .npy header by hand, then its float32 data against the CSV's values
hdr=$(head -c 128 kernel.npy | tail -c 118)
[ "$(head -c 6 kernel.npy | tail -c 5)" = NUMPY ] && [ "$(stat -c %s kernel.npy)" = $((128 + 4 * 64)) ] \
  && echo "$hdr" | grep -q "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 16), }" \
  && [ "$(tail -c 256 kernel.npy | od -An -v -tf4 -w4 | awk '{printf "%.6g\n", $1}')" = "$(tr ',' '\n' <kernel.csv | awk '{printf "%.6g\n", $1}')" ] \
  && [ "$(wc -l <kernel.csv)" = 4 ] && pass=$((pass + 1)) || { echo "FAIL: weights npy/csv"; fail=$((fail + 1)); }
check "weights npy dir" 0 "" $NNKIT weights runs/r1/model.nnk --format npy -o wdir
[ "$(ls wdir | tr '\n' ' ')" = "hidden.bias.npy hidden.kernel.npy output.bias.npy output.kernel.npy " ] && cmp -s wdir/hidden.kernel.npy kernel.npy \
  && pass=$((pass + 1)) || { echo "FAIL: weights npy dir: $(ls wdir)"; fail=$((fail + 1)); }
check "weights unknown layer" 2 "nnkit: error: weights: the model has no layer 'hiden'" $NNKIT weights runs/r1/model.nnk hiden
check "weights csv of many" 2 "nnkit: error: weights: --format csv shows one weight; name it as LAYER/WEIGHT (2 selected)" \
  $NNKIT weights runs/r1/model.nnk hidden --format csv

# --- accuracy of outputs in [-1, 1] (sign, tanh) against -1/+1 labels compares signs ---
awk -F, 'NR == 1 { print; next } { $NF = $NF == 1 ? 1 : -1; print }' OFS=, examples/data/iris_setosa.csv >pm.csv
ini tanh.ini "[data]" "train = pm.csv" "label = is_setosa" "features = petal_length, petal_width" "[input]" "shape = 2" \
  "[layer out]" "type = dense" "units = 1" "activation = tanh" "[compile]" "loss = mse" "optimizer = sgd" \
  "learning_rate = 0.002" "metrics = accuracy" "[fit]" "epochs = 1" "verbose = 0"
check "tanh train" 0 "" $NNKIT train tanh.ini --run-name tanh
check "tanh evaluate" 0 "" $NNKIT evaluate runs/tanh/model.nnk --data pm.csv
acc=$(sed -n 's/.* accuracy \([0-9.]*\)$/\1/p' out)
$NNKIT predict runs/tanh/model.nnk --input pm.csv -o tanh.csv >/dev/null 2>&1
want=$(paste -d, <(tail -n +2 tanh.csv) <(tail -n +2 pm.csv | awk -F, '{print $NF}') | awk -F, '{ n++; s += ($1 > 0) == ($2 > 0) } END { printf "%.4f", s / n }')
[ -n "$acc" ] && [ "$acc" = "$want" ] && pass=$((pass + 1)) || { echo "FAIL: tanh accuracy $acc, signs agree on $want"; fail=$((fail + 1)); }
sed 's/heaviside/sign/; s|data/iris_setosa.csv|pm.csv|' examples/iris_perceptron.ini >sign.ini
check "sign perceptron" 0 "" $NNKIT train sign.ini --run-name sign --set fit.verbose=0
check "sign perceptron accuracy" 0 "" $NNKIT evaluate runs/sign/model.nnk --data pm.csv
grep -q "accuracy 1.0000$" out && pass=$((pass + 1)) || { echo "FAIL: sign perceptron: $(cat out)"; fail=$((fail + 1)); }

# --- architecture and optimizer as hyper-parameters: repeat = N, OPTIMIZER.key ---
ini deep.ini "${base[@]/learning_rate = 0.1/sgd.momentum = 0.9}"
sed -i 's/^activation = relu$/activation = relu\nrepeat = 3/' deep.ini
check "repeat summary" 0 "" $NNKIT summary deep.ini
[ "$(grep -c "^ hidden_[123] (dense) " out)" = 3 ] && grep -q "^ hidden_2 (dense) *(None, 16) *272" out \
  && pass=$((pass + 1)) || { echo "FAIL: repeat: $(cat out)"; fail=$((fail + 1)); }
check "repeat 0" 2 "nnkit: error: --set: layer 'hidden': parameter 'repeat' must be an integer in [1, 1000], got '0'" \
  $NNKIT summary deep.ini --set hidden.repeat=0
check "scoped key of another optimizer" 0 "" $NNKIT train deep.ini --run-name scoped --set compile.optimizer=adam --set fit.epochs=1
grep -q "^optimizer = adam$" runs/scoped/config.ini && ! grep -q "^momentum" runs/scoped/config.ini && grep -q "^\[layer hidden_3\]$" runs/scoped/config.ini \
  && pass=$((pass + 1)) || { echo "FAIL: scoped keys: $(grep -A3 "^optimizer" runs/scoped/config.ini)"; fail=$((fail + 1)); }
check "scope of no optimizer" 2 "nnkit: error: --set: compile: 'sgdd.momentum' names no optimizer, loss or metric ('sgdd')" \
  $NNKIT train deep.ini --set compile.sgdd.momentum=0.5
check "sweep depth and optimizer" 0 "" $NNKIT sweep deep.ini --grid hidden.repeat=1,2 --choice compile.optimizer=sgd,adam --name depth \
  --set fit.epochs=2 --jobs 2
[ "$(grep -c "^trial-[0-9a-f]\{12\}  .*[0-9]  *\(sgd\|adam\) *$" out)" = 4 ] && [ "$(ls -d runs/depth/trial-*/ | wc -l)" = 4 ] \
  && pass=$((pass + 1)) || { echo "FAIL: sweep over depth and optimizer: $(cat out)"; fail=$((fail + 1)); }

# --- a string label column: its sorted values are the classes, saved with the model ---
check "string labels" 0 "" $NNKIT train good.ini --run-name strl --set data.label=species_name --set data.shuffle_split=true \
  --set fit.epochs=30 --set compile.optimizer=adam --set compile.learning_rate=0.05
check "string labels classes" 0 "" $NNKIT predict runs/strl/model.nnk --input examples/data/iris.csv --classes -o strl.csv
# the predicted name is the species_name column's value in most rows (the names are the file's, in sorted order)
agree=$(paste -d, <(tail -n +2 strl.csv | cut -d, -f1,2) <(tail -n +2 examples/data/iris.csv | awk -F, '{print $5 "," $6}') |
  awk -F, '{ n++; ok += $2 == $4 && $1 == $3 } END { print (ok / n > 0.9) }')
[ "$agree" = 1 ] && pass=$((pass + 1)) || { echo "FAIL: string label classes: $(head -3 strl.csv)"; fail=$((fail + 1)); }
sed 's/,setosa$/,daisy/' examples/data/iris.csv >daisy.csv
check "unknown class" 1 "nnkit: error: data 'daisy.csv': line 2, column 'species_name': 'daisy' is not one of the 3 known classes" \
  $NNKIT evaluate runs/strl/model.nnk --data daisy.csv
check "string labels in two columns" 1 "nnkit: error: data 'examples/data/iris.csv': line 2, column 'species_name': string labels ('setosa') need a single label column" \
  $NNKIT train good.ini --set data.label=species,species_name

# --- string features: one-hot columns by the training split's vocabulary, saved with the model ---
# price = 2 size + 5 (red) - 3 (green) + 0 (blue); a linear model's kernel rows are size, color=blue, green, red
awk 'BEGIN { print "size,color,price"; split("blue green red", c, " "); e["blue"] = 0; e["green"] = -3; e["red"] = 5
  for (i = 1; i <= 300; i++) { s = (i * 37 % 100) / 10; k = c[i % 3 + 1]; printf "%g,%s,%g\n", s, k, 2 * s + e[k] } }' >houses.csv
house=("[data]" "train = houses.csv" "label = price" "features = size, color" "validation_split = 0.2"
  "[input]" "shape = 2" "[layer out]" "type = dense" "units = 1"
  "[compile]" "loss = mse" "optimizer = adam" "learning_rate = 0.05" "[fit]" "epochs = 150" "batch_size = 16" "verbose = 0")
ini house.ini "${house[@]}"
check "string feature" 0 "" $NNKIT train house.ini --run-name house
check "string feature kernel" 0 "" $NNKIT weights runs/house/model.nnk out/kernel --format csv
awk 'NR == 1 && ($1 - 2) ^ 2 < 0.01 { ok++ } NR == 2 { b = $1 } NR == 3 && ($1 - b + 3) ^ 2 < 0.02 { ok++ } NR == 4 && ($1 - b - 5) ^ 2 < 0.02 { ok++ }
  END { exit ok != 3 }' out && pass=$((pass + 1)) || { echo "FAIL: one-hot kernel rows, want 2, b, b-3, b+5: $(cat out)"; fail=$((fail + 1)); }
check "string feature summary" 0 "" $NNKIT summary runs/house/model.nnk
grep -q "^Input features (4, text columns one-hot):" out && grep -q "^  size, color=blue, color=green, color=red$" out \
  && pass=$((pass + 1)) || { echo "FAIL: summary feature names: $(tail -3 out)"; fail=$((fail + 1)); }
grep -q "^shape = 4$" runs/house/config.ini && grep -q "^; its columns, text columns one-hot encoded: size, color=blue, color=green, color=red$" runs/house/config.ini \
  && pass=$((pass + 1)) || { echo "FAIL: config.ini input: $(grep -A2 '^\[input' runs/house/config.ini)"; fail=$((fail + 1)); }
check "string feature config.ini again" 0 "" $NNKIT train runs/house/config.ini --run-name house2
cmp -s runs/house/metrics.txt runs/house2/metrics.txt && pass=$((pass + 1)) || { echo "FAIL: config.ini (shape = 4) trains otherwise"; fail=$((fail + 1)); }
# a colour only in the validation rows (the last 20%) is unknown to the vocabulary, fitted on the training split
awk -F, -v OFS=, 'NR > 241 && NR % 5 == 0 { $2 = "purple" } { print }' houses.csv >purple.csv
check "unknown category in validation" 1 "nnkit: error: data 'purple.csv': line 245, column 'color': unknown category 'purple' (the training split had 3); set [data] unknown_category = ignore to encode it as all zeros" \
  $NNKIT train house.ini --set data.train=purple.csv --run-name purple
[ ! -e runs/purple ] && pass=$((pass + 1)) || { echo "FAIL: a refused run left its directory"; fail=$((fail + 1)); }
check "unknown category ignored" 0 "" $NNKIT train house.ini --set data.train=purple.csv --set data.unknown_category=ignore --run-name purple
check "unknown category ignored summary" 0 "" $NNKIT summary runs/purple/model.nnk
grep -q "^Input features (4," out && ! grep -q purple out && pass=$((pass + 1)) || { echo "FAIL: purple in the vocabulary: $(tail -2 out)"; fail=$((fail + 1)); }
# predict: an unknown colour is all zeros (the bias alone at size 0); the error names the line otherwise
printf 'size,color,price\n0,purple,0\n0,blue,0\n0,mauve,0\n' >new.csv
check "predict unknown ignored" 0 "" $NNKIT predict runs/purple/model.nnk --input new.csv
bias=$($NNKIT weights runs/purple/model.nnk out/bias --format csv)
awk -v b="$bias" 'NR == 2 { p = $1 } NR == 4 { q = $1 } END { exit !((p - b) ^ 2 < 1e-10 && p == q) }' out && pass=$((pass + 1)) \
  || { echo "FAIL: unknown colour, want the bias $bias: $(cat out)"; fail=$((fail + 1)); }
check "predict unknown category" 1 "nnkit: error: data 'new.csv': line 2, column 'color': unknown category 'purple' (the training split had 3); set [data] unknown_category = ignore to encode it as all zeros" \
  $NNKIT predict runs/house/model.nnk --input new.csv
printf 'size,color,price\n1,2,0\nbig,blue,0\n' >num.csv
check "text where the model reads numbers" 1 "nnkit: error: data 'num.csv': line 3, column 'size': 'big' is not a number" \
  $NNKIT predict runs/house/model.nnk --input num.csv
# numbers in a text column are texts by their float value: "1", "1.0" and "01" are one category
awk -F, -v OFS=, 'NR > 1 { $2 = $2 == "blue" ? (NR % 2 ? "1" : "01.0") : $2 } { print }' houses.csv >numtext.csv
check "numbers in a text column" 0 "nnkit: note: data 'numtext.csv': column 'color' is one-hot encoded as text (line 2 has 'green'), though 100 of its cells are numbers" $NNKIT train house.ini --set data.train=numtext.csv --run-name numtext --set fit.epochs=1
check "numbers in a text column summary" 0 "" $NNKIT summary runs/numtext/model.nnk
grep -q "^  size, color=1, color=green, color=red$" out && pass=$((pass + 1)) || { echo "FAIL: numeric texts: $(tail -2 out)"; fail=$((fail + 1)); }
# a missing colour: an error by default; with missing = mean its columns take the colours' training frequencies
awk -F, -v OFS=, 'NR == 10 { $2 = "NA" } { print }' houses.csv >nacolor.csv
check "missing text cell" 1 "nnkit: error: data 'nacolor.csv': 1 missing value (the file's first: line 10, column 'color'); set [data] missing = mean, median or zero to fill them from the training split" \
  $NNKIT train house.ini --set data.train=nacolor.csv --run-name nacolor
check "missing text cell filled" 0 "" $NNKIT train house.ini --set data.train=nacolor.csv --set data.missing=mean --run-name nacolor --set fit.epochs=1
# a mistyped number turns its column to text (one category per size here): a note says so
sed '5s/^[^,]*/x/' houses.csv >typo.csv
check "mistyped number" 0 "nnkit: note: data 'typo.csv': column 'size' is one-hot encoded as text (line 5 has 'x'), though 299 of its cells are numbers" \
  $NNKIT train house.ini --set data.train=typo.csv --set fit.epochs=1 --run-name typo
# string labels: the classes are the training split's; a class only in the validation rows is an error naming its line
awk -F, -v OFS=, 'NR == 1 { print "size,color,kind"; next } { print $1, $2, (NR > 290 ? "luxury" : $3 > 8 ? "dear" : "cheap") }' houses.csv >kinds.csv
check "label only in validation" 1 "nnkit: error: data 'kinds.csv': line 291: label 'luxury' does not occur in the training split" \
  $NNKIT train house.ini --set data.train=kinds.csv --set data.label=kind --set compile.loss=sparse_categorical_crossentropy --set out.units=2

# --- a functional model's config.ini keeps its inputs' columns, so it trains again to the same metrics ---
check "wide and deep" 0 "" $NNKIT train examples/wide_and_deep.ini --run-name wd1 --set fit.epochs=2 --set fit.verbose=0
check "wide and deep config.ini" 0 "" $NNKIT train runs/wd1/config.ini --run-name wd2 --set fit.verbose=0
grep -q "^columns = age, sex, bmi, bp, s1$" runs/wd1/config.ini && cmp -s runs/wd1/metrics.txt runs/wd2/metrics.txt && pass=$((pass + 1)) \
  || { echo "FAIL: wide and deep config.ini: $(grep -A1 '^\[input' runs/wd1/config.ini)"; fail=$((fail + 1)); }

# --- threads: [fit] threads / --threads N; the same count gives bit-identical models ---
check "threads" 0 "" $NNKIT train good.ini --run-name thr1 --threads 2 --set fit.epochs=2
check "threads again" 0 "" $NNKIT train good.ini --run-name thr2 --set fit.threads=2 --set fit.epochs=2
cmp -s runs/thr1/model.nnk runs/thr2/model.nnk && grep -q "^threads = 2$" runs/thr1/config.ini && pass=$((pass + 1)) \
  || { echo "FAIL: two runs with 2 threads differ, or config.ini lacks threads = 2"; fail=$((fail + 1)); }
check "threads 0" 2 "nnkit train: option '--threads' needs an integer in [1, 1024], got '0' (see 'nnkit train --help')" \
  $NNKIT train good.ini --threads 0
check "predict threads" 0 "" $NNKIT predict runs/thr1/model.nnk --input examples/data/iris.csv --threads 1
check "threads of a sweep's trials" 0 "" $NNKIT sweep good.ini --grid hidden.units=4,8 --jobs 2 --name thr --set fit.epochs=1
per_job=$(( $(nproc) / 2 > 1 ? $(nproc) / 2 : 1 ))
[ "$(grep -h "^threads = " runs/thr/trial-*/config.ini | sort -u)" = "threads = $per_job" ] && pass=$((pass + 1)) \
  || { echo "FAIL: sweep trials' threads: $(grep -h "^threads" runs/thr/trial-*/config.ini)"; fail=$((fail + 1)); }

# --- missing values: an error by default, or the training split's median ---
awk -F, 'NR == 1 { print; next } NR % 7 == 0 { $3 = "" } NR % 11 == 0 { $4 = "NA" } { print }' OFS=, examples/data/diabetes.csv >miss.csv
check "missing values refused" 1 "nnkit: error: data 'miss.csv': 72 missing values (the file's first: line 7, column 'bmi'); set [data] missing = mean, median or zero to fill them from the training split" \
  $NNKIT train examples/regression.ini --set data.train=miss.csv --run-name miss0 --set fit.epochs=1
[ ! -e runs/miss0 ] && pass=$((pass + 1)) || { echo "FAIL: a refused run left its directory"; fail=$((fail + 1)); }
check "missing values filled" 0 "" $NNKIT train examples/regression.ini --set data.train=miss.csv --run-name miss --set fit.epochs=2 \
  --set data.missing=median --set fit.verbose=0
# the fill is the median of bmi over the training split (rows 1-308: 20% test, then 12.5% validation, off the end)
med=$(tail -n +2 miss.csv | head -308 | cut -d, -f3 | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
{ head -1 miss.csv; sed -n 7p miss.csv; sed -n 7p miss.csv | awk -F, -v m="$med" '{ $3 = m; print }' OFS=,; } >miss2.csv
$NNKIT predict runs/miss/model.nnk --input miss2.csv -o miss2-pred.csv >/dev/null 2>&1
[ -n "$med" ] && [ "$(sed -n 2p miss2-pred.csv)" = "$(sed -n 3p miss2-pred.csv)" ] && pass=$((pass + 1)) \
  || { echo "FAIL: missing bmi not filled with the training median $med: $(cat miss2-pred.csv)"; fail=$((fail + 1)); }
check "missing values in evaluate" 0 "" $NNKIT evaluate runs/miss/model.nnk --data miss.csv
check "missing values, another choice" 2 "nnkit: error: --set: section [data]: parameter 'missing' must be one of error, mean, median, zero, got 'mode'" \
  $NNKIT train examples/regression.ini --set data.missing=mode

# --- bayes: random points, then the Gaussian process's; a seed reproduces the trials ---
check "bayes" 0 "" $NNKIT sweep good.ini --strategy bayes --log-uniform compile.learning_rate=0.001:1 --uniform hidden.units=2:32 \
  --trials 8 --jobs 2 --seed 3 --name bayes
first=$(grep "^trial-" out | sort)
grep -q "8 trials (bayes)" out && [ "$(echo "$first" | wc -l)" = 8 ] && ! echo "$first" | awk '{print $5}' | grep -q '\.' \
  && pass=$((pass + 1)) || { echo "FAIL: bayes sweep: $(cat out)"; fail=$((fail + 1)); }
check "bayes again" 0 "" $NNKIT sweep good.ini --strategy bayes --log-uniform compile.learning_rate=0.001:1 --uniform hidden.units=2:32 \
  --trials 8 --jobs 2 --seed 3 --name bayes
[ "$(grep "^trial-" out | sort)" = "$first" ] && ! grep -q "^  trial" out && pass=$((pass + 1)) \
  || { echo "FAIL: bayes with the same seed proposed other trials: $(cat out)"; fail=$((fail + 1)); }

# --- nnkit plot: the curves' pixels lie where the data says ---
mkdir -p handrun && { echo "epoch,loss"; for e in 0 1 2 3 4 5 6 7 8 9; do echo "$e,$(awk -v e=$e 'BEGIN { print 1 - 0.1 * e }')"; done; } >handrun/training.csv
check "plot png" 0 "" $NNKIT plot handrun -o hand.png
points=$(for e in 0 1 2 3 4 5 6 7 8 9; do awk -v e=$e 'BEGIN { printf "%d,%g ", e, 1 - 0.1 * e }'; done)
# one panel, x over [0, 9], y over [0, 1.1] (10% above the highest loss), the first run's colour
python3 "$SRC/tests/png_curve.py" --clear hand.png 0 9 0 1.1 31,119,180 $points -- 4.5,0.9 2,0.2 >pngcheck 2>&1 && pass=$((pass + 1)) \
  || { echo "FAIL: plot pixels: $(cat pngcheck)"; fail=$((fail + 1)); }
# twelve runs of a hand-made sweep (hidden.units 1 to 12, loss 1/units
# falling with the epochs): the ten with the lowest last loss are drawn,
# each named by the setting that differs, in its own colour, the legend
# beside the data; a file among the runs is skipped with a note
for u in 1 2 3 4 5 6 7 8 9 10 11 12; do
  mkdir -p "hs/trial-$u" && printf '[layer hidden]\ntype = dense\nunits = %d\n[fit]\nepochs = 5\n[run]\nname = trial-%d\n' "$u" "$u" >"hs/trial-$u/config.ini"
  { echo "epoch,loss,accuracy"; for e in 0 1 2 3 4; do awk -v u=$u -v e=$e 'BEGIN { printf "%d,%g,%g\n", e, (5 - e) / (5 * u), 0.5 + 0.1 * e }'; done; } >"hs/trial-$u/training.csv"
done
echo log >hs/trial-1.log
check "plot a sweep" 0 "nnkit: note: plot: skipping 'hs/trial-1.log' (not a run directory)
nnkit: note: plot: 12 runs; drawing the 10 with the lowest last val_loss (or loss)" $NNKIT plot hs/* -o sweep.png
check "plot a sweep in the terminal" 0 "*" $NNKIT plot hs/trial-1 hs/trial-12
grep -q "  A units=1 train$" out && grep -q "  B units=12 train$" out && pass=$((pass + 1)) || { echo "FAIL: sweep labels: $(grep train out)"; fail=$((fail + 1)); }
# the panels are loss (first) and accuracy; trial-12 is drawn, trial-1 (the highest loss) is not
first=$(for e in 0 1 2 3; do awk -v e=$e 'BEGIN { printf "%d,%g ", e, (5 - e) / 60 }'; done)
# (loss: trial-12 first in blue where the others do not cover it, y up to
# trial-3's 1/3 and 10%; accuracy:
# all alike, the tenth run's colour drawn last on top)
python3 "$SRC/tests/png_curve.py" --clear --panel=1,2,1 sweep.png 0 4 0 1 23,190,207 0,0.5 2,0.7 4,0.9 -- 2,0.2 >pngcheck 2>&1 \
  && python3 "$SRC/tests/png_curve.py" --clear --panel=0,2,1 sweep.png 0 4 0 0.366666667 31,119,180 $first -- 2,0.3 >>pngcheck 2>&1 \
  && pass=$((pass + 1)) || { echo "FAIL: sweep plot pixels: $(cat pngcheck)"; fail=$((fail + 1)); }
# the terminal plot marks where curves meet
check "plot overlapping curves" 0 "" $NNKIT plot hs/trial-5 hs/trial-6
grep -q "  \* curves in one place$" out && pass=$((pass + 1)) || { echo "FAIL: no overlap mark: $(tail -4 out)"; fail=$((fail + 1)); }
# lr-find draws the book's figure, and plot draws it again from the run
check "lr-find -o" 0 "" $NNKIT lr-find examples/fashion_mnist.ini --steps 100 -o lr.png
lrrun=$(ls -d runs/fashion_mnist-lr-find-* | tail -1)
check "plot an lr-find run" 0 "" $NNKIT plot "$lrrun" -o lr2.png
[ -s lr.png ] && cmp -s lr.png lr2.png && head -1 "$lrrun/lr_find.csv" | grep -q "^learning_rate,loss,smoothed_loss$" \
  && grep -q "^suggested_learning_rate " "$lrrun/metrics.txt" && pass=$((pass + 1)) || { echo "FAIL: lr-find figure"; fail=$((fail + 1)); }
check "plot svg and two runs" 0 "" $NNKIT plot runs/r1 runs/c1 -o curves.svg
grep -q "<svg" curves.svg && pass=$((pass + 1)) || { echo "FAIL: no SVG"; fail=$((fail + 1)); }
check "plot terminal" 0 "" $NNKIT plot runs/r1
grep -q "^accuracy$" out && grep -q "^loss$" out && grep -q "  a r1 validation$" out && pass=$((pass + 1)) \
  || { echo "FAIL: terminal plot: $(head -5 out)"; fail=$((fail + 1)); }
check "plot activations" 0 "" $NNKIT plot --activations relu,sigmoid,tanh,leaky_relu -o act.png
# on the book's ranges ([-1.2, 1.2] for the functions): sigmoid (orange) and tanh (green) where they are, legend clear
python3 "$SRC/tests/png_curve.py" --clear --panel=0,2,1 act.png -5 5 -1.2 1.2 255,127,14 -4,0.018 -2,0.1192 0,0.5 2,0.8808 -- -2,0.8 >pngcheck 2>&1 \
  && python3 "$SRC/tests/png_curve.py" --clear --panel=0,2,1 act.png -5 5 -1.2 1.2 44,160,44 -2,-0.964 -1,-0.7616 1,0.7616 -- 2,-0.5 >>pngcheck 2>&1 \
  && python3 "$SRC/tests/png_curve.py" --clear --panel=1,2,1 act.png -5 5 -0.2 1.2 255,127,14 -4,0.0177 0,0.25 3,0.0452 -- 0,0.8 >>pngcheck 2>&1 \
  && pass=$((pass + 1)) || { echo "FAIL: activation plot pixels: $(cat pngcheck)"; fail=$((fail + 1)); }
check "plot softmax" 2 "nnkit: error: plot: softmax works on whole rows, not one value at a time; draw sigmoid" $NNKIT plot --activations softmax
check "plot unknown activation" 2 "nnkit: error: plot: unknown activation 'rleu'; available: linear, heaviside, sign, sigmoid, tanh, relu, leaky_relu, elu, selu, softplus, softmax" \
  $NNKIT plot --activations rleu
check "plot bad extension" 2 "nnkit: error: plot: -o 'x.jpg' must end in .png or .svg" $NNKIT plot handrun -o x.jpg

# --- hyperband: each rung goes on from the previous rung's weights ---
check "hyperband" 0 "" $NNKIT sweep good.ini --strategy hyperband --log-uniform compile.learning_rate=0.01:0.3 --trials 9 \
  --set fit.epochs=9 --name hb --jobs 2
cp out hb.out
last=$(basename "$(dirname "$(grep -l "^initial_epoch = 3$" runs/hb/trial-*/config.ini | head -1)")")
[ -n "$last" ] && [ "$(tail -n +2 runs/hb/$last/training.csv | cut -d, -f1 | paste -sd' ')" = "3 4 5 6 7 8" ] \
  && grep -q "^initial_epoch = 0 *$" runs/hb/best.ini \
  && pass=$((pass + 1)) || { echo "FAIL: hyperband continuation: $(cat out)"; fail=$((fail + 1)); }
# every rung, rung 1 included, goes on from its parent's weights: its
# epochs equal the same configuration trained straight from epoch 0
for ie in 1 3; do
  run=$(dirname "$(grep -l "^initial_epoch = $ie$" runs/hb/trial-*/config.ini | head -1)")
  sed "s/^initial_epoch = $ie$/initial_epoch = 0/" "$run/config.ini" >straight$ie.ini
  check "hyperband rung from epoch $ie, trained straight" 0 "*" $NNKIT train straight$ie.ini --run-name straight$ie --set run.dir=runs
  [ -n "$run" ] && [ "$(tail -n +2 "$run/training.csv")" = "$(tail -n +$((ie + 2)) runs/straight$ie/training.csv)" ] \
    && pass=$((pass + 1)) || { echo "FAIL: the rung from epoch $ie does not go on from its parent: $(tail -2 "$run/training.csv") against $(tail -2 runs/straight$ie/training.csv)"; fail=$((fail + 1)); }
done
# the best is the best epoch of any trial in any rung (Keras Tuner's score)
want=$(for f in runs/hb/trial-*/training.csv; do
  awk -F, 'NR == 1 { for (j = 1; j <= NF; j++) if ($j == "val_loss") c = j; next } c { print $c }' "$f"
done | sort -g | head -1)
got=$(sed -n 's/^best: trial-[0-9a-f]* (val_loss \([^ ]*\) at epoch [0-9]*); .*/\1/p' hb.out)
awk -v w="$want" -v g="$got" 'BEGIN { exit !(g != "" && w != "" && (g - w) * (g - w) <= (1e-5 * w) * (1e-5 * w)) }' \
  && pass=$((pass + 1)) || { echo "FAIL: hyperband's best is '$got', the best epoch of all trials $want"; fail=$((fail + 1)); }

# --- predict --classes and --top K, with the class names saved in the model ---
check "class names" 0 "" $NNKIT train good.ini --run-name cls --set "data.class_names=setosa, versicolor, virginica" --set fit.epochs=20 \
  --set compile.optimizer=adam --set compile.learning_rate=0.05
check "predict probabilities" 0 "" $NNKIT predict runs/cls/model.nnk --input examples/data/iris.csv -o probs-cls.csv
check "predict classes" 0 "" $NNKIT predict runs/cls/model.nnk --input examples/data/iris.csv --classes -o classes.csv
check "predict top 3" 0 "" $NNKIT predict runs/cls/model.nnk --input examples/data/iris.csv --top 3 -o top3.csv
# the class is the argmax of the probabilities, named by its index, and top 3 is sorted with top 1 first
want=$(tail -n +2 probs-cls.csv | awk -F, 'BEGIN { split("setosa versicolor virginica", n, " ") }
  { k = 1; for (j = 2; j <= 3; j++) if ($j > $k) k = j; printf "%d,%s,%s\n", k - 1, n[k], $k }')
[ "$(head -1 classes.csv)" = "class,name,probability" ] && [ "$(tail -n +2 classes.csv)" = "$want" ] \
  && [ "$(tail -n +2 top3.csv | cut -d, -f1-3)" = "$want" ] \
  && tail -n +2 top3.csv | awk -F, '{ if (!($3 >= $6 && $6 >= $9)) exit 1 }' && [ "$(wc -l <top3.csv)" = 151 ] \
  && pass=$((pass + 1)) || { echo "FAIL: class predictions: $(head -3 classes.csv)"; fail=$((fail + 1)); }
check "class names count" 2 "nnkit: error: section [data]: 2 class_names for output 'output' with 3 units (want 3)" \
  $NNKIT train good.ini --run-name cls2 --set "data.class_names=a,b"
check "classes of a regressor" 2 "nnkit: error: predict --classes: output 'output' is no classifier (a softmax over several units, or one sigmoid unit)" \
  $NNKIT predict runs/reg/model.nnk --input examples/data/diabetes.csv --classes
check "fashion classes" 0 "" $NNKIT train examples/fashion_mnist.ini --run-name fcls --set fit.epochs=1 --set hidden1.units=16 \
  --set hidden2.units=8 --set fit.verbose=0
check "fashion predict classes" 0 "" $NNKIT predict runs/fcls/model.nnk --input fashion-mnist:test --classes -o fcls.csv
tail -n +2 fcls.csv | awk -F, 'BEGIN { split("T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot", n, ",") }
  { if (n[$1 + 1] != $2) exit 1; seen[$1] = 1 } END { if (length(seen) < 5 || NR != 10000) exit 1 }' \
  && pass=$((pass + 1)) || { echo "FAIL: fashion class names: $(head -3 fcls.csv)"; fail=$((fail + 1)); }

# --- --from and initial_epoch: 2 epochs, then 1 more from the saved model,
# equal a straight 3-epoch run to the bit (the optimizer's state goes on) ---
ini cont.ini "[data]" "train = pm.csv" "label = is_setosa" "features = sepal_length,sepal_width,petal_length,petal_width" \
  "standardize = true" "validation_split = 0.2" "[input]" "shape = 4" "[layer hidden]" "type = dense" "units = 16" \
  "activation = relu" "[layer output]" "type = dense" "units = 1" "activation = tanh" "[compile]" "loss = mse" \
  "optimizer = adam" "learning_rate = 0.01" "metrics = accuracy" "[fit]" "epochs = 2" "batch_size = 16" "shuffle = false" "verbose = 0"
check "continue: first part" 0 "" $NNKIT train cont.ini --run-name contA
# every per-epoch random stream (shuffle, dropout) is keyed by seed and
# epoch, so the same holds with shuffling, dropout and momentum
sed 's/^\[layer output\]$/[layer drop]\ntype = dropout\nrate = 0.3\n[layer output]/' cont.ini >contdrop.ini
for opt in adam sgd; do
  for shuffle in false true; do
    for f in cont contdrop; do
      sets=(--set fit.shuffle=$shuffle --set compile.optimizer=$opt)
      [ $opt = sgd ] && sets+=(--set compile.momentum=0.9)
      tag="$opt shuffle=$shuffle"; [ $f = contdrop ] && tag="$tag dropout"
      check "continue ($tag): 2 epochs" 0 "" $NNKIT train $f.ini --run-name c2 --overwrite "${sets[@]}"
      check "continue ($tag): straight 3" 0 "" $NNKIT train $f.ini --run-name c3 --overwrite "${sets[@]}" --set fit.epochs=3
      check "continue ($tag): 1 more" 0 "" $NNKIT train $f.ini --run-name c21 --overwrite "${sets[@]}" --from runs/c2/model.nnk \
        --set fit.initial_epoch=2 --set fit.epochs=3
      $NNKIT weights runs/c21/model.nnk >b.txt 2>&1
      $NNKIT weights runs/c3/model.nnk >c.txt 2>&1
      cmp -s b.txt c.txt && [ "$(tail -n +2 runs/c21/training.csv)" = "$(tail -1 runs/c3/training.csv)" ] \
        && grep -q "^2," runs/c21/training.csv && pass=$((pass + 1)) \
        || { echo "FAIL: continued training ($tag) differs from a straight run: $(tail -1 runs/c21/training.csv) against $(tail -1 runs/c3/training.csv)"; fail=$((fail + 1)); }
    done
  done
done
check "from: shapes differ" 2 "nnkit: error: --from 'runs/contA/model.nnk': layer 'hidden': weight 'kernel' has shape (4, 8) here and (4, 16) in the saved model" \
  $NNKIT train cont.ini --run-name contD --from runs/contA/model.nnk --set hidden.units=8
check "from: another optimizer starts afresh" 0 "" $NNKIT train cont.ini --run-name contE --from runs/contA/model.nnk --set output.units=1 --set output.activation=sigmoid --set compile.optimizer=sgd

# --- the examples switch optimizer and loss from the command line (their
# optimizer and loss keys are scoped, so a key of another one waits) ---
for ex in regression wide_and_deep iris xor; do
  for opt in sgd adagrad rmsprop adam adamax nadam adamw; do
    check "$ex with $opt" 0 "" $NNKIT train examples/$ex.ini --run-name "sw-$ex-$opt" --set compile.optimizer=$opt \
      --set fit.epochs=1 --set fit.verbose=0
  done
done
for loss in mse mae huber; do
  check "regression with $loss" 0 "" $NNKIT train examples/regression.ini --run-name "sw-loss-$loss" --set compile.loss=$loss \
    --set fit.epochs=1 --set fit.verbose=0
done
check "sweep over optimizers" 0 "" $NNKIT sweep examples/regression.ini --choice compile.optimizer=sgd,adam,rmsprop --set fit.epochs=1 \
  --name opt-sweep
[ "$(grep -c "^trial-" out)" = 3 ] && pass=$((pass + 1)) || { echo "FAIL: sweep over optimizers: $(cat out)"; fail=$((fail + 1)); }

# --- --unset removes a key or a callback; NAME.type=T adds a callback ---
check "add and remove from the command line" 0 "" $NNKIT train examples/regression.ini --run-name cli --set fit.epochs=3 \
  --set fit.verbose=0 --unset early_stopping --set ckpt.type=model_checkpoint --set "ckpt.filepath=ck/e{epoch:02d}.nnk" \
  --set warm.type=learning_rate_scheduler --set warm.schedule=warmup --set warm.warmup_steps=20 --unset compile.huber.delta
[ "$(ls runs/cli/ck | paste -sd' ')" = "e01.nnk e02.nnk e03.nnk" ] && grep -q "^\[callback warm\]$" runs/cli/config.ini \
  && ! grep -q "early_stopping" runs/cli/config.ini && grep -q "^epochs 3$" runs/cli/metrics.txt \
  && pass=$((pass + 1)) || { echo "FAIL: --set/--unset callbacks: $(ls runs/cli; grep '^\[' runs/cli/config.ini)"; fail=$((fail + 1)); }
check "unset a key that is not there" 2 "nnkit: error: --unset 'fit.nope': section [fit] has no key 'nope'" \
  $NNKIT train examples/regression.ini --unset fit.nope
check "unset a layer" 2 "nnkit: error: --unset 'hidden1': only a callback is removed whole; give SECTION.KEY for a key of [layer hidden1]" \
  $NNKIT train examples/regression.ini --unset hidden1
check "set without a value" 2 "nnkit train: --set 'fit.epochs': expected section.key=value (--unset section.key removes a key) (see 'nnkit train --help')" \
  $NNKIT train examples/regression.ini --set fit.epochs
check "a callback named by no name" 2 "nnkit: error: --set 'a b.type=x': callback name 'a b' must be 1 to 64 letters, digits, '_' or '-', starting with a letter or '_'" \
  $NNKIT train examples/regression.ini --set "a b.type=x"

# --- epoch numbers agree: the console's last "Epoch K/", metrics.txt's
# epochs K, training.csv's last index K - 1; initial_epoch K goes on at K ---
check "early-stopped run" 0 "" $NNKIT train examples/regression.ini --run-name epochs --set fit.verbose=2 --set early_stopping.patience=3
k=$(grep -o "^Epoch [0-9]*" out | tail -1 | cut -d' ' -f2)
[ -n "$k" ] && [ "$k" -lt 200 ] && grep -q "^epochs $k$" runs/epochs/metrics.txt && [ "$(tail -1 runs/epochs/training.csv | cut -d, -f1)" = $((k - 1)) ] \
  && pass=$((pass + 1)) || { echo "FAIL: epoch numbers: console $k, $(head -1 runs/epochs/metrics.txt), csv $(tail -1 runs/epochs/training.csv | cut -d, -f1)"; fail=$((fail + 1)); }
check "continue an early-stopped run" 0 "" $NNKIT train examples/regression.ini --run-name epochs2 --from runs/epochs/model.nnk \
  --set fit.initial_epoch=$k --set fit.epochs=$((k + 2)) --unset early_stopping --set fit.verbose=0
[ "$(tail -n +2 runs/epochs2/training.csv | cut -d, -f1 | paste -sd' ')" = "$k $((k + 1))" ] && pass=$((pass + 1)) \
  || { echo "FAIL: continued epochs: $(cut -d, -f1 runs/epochs2/training.csv | paste -sd' ')"; fail=$((fail + 1)); }

# --- TensorBoard's sample predictions are captioned with class names ---
awk 'BEGIN { srand(7); printf "kind"; for (j = 0; j < 16; j++) printf ",p%d", j; print "";
  split("Ankle boot,Sneaker,T-shirt/top", n, ",");
  for (r = 0; r < 60; r++) { printf "%s", n[r % 3 + 1]; for (j = 0; j < 16; j++) printf ",%.3f", rand() + (j % 3 == r % 3); print "" } }' >tiles.csv
ini tiles.ini "[data]" "train = tiles.csv" "label = kind" "validation_split = 0.2" "[input]" "shape = 4,4" "[layer flatten]" \
  "[layer out]" "type = dense" "units = 3" "activation = softmax" "[compile]" "loss = sparse_categorical_crossentropy" \
  "[fit]" "epochs = 1" "verbose = 0" "[callback tensorboard]" "histogram_freq = 1" "write_images = true" "image_samples = 4"
check "captioned samples" 0 "" $NNKIT train tiles.ini --run-name tiles
# 2 x 2 cells as wide as "T-SHIRT/TOP" (11 glyphs of 8 pixels less 2): 2 * (86 + 6) - 6 = 178
# wide; each a 4-pixel tile and two caption lines of 13: 2 * (4 + 28 + 6) - 6 = 70 high
python3 - runs/tiles/train/events.out.tfevents.* <<'PY' && pass=$((pass + 1)) || { echo "FAIL: sample captions"; fail=$((fail + 1)); }
import struct, sys, zlib
data, pos, png = open(sys.argv[1], 'rb').read(), 0, None
while pos < len(data):
    n = struct.unpack('<Q', data[pos:pos + 8])[0]
    payload = data[pos + 12:pos + 12 + n]
    pos += 16 + n
    if b'sample_predictions' in payload:
        i = payload.find(b'\x89PNG')
        png = payload[i:payload.find(b'IEND', i) + 8]
w, h = struct.unpack('>II', png[16:24])
raw = zlib.decompress(b''.join(png[p + 8:p + 8 + struct.unpack('>I', png[p:p + 4])[0]]
                               for p in range(8, len(png)) if png[p + 4:p + 8] == b'IDAT'))
coloured = any(raw[k] != raw[k + 1] for k in range(0, len(raw) - 2))
described = b'2 = T\\-shirt/top' in data  # class names in the Markdown description, escaped
print(w, h, coloured, described)
sys.exit(not (w == 178 and h == 70 and coloured and described))
PY

# --- judging the classifier: the PR curves and the confusion image of the validation rows in TensorBoard,
# and evaluate --report on the same rows (the last 12 of tiles.csv, as validation_split takes them) ---
ini judgetiles.ini "[data]" "train = tiles.csv" "label = kind" "validation_split = 0.2" "[input]" "shape = 16" \
  "[layer out]" "type = dense" "units = 3" "activation = softmax" "[compile]" "loss = sparse_categorical_crossentropy" \
  "[fit]" "epochs = 1" "verbose = 0" "[callback tensorboard]" "pr_curve_freq = 1" "confusion_freq = 1"
check "PR curves and confusion image" 0 "" $NNKIT train judgetiles.ini --run-name judgetiles
{ head -1 tiles.csv; tail -12 tiles.csv; } >tiles-valid.csv
check "evaluate --report json" 0 "" $NNKIT evaluate runs/judgetiles/model.nnk --data tiles-valid.csv --report --report-format json
cp out judgetiles.json
check "evaluate --report csv to a file" 0 "" $NNKIT evaluate runs/judgetiles/model.nnk --data tiles-valid.csv --report \
  --report-format csv -o judgetiles.csv
check "evaluate --report" 0 "" $NNKIT evaluate runs/judgetiles/model.nnk --data tiles-valid.csv --report
grep -q "^ T-shirt/top " out && grep -q "^confusion matrix (rows: true class, columns: predicted)$" out \
  && head -1 judgetiles.csv | grep -q "^class,precision,recall,f1-score,support,predicted Ankle boot,predicted Sneaker" \
  && pass=$((pass + 1)) || { echo "FAIL: evaluate --report: $(cat out judgetiles.csv)"; fail=$((fail + 1)); }
check "a report format it lacks" 2 "nnkit: error: evaluate: --report-format 'xml': expected text, csv or json" \
  $NNKIT evaluate runs/judgetiles/model.nnk --data tiles-valid.csv --report --report-format xml
python3 - runs/judgetiles/validation/events.out.tfevents.* judgetiles.json <<'PY' && pass=$((pass + 1)) || { echo "FAIL: PR curves and confusion image"; fail=$((fail + 1)); }
import json, struct, sys, zlib
data, pos, curves, png = open(sys.argv[1], 'rb').read(), 0, {}, None
report = json.load(open(sys.argv[2]))
names, counts = report["confusion_matrix"]["labels"], report["confusion_matrix"]["counts"]
while pos < len(data):
    n = struct.unpack('<Q', data[pos:pos + 8])[0]
    payload = data[pos + 12:pos + 12 + n]
    pos += 16 + n
    for k, name in enumerate(names):
        if ("pr_curves/%s/pr_curves" % name).encode() in payload:
            i = payload.find(bytes([0x22, 0xd8, 0x25]))  # tensor_content, 4824 bytes: 6 x 201 floats
            rows = struct.unpack('<1206f', payload[i + 3:i + 3 + 4824])
            curves[k] = [rows[r * 201:(r + 1) * 201] for r in range(6)]
    if b'confusion_matrix' in payload:
        i = payload.find(b'\x89PNG')
        png = payload[i:payload.find(b'IEND', i) + 8]
assert sorted(curves) == [0, 1, 2], sorted(curves)
for k in range(3):  # at threshold 0 every row is predicted positive: TP + FN is the class's rows
    tp, fp, tn, fn = (curves[k][r][0] for r in range(4))
    assert tp + fn == sum(counts[k]) and tp + fp == 12 and tn == 0, (k, tp, fp, tn, fn)
w, h = struct.unpack('>II', png[16:24])
raw = zlib.decompress(b''.join(png[p + 8:p + 8 + struct.unpack('>I', png[p:p + 4])[0]]
                               for p in range(8, len(png)) if png[p + 4:p + 8] == b'IDAT'))
# "T-shirt/top" is the widest text, 86 pixels: cells 94 wide and 18 high after a 94-pixel
# label column and a 32-pixel head
assert (w, h) == (94 + 3 * 94, 32 + 3 * 18), (w, h)
pixel = lambda x, y: raw[y * (3 * w + 1) + 1 + 3 * x:y * (3 * w + 1) + 4 + 3 * x]
for k in range(3):
    for j in range(3):
        share = counts[k][j] / max(1, sum(counts[k]))
        want = bytes([int(255 - 225 * share), int(255 - 175 * share), int(255 - 75 * share)])
        assert pixel(94 + j * 94 + 2, 32 + k * 18 + 2) == want, (k, j, pixel(94 + j * 94 + 2, 32 + k * 18 + 2), want)
PY

# --- plot --confusion (its cells' shades against evaluate --report's counts), --normalize, --roc and --pr ---
check "plot --confusion" 0 "" $NNKIT plot --confusion runs/judgetiles/model.nnk --data tiles-valid.csv -o cm.png
python3 - cm.png judgetiles.json "$SRC/tests" <<'PY' && pass=$((pass + 1)) || { echo "FAIL: confusion picture"; fail=$((fail + 1)); }
import json, sys
sys.path.insert(0, sys.argv[3])
from png_curve import decode
width, height, bpp, rows = decode(sys.argv[1])
counts = json.load(open(sys.argv[2]))["confusion_matrix"]["counts"]
n = len(counts)
assert (width, height) == (300 + 100 * n, 140 + 60 * n), (width, height)
x0, x1, y0, y1 = 0.22 * width, 0.96 * width, (1 - 0.90) * height, (1 - 0.14) * height  # CM_VP_* in tools/plot.h
for k in range(n):
    for j in range(n):  # a point in the cell's upper left, clear of its centred text
        px, py = int(x0 + (j + 0.15) * (x1 - x0) / n), int(y0 + (k + 0.2) * (y1 - y0) / n)
        share = counts[k][j] / max(1, sum(counts[k]))
        want = [255 + (c - 255) * share for c in (31, 119, 180)]
        got = rows[py][px * bpp:px * bpp + 3]
        assert all(abs(g - w) <= 3 for g, w in zip(got, want)), (k, j, list(got), want)
PY
check "plot --confusion --normalize" 0 "" $NNKIT plot --confusion --normalize runs/judgetiles/model.nnk \
  --data tiles-valid.csv -o cmn.png
check "plot --roc --pr" 0 "" $NNKIT plot --roc --pr runs/judgetiles/model.nnk --data tiles-valid.csv -o roc.png
[ "$(grep -c "^plot: .* ROC AUC 0\.[0-9]*$\|^plot: .* ROC AUC 1\.0000$" out)" = 3 ] && [ "$(grep -c " PR AUC " out)" = 3 ] \
  && grep -q "^plot: T-shirt/top ROC AUC " out && pass=$((pass + 1)) || { echo "FAIL: plot --roc --pr: $(cat out)"; fail=$((fail + 1)); }
check "plot --confusion without data" 2 "*" $NNKIT plot --confusion runs/judgetiles/model.nnk -o cm2.png
check "plot --normalize alone" 2 "*" $NNKIT plot --normalize handrun

# --- TensorBoard's images of a convolution: its filters (checked pixel by
# pixel against the saved kernel) and one sample's feature maps ---
ini convtiles.ini "[data]" "train = tiles.csv" "label = kind" "validation_split = 0.2" "[input]" "shape = 4,4,1" "[layer c]" \
  "type = conv2d" "filters = 3" "kernel_size = 2" "activation = tanh" "[layer flatten]" "[layer out]" "type = dense" "units = 3" \
  "activation = softmax" "[compile]" "loss = sparse_categorical_crossentropy" "[fit]" "epochs = 1" "verbose = 0" \
  "[callback tensorboard]" "histogram_freq = 1" "write_images = true" "image_samples = 4"
check "convolution images" 0 "" $NNKIT train convtiles.ini --run-name convtiles
$NNKIT weights runs/convtiles/model.nnk >convtiles.w
python3 - runs/convtiles/train/events.out.tfevents.* convtiles.w <<'PY' && pass=$((pass + 1)) || { echo "FAIL: convolution images"; fail=$((fail + 1)); }
import struct, sys, zlib
data, pos, pngs = open(sys.argv[1], 'rb').read(), 0, {}
while pos < len(data):
    n = struct.unpack('<Q', data[pos:pos + 8])[0]
    payload = data[pos + 12:pos + 12 + n]
    pos += 16 + n
    for tag in (b'c/filters', b'c/feature_maps'):
        if tag in payload:
            i = payload.find(b'\x89PNG')
            pngs[tag] = payload[i:payload.find(b'IEND', i) + 8]
def decode(png):  # 8-bit grey, filter type 0 on every row, as nnkit writes
    w, h = struct.unpack('>II', png[16:24])
    raw = zlib.decompress(b''.join(png[p + 8:p + 8 + struct.unpack('>I', png[p:p + 4])[0]]
                                   for p in range(8, len(png)) if png[p + 4:p + 8] == b'IDAT'))
    assert all(raw[r * (w + 1)] == 0 for r in range(h))
    return w, h, [raw[r * (w + 1) + 1:(r + 1) * (w + 1)] for r in range(h)]
lines = open(sys.argv[2]).read().split('\n')
at = lines.index('c/kernel (2, 2, 1, 3)')
k = [[float(v) for v in lines[at + 1 + r].split()] for r in range(4)]  # rows (u, v), columns: filters
w, h, rows = decode(pngs[b'c/filters'])
assert (w, h) == (26, 26), (w, h)  # 3 tiles of 2x2 taps scaled by 6, 2 across, 2 pixels apart
for o in range(3):
    vals = [k[r][o] for r in range(4)]
    lo, hi = min(vals), max(vals)
    ox, oy = (o % 2) * 14, (o // 2) * 14
    for y in range(12):
        for x in range(12):
            want = round((k[(y // 6) * 2 + x // 6][o] - lo) / (hi - lo) * 255)
            assert abs(rows[oy + y][ox + x] - want) <= 1, (o, y, x, rows[oy + y][ox + x], want)
w, h, rows = decode(pngs[b'c/feature_maps'])
assert (w, h) == (56, 56), (w, h)  # 3 maps of 3x3 scaled by 9
assert len({rows[y][x] for y in range(27) for x in range(27)}) > 1
PY

# --- multilabel: two sigmoid units on two 0/1 label columns ---
check "multilabel example" 0 "" $NNKIT train examples/multilabel.ini --run-name multilabel
awk '/^(accuracy|val_accuracy) / { if ($2 < 0.95) bad = 1; n++ } END { exit bad || n != 2 }' runs/multilabel/metrics.txt \
  && pass=$((pass + 1)) || { echo "FAIL: multilabel accuracy: $(cat runs/multilabel/metrics.txt)"; fail=$((fail + 1)); }

# --- errors and notes that point to the fix ---
check "a key in the wrong section" 2 "nnkit: error: --set: unknown key 'validation_split' for section [fit]; it belongs in [data]" \
  $NNKIT train examples/regression.ini --set fit.validation_split=0.1
check "a fit key in compile" 2 "nnkit: error: --set: unknown key 'epochs' for section [compile]; it belongs in [fit]" \
  $NNKIT train examples/regression.ini --set compile.epochs=3
check "integer labels for categorical_crossentropy" 1 \
  "nnkit: error: data 'examples/data/iris.csv': 1 label columns, but the model's outputs need 3 for 'output' (class indices in one column want loss 'sparse_categorical_crossentropy')" \
  $NNKIT train examples/iris.ini --set compile.loss=categorical_crossentropy
check "a mistyped metric" 2 "nnkit: error: compile: unknown metric 'acuracy' (did you mean 'accuracy'?); available: accuracy (the one the loss implies), binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, mse, mae, precision, recall, true_positives, false_positives, true_negatives, false_negatives, auc, f1_score, fbeta_score, top_k_categorical_accuracy, sparse_top_k_categorical_accuracy" \
  $NNKIT train examples/regression.ini --set compile.metrics=acuracy
# --- classification metrics with their own parameters (METRIC.key), kept in the model and config.ini ---
check "classification metrics" 0 "" $NNKIT train examples/iris.ini --run-name judged \
  --set "compile.metrics=accuracy, precision, auc, f1_score, sparse_top_k_categorical_accuracy" \
  --set compile.precision.class_id=2 --set compile.auc.curve=PR --set compile.f1_score.average=macro \
  --set compile.sparse_top_k_categorical_accuracy.k=2
grep -q "^precision.class_id = 2$" runs/judged/config.ini && grep -q "^auc.curve = PR$" runs/judged/config.ini \
  && grep -q "^f1_score.average = macro$" runs/judged/config.ini \
  && pass=$((pass + 1)) || { echo "FAIL: config.ini lacks the metrics' parameters"; fail=$((fail + 1)); }
check "evaluate the model" 0 "" $NNKIT evaluate runs/judged/model.nnk --data examples/data/iris.csv
cp out judged-1.txt
check "evaluate its config.ini's model" 0 "" $NNKIT train runs/judged/config.ini --run-name judged2
check "evaluate it" 0 "" $NNKIT evaluate runs/judged2/model.nnk --data examples/data/iris.csv
cmp -s out judged-1.txt && grep -q "precision .* auc .* f1_score .* sparse_top_k_categorical_accuracy" out \
  && pass=$((pass + 1)) || { echo "FAIL: the metrics differ through config.ini: $(cat judged-1.txt out)"; fail=$((fail + 1)); }
check "a class_id past the output" 2 "nnkit: error: compile: metric 'precision': class_id 3 is outside the output's 3 columns" \
  $NNKIT train examples/iris.ini --set compile.metrics=precision --set compile.precision.class_id=3
check "a metric's parameter it lacks" 2 "*" \
  $NNKIT train examples/iris.ini --set compile.metrics=auc --set compile.auc.thresholds=0.5
grep -q "auc" err && grep -q "thresholds" err && pass=$((pass + 1)) || { echo "FAIL: $(cat err)"; fail=$((fail + 1)); }
check "a metric not compiled" 0 "" $NNKIT train examples/iris.ini --set compile.auc.curve=PR --set fit.epochs=1 --run-name notauc
# --- metrics with several values (average = none, a list of thresholds): a log each, everywhere logs go ---
check "metrics with several values" 0 "" $NNKIT train examples/iris.ini --run-name vectors --set fit.epochs=6 \
  --set "compile.metrics=accuracy, f1_score, precision" --set compile.f1_score.average=none \
  --set "compile.precision.thresholds=0.3, 0.5, 0.9" --set compile.precision.class_id=1 \
  --set csv.type=csv_logger --set tb.type=tensorboard --set stop.type=early_stopping --set stop.monitor=val_f1_score_1 \
  --set stop.mode=max --set stop.patience=50 --set ck.type=model_checkpoint "--set" "ck.filepath=m-{epoch}-{val_precision_0.5:.3f}.nnk"
[ "$(head -1 runs/vectors/training.csv)" = "epoch,accuracy,f1_score_0,f1_score_1,f1_score_2,loss,precision_0.3,precision_0.5,precision_0.9,val_accuracy,val_f1_score_0,val_f1_score_1,val_f1_score_2,val_loss,val_precision_0.3,val_precision_0.5,val_precision_0.9" ] \
  && [ "$(grep -c "^val_\(f1_score_[012]\|precision_0\.[359]\) " runs/vectors/metrics.txt)" = 6 ] \
  && [ "$(ls runs/vectors | grep -c "^m-[1-6]-[01]\.[0-9][0-9][0-9]\.nnk$")" = 6 ] \
  && pass=$((pass + 1)) || { echo "FAIL: several values' logs: $(head -1 runs/vectors/training.csv; ls runs/vectors)"; fail=$((fail + 1)); }
check "their events" 0 "" $NNKIT events runs/vectors/validation/events.out.tfevents.*
for log in f1_score_0 f1_score_1 f1_score_2 precision_0.3 precision_0.5 precision_0.9; do # the last epoch's, as metrics.txt has it
  tb=$(awk -v t="epoch_$log" '$3 == t && $4 == "scalar" { v = $5 } END { printf "%.4f", v }' out)
  txt=$(awk -v t="val_$log" '$1 == t { printf "%.4f", $2 }' runs/vectors/metrics.txt)
  [ -n "$txt" ] && [ "$tb" = "$txt" ] && pass=$((pass + 1)) || { echo "FAIL: TensorBoard's epoch_$log $tb, metrics.txt's $txt"; fail=$((fail + 1)); }
done
# nnkit plot: a metric's values share its panel, a colour each (train solid, validation dashed)
check "plot them" 0 "" $NNKIT plot runs/vectors
grep -qx "f1_score" out && grep -qx "precision" out && grep -q "^ *[A-Za-z] vectors 2 validation$" out \
  && grep -q "^ *[A-Za-z] vectors 0.9 train$" out && ! grep -q "^f1_score_\|^precision_" out \
  && pass=$((pass + 1)) || { echo "FAIL: plot of several values: $(grep -v '|' out | head -30)"; fail=$((fail + 1)); }
mkdir -p wide && awk 'BEGIN { printf "epoch"; for (j = 0; j < 600; j++) printf ",c%d", j; print ""; printf "0";
  for (j = 0; j < 600; j++) printf ",1"; print "" }' >wide/training.csv
check "plot a history too wide" 1 "nnkit: error: history 'wide/training.csv': its header has more than 513 columns" \
  $NNKIT plot wide -o wide.png
# each class's F1 as evaluate logs it against the classification report's (scikit-learn-checked) on the same rows
check "evaluate them" 0 "" $NNKIT evaluate runs/vectors/model.nnk --data examples/data/iris.csv
tr -s ' ' '\n' <out | awk '/^f1_score_[012]$/ { getline v; print v }' >f1-logged.txt
check "their report" 0 "" $NNKIT evaluate runs/vectors/model.nnk --data examples/data/iris.csv --report --report-format csv
awk -F, 'NR > 1 && NR <= 4 { printf "%.4f\n", $4 }' out >f1-report.txt
[ "$(wc -l <f1-logged.txt)" = 3 ] && cmp -s f1-logged.txt f1-report.txt && pass=$((pass + 1)) \
  || { echo "FAIL: per-class F1 $(cat f1-logged.txt | tr '\n' ' ') against the report's $(cat f1-report.txt | tr '\n' ' ')"; fail=$((fail + 1)); }
check "a threshold given twice" 2 "nnkit: error: compile: metric 'precision': thresholds holds 0.5 twice" \
  $NNKIT train examples/iris.ini --set compile.metrics=precision --set "compile.precision.thresholds=0.5, 0.50"
# a plugin's metric with several values: check-plugin and the core hold its suffixes to the contract
check "check-plugin bad suffix" 1 "" $NNKIT check-plugin "$FIXTURES/fixture_metricvalues.so"
grep -q "labelled  *values  *FAIL value 1's suffix 'bad name' is not 1 to 24 of A-Z a-z 0-9 . -" out \
  && pass=$((pass + 1)) || { echo "FAIL: check-plugin bad suffix: $(cat out)"; fail=$((fail + 1)); }
mkdir -p mv && cp "$FIXTURES/fixture_metricvalues.so" mv/
check "a plugin's suffix illegal" 2 "nnkit: error: compile: metric 'labelled' names its value 1 'bad name': a suffix is 1 to 24 of A-Z a-z 0-9 . -" \
  $NNKIT train examples/iris.ini --plugin-dir mv --set compile.metrics=labelled
check "a plugin's suffix twice" 2 "nnkit: error: compile: metric 'labelled' names its values 0 and 2 both 'x'" \
  $NNKIT train examples/iris.ini --plugin-dir mv --set compile.metrics=labelled --set "compile.labelled.suffixes=x, y, x"
check "a plugin's several values" 0 "" $NNKIT train examples/iris.ini --plugin-dir mv --set compile.metrics=labelled \
  --set "compile.labelled.suffixes=setosa, versicolor, virginica, again" --set fit.epochs=2 --run-name labelled
# value i is the mean of output column i mod 3: softmax columns add up to 1, and the fourth repeats the first
awk '$1 ~ /^val_labelled_/ { v[$1] = $2 } END { s = v["val_labelled_setosa"] + v["val_labelled_versicolor"] + v["val_labelled_virginica"];
  exit !(s > 0.9999 && s < 1.0001 && v["val_labelled_again"] == v["val_labelled_setosa"]) }' runs/labelled/metrics.txt \
  && pass=$((pass + 1)) || { echo "FAIL: a plugin's several values: $(cat runs/labelled/metrics.txt)"; fail=$((fail + 1)); }
long_name=output_with_a_name_long_enough_to_pass_the_limit_of_log_names # its loss's log would not take "val_"
ini longlog.ini "[data]" "train = examples/data/diabetes.csv" "label = progression" "[input]" "columns = bmi, bp" \
  "[layer h]" "type = dense" "units = 4" "[layer $long_name]" "inputs = h" "type = dense" "units = 1" \
  "[layer short]" "inputs = h" "type = dense" "units = 1" "[compile]" "outputs = $long_name, short" "loss = mse"
check "a log name too long" 2 "nnkit: error: compile: the log '${long_name}_loss' is named in more than 59 bytes" \
  $NNKIT train longlog.ini --run-name longlog
check "sign output on 0/1 labels" 0 "nnkit: note: output 'tlu': its accuracy compares signs (-1 or +1 against a threshold of 0), but its labels are 0 and 1; give -1 for the negative class" \
  $NNKIT train examples/iris_perceptron.ini --set tlu.activation=sign --set fit.epochs=1 --set fit.verbose=0 --run-name signs
$NNKIT --help | grep -q "hyper-parameter search (grid, random, hyperband, bayes)" && pass=$((pass + 1)) || { echo "FAIL: nnkit --help lacks bayes"; fail=$((fail + 1)); }

# --- summary of an experiment whose data has text columns: what training builds ---
printf 'x1,color,y\n1,red,1\n2,blue,2\n3,green,3\n4,red,4\n5,blue,5\n' >cat.csv
ini cat.ini "[data]" "train = cat.csv" "label = y" "[input]" "shape = 2" "[layer o]" "type = dense" "units = 1" "[compile]" "loss = mse" \
  "[fit]" "epochs = 1" "verbose = 0"
check "summary of an experiment with text columns" 0 "" $NNKIT summary cat.ini
cp out cat-summary.txt
check "train it" 0 "" $NNKIT train cat.ini --run-name cat
check "summary of its model" 0 "" $NNKIT summary runs/cat/model.nnk
cmp -s out cat-summary.txt && grep -q "^Total params: 5 " out && grep -q "^  x1, color=blue, color=green, color=red$" out \
  && pass=$((pass + 1)) || { echo "FAIL: the experiment's summary differs from its model's: $(diff cat-summary.txt out | head -5)"; fail=$((fail + 1)); }

# --- hyper-parameters: every key the experiment sets, callbacks included,
# none that did not apply (another optimizer's key) or that sets the machine ---
ini hp.ini "${base[@]}" "threads = 1" "[callback early_stopping]" "patience = 5" "[callback tensorboard]"
sed -i 's/^\[compile\]$/[compile]\nsgd.momentum = 0.9/' hp.ini
check "hparams run" 0 "" $NNKIT train hp.ini --run-name hp --set compile.optimizer=adam --set early_stopping.patience=2
check "hparams record" 0 "" $NNKIT events runs/hp/events.out.tfevents.*
hp=$(grep "session start" out)
echo "$hp" | grep -q " early_stopping.patience" && echo "$hp" | grep -q " compile.optimizer" && echo "$hp" | grep -q " hidden.units" \
  && ! echo "$hp" | grep -q "momentum" && ! echo "$hp" | grep -q "threads" && ! echo "$hp" | grep -q "log_dir" \
  && pass=$((pass + 1)) || { echo "FAIL: hparams: $hp"; fail=$((fail + 1)); }

# --- predict writes each float so that it reads back to the same float ---
# y = 1 * x + 0 with labels equal to the inputs (so training leaves the
# weights alone): the predictions are the inputs as float32, exactly.
printf 'x,y\n0.1234567891,0.1234567891\n3.14159265358979,3.14159265358979\n-2.718281828e-5,-2.718281828e-5\n1e-30,1e-30\n123456789.123,123456789.123\n0.3,0.3\n' >id.csv
ini id.ini "[data]" "train = id.csv" "label = y" "[input]" "shape = 1" "[layer o]" "type = dense" "units = 1" \
  "kernel_initializer = ones" "bias_initializer = zeros" "[compile]" "loss = mse" "[fit]" "epochs = 1" "verbose = 0"
check "identity model" 0 "*" $NNKIT train id.ini --run-name id
# fit.shuffle defaults to true, as Keras's fit(shuffle=True)
grep -q "^shuffle = true$" runs/id/config.ini && pass=$((pass + 1)) || { echo "FAIL: the shuffle default: $(grep shuffle runs/id/config.ini)"; fail=$((fail + 1)); }
check "predict the identity" 0 "" $NNKIT predict runs/id/model.nnk --input id.csv
python3 - id.csv out <<'PY' && pass=$((pass + 1)) || { echo "FAIL: predict's text does not read back to the float32 inputs: $(paste -sd' ' out)"; fail=$((fail + 1)); }
import struct, sys
f32 = lambda t: struct.unpack('f', struct.pack('f', float(t)))[0]
want = [f32(l.split(',')[0]) for l in open(sys.argv[1]).read().split()[1:]]
got = open(sys.argv[2]).read().split()[1:]
sys.exit(not (len(got) == len(want) and all(f32(g) == w and len(g.lstrip('-').split('e')[0].replace('.', '').lstrip('0')) <= 9
                                            for g, w in zip(got, want))))
PY

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
