"""The book's Fashion-MNIST MLP in PyTorch, for tools/bench.sh: one epoch
over the first 55,000 training images, batches gathered from one uint8
tensor (no DataLoader), as nnkit does.  usage: bench_torch.py BATCH THREADS"""
import gzip
import resource
import sys
import time

import numpy as np
import torch

batch, threads = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(42)
base = "/usr/share/datasets/fashion-mnist/"
with gzip.open(base + "train-images-idx3-ubyte.gz") as f:
    x = torch.from_numpy(np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784).copy())
with gzip.open(base + "train-labels-idx1-ubyte.gz") as f:
    y = torch.from_numpy(np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64))
x, y = x[:55000], y[:55000]
model = torch.nn.Sequential(
    torch.nn.Linear(784, 300), torch.nn.ReLU(),
    torch.nn.Linear(300, 100), torch.nn.ReLU(),
    torch.nn.Linear(100, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
loss_fn = torch.nn.CrossEntropyLoss()
start = time.perf_counter()
perm = torch.randperm(len(x))
for i in range(0, len(x), batch):
    idx = perm[i:i + batch]
    xb = x[idx].float() / 255.0
    opt.zero_grad()
    loss = loss_fn(model(xb), y[idx])
    loss.backward()
    opt.step()
sec = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
macs = 784 * 300 + 300 * 100 + 100 * 10
flops = 2 * macs * 3 - 2 * 784 * 300
sps = len(x) / sec
print(f"torch batch={batch} samples={len(x)} seconds={sec:.3f} samples_per_s={sps:.0f} "
      f"gflops={sps * flops / 1e9:.2f} peak_rss_mb={rss:.1f}")
