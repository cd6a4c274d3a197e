#!/usr/bin/env bash
# The cluster path on a real scheduler: bring up a throwaway one-node SLURM
# (munged, slurmctld, slurmd, all from a temporary directory), run
# tests/slurm/test.sh against it, and stop every daemon it started, by PID,
# however it ends. Installs slurm-wlm and munge with apt when missing.
# Prints `SKIPPED slurm: <reason>` and exits 0 when no scheduler can come up
# here (not root, apt fails, a daemon does not start in time); exits 1 when
# the scheduler came up and a check failed.
# Usage: bash tests/slurm/run.sh   (as root; OVERFIT_SLURM_KEEP=1 keeps the temp dir)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
repo=$(pwd)
t0=$(date +%s)
since() { echo "$(($(date +%s) - t0)) s"; }
skipped=0
skip() {
  echo "SKIPPED slurm: $*" | tee -a "${OVERFIT_SKIP_LOG:-/dev/null}"
  skipped=1
  exit 0
}

[ "$(id -u)" = 0 ] || skip "needs root (slurmd runs as root; packages may need installing)"
command -v python3 >/dev/null 2>&1 || skip "python3 not found (the test compares summary.json with it)"

# --- the cluster's files --------------------------------------------------------
tmp=$(mktemp -d /tmp/overfit-slurm.XXXXXX) || skip "mktemp failed"
# munged wants every directory above its socket searchable by all.
chmod 755 "$tmp"
mkdir -p "$tmp"/{munge,run,state,spool,log,work}
chmod 700 "$tmp/munge"
pids=()
names=()

