#!/usr/bin/env bash
# From a fresh clone: install dependencies, build, and train the book's
# Fashion-MNIST classifier (examples/fashion_mnist.ini).
# Extra arguments go to 'nnkit train', e.g. --set fit.epochs=5.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh
echo "quickstart: training examples/fashion_mnist.ini (30 epochs; a few minutes)"
./build/tools/nnkit train examples/fashion_mnist.ini --run-name quickstart --overwrite "$@"
# the figure this run got, next to the one the README publishes (which holds
# for the defaults: seed 42, 30 epochs, and the same BLAS kernel and threads)
got=$(sed -n 's/^test_accuracy //p' runs/quickstart/metrics.txt)
echo "quickstart: test accuracy $(printf '%.4f' "$got") (README: 0.8756 with the defaults on a 2-core machine, oneDNN's avx512_core_bf16 kernels; 0.8755 on OpenBLAS's Haswell kernels)"
echo "quickstart: the model is runs/quickstart/model.nnk; try"
echo "  ./build/tools/nnkit evaluate runs/quickstart/model.nnk --data fashion-mnist:test"
echo "  ./build/tools/nnkit summary runs/quickstart/model.nnk"
