#!/usr/bin/env bash
# Training throughput of the book's Fashion-MNIST model: one epoch of 55,000
# images at batch 32 and 256, nnkit and (where Debian's python3-torch is
# installed) PyTorch, in the same run, on the same cores. Prints every run,
# then medians and ratios. usage: tools/bench.sh [REPEATS]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
tools/build.sh build
threads=$(nproc)
have_torch=0
/usr/bin/python3 -c "import torch" 2>/dev/null && have_torch=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for r in $(seq "$reps"); do
  for b in 32 256; do
    ./build/tools/bench_train examples/fashion_mnist.ini "$b" | tee -a "$log"
    if [ "$have_torch" = 1 ]; then
      /usr/bin/python3 tools/bench_torch.py "$b" "$threads" | tee -a "$log"
    fi
  done
done
[ "$have_torch" = 1 ] || echo "bench: python3-torch is not installed (apt-get install python3-torch) - nnkit only"
echo
echo "medians over $reps runs ($threads threads):"
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
    n_sps, t_sps = med("nnkit", b, "samples_per_s"), med("torch", b, "samples_per_s")
    n_rss, t_rss = med("nnkit", b, "peak_rss_mb"), med("torch", b, "peak_rss_mb")
    line = (f"batch {b:>3}: nnkit {n_sps:8.0f} samples/s, {med('nnkit', b, 'gflops'):.2f} GFLOP/s "
            f"(sgemm 1024^3: {med('nnkit', b, 'sgemm_gflops'):.2f}), peak RSS {n_rss:.0f} MB")
    if t_sps:
        line += (f" | torch {t_sps:8.0f} samples/s, peak RSS {t_rss:.0f} MB"
                 f" | throughput x{n_sps / t_sps:.2f}, RSS x{n_rss / t_rss:.2f}")
    print(line)
PY
