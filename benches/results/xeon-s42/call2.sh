#!/usr/bin/env bash
# Session 42, second device call: the whole performance table on the GPU
# machine's Intel Xeon (family 6, model 207), pinned to two of its 16 cores
# with taskset like call1.sh (ours and the PyTorch peer alike), default
# environment, random pixels; then a second timing of the main job if the
# device time allows.
set -u
exec > >(tee -a "$OUT/log.txt") 2>&1
T0=$(date +%s)
date -u
mkdir -p /tmp/dev && tar -C /tmp/dev -xJf .devpack/dev.tar.xz
export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}:/tmp/dev/lib
OV=/tmp/dev/overfit
grep -m4 -E "^(vendor_id|cpu family|model|model name)\s" /proc/cpuinfo
lscpu | grep -E "^(Thread|Core|Socket|NUMA node\(s\)|L2|L3)" ; uptime
PIN="taskset -c 2,3"
echo "== $PIN overfit bench all --peer --threads 2 --reps 3"
timeout 230 $PIN $OV bench all --peer --threads 2 --reps 3 --out "$OUT/perf-xeon-pinned.md"
echo "bench all exit: $? after $(( $(date +%s) - T0 )) s"; uptime
if [ $(( $(date +%s) - T0 )) -lt 190 ]; then
  t=$(date +%s)
  timeout 95 $PIN $OV run experiments/xor_grokking.toml --seeds 20 --threads 2 --out /tmp/runs/xor_grokking_seeds20_xeon_b 2>&1 | tr '\r' '\n' | grep -v '^\s*$' | tail -2
  echo "main job exit ${PIPESTATUS[0]} wall $(( $(date +%s) - t )) s"
  [ -f /tmp/runs/xor_grokking_seeds20_xeon_b/summary.json ] && mkdir -p "$OUT/study_times_xeon/xor_grokking_seeds20_xeon_b" && cp /tmp/runs/xor_grokking_seeds20_xeon_b/summary.json "$OUT/study_times_xeon/xor_grokking_seeds20_xeon_b/"
fi
date -u; echo "script seconds $(( $(date +%s) - T0 ))"
