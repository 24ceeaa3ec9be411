"""PyTorch's side of tools/bench.sh, doing what bench_train does for nnkit.

  bench_torch.py train BATCH THREADS      the book's Fashion-MNIST MLP, one epoch
                                          over the first 55,000 training images
  bench_torch.py predict BATCH THREADS    its forward pass over them, under no_grad
  bench_torch.py evaluate BATCH THREADS   forward and loss over them, under no_grad
  bench_torch.py cnn BATCH THREADS STEPS  examples/fashion_cnn.ini's CNN (conv 32 3x3, pool, conv 64
                                          3x3, pool, dropout, dense 128, dropout, dense 10; Adam
                                          0.001), STEPS training steps over the first images after
                                          one untimed step
  bench_torch.py small BATCH THREADS EPOCHS
                                          examples/regression.ini's 10-30-30-1 MLP
                                          (Huber, SGD momentum 0.9) on the diabetes
                                          rows nnkit trains on

Batches are gathered from one tensor (no DataLoader), as nnkit gathers them.
Prints one line of key=value pairs."""
import csv
import gzip
import os
import resource
import sys
import time

import numpy as np
import torch

mode, batch, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(42)


def fashion():
    base = "/usr/share/datasets/fashion-mnist/"
    with gzip.open(base + "train-images-idx3-ubyte.gz") as f:
        x = torch.from_numpy(np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784).copy())
    with gzip.open(base + "train-labels-idx1-ubyte.gz") as f:
        y = torch.from_numpy(np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64))
    return x[:55000], y[:55000]


def diabetes():
    path = os.path.join(os.path.dirname(__file__), "..", "examples", "data", "diabetes.csv")
    with open(path) as f:
        rows = list(csv.DictReader(f))
    x = torch.tensor([[float(v) for k, v in r.items() if k != "progression"] for r in rows])
    y = torch.tensor([[float(r["progression"])] for r in rows])
    keep = int(len(x) * (1 - 0.125))  # nnkit's bench trains on the rows before the validation split
    x, y = x[:keep], y[:keep]
    return (x - x.mean(0)) / x.std(0), y


steps = 0
if mode == "small":
    epochs = int(sys.argv[4])
    x, y = diabetes()
    model = torch.nn.Sequential(torch.nn.Linear(10, 30), torch.nn.ReLU(), torch.nn.Linear(30, 30), torch.nn.ReLU(),
                                torch.nn.Linear(30, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.HuberLoss(delta=1.0)
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
            steps += 1
    samples = len(x) * epochs
elif mode == "cnn":
    n_steps = int(sys.argv[4])
    x, y = fashion()
    x = x[:(n_steps + 1) * batch].reshape(-1, 1, 28, 28)  # NCHW, PyTorch's layout
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                torch.nn.Flatten(), torch.nn.Dropout(0.25), torch.nn.Linear(1600, 128),
                                torch.nn.ReLU(), torch.nn.Dropout(0.25), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    loss_fn = torch.nn.CrossEntropyLoss()
    for i in range(0, len(x), batch):
        if i == batch:  # the first step warms up, untimed
            start = time.perf_counter()
        opt.zero_grad()
        loss_fn(model(x[i:i + batch].float() / 255.0), y[i:i + batch]).backward()
        opt.step()
        steps += i >= batch
    samples = steps * batch
else:
    x, y = fashion()
    model = torch.nn.Sequential(torch.nn.Linear(784, 300), torch.nn.ReLU(), torch.nn.Linear(300, 100),
                                torch.nn.ReLU(), torch.nn.Linear(100, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    if mode == "train":
        perm = torch.randperm(len(x))
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss_fn(model(x[idx].float() / 255.0), y[idx]).backward()
            opt.step()
            steps += 1
    else:
        with torch.no_grad():
            for i in range(0, len(x), batch):
                out = model(x[i:i + batch].float() / 255.0)
                if mode == "evaluate":
                    loss_fn(out, y[i:i + batch]).item()
                    (out.argmax(1) == y[i:i + batch]).sum().item()
                steps += 1
    samples = len(x)
sec = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"torch mode={mode} batch={batch} threads={threads} samples={samples} seconds={sec:.3f} "
      f"samples_per_s={samples / sec:.0f} steps_per_s={steps / sec:.0f} peak_rss_mb={rss:.1f}")
