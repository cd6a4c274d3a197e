#!/usr/bin/env python3
"""PyTorch peer for `overfit bench two-layer`.

What it measures
----------------
Wall-clock seconds for ONE full-batch gradient-descent step of a two-layer
ReLU network, written the way a PyTorch user would write it (autograd):

    X : n x p Gaussian data, y in {-1, +1}
    W : p x m first-layer weights (trained, requires_grad), init N(0, 1e-3^2)
    a : m second-layer weights, a_j = +-1/sqrt(m), fixed (not trained)
    no biases

    f(x) = sum_j a_j * relu(<w_j, x>)
    L    = mean_i log(1 + exp(-y_i f(x_i)))      (softplus(-y * f))
    step : opt.zero_grad(); L.backward(); opt.step()   (opt = torch.optim.SGD([W], lr))

One step = forward (X @ W, relu, @ a, softplus, mean) + backward (grad of W
only: X^T @ dH) + the optimiser's in-place update W += -lr W.grad (the
idiom a PyTorch user writes; until 2026-12-05 this peer wrote
`W -= lr * W.grad`, whose temporary p x m product cost about 0.1 s of its
0.57 s step at p = 40000 on a Zen 4). Data generation, allocation of W and
two warm-up steps are excluded from the timing. The reported number is the
mean over `--steps` timed steps (time.perf_counter around the whole loop).

How to run
----------
    python3 benches/peers/two_layer_step.py --p 40000 --n 200 --m 1000 \
        --steps 20 --threads 2 --dtype f64

Output is exactly one line of space-separated key=value pairs:

    peer=pytorch version=<torch version> peer_backend=<BLAS,ISA> p=.. n=.. m=.. dtype=.. threads=.. s_per_step=<seconds>

See README.md next to this file for how to install torch.
"""

import argparse
import math
import time

import torch
import torch.nn.functional as F

from peer_info import backend


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--p", type=int, default=40000, help="input dimension")
    ap.add_argument("--n", type=int, default=200, help="number of samples (full batch)")
    ap.add_argument("--m", type=int, default=1000, help="hidden width")
    ap.add_argument("--steps", type=int, default=20, help="timed steps (after 2 warm-up steps)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--dtype", choices=["f64", "f32"], default="f64")
    ap.add_argument("--lr", type=float, default=0.1, help="step size")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    dtype = {"f64": torch.float64, "f32": torch.float32}[args.dtype]
    p, n, m = args.p, args.n, args.m

    X = torch.randn(n, p, dtype=dtype)
    y = (torch.randint(0, 2, (n,)) * 2 - 1).to(dtype)
    W = (1e-3 * torch.randn(p, m, dtype=dtype)).requires_grad_(True)
    a = (torch.randint(0, 2, (m,)) * 2 - 1).to(dtype) / math.sqrt(m)  # fixed, not trained
    lr = args.lr

    opt = torch.optim.SGD([W], lr=lr)

    def step() -> None:
        opt.zero_grad()                           # W.grad = None (set_to_none by default)
        f = torch.relu(X @ W) @ a                 # (n,)
        loss = F.softplus(-y * f).mean()          # mean_i log(1 + exp(-y_i f(x_i)))
        loss.backward()
        opt.step()                                # W.add_(W.grad, alpha=-lr), in place

    for _ in range(2):                            # warm-up
        step()

    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    elapsed = time.perf_counter() - t0

    print(
        f"peer=pytorch version={torch.__version__} peer_backend={backend()} p={p} n={n} m={m} "
        f"dtype={args.dtype} threads={args.threads} "
        f"s_per_step={elapsed / max(args.steps, 1):.6g}"
    )


if __name__ == "__main__":
    main()
