#!/usr/bin/env bash
# The README's SLURM job array, run by a real scheduler (tests/slurm/run.sh
# starts a throwaway one; on a real cluster run this script directly from a
# login node, see docs/slurm-readme-section.md):
#   1. the README's array script (--array=0-3, --quick), `sbatch --wait`, every
#      task COMPLETED with exit 0, the README's merge line: metrics.csv and every
#      other file byte-identical to a single-process `overfit run --quick`
#      (summary.json less timing, machine, provenance and spec_hash keys, spec.toml less its comment);
#   2. task 2 cancelled: merge refuses (exit 2) naming the missing shard; the
#      index resubmitted alone (`sbatch --array=2`) with `--shard slurm/4`, then
#      merge: the same bytes; the same resubmission with a bare `--shard slurm`
#      is refused by the task (exit 2) and leaves no shard behind;
#   3. a CNN task with `#SBATCH --requeue` and `--resume`, requeued in the middle
#      of a model's training: it continues from that model's checkpoint and ends
#      byte-identical (skipped, visibly, without the CIFAR subset).
# Usage: bash tests/slurm/test.sh WORKDIR   (WORKDIR must be visible to the compute nodes;
# sbatch reads SBATCH_PARTITION, SBATCH_TIMELIMIT, ... from the environment)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
repo=$(pwd)
work=${1:?usage: bash tests/slurm/test.sh WORKDIR}
mkdir -p "$work" && work=$(cd "$work" && pwd)
t0=$(date +%s)
say() { echo "slurm test: $* ($(($(date +%s) - t0)) s)"; }
fail() {
  echo "FAILED slurm: $*"
  exit 1
}
# Wait (at most $2 s) until job $1 has left the queue (all its tasks ended).
wait_gone() {
  for _ in $(seq 1 $(($2 * 2))); do
    [ -z "$(squeue -h -j "$1" -o %i 2>/dev/null)" ] && return 0
    sleep 0.5
  done
  fail "job $1 still queued after $2 s: $(squeue -h -j "$1" -o '%i %T %r' | tr '\n' ' ')"
}
# "TASK STATE EXITCODE" per array task of job $1, by task id.
tasks() {
  scontrol -o show job "$1" |
    sed -E 's/.* ArrayTaskId=([^ ]+) .* JobState=([^ ]+) .* ExitCode=([^ ]+) .*/\1 \2 \3/' | sort -n
}
# The tasks of job $1 that ran are those in $2, each COMPLETED with exit 0:0
# (a task cancelled while pending leaves no record in slurmctld 22.05, or a CANCELLED one).
expect_tasks() {
  local want="" t got
  for t in $2; do want+="$t COMPLETED 0:0"$'\n'; done
  want=$(printf '%s' "$want" | sort -n)
  got=$(tasks "$1" | grep -v ' CANCELLED ')
  [ "$got" = "$want" ] || fail "job $1: tasks ended as
$got
expected
$want"
}
# The single-process result in $1 and another in $2 agree: every file byte for
# byte, but summary.json less timing/provenance keys and spec.toml less comments.
same_results() {
  local f rel
  cmp "$1/metrics.csv" "$2/metrics.csv" || fail "$2/metrics.csv differs from the single-process run's"
  while IFS= read -r f; do
    rel=${f#"$1"/}
    case $rel in
      summary.json) ;;
      spec.toml) cmp <(grep -v '^#' "$f") <(grep -v '^#' "$2/$rel") >/dev/null ||
        fail "$2/spec.toml differs (beyond its comment lines)" ;;
      *) cmp "$f" "$2/$rel" >/dev/null || fail "$2/$rel differs from the single-process run's" ;;
    esac
  done < <(find "$1" -type f ! -path '*/.units/*' | sort)
  python3 - "$1/summary.json" "$2/summary.json" <<'EOF' || fail "$2/summary.json differs"
import json, re, sys
timing = re.compile(r"(^|_)elapsed|seconds|_s$")
dropped = set()
def strip(v, path=""):
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            # spec_hash hashes spec.toml whole, whose comment names its source.
            if (path == "" and k in ("elapsed_s", "threads", "machine", "provenance", "spec_hash")) or timing.search(k):
                dropped.add(path + k)
                continue
            out[k] = strip(x, path + k + ".")
        return out
    if isinstance(v, list):
        return [strip(x, path) for x in v]
    return v
a, b = (strip(json.load(open(p))) for p in sys.argv[1:3])
if a != b:
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            print(f"summary.json key {k!r} differs")
    sys.exit(1)
print(f"  summary.json equal less {sorted(dropped)}")
EOF
}

say "building the release binary"
cargo build --release -q || fail "cargo build --release failed"
bin=$repo/target/release/overfit
command -v python3 >/dev/null || fail "python3 is needed to compare summary.json"

