#!/usr/bin/env bash
# Resume at every moment a run can be interrupted. A fixture callback kills
# training (SIGKILL, as kill -9 does) at each batch's start and end, at each
# epoch's end and at the end of training; the same `nnkit train` run again
# must finish with model.nnk, both csv_logger files and metrics.txt
# byte-identical to an uninterrupted run's (the streamed metrics' states
# too: AUC's buckets, per-class F1, precision at two thresholds), every
# TensorBoard record once, no backup and no temporary file left. For
# backups every epoch and every 3 batches. Then: a finished run whose
# results could not be saved keeps its backup; temporaries of a killed
# process are removed.
set -u
NNKIT=$(realpath "$1")
SRC=$(realpath "$2")
FIXTURES=$(realpath "$3")
work=$(mktemp -d /tmp/nnkit-resume-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir data kp && cp "$FIXTURES/fixture_kill.so" kp/
# iris in a fixed shuffled order, so the validation split holds every class
awk 'NR == 1 { print; next } { print (NR * 37) % 151 "\t" $0 }' "$SRC/examples/data/iris.csv" |
  { IFS= read -r h; echo "$h"; sort -n | cut -f2-; } >data/iris.csv
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

cat >exp.ini <<'EOF'
[data]
train = data/iris.csv
label = species
features = sepal_length,sepal_width,petal_length,petal_width
standardize = true
validation_split = 0.2
[input]
shape = 4
[layer hidden]
type = dense
units = 16
activation = relu
[layer drop]
type = dropout
rate = 0.2
[layer output]
type = dense
units = 3
activation = softmax
[compile]
loss = sparse_categorical_crossentropy
optimizer = adam
learning_rate = 0.01
metrics = accuracy, auc, f1_score, precision
f1_score.average = none
precision.thresholds = 0.3, 0.6
[fit]
epochs = 3
batch_size = 16
verbose = 0
[callback backup_and_restore]
save_freq = epoch
[callback learning_rate_scheduler]
schedule = exponential_decay
decay_rate = 0.5
decay_steps = 10
[callback comma]
type = csv_logger
filename = comma.csv
[callback pipe]
type = csv_logger
filename = pipe.csv
separator = |
[callback tensorboard]
update_freq = batch
histogram_freq = 1
[callback kill]
type = fixture_kill
EOF
files=(model.nnk comma.csv pipe.csv training.csv metrics.txt)

# "<run> <step> <tag> <kind>" for every record of a run directory's event files
records() {
  local d=$1 f
  for f in "$d"/events.out.* "$d"/*/events.out.*; do
    [ -e "$f" ] || continue
    "$NNKIT" events "$f" | awk -v run="${f#"$d"}" 'NR > 1 { sub(/events.out.*/, "", run); print run, $2, $3, $4 }'
  done | sort
}

