#!/usr/bin/env bash
# A one-node Slurm cluster on loopback for the tests (Debian slurm-wlm + munge, no systemd).
#   cluster.sh start DIR   writes DIR/slurm.conf, starts munged (if not running), slurmctld
#                          and slurmd, and waits until the node is idle
#   cluster.sh stop DIR    stops the daemons it started (by their pid files)
# Use SLURM_CONF=DIR/slurm.conf for sbatch, squeue and sinfo.
set -euo pipefail
cmd="${1:?start|stop}"
dir="$(mkdir -p "${2:?DIR}" && cd "$2" && pwd)"
export SLURM_CONF="$dir/slurm.conf"

case "$cmd" in
start)
  for b in slurmctld slurmd sbatch sinfo munged; do
    command -v "$b" >/dev/null || [ -x "/usr/sbin/$b" ] || { echo "cluster.sh: $b missing (apt-get install slurm-wlm munge)" >&2; exit 2; }
  done
  mkdir -p "$dir/state" "$dir/spool"
  cat > "$SLURM_CONF" <<CONF
ClusterName=seamscan-test
SlurmctldHost=localhost
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
MailProg=/bin/true
NodeName=localhost CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  if ! munge -n </dev/null >/dev/null 2>&1; then
    mkdir -p /run/munge && chown munge:munge /run/munge
    runuser -u munge -- /usr/sbin/munged
    touch "$dir/started-munged"
    for _ in $(seq 50); do munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  slurmctld
  slurmd -N localhost
  for _ in $(seq 150); do
    state=$(sinfo -h -N -o %T 2>/dev/null | head -n1 || true)
    [ "$state" = "idle" ] && exit 0
    sleep 0.2
  done
  echo "cluster.sh: node not idle after 30 s (state: ${state:-none}); logs in $dir" >&2
  exit 1
  ;;
stop)
  for p in slurmd slurmctld; do
    [ -f "$dir/$p.pid" ] && kill "$(cat "$dir/$p.pid")" 2>/dev/null || true
  done
  if [ -f "$dir/started-munged" ] && [ -f /run/munge/munged.pid ]; then
    kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
  fi
  ;;
*) echo "usage: cluster.sh start|stop DIR" >&2; exit 2 ;;
esac
