#!/usr/bin/env bash
# The test command (README "Run the tests"; .ci/run calls it): format, lints
# with and without the GPU feature, every test, the GPU tests compiled and
# run with --features cuda (those needing a device skip, saying why), the
# stress run under CPU contention, the job array on a real single-node
# SLURM (tests/slurm; skips visibly where no scheduler comes up), then
# the list of skipped tests, so that a skip never looks like a pass.
set -euo pipefail
cd "$(dirname "$0")/.."
skips=target/tmp/skipped-tests.txt
mkdir -p target/tmp && rm -f "$skips"
export OVERFIT_SKIP_LOG="$PWD/$skips"
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo clippy --all-targets --features cuda -- -D warnings
cargo test --release
cargo test --release --features cuda --test gpu
bash tests/stress/run.sh
bash tests/slurm/run.sh
if [ -s "$skips" ]; then
  echo "SKIPPED tests ($(sort -u "$skips" | wc -l)):"
  sort -u "$skips" | sed 's/^/  /'
else
  echo "SKIPPED tests: none"
fi