# the one run directory under $1 that holds a model
finished_run() { ls -d "$1"/*/ 2>/dev/null | while read -r d; do [ -e "$d/model.nnk" ] && echo "${d%/}"; done; }

# The defects this test was written for, each by name, on one kill in
# epoch 2 with backups every epoch.
"$NNKIT" train exp.ini --plugin-dir kp --set run.dir=ref >/dev/null 2>&1
ref=$(finished_run ref)
(NNKIT_KILL_AT=batch_begin:10 "$NNKIT" train exp.ini --plugin-dir kp; true) >/dev/null 2>&1
"$NNKIT" train exp.ini --plugin-dir kp >out 2>err
run=$(finished_run runs)
grep -q "^nnkit: note: resuming from 'runs/.*/backup/training.nnkstate': epoch 2, batch 0$" err && grep -q "^epochs 3$" "$run/metrics.txt" \
  && [ "$(grep -c "^0," "$run/comma.csv")" = 1 ] && cmp -s "$ref/model.nnk" "$run/model.nnk" && ok \
  || bad "an epoch-end backup resumes at the next epoch: $(cat err; cat "$run/metrics.txt")"
cmp -s "$ref/comma.csv" "$run/comma.csv" && cmp -s "$ref/pipe.csv" "$run/pipe.csv" && grep -q "|" "$run/pipe.csv" && ! grep -q "|" "$run/comma.csv" \
  && ok || bad "two callbacks of one type keep their own state: $(head -2 "$run/comma.csv" "$run/pipe.csv")"
[ "$(ls "$run"/events.out.* "$run"/train/events.out.* "$run"/validation/events.out.* | wc -l)" = 3 ] \
  && [ "$(records "$run" | grep -c " graph$")" = 1 ] && [ "$(records "$run" | grep -c "session_start_info")" = 1 ] \
  && [ -z "$(records "$run" | uniq -d)" ] && ok || bad "a resumed run continues its event files: $(ls -R "$run")"
rm -rf ref runs

for freq in epoch 3; do
  rm -rf ref runs
  "$NNKIT" train exp.ini --plugin-dir kp --set backup_and_restore.save_freq=$freq --set run.dir=ref >/dev/null 2>&1
  ref=$(finished_run ref)
  [ -n "$ref" ] || { bad "reference run (save_freq $freq) did not finish"; continue; }
  records "$ref" >ref.records
  [ "$(grep -c " epoch_loss " ref.records)" = 6 ] && [ -z "$(uniq -d ref.records)" ] && ok || bad "reference records: $(head ref.records)"
  steps=$(( $(sed -n 's/^epochs //p' "$ref/metrics.txt") * 8 )) # 120 training rows, batches of 16
  points=(train_end)
  for ((g = 0; g < steps; g++)); do points+=("batch_begin:$g" "batch_end:$g"); done
  for e in 0 1 2; do points+=("epoch_end:$e"); done
  for point in "${points[@]}"; do
    rm -rf runs
    # in a subshell that reports the kill itself, so no job message
    (NNKIT_KILL_AT=$point "$NNKIT" train exp.ini --plugin-dir kp --set backup_and_restore.save_freq=$freq; echo $? >killed) >/dev/null 2>&1
    killed=$(cat killed)
    "$NNKIT" train exp.ini --plugin-dir kp --set backup_and_restore.save_freq=$freq >out 2>err
    rc=$?
    run=$(finished_run runs)
    why=""
    [ "$killed" = 137 ] || why="the kill at $point did not happen (status $killed)"
    [ -z "$why" ] && [ "$rc" != 0 ] && why="the second run failed ($rc): $(cat err)"
    [ -z "$why" ] && [ "$(echo "$run" | wc -l)" != 1 ] && why="no single finished run: '$run'"
    for f in "${files[@]}"; do
      [ -z "$why" ] && ! cmp -s "$ref/$f" "$run/$f" && why="$f differs from the uninterrupted run's"
    done
    if [ -z "$why" ]; then
      records "$run" >got.records
      [ -n "$(uniq -d got.records)" ] && why="event records written twice: $(uniq -d got.records | head -3 | tr '\n' ';')"
      [ -z "$why" ] && ! cmp -s ref.records got.records && why="event records differ: $(diff ref.records got.records | head -4 | tr '\n' ';')"
    fi
    [ -z "$why" ] && [ -e "$run/backup/training.nnkstate" ] && why="the backup was left behind"
    [ -z "$why" ] && [ -n "$(find runs -name '*.tmp.*')" ] && why="temporaries left: $(find runs -name '*.tmp.*')"
    [ -z "$why" ] && ok || bad "resume after a kill at $point (save_freq $freq): $why"
  done
done

# a finished run whose results cannot be saved keeps its backup; the next
# run resumes from it and saves them (killed at the end of training first,
# so the directory holds a backup, then its model.nnk blocked)
rm -rf runs
(NNKIT_KILL_AT=train_end "$NNKIT" train exp.ini --plugin-dir kp --run-name keep; true) >/dev/null 2>&1
mkdir runs/keep/model.nnk
"$NNKIT" train exp.ini --plugin-dir kp --run-name keep >/dev/null 2>err
[ $? = 1 ] && [ -e runs/keep/backup/training.nnkstate ] && grep -q "model.nnk': rename failed" err && ok ||
  bad "a run that could not save its model lost its backup: $(cat err)"
rmdir runs/keep/model.nnk
"$NNKIT" train exp.ini --plugin-dir kp --run-name keep >/dev/null 2>err
grep -q "training had finished; saving its results" err && cmp -s runs/keep/model.nnk "$ref/model.nnk" &&
  cmp -s runs/keep/metrics.txt "$ref/metrics.txt" && [ ! -e runs/keep/backup/training.nnkstate ] && ok ||
  bad "the results of a finished run were not saved from its backup: $(cat err)"
# a directory that exists without a backup is refused, or replaced with --overwrite
"$NNKIT" train exp.ini --plugin-dir kp --run-name keep >/dev/null 2>err
[ $? = 2 ] && [ "$(cat err)" = "nnkit: error: run directory 'runs/keep' exists and holds no backup to resume; use --overwrite to replace it, or another --run-name" ] \
  && cmp -s runs/keep/model.nnk "$ref/model.nnk" && ok || bad "an existing run directory was not refused: $(cat err)"
touch runs/keep/stray.txt
"$NNKIT" train exp.ini --plugin-dir kp --run-name keep --overwrite >/dev/null 2>err
[ $? = 0 ] && [ ! -e runs/keep/stray.txt ] && cmp -s runs/keep/model.nnk "$ref/model.nnk" && ok || bad "--overwrite: $(cat err)"

# temporaries of a process that is gone are removed by the next run there
(NNKIT_KILL_AT=batch_end:9 "$NNKIT" train exp.ini --plugin-dir kp --run-name tmp; true) >/dev/null 2>&1
dead=$(( $(cat /proc/sys/kernel/pid_max) - 1 ))
kill -0 $dead 2>/dev/null && dead=$((dead - 1))
touch runs/tmp/model.nnk.tmp.$dead runs/tmp/backup/training.nnkstate.tmp.$dead runs/tmp/notes.tmp.txt
"$NNKIT" train exp.ini --plugin-dir kp --run-name tmp >/dev/null 2>&1
[ -z "$(find runs/tmp -name '*.tmp.[0-9]*')" ] && [ -e runs/tmp/notes.tmp.txt ] && ok || bad "stale temporaries left: $(find runs/tmp -name '*.tmp.*')"

echo "resume: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
