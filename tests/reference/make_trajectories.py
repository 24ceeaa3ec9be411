#!/usr/bin/python3
"""Reference training trajectories for tests/test_reference.c.

An independent implementation of what nnkit must compute: a 5-8-3 network
(tanh hidden layer) on 64 generated rows, trained in order in batches of
16 for 3 epochs. PyTorch (Debian's python3-torch) computes the forward
pass, the losses as Keras defines them and, by autograd, the gradients,
all in float64; the update rules are Keras's (keras/src/optimizers, 3.x)
written out here in float64, with Keras's gradient clipping and L1/L2
penalties. The data and the starting weights are float32 values, so nnkit
starts from exactly the same numbers.

Writes trajectories.txt beside this file: whitespace-separated tokens,
read by tests/test_reference.c. Run it again only to change the cases:
    /usr/bin/python3 tests/reference/make_trajectories.py
"""
import math
import os

import torch

torch.set_default_dtype(torch.float64)
ROWS, INPUTS, HIDDEN, OUTPUTS, BATCH, EPOCHS = 64, 5, 8, 3, 16, 3


def f32(t):
    """Rounds to float32 and back, so C gets the very same numbers."""
    return t.float().double()


gen = torch.Generator().manual_seed(20261130)
X = f32(torch.randn(ROWS, INPUTS, generator=gen))
mix = torch.randn(INPUTS, OUTPUTS, generator=gen)
Y_REG = f32(torch.tanh(X @ mix) + 0.1 * torch.randn(ROWS, OUTPUTS, generator=gen))
Y_CLS = torch.argmax(X @ mix + 0.5 * torch.randn(ROWS, OUTPUTS, generator=gen), dim=1).double().unsqueeze(1)
Y_BIN = (X @ mix + 0.5 * torch.randn(ROWS, OUTPUTS, generator=gen) > 0).double()
Y_ONEHOT = torch.nn.functional.one_hot(Y_CLS.squeeze(1).long(), OUTPUTS).double()
LABELS = {"reg": Y_REG, "cls": Y_CLS, "bin": Y_BIN, "onehot": Y_ONEHOT}


def glorot(fan_in, fan_out):
    limit = math.sqrt(6 / (fan_in + fan_out))
    return f32((torch.rand(fan_in, fan_out, generator=gen) * 2 - 1) * limit)


# nnkit's model order: hidden kernel (inputs x units), hidden bias, output kernel, output bias
W0 = [glorot(INPUTS, HIDDEN), f32(0.1 * torch.randn(HIDDEN, generator=gen)),
      glorot(HIDDEN, OUTPUTS), f32(0.1 * torch.randn(OUTPUTS, generator=gen))]

EPS_CLIP = 1e-7  # Keras's backend epsilon, used to clip probabilities


def loss_value(name, z, y, params):
    """Keras's losses: mean over the last axis, then over the batch."""
    if name == "mse":
        return ((z - y) ** 2).mean()
    if name == "mae":
        return (z - y).abs().mean()
    if name == "huber":
        d = params.get("delta", 1.0)
        e = (z - y).abs()
        return torch.where(e <= d, 0.5 * e ** 2, d * e - 0.5 * d ** 2).mean()
    if name == "binary_crossentropy":
        p = torch.sigmoid(z).clamp(EPS_CLIP, 1 - EPS_CLIP)
        return -(y * p.log() + (1 - y) * (1 - p).log()).mean()
    if name == "categorical_crossentropy":
        p = torch.softmax(z, dim=1).clamp(EPS_CLIP, 1 - EPS_CLIP)
        return -(y * p.log()).sum(dim=1).mean()
    if name == "sparse_categorical_crossentropy":
        p = torch.softmax(z, dim=1).clamp(EPS_CLIP, 1 - EPS_CLIP)
        return -p.gather(1, y.long()).log().mean()
    raise ValueError(name)


def penalty(w, params):
    """Keras's l1/l2 regularizers on both dense layers' kernels and biases."""
    total = 0.0
    for i, t in enumerate(w):
        kind = "kernel" if i % 2 == 0 else "bias"
        total = total + params.get(kind + "_l1", 0.0) * t.abs().sum() + params.get(kind + "_l2", 0.0) * (t ** 2).sum()
    return total


