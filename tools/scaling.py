#!/usr/bin/env python3
"""A model of data-parallel scaling beyond one machine, anchored on numbers
measured here (tools/bench.sh --mpi passes them in).

Weak scaling, as DDP is used: every node trains 256 rows of each global
batch, so a step's compute time is the node's, 256 / rate, whatever the
node count N. The gradient (4 bytes a parameter) is summed with a ring
allreduce, which moves 2 (N - 1) / N times the buffer over each node's link
in 2 (N - 1) steps of latency alpha:

    T_allreduce = 2 (N - 1) / N * bytes / bandwidth + 2 (N - 1) * alpha

Efficiency is compute over the step: T_c / (T_c + T_a) when the sum waits
for backward (nnkit today), T_c / max(T_c, T_a) when buckets overlap it
with backward (DDP's design, and issue 12's goal).

  tools/scaling.py --samples-per-s R [--allreduce-us U --allreduce-bytes B]

R: samples per second one node trains the book's model at (measured: one
process, every core of this machine, batch 1024). The 10x wider model
(784-3000-1000-10) does 24.4x the multiply-adds per sample and has 20.1x
the parameters. U, B: a measured allreduce on this host, printed beside
the model's figure for it."""
import argparse

BOOK = {"name": "the book's 784-300-100-10", "params": 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10}
WIDE = {"name": "10x wider 784-3000-1000-10", "params": 784 * 3000 + 3000 + 3000 * 1000 + 1000 + 1000 * 10 + 10}


def train_flops(h1, h2):
    """Multiply-adds x 2 per sample of one training step (no input gradient for the first layer)."""
    macs = 784 * h1 + h1 * h2 + h2 * 10
    return 2 * macs * 3 - 2 * 784 * h1


LINKS = [("10 Gb/s Ethernet", 10e9 / 8, 25e-6), ("100 Gb/s InfiniBand", 100e9 / 8, 3e-6)]
ROWS_PER_NODE = 256


def allreduce_seconds(n, size, bandwidth, alpha):
    return 2 * (n - 1) / n * size / bandwidth + 2 * (n - 1) * alpha


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples-per-s", type=float, required=True)
    ap.add_argument("--allreduce-us", type=float)
    ap.add_argument("--allreduce-bytes", type=float)
    a = ap.parse_args()
    ratio = train_flops(3000, 1000) / train_flops(300, 100)
    print(f"scaling model (weak scaling, {ROWS_PER_NODE} rows per node and step; ring allreduce; "
          f"node rate {a.samples_per_s:.0f} samples/s for the book's model, measured here):")
    for model, slow in ((BOOK, 1.0), (WIDE, ratio)):
        size = 4 * model["params"]
        compute = ROWS_PER_NODE / a.samples_per_s * slow
        print(f"  {model['name']}: {size / 1e6:.2f} MB of gradients, {compute * 1e3:.2f} ms of compute per step")
        for link, bandwidth, alpha in LINKS:
            cells = []
            for n in (4, 16, 64):
                comm = allreduce_seconds(n, size, bandwidth, alpha)
                cells.append(f"N={n}: {compute / (compute + comm):.2f} / {compute / max(compute, comm):.2f}")
            print(f"    {link:<20} efficiency without / with overlap: " + ", ".join(cells))
    if a.allreduce_us and a.allreduce_bytes:
        bw = a.allreduce_bytes / (a.allreduce_us * 1e-6)  # N = 2: one buffer over the link
        print(f"  anchor: 2 processes on this host summed {a.allreduce_bytes / 1e6:.2f} MB in {a.allreduce_us:.0f} us, "
              f"{bw / 1e9:.1f} GB/s ({bw * 8 / 1e9:.0f} Gb/s) through shared memory, against the 10 and 100 Gb/s links above")


if __name__ == "__main__":
    main()
