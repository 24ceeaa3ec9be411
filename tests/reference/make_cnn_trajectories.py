#!/usr/bin/python3
"""Reference training trajectories of a small CNN for tests/test_reference_cnn.c.

An independent implementation of what nnkit's convolutional layers must
compute, in PyTorch (Debian's python3-torch) in float64: its layout is NCHW,
so images and kernels are transposed from nnkit's (and Keras's) NHWC and
HWIO, and TensorFlow's SAME padding (the odd row and column after) is
written out with F.pad, as are pooling windows that read real cells only.

The model, on 32 images of 8x8x2 in batches of 8 for 2 epochs:
  conv2d 3 filters 3x3, dilation 2, same, tanh
  batch_normalization (Keras's: biased batch variance, epsilon 1e-3,
                       momentum 0.99 for the moving statistics)
  max_pooling2d 2x2 (valid)                         -> 4x4x3
  conv2d 4 filters 2x3, strides (1, 2), same, tanh   -> 4x2x4
  average_pooling2d 3x3, strides 2, same             -> 2x1x4
  flatten, dense 3 softmax, sparse categorical cross-entropy.
Gradients by autograd; the update rules are Keras's, as written out in
make_trajectories.py beside this file. Every weight (and the moving
statistics) is written after every step.

Writes cnn_trajectories.txt beside this file. Run it again only to change
the cases:
    /usr/bin/python3 tests/reference/make_cnn_trajectories.py
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_trajectories import Optimizer, f32  # noqa: E402  (Keras's update rules)

torch.set_default_dtype(torch.float64)
ROWS, H, W, C, CLASSES, BATCH, EPOCHS = 32, 8, 8, 2, 3, 8, 2
EPSILON, MOMENTUM = 1e-3, 0.99

gen = torch.Generator().manual_seed(20261203)
X = f32(torch.randn(ROWS, H, W, C, generator=gen))  # NHWC, as nnkit reads it
mix = torch.randn(H * W * C, CLASSES, generator=gen)
Y = torch.argmax(X.reshape(ROWS, -1) @ mix, dim=1)


def glorot(shape, fan_in, fan_out):
    limit = math.sqrt(6 / (fan_in + fan_out))
    return f32((torch.rand(*shape, generator=gen) * 2 - 1) * limit)


def small(n, scale=0.1, center=0.0):
    return f32(center + scale * torch.randn(n, generator=gen))


# nnkit's model order; kernels in Keras's layout (rows, columns, in, out)
NAMES = [("conv1", "kernel"), ("conv1", "bias"), ("bn", "gamma"), ("bn", "beta"), ("bn", "moving_mean"),
         ("bn", "moving_variance"), ("conv2", "kernel"), ("conv2", "bias"), ("out", "kernel"), ("out", "bias")]
W0 = [glorot((3, 3, 2, 3), 18, 27), small(3), small(3, 0.1, 1.0), small(3), torch.zeros(3), torch.ones(3),
      glorot((2, 3, 3, 4), 18, 24), small(4), glorot((8, 3), 8, 3), small(3)]
TRAINABLE = [0, 1, 2, 3, 6, 7, 8, 9]


def same_pads(size, k, stride, dilation):
    """TensorFlow's SAME: (before, after), the odd one after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def conv_same(x, kernel, bias, stride, dilation):
    kh, kw = kernel.shape[0], kernel.shape[1]
    top, bottom = same_pads(x.shape[2], kh, stride[0], dilation[0])
    left, right = same_pads(x.shape[3], kw, stride[1], dilation[1])
    x = F.pad(x, (left, right, top, bottom))
    return F.conv2d(x, kernel.permute(3, 2, 0, 1), bias, stride=stride, dilation=dilation)


def average_pool_same(x, k, stride):
    """Means over the real cells of each window only."""
    top, bottom = same_pads(x.shape[2], k, stride, 1)
    left, right = same_pads(x.shape[3], k, stride, 1)
    pads = (left, right, top, bottom)
    sums = F.avg_pool2d(F.pad(x, pads), k, stride) * (k * k)
    counts = F.avg_pool2d(F.pad(torch.ones_like(x), pads), k, stride) * (k * k)
    return sums / counts


def forward(w, x):
    """Logits and the batch's statistics; x is NHWC."""
    t = x.permute(0, 3, 1, 2)
    t = torch.tanh(conv_same(t, w[0], w[1], (1, 1), (2, 2)))
    mean = t.mean(dim=(0, 2, 3))
    var = t.var(dim=(0, 2, 3), unbiased=False)
    t = (t - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + EPSILON)
    t = t * w[2][None, :, None, None] + w[3][None, :, None, None]
    t = F.max_pool2d(t, 2, 2)
    t = torch.tanh(conv_same(t, w[6], w[7], (1, 2), (1, 1)))
    t = average_pool_same(t, 3, 2)
    t = t.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # flatten as NHWC
    return t @ w[8] + w[9], mean, var


def train(opt, lr):
    w = [t.clone() for t in W0]
    optimizer = Optimizer(opt, lr, {}, [w[i].shape for i in TRAINABLE])
    steps, epoch_losses = [], []
    for _ in range(EPOCHS):
        losses = []
        for start in range(0, ROWS, BATCH):
            x, y = X[start:start + BATCH], Y[start:start + BATCH]
            wv = [t.clone().requires_grad_(i in TRAINABLE) for i, t in enumerate(w)]
            z, mean, var = forward(wv, x)
            p = torch.softmax(z, dim=1).clamp(1e-7, 1 - 1e-7)
            loss = -p.gather(1, y.unsqueeze(1)).log().mean()
            grads = torch.autograd.grad(loss, [wv[i] for i in TRAINABLE])
            losses.append(loss.item())
            new = optimizer.step([wv[i].detach() for i in TRAINABLE], list(grads))
            w = [t.detach() for t in wv]
            for i, t in zip(TRAINABLE, new):
                w[i] = t
            w[4] = MOMENTUM * w[4] + (1 - MOMENTUM) * mean.detach()
            w[5] = MOMENTUM * w[5] + (1 - MOMENTUM) * var.detach()
            steps.append(torch.cat([t.reshape(-1) for t in w]))
        epoch_losses.append(sum(losses) / len(losses))
    return steps, epoch_losses


CASES = [("sgd", "sgd", 0.1), ("adam", "adam", 0.01)]


def tokens(values):
    return " ".join(repr(float(v)) for v in values)


def main():
    out = [f"# written by tests/reference/make_cnn_trajectories.py (torch {torch.__version__}); do not edit"]
    out.append(f"x {ROWS} {H * W * C} {tokens(X.reshape(-1))}")
    out.append(f"y {ROWS} 1 {tokens(Y)}")
    out.append(f"weights {len(NAMES)}")
    for (layer, name), t in zip(NAMES, W0):
        out.append(f"  {layer} {name} {t.numel()} {tokens(t.reshape(-1))}")
    total = sum(t.numel() for t in W0)
    for name, opt, lr in CASES:
        steps, losses = train(opt, lr)
        out.append(f"case {name} optimizer {opt} lr {lr!r}")
        out.append(f"  steps {len(steps)} {total}")
        out.extend("  " + tokens(s) for s in steps)
        out.append(f"  epoch_loss {len(losses)} {tokens(losses)}")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cnn_trajectories.txt")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\nend\n")


if __name__ == "__main__":
    main()
