#!/usr/bin/env bash
# Session 41, second GPU call: the GPU tests with one stream per Gpu, the GPU
# performance table, and the wall time of cnn_sweep_seed003 --seeds 1 on the
# GPU with 16 workers, on random pixels in CIFAR's format (the training cost
# does not depend on the pixels: fixed 40 epochs, no early stop).
set -u
command -v nvidia-smi >/dev/null || { echo "not a GPU machine"; exit 1; }
R=$PWD
exec > >(tee -a "$OUT/log3.txt") 2>&1
date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
mkdir -p /tmp/dev && tar -C /tmp/dev -xJf .devpack/dev.tar.xz
if [ "$(realpath "$R")" != "$(realpath /work/main 2>/dev/null)" ]; then
  mkdir -p /work; [ -e /work/main ] && mv /work/main /work/main.orig; ln -sfn "$R" /work/main
fi
mkdir -p target/release && cp /tmp/dev/overfit target/release/overfit
mkdir -p ../shared/data && rm -rf ../shared/data/cifar10-4class && cp -r /tmp/dev/data/cifar10-4class ../shared/data/
export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}:/tmp/dev/lib
OV=target/release/overfit
echo "== GPU tests"
OVERFIT_SKIP_LOG=$OUT/skipped3.txt timeout 120 /tmp/dev/gpu-test --test-threads=1 --nocapture
echo "gpu tests exit: $?"
echo "== GPU table"
timeout 150 $OV bench all --device cuda --peer --reps 3 --out "$OUT/perf-h200.md"
echo "bench all exit: $?"
echo "== sweep"
python3 - <<'PY'
import os, numpy as np
rng = np.random.default_rng(0); os.makedirs('/tmp/fake', exist_ok=True)
for name, n in [('data_batch_1.bin', 10000), ('data_batch_2.bin', 10000), ('test_batch.bin', 4000)]:
    r = np.empty((n, 3073), np.uint8); r[:, 0] = rng.choice([1, 6, 7, 8], n)
    r[:, 1:] = rng.integers(0, 256, (n, 3072), dtype=np.uint8); r.tofile('/tmp/fake/' + name)
PY
sed 's/^momentum = 0.9$/momentum = 0.9\ndevice = "cuda"/' experiments/cnn_sweep_seed003.toml > /tmp/sweep-cuda.toml
grep -n '^device' /tmp/sweep-cuda.toml
nvidia-smi dmon -s u -d 10 > "$OUT/dmon.txt" 2>&1 &
time (timeout 200 $OV run /tmp/sweep-cuda.toml --seeds 1 --threads 16 --data /tmp/fake --out /tmp/sw 2>&1 | tail -40)
kill %1 2>/dev/null
python3 -c "import json;d=json.load(open('/tmp/sw/summary.json'));print('elapsed_s',d['elapsed_s'],d['details'].get('device'),d['details'].get('gpu'))" 2>&1
ls /tmp/sw/.units/* 2>/dev/null | head -3; ls /tmp/sw/.units/*/ 2>/dev/null | wc -l
date -u
