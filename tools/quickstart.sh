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
echo "quickstart: the model is runs/quickstart/model.nnk; try"
echo "  ./build/tools/nnkit evaluate runs/quickstart/model.nnk --data fashion-mnist:test"
echo "  ./build/tools/nnkit summary runs/quickstart/model.nnk"
