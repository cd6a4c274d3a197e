#!/usr/bin/env bash
# Session 49: issue 16's measurements on a 2-core Intel Xeon session machine
# (lscpu: family 6, model 167 as KVM reports it; AVX-512 F/CD/BW/DQ/VL, AMX;
# Debian OpenBLAS 0.3.21 picks its SkylakeX core here by itself). Nothing else
# of ours ran: no build, no test, no helper. Run from the repository root after
# `cargo build --release`; PyTorch from benches/peers/README.md's install line
# in OVERFIT_PYTHON. Writes the table, the raw lines and the study summaries
# under benches/results/, and this log beside the script.
set -u
HERE=benches/results/xeon2-s49
exec > >(tee -a "$HERE/log.txt") 2>&1
OV=./target/release/overfit
DATA=../shared/data/cifar10-4class
date -u; git rev-parse HEAD; git status --short | head
grep -m4 -E "^(vendor_id|cpu family|model|model name)\s" /proc/cpuinfo
echo "cores $(nproc)"; uptime
OPENBLAS_VERBOSE=2 $OV bench two-layer --engine primal --p 2000 --n 50 --m 100 --steps 2 --verbose 2>&1 | tail -3
"${OVERFIT_PYTHON:-python3}" -c 'import torch; print("torch", torch.__version__, torch.backends.cpu.get_cpu_capability())'

echo "== bench all --peer"
$OV bench all --peer --data "$DATA" --out benches/results/perf-xeon2.md
uptime

study() { # name spec args...
  local name=$1; shift
  local t=$(date +%s)
  echo "== $name: overfit run $*"; uptime
  rm -rf "/tmp/runs/$name"
  $OV run "$@" --out "/tmp/runs/$name" 2>&1 | tr '\r' '\n' | grep -v '^\s*$' | tail -3
  echo "$name exit ${PIPESTATUS[0]} wall $(( $(date +%s) - t )) s"
  if [ -f "/tmp/runs/$name/summary.json" ]; then
    mkdir -p "benches/results/study_times_xeon/$name"
    cp "/tmp/runs/$name/summary.json" "benches/results/study_times_xeon/$name/"
  fi
}
study xor_grokking_seeds20_xeon2_a experiments/xor_grokking.toml --seeds 20
study xor_grokking_seeds20_xeon2_b experiments/xor_grokking.toml --seeds 20
study xor_grokking_seeds20_xeon2_c experiments/xor_grokking.toml --seeds 20
study xor_grokking_full_xeon2 experiments/xor_grokking.toml
study cnn_sweep_seed003_seeds1_xeon2 experiments/cnn_sweep_seed003.toml --seeds 1 --data "$DATA"
date -u; uptime
