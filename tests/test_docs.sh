#!/usr/bin/env bash
# Every command README.md, examples/README.md and docs/*.md show, as
# written, in file order, in one working directory holding a copy of
# examples/ and a build/ whose tools/nnkit is this build's runner. Training
# is shortened so the suite stays minutes long: a train, lr-find or sweep
# command that sets no fit.epochs trains 2 epochs, and a sweep tries 3
# trials at most. Commands that cannot run in a test are listed as skipped
# with the reason.
set -u
NNKIT=$(realpath "$1")
SRC=$(realpath "$2")
BUILD=$(realpath "$3")
work=$(mktemp -d /tmp/nnkit-docs-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
cp -r "$SRC/examples" .
mkdir -p build/tools bin
ln -s "$BUILD/plugins" build/plugins
cat >build/tools/nnkit <<EOF
#!/usr/bin/env bash
# nnkit with training shortened for the docs test (see tests/test_docs.sh)
extra=()
case "\${1:-}" in
train | lr-find | sweep)
  [[ " \$* " == *" --help "* ]] || [[ "\$*" == *fit.epochs=* ]] || extra+=(--set fit.epochs=2)
  [ "\$1" = sweep ] && extra+=(--trials 3 --jobs 2)
  ;;
esac
exec "$NNKIT" "\$@" "\${extra[@]}"
EOF
chmod +x build/tools/nnkit
ln -s "$work/build/tools/nnkit" bin/nnkit
export PATH="$work/bin:$PATH"
# mpirun as root on a 2-core machine, without changing the commands
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
echo "docs: training shortened to 2 epochs where a command sets none, sweeps to 3 trials"
pass=0 fail=0 skipped=0
for page in "$SRC/README.md" "$SRC/examples/README.md" "$SRC"/docs/*.md; do
  while IFS= read -r cmd; do
    why=""
    case "$cmd" in
    tools/test.sh*) why="the test command itself" ;;
    tools/bench.sh*) why="a benchmark: measured by hand, never in a test" ;;
    tools/fuzz.sh*) why="fuzzing runs in tools/test.sh" ;;
    tensorboard\ *) why="TensorBoard is not a Debian package (event files are checked against its own writer's)" ;;
    */make_*trajectories.py*) why="regenerates the committed reference with PyTorch" ;;
    */make_*references.py*) why="regenerates a committed reference with scikit-learn (not a runtime dependency)" ;;
    mpirun*) command -v mpirun >/dev/null || why="Open MPI is not installed" ;;
    esac
    if [ -n "$why" ]; then
      echo "SKIP: $cmd ($why)"
      skipped=$((skipped + 1))
      continue
    fi
    # the quickstart after its setup and build: the training it runs
    [[ "$cmd" == tools/quickstart.sh* ]] && cmd="build/tools/nnkit train examples/fashion_mnist.ini --run-name quickstart --overwrite"
    if bash -o pipefail -c "$cmd" >out 2>err </dev/null; then
      pass=$((pass + 1))
    else
      echo "FAIL: ${page#"$SRC"/}: $cmd"
      tail -3 err
      fail=$((fail + 1))
    fi
  done < <(awk -f "$SRC/tests/docs_commands.awk" "$page")
done
echo "docs: $skipped commands skipped"
echo "docs: $pass passed, $fail failed"
[ "$fail" = 0 ]
