#!/usr/bin/env python3
"""PyTorch peer for `overfit bench cnn`.

What it measures
----------------
Training throughput (images per second) of the course project's CNN
(papers.md S4), written the way the project wrote it in PyTorch:

    conv(3->6, 5x5) relu maxpool2  conv(6->k, 5x5) relu maxpool2
    flatten (25k)  fc(25k->h1) relu  fc(h1->h2) relu  fc(h2->4)

    loss = CrossEntropyLoss (mean over the mini-batch)
    opt  = SGD(lr=1e-3, momentum=0.9)
    step : zero_grad(); loss = ce(net(x), y); loss.backward(); opt.step()

Data: the first --images records of the CIFAR-10 4-class subset (binary
format, data_batch_1.bin, ...) in --data, pixels scaled to [-1, 1] as
Normalize(0.5, 0.5) does, classes automobile/frog/horse/ship relabelled
0..3. Without --data (or when the folder is absent) random pixels in
[-1, 1] and random labels are used (the cost per image is the same).
The whole set is held in one tensor; each epoch draws a fresh random
permutation and slices mini-batches from it (no DataLoader, which would
only add overhead). One warm-up pass over 10 mini-batches is excluded;
then --epochs passes over the --images images are timed with
time.perf_counter. With --device cuda the net, the images and each epoch's
permutation live on the GPU (cuDNN convolutions, PyTorch's default
settings: no cudnn.benchmark, TF32 allowed in convolutions), and the clock
stops after torch.cuda.synchronize(), so queued kernels are counted.

How to run
----------
    python3 benches/peers/cnn_train.py --arch 16,150,80 --batch 4 \
        --images 4000 --threads 2 --data ../shared/data/cifar10-4class

Output is exactly one line of space-separated key=value pairs:

    peer=pytorch version=<torch version> peer_backend=<BLAS,ISA> device=cpu|cuda arch=k,h1,h2 batch=.. images=.. threads=.. images_per_s=<number>
"""

import argparse
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from peer_info import backend

CLASSES = [1, 6, 7, 8]  # automobile, frog, horse, ship
RECORD = 1 + 3072


class Net(nn.Module):
    """The course project's CNN; state_dict names match overfit's checkpoints."""

    def __init__(self, k: int, h1: int, h2: int) -> None:
        super().__init__()
        self.k = k
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, k, 5)
        self.fc1 = nn.Linear(k * 5 * 5, h1)
        self.fc2 = nn.Linear(h1, h2)
        self.fc3 = nn.Linear(h2, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def load_cifar(folder: str, limit: int):
    xs, ys = [], []
    for name in sorted(os.listdir(folder)):
        if not (name.startswith("data_batch_") and name.endswith(".bin")):
            continue
        raw = np.fromfile(os.path.join(folder, name), dtype=np.uint8).reshape(-1, RECORD)
        keep = np.isin(raw[:, 0], CLASSES)
        raw = raw[keep]
        ys.append(np.searchsorted(CLASSES, raw[:, 0]))
        xs.append(raw[:, 1:].reshape(-1, 3, 32, 32))
        if sum(len(y) for y in ys) >= limit:
            break
    x = np.concatenate(xs)[:limit].astype(np.float32) / 255.0
    y = np.concatenate(ys)[:limit].astype(np.int64)
    return torch.from_numpy((x - 0.5) / 0.5), torch.from_numpy(y)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="16,150,80", help="k,h1,h2")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--images", type=int, default=4000, help="training images per epoch")
    ap.add_argument("--epochs", type=int, default=1, help="timed passes over the images")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--data", default=None, help="CIFAR-10 binary folder")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no GPU")
    dev = torch.device(args.device)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    k, h1, h2 = (int(v) for v in args.arch.split(","))
    if args.data and os.path.isdir(args.data):
        x, y = load_cifar(args.data, args.images)
        source = "cifar"
    else:
        x = torch.rand(args.images, 3, 32, 32) * 2 - 1
        y = torch.randint(0, 4, (args.images,))
        source = "random"
    x, y = x.to(dev), y.to(dev)
    n = len(y)
    net = Net(k, h1, h2).to(dev)
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    b = args.batch

    def step(idx: torch.Tensor) -> None:
        opt.zero_grad()
        loss = loss_fn(net(x[idx]), y[idx])
        loss.backward()
        opt.step()

    def finish() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize()

    warm = torch.randperm(n, device=dev)
    for s in range(0, min(n, 10 * b), b):
        step(warm[s : s + b])

    finish()
    seen = 0
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        perm = torch.randperm(n, device=dev)
        for s in range(0, n, b):
            idx = perm[s : s + b]
            step(idx)
            seen += len(idx)
    finish()
    elapsed = time.perf_counter() - t0
    gpu = f" gpu={torch.cuda.get_device_name().replace(' ', '_')}" if dev.type == "cuda" else ""
    # On the GPU the convolutions run in cuDNN, not the host's BLAS.
    kernels = f"cudnn-{torch.backends.cudnn.version()}" if dev.type == "cuda" else backend()

    print(
        f"peer=pytorch version={torch.__version__} peer_backend={kernels} device={args.device}{gpu} arch={k},{h1},{h2} batch={b} "
        f"images={n} epochs={args.epochs} data={source} threads={args.threads} "
        f"images_per_s={seen / elapsed:.6g}"
    )


if __name__ == "__main__":
    main()
