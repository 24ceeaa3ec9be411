#!/usr/bin/env bash
# Data-parallel training under mpirun on this host: 2 and 3 processes
# against one with the same global batch give the same weights (within
# 1e-5 relative) and the same metrics (to 4 decimals); only rank 0 writes
# files; a killed rank ends the job, and a re-run resumes from rank 0's
# backup to the very weights of an uninterrupted run.
set -u
NNKIT=$(realpath "$1")
SRC=$(realpath "$2")
FIXTURES=$(realpath "$3")
work=$(mktemp -d /tmp/nnkit-mpi-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
cp -r "$SRC/examples" .
mkdir kp && cp "$FIXTURES/fixture_kill.so" kp/
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
# under ASan: Open MPI's own components leak at MPI_Finalize (some from
# modules already unloaded, which no suppression can name); nnkit's code
# here is the code every other suite checks for leaks in one process
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
MPIRUN=(mpirun --oversubscribe -n)
[ "$(id -u)" = 0 ] && MPIRUN=(mpirun --allow-run-as-root --oversubscribe -n)

cat >exp.ini <<'EOF'
[data]
train = examples/data/iris.csv
label = species
features = sepal_length,sepal_width,petal_length,petal_width
standardize = true
validation_split = 0.2
shuffle_split = true
[input]
shape = 4
[layer hidden]
type = dense
units = 16
activation = relu
[layer output]
type = dense
units = 3
activation = softmax
[compile]
loss = sparse_categorical_crossentropy
optimizer = adam
learning_rate = 0.02
metrics = accuracy, precision, recall, auc, f1_score, fbeta_score, sparse_top_k_categorical_accuracy
recall.thresholds = 0.3, 0.6
auc.curve = PR
f1_score.average = macro
fbeta_score.average = none
sparse_top_k_categorical_accuracy.k = 2
[fit]
epochs = 12
batch_size = 16
verbose = 0
check_weights = step
EOF

weights() { # run: every weight value, one per line, into RUN.w
  "$NNKIT" weights "runs/$1/model.nnk" | grep -v "(" | tr -s ' ' '\n' | grep -v '^$' >"$1.w"
}

# metrics to 4 decimals, every weight within 1e-5 relative
same_run() { # run, reference run[, how many weight values: the dense model's by default]
  if ! diff <(awk '{ printf "%s %.4f\n", $1, $2 }' "runs/$1/metrics.txt") <(awk '{ printf "%s %.4f\n", $1, $2 }' "runs/$2/metrics.txt") >/dev/null; then
    bad "$1: metrics differ from $2: $(paste "runs/$1/metrics.txt" "runs/$2/metrics.txt" | tr '\n' ';')"
    return
  fi
  weights "$1" && weights "$2" || {
    bad "$1: weights unreadable"
    return
  }
  paste -d, "$1.w" "$2.w" | awk -F, '{ n++; d = $1 - $2; if (d < 0) d = -d; m = ($2 < 0 ? -$2 : $2); if (d > 1e-5 * (m > 1 ? m : 1)) bad++ }
    END { exit !(n == count && bad == 0) }' count="${3:-$((4 * 16 + 16 + 16 * 3 + 3))}" && ok || bad "$1: weights differ from $2 by more than 1e-5"
}

"$NNKIT" train exp.ini --run-name one >/dev/null 2>err || bad "one process: $(cat err)"
# metrics with several values (two recall thresholds, F-beta per class) are summed as the others
grep -q "^val_recall_0.6 " runs/one/metrics.txt && grep -q "^val_fbeta_score_2 " runs/one/metrics.txt && ok \
  || bad "one process: several values not logged: $(tr '\n' ' ' <runs/one/metrics.txt)"
for n in 2 3; do
  "${MPIRUN[@]}" "$n" "$NNKIT" train exp.ini --run-name "ranks$n" >out 2>err || bad "$n ranks: $(cat err)"
  same_run "ranks$n" one
  [ "$(grep -c "^run saved in" out)" = 1 ] && ok || bad "$n ranks: not one 'run saved' line: $(cat out)"
done
# the gradients summed in buckets while backward runs (MPI_Iallreduce): the same model
"${MPIRUN[@]}" 3 "$NNKIT" train exp.ini --run-name buckets --set fit.gradient_buckets=true >/dev/null 2>err || bad "buckets: $(cat err)"
same_run buckets one

# only rank 0 writes: with every file-writing callback, one set of files
cat exp.ini - >files.ini <<'EOF'
[callback tb]
type = tensorboard
[callback best]
type = model_checkpoint
filepath = best.nnk
save_best_only = true
[callback backup]
type = backup_and_restore
EOF
"${MPIRUN[@]}" 3 "$NNKIT" train files.ini --run-name files >/dev/null 2>err || bad "files: $(cat err)"
list=$(cd runs/files && find . -type f | sed 's/events.out.tfevents.*/EVENTS/' | sort | tr '\n' ' ')
[ "$list" = "./EVENTS ./best.nnk ./config.ini ./metrics.txt ./model.nnk ./train/EVENTS ./training.csv ./validation/EVENTS " ] \
  && [ "$(ls runs)" = "$(printf 'buckets\nfiles\none\nranks2\nranks3')" ] && [ -z "$(ls | grep -v '^\(examples\|kp\|runs\|exp.ini\|files.ini\|out\|err\|.*\.w\)$')" ] \
  && ok || bad "files of a 3-process run: $list / runs: $(ls runs | tr '\n' ' ') / here: $(ls | tr '\n' ' ')"

# a killed rank ends the job; the re-run resumes from rank 0's last epoch-end backup
# (with dropout: every process draws its own masks, and resumes its streams exactly)
sed 's/^\[layer output\]$/[layer drop]\ntype = dropout\nrate = 0.3\n\n[layer output]/' exp.ini >kill.ini
cat >>kill.ini <<'EOF'
[callback backup]
type = backup_and_restore
[callback kill]
type = fixture_kill
EOF
"${MPIRUN[@]}" 2 "$NNKIT" train kill.ini --plugin-dir kp --run-name whole >/dev/null 2>err || bad "uninterrupted: $(cat err)"
NNKIT_KILL_AT=batch_end:40 NNKIT_KILL_RANK=1 "${MPIRUN[@]}" 2 "$NNKIT" train kill.ini --plugin-dir kp --run-name killed >/dev/null 2>err
rc=$?
[ "$rc" != 0 ] && grep -qi "signal 9\|killed" err && [ -f runs/killed/backup/training.nnkstate ] && ok \
  || bad "killed rank: status $rc, backup $(ls runs/killed/backup 2>&1), stderr: $(head -5 err)"
"${MPIRUN[@]}" 2 "$NNKIT" train kill.ini --plugin-dir kp --run-name killed >out 2>err || bad "resume: $(cat err)"
grep -q "resuming from" err out && ok || bad "no resume: $(cat out err)"
weights whole && weights killed && cmp -s whole.w killed.w && ok || bad "resumed 2-process run differs from the uninterrupted one"

# sharded data: each process loads only its part; at learning rate 1e-30 (no change to any weight) an epoch's
# loss is evaluate's on the whole file (every row once); killed and resumed, the
# same weights as without the kill; splits are refused
sed 's/^validation_split = 0.2$/validation = examples\/data\/iris.csv/; s/^shuffle_split = true$/shard = true/; s/^standardize = true$//' \
  exp.ini >shard.ini
"${MPIRUN[@]}" 3 "$NNKIT" train shard.ini --run-name shard0 --set compile.learning_rate=1e-30 --set fit.epochs=1 >/dev/null 2>err \
  || bad "sharded: $(cat err)"
"$NNKIT" evaluate runs/shard0/model.nnk --data examples/data/iris.csv >out 2>err
want=$(sed -n 's/^evaluate: loss \([0-9.]*\).*/\1/p' out)
got=$(awk '$1 == "loss" { printf "%.4f", $2 }' runs/shard0/metrics.txt)
[ -n "$want" ] && [ "$got" = "$want" ] && ok || bad "sharded epoch loss $got, evaluate on the whole file $want"
{ cat shard.ini; printf '[callback backup]\ntype = backup_and_restore\nsave_freq = 4\n[callback kill]\ntype = fixture_kill\n'; } >shardkill.ini
"${MPIRUN[@]}" 3 "$NNKIT" train shardkill.ini --plugin-dir kp --run-name swhole >/dev/null 2>err || bad "sharded whole: $(cat err)"
NNKIT_KILL_AT=batch_end:21 NNKIT_KILL_RANK=2 "${MPIRUN[@]}" 3 "$NNKIT" train shardkill.ini --plugin-dir kp --run-name skilled \
  >/dev/null 2>&1 && bad "sharded: the killed job succeeded"
"${MPIRUN[@]}" 3 "$NNKIT" train shardkill.ini --plugin-dir kp --run-name skilled >/dev/null 2>err || bad "sharded resume: $(cat err)"
weights swhole && weights skilled && cmp -s swhole.w skilled.w && diff -q runs/swhole/metrics.txt runs/skilled/metrics.txt >/dev/null \
  && ok || bad "resumed sharded run differs: $(paste runs/swhole/metrics.txt runs/skilled/metrics.txt | tr '\n' ';')"
"${MPIRUN[@]}" 2 "$NNKIT" train exp.ini --set data.shard=true >/dev/null 2>err
grep -q "shard = true takes validation and test files, not validation_split or test_split" err && ok || bad "shard with a split: $(cat err)"

# sweeps: the processes share the trials; the table is a local sweep's, printed once
sweep_table() { sed -n '/^trial  /,$p' | sed 's/sweep-[a-z0-9]*/S/g; s|runs/[a-z0-9]*/best.ini|BEST|'; }
"$NNKIT" sweep exp.ini --grid hidden.units=4,8 --choice compile.optimizer=sgd,adam --name local --set fit.epochs=3 --threads 1 \
  --set fit.check_weights=epoch >local.out 2>err || bad "local sweep: $(cat err)"
"${MPIRUN[@]}" 3 "$NNKIT" sweep exp.ini --grid hidden.units=4,8 --choice compile.optimizer=sgd,adam --name dist --set fit.epochs=3 \
  --threads 1 --set fit.check_weights=epoch >dist.out 2>err || bad "sweep over 3 processes: $(cat err)"
[ -n "$(sweep_table <local.out)" ] && [ "$(sweep_table <dist.out)" = "$(sweep_table <local.out)" ] && [ "$(grep -c '^best:' dist.out)" = 1 ] \
  && [ "$(ls runs/dist/*.log | wc -l)" = 4 ] && [ -f runs/dist/best.ini ] && ok \
  || bad "sweep over 3 processes: $(cat dist.out) vs $(cat local.out)"
"$NNKIT" sweep exp.ini --strategy hyperband --log-uniform compile.learning_rate=0.001:0.3 --trials 9 --name hbl --set fit.epochs=9 \
  --threads 1 >local.out 2>err || bad "local hyperband: $(cat err)"
"${MPIRUN[@]}" 2 "$NNKIT" sweep exp.ini --strategy hyperband --log-uniform compile.learning_rate=0.001:0.3 --trials 9 --name hbd \
  --set fit.epochs=9 --threads 1 >dist.out 2>err || bad "hyperband over 2 processes: $(cat err)"
[ -n "$(sweep_table <local.out)" ] && [ "$(sweep_table <dist.out)" = "$(sweep_table <local.out)" ] && ok \
  || bad "hyperband over 2 processes: $(cat dist.out) vs $(cat local.out)"

# a convolutional network (the nnkit-vision plugin's layers, each iris row
# as a 2x2 image) with synchronized batch normalization on its maps: 2 and
# 3 processes train the one-process model. The convolution has no bias, as
# before any batch normalization: that bias's gradient is zero but for
# rounding, which Adam would scale up into steps no two runs share.
sed 's/^shape = 4$/shape = 2,2,1/; s/^\[layer hidden\]$/[layer conv]\ntype = conv2d\nfilters = 4\nkernel_size = 2\npadding = same\nuse_bias = false\n[layer bn]\ntype = batch_normalization\n[layer pool]\ntype = max_pooling2d\n[layer flat]\ntype = flatten\n[layer hidden]/' \
  exp.ini | sed '/^\[layer hidden\]$/,/^activation = relu$/d' >cnn.ini
"$NNKIT" train cnn.ini --run-name cnn_one >/dev/null 2>err || bad "cnn, one process: $(cat err)"
for n in 2 3; do
  "${MPIRUN[@]}" "$n" "$NNKIT" train cnn.ini --run-name "cnn_ranks$n" >/dev/null 2>err || bad "cnn, $n ranks: $(cat err)"
  same_run "cnn_ranks$n" cnn_one $((2 * 2 * 4 + 4 * 4 + 4 * 3 + 3))
done

echo "mpi: $pass passed, $fail failed"
[ "$fail" = 0 ]