# The README's job script and merge line: the two ```sh blocks after "On a SLURM cluster".
readme_block() {
  awk -v want="$1" '/^On a SLURM cluster/ { on = 1 }
    on && /^```sh/ { n++; if (n == want) { p = 1; next } }
    p && /^```/ { exit }
    p' README.md
}
script=$(readme_block 1)
merge_line=$(readme_block 2)
if ! { grep -q '^#SBATCH --array=0-7$' <<<"$script" && grep -q -- '--shard slurm' <<<"$script" &&
  grep -q '^overfit run experiments/' <<<"$script" && grep -q '^overfit merge results/' <<<"$merge_line"; }; then
  fail "README.md: the SLURM example (two sh blocks after 'On a SLURM cluster', #SBATCH --array=0-7, --shard slurm, results/) is not where this test reads it"
fi
spec=$(sed -nE 's|^overfit run (experiments/[^ ]+).*|\1|p' <<<"$script")
echo "README's job script:"
while IFS= read -r line; do echo "  | $line"; done <<<"$script"
echo "  | $merge_line"

# The README's text for a small array: 0-3 instead of 0-7, --quick, absolute paths.
# $1: the directory standing for results/.
job_script() {
  sed -E -e 's|^#SBATCH --array=0-7$|#SBATCH --array=0-3|' -e 's|--shard slurm/8|--shard slurm/4|' \
    -e "s|^overfit run experiments/([^ ]+)|$bin run $repo/experiments/\\1 --quick|" \
    -e "s|results/|$1/|g" <<<"$script"
}
merge_cmd() {
  sed -E -e 's|\{0\.\.7\}|{0..3}|g' -e "s|^overfit |$bin |" -e "s|results/|$1/|g" <<<"$merge_line"
}
merged_dir=$(sed -nE 's|.*--out results/([^ ]+).*|\1|p' <<<"$merge_line")

say "single-process reference: overfit run $spec --quick"
"$bin" run "$repo/$spec" --quick --out "$work/single" >"$work/single.log" 2>&1 || fail "single-process run failed: $(tail -n 3 "$work/single.log")"

# --- 1. the README's array and merge --------------------------------------------
c1=$work/c1
mkdir -p "$c1"
job_script "$c1" >"$c1/job.sh"
say "1. sbatch --wait the README's array (0-3)"
jid=$(sbatch --wait --parsable -D "$c1" -o "$c1/slurm-%A_%a.out" "$c1/job.sh")
rc=$?
jid=${jid%%;*}
[ "$rc" = 0 ] || fail "sbatch --wait exited $rc (job ${jid:-?}); task logs: $(tail -n 2 "$c1"/slurm-*.out 2>/dev/null)"
expect_tasks "$jid" "0 1 2 3"
(cd "$c1" && bash -c "$(merge_cmd "$c1")") >"$c1/merge.log" 2>&1 || fail "the README's merge failed: $(tail -n 3 "$c1/merge.log")"
same_results "$work/single" "$c1/$merged_dir"
say "1. ok: 4 tasks COMPLETED 0:0; merge equals the single-process run"

# --- 2. a cancelled task, refused merges, the index resubmitted alone -------------
c2=$work/c2
mkdir -p "$c2"
job_script "$c2" | sed -E 's#--shard slurm( |/4 )#--shard slurm/4 #' >"$c2/job.sh"
job_script "$c2" | sed -E 's|--shard slurm/4 |--shard slurm |' >"$c2/job-bare.sh"
if ! grep -q -- '--shard slurm/4 ' "$c2/job.sh" || ! grep -q -- '--shard slurm ' "$c2/job-bare.sh"; then
  fail "could not write the --shard slurm/4 and --shard slurm variants of the job script"
fi
say "2. submit held, scancel task 2, release"
jid=$(sbatch --parsable --hold -D "$c2" -o "$c2/slurm-%A_%a.out" "$c2/job.sh")
jid=${jid%%;*}
scancel "${jid}_2" || fail "scancel ${jid}_2 failed"
scontrol release "$jid" || fail "scontrol release $jid failed"
wait_gone "$jid" 120
expect_tasks "$jid" "0 1 3"
echo "  job $jid: tasks $(tasks "$jid" | tr '\n' ',' | sed 's/,$//'); task 2 never ran"
[ ! -e "$c2/xg-2" ] || fail "the cancelled task wrote $c2/xg-2"
(cd "$c2" && bash -c "$(merge_cmd "$c2")") >"$c2/merge1.log" 2>&1
rc=$?
[ "$rc" = 2 ] || fail "merge with task 2 cancelled exited $rc, expected 2: $(tail -n 2 "$c2/merge1.log")"
grep -q "xg-2" "$c2/merge1.log" || fail "merge's refusal does not name xg-2: $(cat "$c2/merge1.log")"
"$bin" merge "$c2/xg-0" "$c2/xg-1" "$c2/xg-3" --out "$c2/partial" >"$c2/merge2.log" 2>&1
rc=$?
[ "$rc" = 2 ] || fail "merge of shards 0, 1, 3 exited $rc, expected 2"
grep -q "shard 2/4 is missing" "$c2/merge2.log" || fail "merge does not name shard 2/4: $(cat "$c2/merge2.log")"
[ ! -e "$c2/partial/metrics.csv" ] || fail "a refused merge wrote metrics.csv"
echo "  refused (exit 2): $(cat "$c2/merge1.log") | $(cat "$c2/merge2.log")"

