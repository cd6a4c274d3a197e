#!/usr/bin/env python3
"""PyTorch peer for `overfit bench wide`.

What it measures
----------------
Wall-clock seconds for ONE full-batch gradient-descent step of the authors'
training loop for the early-alignment experiments (Boursier & Flammarion,
github eboursier/early_alignment, `no_convergence.py`), written as they wrote
it: nn.Linear layers, MSELoss(reduction="mean"), torch.optim.SGD.

    X : n x (d - 1) inputs, uniform in [-1, 1]; the hidden layer's bias is the
        d-th input coordinate of `overfit bench wide` (d = 2: one input + bias)
    y : n targets, uniform in [0, 1]
    hidden  = nn.Linear(d - 1, m, bias=True)      w_j, b_j ~ N(0, lambda^2/m)
    predict = nn.Linear(m, 1, bias=False)         a_j = +-||(w_j, b_j)||  (balanced)
    lambda = 1e-3, lr = 1e-3, float64 (the Rust path is f64)

    f(x) = predict(relu(hidden(x)))
    step : loss = MSELoss(f(X), y); optimizer.zero_grad(); loss.backward();
           optimizer.step()

Data generation, network construction and two warm-up steps are excluded;
the number is the mean over `--steps` timed steps (time.perf_counter around
the whole loop).

How to run
----------
    python3 benches/peers/wide_step.py --m 200000 --n 3 --d 2 --steps 200 --threads 2

Output is exactly one line of space-separated key=value pairs:

    peer=pytorch version=<torch version> peer_backend=<BLAS,ISA> m=.. n=.. d=.. dtype=.. threads=.. s_per_step=<seconds>

`--dtype f32` times the public code's own precision (torch.Tensor is f32).
See README.md next to this file for how to install torch.
"""

import argparse
import math
import time

import torch

from peer_info import backend


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--m", type=int, default=200000, help="hidden width")
    ap.add_argument("--n", type=int, default=3, help="number of samples (full batch)")
    ap.add_argument("--d", type=int, default=2, help="input dimension including the bias coordinate")
    ap.add_argument("--steps", type=int, default=200, help="timed steps (after 2 warm-up steps)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--dtype", choices=["f64", "f32"], default="f64")
    ap.add_argument("--lr", type=float, default=1e-3, help="step size")
    ap.add_argument("--init-scale", type=float, default=1e-3, help="lambda")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.d < 2:
        raise SystemExit("--d must be >= 2 (one input coordinate plus the bias)")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    dtype = {"f64": torch.float64, "f32": torch.float32}[args.dtype]
    m, n, d = args.m, args.n, args.d

    X = (2 * torch.rand(n, d - 1, dtype=dtype) - 1)
    y = torch.rand(n, 1, dtype=dtype)

    hidden = torch.nn.Linear(d - 1, m, bias=True).to(dtype)
    predict = torch.nn.Linear(m, 1, bias=False).to(dtype)
    scale = args.init_scale / math.sqrt(m)
    with torch.no_grad():                           # balanced init, as in the public code
        torch.nn.init.normal_(hidden.weight, std=scale)
        torch.nn.init.normal_(hidden.bias, std=scale)
        norms = (hidden.weight.norm(dim=1).square() + hidden.bias.square()).sqrt()
        predict.weight.copy_((2 * torch.bernoulli(0.5 * torch.ones_like(predict.weight)) - 1) * norms)
    net = torch.nn.Sequential(hidden, torch.nn.ReLU(), predict)
    optimizer = torch.optim.SGD(net.parameters(), lr=args.lr)
    loss_func = torch.nn.MSELoss(reduction="mean")

    def step() -> None:
        prediction = net(X)
        loss = loss_func(prediction, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for _ in range(2):                              # warm-up
        step()

    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    elapsed = time.perf_counter() - t0

    print(
        f"peer=pytorch version={torch.__version__} peer_backend={backend()} m={m} n={n} d={d} "
        f"dtype={args.dtype} threads={args.threads} "
        f"s_per_step={elapsed / max(args.steps, 1):.6g}"
    )


if __name__ == "__main__":
    main()