def clip(grads, params):
    """Keras's clipping: clipnorm per variable, global_clipnorm over all,
    clipvalue element-wise."""
    if "clipvalue" in params:
        v = params["clipvalue"]
        grads = [g.clamp(-v, v) for g in grads]
    if "clipnorm" in params:
        c = params["clipnorm"]
        grads = [g * c / max(g.norm().item(), c) for g in grads]
    if "global_clipnorm" in params:
        c = params["global_clipnorm"]
        norm = math.sqrt(sum((g ** 2).sum().item() for g in grads))
        grads = [g * c / max(norm, c) for g in grads]
    return grads


class Optimizer:
    """Keras 3's update rules, one variable at a time, in float64."""

    def __init__(self, name, lr, params, shapes):
        self.name, self.lr, self.t = name, lr, 0
        self.p = {"momentum": 0.0, "nesterov": 0, "rho": 0.9, "epsilon": 1e-7, "beta_1": 0.9, "beta_2": 0.999,
                  "initial_accumulator_value": 0.1, "centered": 0, "weight_decay": 0.004}
        self.p.update(params)
        self.u_product = 1.0
        start = self.p["initial_accumulator_value"] if name == "adagrad" else 0.0
        self.s = [[torch.full(s, start) for s in shapes] for _ in range(3)]

    def step(self, w, grads):
        self.t += 1
        p, lr, t = self.p, self.lr, self.t
        if self.name == "nadam":  # once per step, before the variables
            self.u_product *= p["beta_1"] * (1 - 0.5 * 0.96 ** t)
        for i, g in enumerate(grads):
            a, b, c = self.s[0][i], self.s[1][i], self.s[2][i]
            if self.name == "sgd":
                if p["momentum"] == 0:
                    w[i] = w[i] - lr * g
                else:
                    a[:] = p["momentum"] * a - lr * g
                    w[i] = w[i] + (p["momentum"] * a - lr * g if p["nesterov"] else a)
            elif self.name == "adagrad":
                a += g * g
                w[i] = w[i] - lr * g / torch.sqrt(a + p["epsilon"])
            elif self.name == "rmsprop":
                a[:] = p["rho"] * a + (1 - p["rho"]) * g * g
                if p["centered"]:
                    c[:] = p["rho"] * c + (1 - p["rho"]) * g
                    denom = a - c * c + p["epsilon"]
                else:
                    denom = a + p["epsilon"]
                inc = lr * g / torch.sqrt(denom)
                if p["momentum"] > 0:
                    b[:] = p["momentum"] * b + inc
                    w[i] = w[i] - b
                else:
                    w[i] = w[i] - inc
            elif self.name in ("adam", "adamw"):
                if self.name == "adamw":
                    w[i] = w[i] - w[i] * p["weight_decay"] * lr
                alpha = lr * math.sqrt(1 - p["beta_2"] ** t) / (1 - p["beta_1"] ** t)
                a += (g - a) * (1 - p["beta_1"])
                b += (g * g - b) * (1 - p["beta_2"])
                w[i] = w[i] - alpha * a / (torch.sqrt(b) + p["epsilon"])
            elif self.name == "adamax":
                a += (g - a) * (1 - p["beta_1"])
                b[:] = torch.maximum(p["beta_2"] * b, g.abs())
                w[i] = w[i] - lr * a / ((1 - p["beta_1"] ** t) * (b + p["epsilon"]))
            elif self.name == "nadam":
                b1, b2 = p["beta_1"], p["beta_2"]
                u_t = b1 * (1 - 0.5 * 0.96 ** t)
                u_next = b1 * (1 - 0.5 * 0.96 ** (t + 1))
                u_prod_next = self.u_product * u_next
                a += (g - a) * (1 - b1)
                b += (g * g - b) * (1 - b2)
                m_hat = u_next * a / (1 - u_prod_next) + (1 - u_t) * g / (1 - self.u_product)
                v_hat = b / (1 - b2 ** t)
                w[i] = w[i] - lr * m_hat / (torch.sqrt(v_hat) + p["epsilon"])
            else:
                raise ValueError(self.name)
        return w


