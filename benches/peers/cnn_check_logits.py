#!/usr/bin/env python3
"""Check that an overfit CNN checkpoint loads into PyTorch and gives the same logits.

    python3 benches/peers/cnn_check_logits.py MODEL.safetensors CASE.safetensors

MODEL: a checkpoint written by overfit (PyTorch state_dict names and shapes:
conv1.weight [6,3,5,5], conv1.bias, conv2.*, fc1.*, fc2.*, fc3.*).
CASE: tensors "x" [n,3,32,32] (NCHW images) and "logits" [n,classes]
(overfit's logits for them). The safetensors files are parsed by hand
(8-byte header length, JSON header, raw little-endian F32), so only torch and
numpy are needed. Builds the course CNN from the shapes, loads the state_dict
with strict=True, and prints one line:

    peer=pytorch check=cnn_logits n=.. max_abs_diff=<number> max_abs_logit=<number>
"""

import json
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from cnn_train import Net  # noqa: E402


def read_safetensors(path: str) -> dict:
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        assert meta["dtype"] == "F32", meta
        b, e = meta["data_offsets"]
        arr = np.frombuffer(data[b:e], dtype="<f4").reshape(meta["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def main() -> None:
    state = read_safetensors(sys.argv[1])
    case = read_safetensors(sys.argv[2])
    k = state["conv2.weight"].shape[0]
    h1 = state["fc1.weight"].shape[0]
    h2 = state["fc2.weight"].shape[0]
    net = Net(k, h1, h2)
    net.load_state_dict(state, strict=True)
    with torch.no_grad():
        logits = net(case["x"])
    diff = (logits - case["logits"]).abs().max().item()
    print(
        f"peer=pytorch check=cnn_logits n={logits.shape[0]} "
        f"max_abs_diff={diff:.3e} max_abs_logit={logits.abs().max().item():.3e}"
    )


if __name__ == "__main__":
    main()
