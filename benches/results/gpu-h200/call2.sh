#!/usr/bin/env bash
# Issue 16's "Done when" rows on the device machine's Intel Xeon (CPU only,
# 2 threads, default environment), then the README table for that machine.
set -u
command -v nvidia-smi >/dev/null || { echo "not a GPU machine"; exit 1; }
R=$PWD
exec > >(tee -a "$OUT/log2.txt") 2>&1
mkdir -p /tmp/dev && tar -C /tmp/dev -xJf .devpack/dev.tar.xz
if [ "$(realpath "$R")" != "$(realpath /work/main 2>/dev/null)" ]; then
  mkdir -p /work; [ -e /work/main ] && mv /work/main /work/main.orig; ln -sfn "$R" /work/main
fi
mkdir -p target/release && cp /tmp/dev/overfit target/release/overfit
export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}:/tmp/dev/lib
OV=target/release/overfit
echo "== CPU"; date -u
grep -m4 -E "^(vendor_id|cpu family|model|model name)\s" /proc/cpuinfo
grep -m1 -o -w -E "avx512f" /proc/cpuinfo; grep -m1 -o -w fma /proc/cpuinfo; nproc; uptime
echo "== OpenBLAS core, opted out (OVERFIT_BLAS_CORE=keep) and default"
OPENBLAS_VERBOSE=2 OVERFIT_BLAS_CORE=keep $OV bench two-layer --engine primal --p 2000 --n 50 --m 100 --steps 2 --threads 2 2>&1 | tail -3
OPENBLAS_VERBOSE=2 $OV bench two-layer --engine primal --p 2000 --n 50 --m 100 --steps 2 --threads 2 2>&1 | tail -3
echo "== bench all --peer --threads 2 (default environment)"
timeout 420 $OV bench all --peer --threads 2 --reps 3 --out "$OUT/perf-xeon.md"
echo "bench all exit: $?"; uptime; date -u
