#!/usr/bin/env bash
# Session 42, one device call: issue 16's item-5 study wall times on the GPU
# machine's host CPU, the Intel Xeon (family 6, model 207), pinned to
# two of its 16 cores with taskset (the machine has 2 cores), nothing
# else of ours running; then the primal and CNN batch-128 rows, pinned the same
# way, ours then the PyTorch peer. CPU only. The binary is the stripped
# release build of the commit in the summaries, built on the session machine.
set -u
exec > >(tee -a "$OUT/log.txt") 2>&1
T0=$(date +%s)
left() { echo $(( $1 - ($(date +%s) - T0) )); }
date -u
mkdir -p /tmp/dev && tar -C /tmp/dev -xJf .devpack/dev.tar.xz
export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}:/tmp/dev/lib
OV=/tmp/dev/overfit
grep -m4 -E "^(vendor_id|cpu family|model|model name)\s" /proc/cpuinfo
echo "cores $(nproc)"; uptime
PIN="taskset -c 2,3"
echo "pinned cores: $($PIN nproc)"
OPENBLAS_VERBOSE=2 $PIN $OV bench two-layer --engine primal --p 2000 --n 50 --m 100 --steps 2 --threads 2 2>&1 | tail -2
study() { # name limit_s spec args...
  local name=$1 limit=$2; shift 2
  local t=$(date +%s)
  echo "== $name: $PIN overfit run $* --threads 2 (limit ${limit}s)"; uptime
  timeout "$limit" $PIN $OV run "$@" --threads 2 --out "/tmp/runs/$name" 2>&1 | tr '\r' '\n' | grep -v '^\s*$' | tail -4
  echo "$name exit ${PIPESTATUS[0]} wall $(( $(date +%s) - t )) s"
  if [ -f "/tmp/runs/$name/summary.json" ]; then
    mkdir -p "$OUT/study_times_xeon/$name" && cp "/tmp/runs/$name/summary.json" "$OUT/study_times_xeon/$name/"
  fi
}
study xor_grokking_seeds20_xeon 150 experiments/xor_grokking.toml --seeds 20
study xor_grokking_full_xeon "$(left 420)" experiments/xor_grokking.toml
echo "== pinned benches, ours then PyTorch, 3 repetitions each"; uptime
for r in 1 2 3; do
  [ "$(left 520)" -gt 20 ] || break
  $PIN $OV bench two-layer --engine primal --p 40000 --n 200 --m 1000 --steps 10 --threads 2 --peer 2>&1 | grep -E "^(bench|peer)="
done
for r in 1 2 3; do
  [ "$(left 540)" -gt 10 ] || break
  $PIN $OV bench cnn --arch 16,150,80 --batch 128 --images 5120 --epochs 2 --threads 2 --peer 2>&1 | grep -E "^(bench|peer)="
done
[ "$(left 540)" -gt 100 ] && study xor_grokking_seeds20_xeon_b 100 experiments/xor_grokking.toml --seeds 20
uptime; date -u; echo "script seconds $(( $(date +%s) - T0 ))"
