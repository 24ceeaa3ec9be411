#!/usr/bin/env bash
# Training throughput of the book's Fashion-MNIST model: one epoch of 55,000
# images at batch 32 and 256, nnkit and (where Debian's python3-torch is
# installed) PyTorch, in the same run, on the same cores. Each runs with 1
# thread and with every core, and the faster setting of each is compared
# (on a shared machine, or for small batches, one thread is often faster). Prints every run,
# then medians and ratios.
#   usage: tools/bench.sh [--native-blas] [REPEATS]   (default 3 repeats)
# --native-blas unsets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for this run,
# so OpenBLAS picks its kernels for this CPU (some machines here pin it to
# Haswell's AVX2 kernels for safety; PyTorch's oneDNN is not pinned).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--native-blas" ]; then
  unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
  shift
fi
reps=${1:-3}
tools/build.sh build
threads=$(nproc)
have_torch=0
/usr/bin/python3 -c "import torch" 2>/dev/null && have_torch=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for r in $(seq "$reps"); do
  # the tensorboard callback's cost: batch scalars and weight histograms
  ./build/tools/bench_train examples/fashion_mnist.ini 32 | sed "s/^nnkit /tbbase /" | tee -a "$log"
  ./build/tools/bench_train examples/fashion_mnist.ini 32 --tensorboard | sed "s/^nnkit+tb /tbcost /" | tee -a "$log"
  for b in 32 256; do
    for t in $(printf '%s\n' 1 "$threads" | sort -u); do
      OPENBLAS_NUM_THREADS=$t ./build/tools/bench_train examples/fashion_mnist.ini "$b" |
        sed "s/^nnkit /nnkit$t /" | tee -a "$log"
    done
    if [ "$have_torch" = 1 ]; then
      for t in $(printf '%s\n' 1 "$threads" | sort -u); do
        /usr/bin/python3 tools/bench_torch.py "$b" "$t" | sed "s/^torch /torch$t /" | tee -a "$log"
      done
    fi
  done
done
[ "$have_torch" = 1 ] || echo "bench: python3-torch is not installed (apt-get install python3-torch) - nnkit only"
echo
echo "medians over $reps runs ($threads cores, OpenBLAS core type: ${OPENBLAS_CORETYPE:-auto}):"
/usr/bin/python3 - "$log" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    parts = line.split()
    who, kv = parts[0], dict(p.split("=") for p in parts[1:])
    runs.setdefault((who, kv["batch"]), []).append(kv)
def med(who, b, key):
    vals = [float(r[key]) for r in runs.get((who, b), []) if key in r]
    return statistics.median(vals) if vals else None
for b in ("32", "256"):
    def fastest(prefix):
        cands = [w for (w, bb) in runs if bb == b and w.startswith(prefix)]
        return max(cands, key=lambda w: med(w, b, "samples_per_s"), default=None)
    nb, best = fastest("nnkit"), fastest("torch")
    n_sps, n_rss = med(nb, b, "samples_per_s"), med(nb, b, "peak_rss_mb")
    t_sps = med(best, b, "samples_per_s") if best else None
    t_rss = med(best, b, "peak_rss_mb") if best else None
    threads = lambda w: f"{w[5:]} thread{'s' if w[5:] != '1' else ''}"
    line = (f"batch {b:>3}: nnkit ({threads(nb)}) {n_sps:8.0f} samples/s, {med(nb, b, 'gflops'):.2f} GFLOP/s "
            f"(sgemm 1024^3: {med(nb, b, 'sgemm_gflops'):.2f}), peak RSS {n_rss:.0f} MB")
    if t_sps:
        line += (f" | torch ({threads(best)}) {t_sps:8.0f} samples/s, peak RSS {t_rss:.0f} MB"
                 f" | throughput x{n_sps / t_sps:.2f}, RSS x{n_rss / t_rss:.2f}")
    print(line)
base, cost = med("tbbase", "32", "seconds"), med("tbcost", "32", "seconds")
if base and cost:
    print(f"tensorboard callback (scalars every batch, histograms every epoch), batch 32: "
          f"{base:.3f}s -> {cost:.3f}s per epoch, +{100 * (cost / base - 1):.1f}%")
PY
