#!/usr/bin/env bash
# Byte-identical outputs across a refactor. Builds BASE (a commit; default
# the commit before the runner/folder refactor) in a git worktree with its
# own target directory, builds the work tree, runs every experiments/*.toml
# with --quick through both binaries, plus the full specs named in FULL
# (default: two that take under a minute), and compares the run directories
# file by file: metrics.csv, the extra CSVs, spec.toml and every figure
# byte for byte; summary.json without the keys that record when, where and
# how long (elapsed_s, threads, machine, provenance, details.*_seconds), and
# the list of the run's files (files; the trees are compared themselves).
# Exits 1 on any difference, listing it; 0 when every file matches.
# Usage: bash tests/refactor/compare.sh [BASE]   (THREADS=N, FULL="spec ...",
#        OVERFIT_COMPARE_DIR=DIR, OVERFIT_COMPARE_OLD_BIN=path/to/base/overfit)
#        FULL="expressivity xor_theorem" bash tests/refactor/compare.sh 0e00d82
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
base=${1:-0e00d82}
threads=${THREADS:-2}
full=${FULL-expressivity xor_theorem}
work=${OVERFIT_COMPARE_DIR:-/tmp/overfit-compare}
tree=$work/base-tree

rm -rf "$work/old" "$work/new"
mkdir -p "$work"
# OVERFIT_COMPARE_OLD_BIN: a binary already built from BASE (skips the build).
old_bin=${OVERFIT_COMPARE_OLD_BIN:-}
if [ -z "$old_bin" ]; then
  if [ ! -d "$tree" ]; then
    git worktree add --detach "$tree" "$base" >/dev/null
  else
    git -C "$tree" checkout --quiet --detach "$base"
  fi
  echo "building $base in $tree (target/compare-base) ..."
  CARGO_TARGET_DIR="$root/target/compare-base" cargo build --release --quiet --manifest-path "$tree/Cargo.toml"
  old_bin="$root/target/compare-base/release/overfit"
fi
echo "building the work tree ..."
cargo build --release --quiet
new_bin="$root/target/release/overfit"

run_both() { # spec, name, extra flags...
  local spec=$1 name=$2
  shift 2
  for side in old new; do
    local bin=$old_bin
    [ "$side" = new ] && bin=$new_bin
    # Both run from the repository root so the specs' relative data paths resolve alike.
    "$bin" run "$spec" --out "$work/$side/$name" --threads "$threads" "$@" >"$work/$side-$name.log" 2>&1 || {
      echo "$side binary failed on $spec $* (log: $work/$side-$name.log)"
      tail -3 "$work/$side-$name.log"
      return 1
    }
  done
}

for spec in experiments/*.toml; do
  name=$(basename "$spec" .toml)
  run_both "$spec" "$name-quick" --quick
done
for name in $full; do
  run_both "experiments/$name.toml" "$name-full"
done

python3 - "$work" <<'EOF'
import json, os, sys
work = sys.argv[1]
# spec_hash: the hash of spec.toml, which is compared byte for byte itself;
# files: the run's list of its files (since session 65), compared as the trees below.
volatile = {"elapsed_s", "threads", "machine", "provenance", "spec_hash", "files"}
def summary(path):
    d = json.load(open(path))
    d = {k: v for k, v in d.items() if k not in volatile}
    if isinstance(d.get("details"), dict):  # a study's own timings
        d["details"] = {k: v for k, v in d["details"].items() if not k.endswith("_seconds")}
    return d
bad, files = [], 0
for run in sorted(os.listdir(os.path.join(work, "old"))):
    old_dir, new_dir = (os.path.join(work, side, run) for side in ("old", "new"))
    def tree(d):
        return {os.path.relpath(os.path.join(r, f), d)
                for r, _, fs in os.walk(d) for f in fs if not f.startswith(".")}
    old, new = tree(old_dir), tree(new_dir)
    for f in sorted(old ^ new):
        bad.append(f"{run}/{f}: only in {'old' if f in old else 'new'}")
    for f in sorted(old & new):
        files += 1
        a, b = os.path.join(old_dir, f), os.path.join(new_dir, f)
        if f == "summary.json":
            same = summary(a) == summary(b)
        else:
            same = open(a, "rb").read() == open(b, "rb").read()
        if not same:
            bad.append(f"{run}/{f}: differs")
for line in bad:
    print("DIFFERENT", line)
print(f"compared {files} files in {len(os.listdir(os.path.join(work, 'old')))} runs: {len(bad)} differences")
sys.exit(1 if bad else 0)
EOF
