#!/usr/bin/env bash
# Installs what nnkit needs to build, test and run, from Debian's archive.
# Idempotent; run as root (or with sudo available) on Debian 12.
set -euo pipefail

packages=(
  build-essential pkg-config meson ninja-build
  libopenblas-dev          # BLAS sgemm for dense layers
  libprotobuf-c-dev protobuf-c-compiler  # model files (and TensorBoard records)
  protobuf-compiler        # protoc --decode, used by tests to read our files
  zlib1g-dev               # gzip'd IDX data, CRC-32 of model files
  libinih-dev              # experiment (INI) files
  check                    # unit test framework
  clang                    # libFuzzer for the fuzz harnesses (tools/fuzz.sh)
  libplplot-dev plplot-driver-cairo  # nnkit plot: learning curves as PNG or SVG
  dataset-fashion-mnist    # the book's data set
  libopenmpi-dev openmpi-bin  # data-parallel training under mpirun (libnnkit-mpi)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