say "2. resubmit --array=2 with a bare --shard slurm (must be refused)"
jid=$(sbatch --wait --parsable --array=2 -D "$c2" -o "$c2/bare-%A_%a.out" "$c2/job-bare.sh")
rc=$?
jid=${jid%%;*}
[ "$rc" = 2 ] || fail "a bare --shard slurm in a resubmitted --array=2 exited $rc, expected 2 (SLURM_ARRAY_TASK_COUNT is 1 there)"
grep -q "slurm/N" "$c2"/bare-"$jid"_2.out || fail "the refusal does not point to --shard slurm/N: $(cat "$c2"/bare-"$jid"_2.out)"
[ ! -e "$c2/xg-2" ] || fail "the refused task wrote $c2/xg-2"
echo "  refused: $(cat "$c2"/bare-"$jid"_2.out)"

say "2. resubmit --array=2 with --shard slurm/4"
jid=$(sbatch --wait --parsable --array=2 -D "$c2" -o "$c2/slurm-%A_%a.out" "$c2/job.sh")
rc=$?
jid=${jid%%;*}
[ "$rc" = 0 ] || fail "the resubmitted task 2 exited $rc: $(cat "$c2"/slurm-"$jid"_2.out)"
expect_tasks "$jid" "2"
(cd "$c2" && bash -c "$(merge_cmd "$c2")") >"$c2/merge3.log" 2>&1 || fail "merge after the resubmission failed: $(tail -n 3 "$c2/merge3.log")"
same_results "$work/single" "$c2/$merged_dir"
say "2. ok: cancel refused by merge, bare resubmission refused, slurm/4 resubmission merges to the same bytes"

# --- 3. a requeued CNN task resumes from its checkpoint ----------------------------
data=$(cd "$repo/.." && pwd)/shared/data/cifar10-4class
if [ ! -d "$data" ]; then
  echo "SKIPPED slurm requeue: $data not found (the 4-class CIFAR-10 subset)" | tee -a "${OVERFIT_SKIP_LOG:-/dev/null}"
else
  c3=$work/c3
  mkdir -p "$c3"
  cnn=experiments/cnn_label_noise_sweep.toml
  cat >"$c3/cnn.sh" <<EOF
#!/bin/bash
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --cpus-per-task=1
$bin run $repo/$cnn --quick --resume --threads 1 --data $data --out $c3/cnn
EOF
  say "3. CNN reference: overfit run $cnn --quick"
  "$bin" run "$repo/$cnn" --quick --threads 1 --data "$data" --out "$c3/single" >"$c3/single.log" 2>&1 ||
    fail "CNN single-process run failed: $(tail -n 3 "$c3/single.log")"
  resumed=0
  for attempt in 1 2 3; do
    rm -rf "$c3/cnn" "$c3"/cnn-*.out
    jid=$(sbatch --parsable -D "$c3" -o "$c3/cnn-%j.out" "$c3/cnn.sh")
    jid=${jid%%;*}
    # Requeue once some model has saved a mid-training state (and the job still runs).
    for _ in $(seq 1 600); do
      if [ -n "$(find "$c3/cnn/.units" -name '*.state.safetensors' 2>/dev/null)" ] &&
        [ "$(squeue -h -j "$jid" -o %T)" = RUNNING ]; then
        scontrol requeue "$jid" && break
      fi
      [ -z "$(squeue -h -j "$jid" -o %i 2>/dev/null)" ] && break
      sleep 0.05
    done
    # The requeued job is eligible again cred_expire + 1 s later (run.sh: 6 s).
    wait_gone "$jid" 300
    restarts=$(scontrol -o show job "$jid" | sed -nE 's/.* Restarts=([0-9]+) .*/\1/p')
    state=$(scontrol -o show job "$jid" | sed -nE 's/.* JobState=([^ ]+) .*/\1/p')
    [ "$state" = COMPLETED ] || fail "the requeued CNN job ended $state: $(tail -n 5 "$c3/cnn-$jid.out")"
    if [ "${restarts:-0}" -ge 1 ] && grep -q "resuming after epoch" "$c3/cnn-$jid.out"; then
      resumed=1
      break
    fi
    echo "  attempt $attempt: the requeue did not land mid-training (restarts ${restarts:-0}); again"
  done
  [ "$resumed" = 1 ] || fail "3 attempts: no requeue landed in the middle of a model's training"
  echo "  $(grep -m1 'CANCELLED' "$c3/cnn-$jid.out")"
  echo "  $(grep -m1 'resuming after epoch' "$c3/cnn-$jid.out")"
  same_results "$c3/single" "$c3/cnn"
  say "3. ok: requeued (Restarts=$restarts), resumed from a checkpoint, the same bytes as an uninterrupted run"
fi
say "all checks passed"