test_pid=""
stop_all() {
  local rc=$?
  if [ -n "$test_pid" ] && kill -0 "$test_pid" 2>/dev/null; then
    kill -TERM -- "-$test_pid" 2>/dev/null || kill -TERM "$test_pid" 2>/dev/null
    wait "$test_pid" 2>/dev/null
  fi
  # Jobs first (their slurmstepd outlive slurmd), then the daemons, newest first.
  if [ -n "${SLURM_CONF:-}" ] && [ "${#pids[@]}" -ge 3 ]; then
    local jobs
    mapfile -t jobs < <(timeout 10 squeue -h -o %A 2>/dev/null)
    [ "${#jobs[@]}" -gt 0 ] && timeout 10 scancel "${jobs[@]}" 2>/dev/null
    for _ in $(seq 1 20); do
      [ -z "$(timeout 5 squeue -h -o %A 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  for ((k = ${#pids[@]} - 1; k >= 0; k--)); do
    kill -TERM "${pids[k]}" 2>/dev/null
  done
  for ((k = ${#pids[@]} - 1; k >= 0; k--)); do
    for _ in $(seq 1 50); do
      kill -0 "${pids[k]}" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "${pids[k]}" 2>/dev/null; then
      echo "slurm: ${names[k]} (pid ${pids[k]}) ignored SIGTERM; killing it"
      kill -KILL "${pids[k]}" 2>/dev/null
    fi
    wait "${pids[k]}" 2>/dev/null
  done
  if [ "$rc" != 0 ] || [ "$skipped" = 1 ]; then
    for f in "$tmp"/log/*; do
      [ -f "$f" ] && echo "--- last lines of $f" && tail -n 15 "$f"
    done
  fi
  if [ "${OVERFIT_SLURM_KEEP:-0}" = 1 ]; then
    echo "slurm: kept $tmp"
  else
    rm -rf "$tmp"
  fi
  echo "slurm: stopped ${#pids[@]} daemons; total $(since)"
  exit "$rc"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# --- packages -----------------------------------------------------------------
need_install=0
for cmd in munged slurmctld slurmd sbatch sinfo squeue scontrol scancel; do
  command -v "$cmd" >/dev/null 2>&1 || need_install=1
done
if [ "$need_install" = 1 ]; then
  command -v apt-get >/dev/null 2>&1 || skip "slurm-wlm/munge missing and no apt-get"
  echo "slurm: installing slurm-wlm and munge"
  # Keep the packages' init scripts from starting system daemons.
  policy_added=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy_added=1
  fi
  apt_ok=0
  if timeout 300 apt-get update -qq >"$tmp/log/apt.log" 2>&1 &&
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends \
      slurm-wlm munge >>"$tmp/log/apt.log" 2>&1; then
    apt_ok=1
  fi
  [ "$policy_added" = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ "$apt_ok" = 1 ] || skip "apt-get install slurm-wlm munge failed ($(tail -n 1 "$tmp/log/apt.log"))"
  echo "slurm: installed ($(since))"
fi

start() { # NAME LOG COMMAND...: start a daemon in the foreground mode, in the background
  local name=$1 log=$2
  shift 2
  "$@" >"$log" 2>&1 &
  pids+=($!)
  names+=("$name")
}
alive() { # NAME: skip unless the daemon started under NAME still runs
  local k
  for k in "${!names[@]}"; do
    if [ "${names[k]}" = "$1" ] && ! kill -0 "${pids[k]}" 2>/dev/null; then
      skip "$1 exited at start: $(tail -n 3 "$tmp/log/$1.log" | tr '\n' ' ')"
    fi
  done
}
free_port() { # a TCP port nobody listens on, from 20000-29999
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 10000))
    (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || {
      echo "$p"
      return
    }
  done
  echo 26817
}

host=$(hostname -s)
ctld_port=$(free_port)
slurmd_port=$(free_port)
[ "$slurmd_port" = "$ctld_port" ] && slurmd_port=$((ctld_port + 1))

# munge: a private key and socket, so a system munged (if any) is untouched.
head -c 1024 /dev/urandom >"$tmp/munge/munge.key" && chmod 400 "$tmp/munge/munge.key"
start munged "$tmp/log/munged.log" munged --foreground \
  --key-file="$tmp/munge/munge.key" --socket="$tmp/run/munge.sock" \
  --pid-file="$tmp/run/munged.pid" --seed-file="$tmp/munge/munged.seed"
for _ in $(seq 1 50); do
  [ -S "$tmp/run/munge.sock" ] && break
  sleep 0.2
done
alive munged
[ -S "$tmp/run/munge.sock" ] || skip "munged did not create its socket in 10 s"

export SLURM_CONF=$tmp/slurm.conf
cat >"$SLURM_CONF" <<EOF
# A throwaway one-node cluster for tests/slurm (this host is controller and compute node).
ClusterName=overfit-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# cred_expire: a requeued job may start again cred_expire + 1 s later (default 120 s).
AuthInfo=socket=$tmp/run/munge.sock,cred_expire=5
CredType=cred/munge
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/run/slurmctld.pid
SlurmdPidFile=$tmp/run/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# Start the next array task about 1 s after one ends, not 3 s (the default).
SchedulerParameters=batch_sched_delay=0,sched_interval=2
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2
MinJobAge=3600
KillWait=5
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 RealMemory=1024 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF

start slurmctld "$tmp/log/slurmctld.log" slurmctld -D -c -f "$SLURM_CONF"
sleep 1
alive slurmctld
start slurmd "$tmp/log/slurmd.log" slurmd -D -f "$SLURM_CONF" -N "$host"

# Bounded wait until the node is idle.
state=""
for _ in $(seq 1 120); do
  alive slurmctld
  alive slurmd
  state=$(sinfo -h -N -n "$host" -o %t 2>/dev/null)
  [ "$state" = idle ] && break
  sleep 0.5
done
[ "$state" = idle ] || skip "node $host not idle within 60 s (sinfo says '${state:-nothing}')"
echo "slurm: cluster up, node $host idle, ports $ctld_port/$slurmd_port ($(since))"

# In its own process group, so that a signal here can stop it and its children.
setsid bash "$repo/tests/slurm/test.sh" "$tmp/work" &
test_pid=$!
wait "$test_pid"
