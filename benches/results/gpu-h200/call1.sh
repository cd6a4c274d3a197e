#!/usr/bin/env bash
# GPU checks of overfit's cudarc path (session 41). Binaries were built on the
# CPU machine in /work/main (Debian 12) and travel in dev.tar.xz with
# OpenBLAS and a truncated CIFAR subset. Everything is logged to $OUT/log.txt.
set -u
command -v nvidia-smi >/dev/null || { echo "not a GPU machine"; exit 1; }
R=$PWD
exec > >(tee -a "$OUT/log.txt") 2>&1
echo "== machine"; date -u
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
lscpu | grep -E "Model name|^CPU\(s\)"
(nvcc --version | tail -1) 2>/dev/null
mkdir -p /tmp/dev && tar -C /tmp/dev -xJf .devpack/dev.tar.xz
# The test binary names /work/main (CARGO_MANIFEST_DIR, CARGO_BIN_EXE_overfit).
if [ "$(realpath "$R")" != "$(realpath /work/main 2>/dev/null)" ]; then
  mkdir -p /work; [ -e /work/main ] && mv /work/main /work/main.orig; ln -sfn "$R" /work/main
fi
mkdir -p target/release && cp /tmp/dev/overfit target/release/overfit
mkdir -p ../shared/data && rm -rf ../shared/data/cifar10-4class && cp -r /tmp/dev/data/cifar10-4class ../shared/data/
export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}:/tmp/dev/lib
OV=target/release/overfit
echo "== CUDA libraries as found"
ldconfig -p | grep -E "libcuda\.so|nvrtc|cublas" | head
ls /usr/local/cuda/lib64 2>/dev/null | grep -E "nvrtc|cublas" | head -20
echo "== without extra library links:"
$OV bench cnn --arch 4,8,6 --batch 4 --images 8 --threads 1 --device auto
L=/tmp/cudalibs; mkdir -p $L; D=""
for name in nvrtc cublas cublasLt; do
  f=$( { ls /usr/local/cuda/lib64/lib$name.so.[0-9]* 2>/dev/null; timeout 60 find /usr /opt -name "lib$name.so.[0-9]*" 2>/dev/null; } | head -1)
  echo "lib$name: $f"
  if [ -n "$f" ]; then ln -sfn "$f" $L/lib$name.so; D="$D:$(dirname "$f")"; fi
done
export LD_LIBRARY_PATH=$L$D:$LD_LIBRARY_PATH
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
$OV bench cnn --arch 4,8,6 --batch 4 --images 8 --threads 1 --device auto
echo "== GPU tests"
export OVERFIT_SKIP_LOG=$OUT/skipped.txt
timeout 300 /tmp/dev/gpu-test --test-threads=1 --nocapture
echo "gpu tests exit: $?"
echo "== benchmarks: ours then PyTorch (cuDNN) on the same GPU, 3 repetitions"
for rep in 1 2 3; do
  timeout 100 $OV bench cnn --device cuda --peer --arch 16,150,80 --batch 128 --images 40960 --threads 1
  timeout 100 $OV bench cnn --device cuda --peer --arch 16,150,80 --batch 4 --images 8192 --threads 1
done
echo "== done"; date -u
