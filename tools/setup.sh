#!/usr/bin/env bash
# Installs what nnkit needs to build, test and run, from Debian's archive.
# Idempotent; run as root (or with sudo available) on Debian 12.
set -euo pipefail

packages=(
  build-essential pkg-config meson ninja-build
  libopenblas-dev          # BLAS sgemm for dense layers (the OpenBLAS compute backend)
  libdnnl-dev              # oneDNN: the default compute backend (JIT sgemm for the CPU's widest vectors)
  libprotobuf-c-dev protobuf-c-compiler  # model files (and TensorBoard records)
  protobuf-compiler        # protoc --decode, used by tests to read our files
  zlib1g-dev               # gzip'd IDX data, CRC-32 of model files
  libinih-dev              # experiment (INI) files
  check                    # unit test framework
  clang                    # libFuzzer for the fuzz harnesses (tools/fuzz.sh)
  libplplot-dev plplot-driver-cairo  # nnkit plot: learning curves as PNG or SVG
  dataset-fashion-mnist    # the book's data set
  libopenmpi-dev openmpi-bin  # data-parallel training under mpirun (libnnkit-mpi)
  python3-onnx             # tests: ONNX's checker on exported models (ONNX Runtime comes from npm, below)
)

# ONNX Runtime's CPU library, from npm into build-deps/ (ignored by git):
# --ignore-scripts skips its post-install step, a GPU download that cannot
# work here; the CPU library is in the package itself.
ort_node() {
  [ -f build-deps/node_modules/onnxruntime-node/package.json ] && return 0
  if ! command -v npm >/dev/null; then # Node.js with npm: Debian's when the machine has none
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null || return 1
  fi
  mkdir -p build-deps
  (cd build-deps && npm install --ignore-scripts --no-audit --no-fund --silent onnxruntime-node@1.30.0 >/dev/null) &&
    echo "setup: onnxruntime-node 1.30.0 in build-deps/"
}
cd "$(dirname "$0")/.."

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then
  SUDO=sudo
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  ort_node
  exit 0
fi
if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
  echo "setup: need root to install: ${missing[*]}" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
ort_node
echo "setup: done"