def train(case):
    name, opt, lr, loss, out_act, labels, params = case
    y_all = LABELS[labels]
    w = [t.clone() for t in W0]
    optimizer = Optimizer(opt, lr, params, [t.shape for t in w])
    steps, epoch_losses = [], []
    for _ in range(EPOCHS):
        batch_losses = []
        for start in range(0, ROWS, BATCH):
            x, y = X[start:start + BATCH], y_all[start:start + BATCH]
            wv = [t.clone().requires_grad_(True) for t in w]
            z = torch.tanh(x @ wv[0] + wv[1]) @ wv[2] + wv[3]
            total = loss_value(loss, z, y, params) + penalty(wv, params)
            grads = torch.autograd.grad(total, wv)
            batch_losses.append(total.item())
            w = optimizer.step([t.detach() for t in wv], clip(list(grads), params))
            steps.append(torch.cat([t.reshape(-1) for t in w]))
        epoch_losses.append(sum(batch_losses) / len(batch_losses))
    return steps, epoch_losses


SCE, SOFTMAX = "sparse_categorical_crossentropy", "softmax"
CASES = [  # name, optimizer, learning rate, loss, output activation, labels, parameters
    ("sgd", "sgd", 0.1, SCE, SOFTMAX, "cls", {}),
    ("sgd_momentum", "sgd", 0.05, SCE, SOFTMAX, "cls", {"momentum": 0.9}),
    ("sgd_nesterov", "sgd", 0.05, SCE, SOFTMAX, "cls", {"momentum": 0.9, "nesterov": 1}),
    ("adagrad", "adagrad", 0.05, SCE, SOFTMAX, "cls", {}),
    ("rmsprop", "rmsprop", 0.01, SCE, SOFTMAX, "cls", {}),
    ("rmsprop_centered_momentum", "rmsprop", 0.005, SCE, SOFTMAX, "cls", {"centered": 1, "momentum": 0.9}),
    ("adam", "adam", 0.01, SCE, SOFTMAX, "cls", {}),
    ("adamax", "adamax", 0.02, SCE, SOFTMAX, "cls", {}),
    ("nadam", "nadam", 0.01, SCE, SOFTMAX, "cls", {}),
    ("adamw", "adamw", 0.01, SCE, SOFTMAX, "cls", {"weight_decay": 0.5}),
    ("kernel_l1", "sgd", 0.1, SCE, SOFTMAX, "cls", {"kernel_l1": 0.05}),
    ("kernel_l2", "sgd", 0.1, SCE, SOFTMAX, "cls", {"kernel_l2": 0.1}),
    ("bias_l1", "sgd", 0.1, SCE, SOFTMAX, "cls", {"bias_l1": 0.05}),
    ("bias_l2", "sgd", 0.1, SCE, SOFTMAX, "cls", {"bias_l2": 0.2}),
    ("clipnorm", "sgd", 0.1, SCE, SOFTMAX, "cls", {"clipnorm": 0.1}),
    ("clipvalue", "sgd", 0.1, SCE, SOFTMAX, "cls", {"clipvalue": 0.02}),
    ("global_clipnorm", "sgd", 0.1, SCE, SOFTMAX, "cls", {"global_clipnorm": 0.2}),
    ("mse", "sgd", 0.1, "mse", "linear", "reg", {}),
    ("mae", "sgd", 0.1, "mae", "linear", "reg", {}),
    ("huber", "sgd", 0.1, "huber", "linear", "reg", {"delta": 0.3}),
    ("binary_crossentropy", "adam", 0.01, "binary_crossentropy", "sigmoid", "bin", {}),
    ("categorical_crossentropy", "sgd", 0.1, "categorical_crossentropy", SOFTMAX, "onehot", {}),
]


def tokens(values):
    return " ".join(repr(float(v)) for v in values)


def main():
    out = [f"# written by tests/reference/make_trajectories.py (torch {torch.__version__}); do not edit"]
    out.append(f"x {ROWS} {INPUTS} {tokens(X.reshape(-1))}")
    for key, y in LABELS.items():
        out.append(f"y_{key} {y.shape[0]} {y.shape[1]} {tokens(y.reshape(-1))}")
    w0 = torch.cat([t.reshape(-1) for t in W0])
    out.append(f"w0 {w0.numel()} {tokens(w0)}")
    for case in CASES:
        name, opt, lr, loss, act, labels, params = case
        steps, losses = train(case)
        out.append(f"case {name} optimizer {opt} lr {lr!r} loss {loss} output {act} labels {labels} params {len(params)}")
        for k, v in params.items():
            out.append(f"  {k} {v!r}")
        out.append(f"  steps {len(steps)} {w0.numel()}")
        out.extend("  " + tokens(s) for s in steps)
        out.append(f"  epoch_loss {len(losses)} {tokens(losses)}")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "trajectories.txt")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\nend\n")


if __name__ == "__main__":
    main()
