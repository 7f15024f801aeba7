#!/usr/bin/env bash
# seamscan as a Slurm job array: one array task per shard, all writing part files into the
# same dataset directory (part names carry each run's id, so shards never collide).
#
#   seamscan plan /evidence -o manifest.parquet --shards 4
#   sbatch --array=0-3 pipelines/slurm-array.sh manifest.parquet /data/seamscan [scan flags...]
#
# The array size must equal the plan's shard count (seamscan checks it). Set SEAMSCAN to the
# binary's path if it is not on PATH. Exit code 1 marks a task whose shard had inputs that
# could not be analysed (see the videos table); 2 and 3 are configuration and output errors.
#SBATCH --job-name=seamscan
#SBATCH --array=0-3
#SBATCH --cpus-per-task=2
#SBATCH --output=seamscan-%A_%a.log
set -euo pipefail
manifest="${1:?usage: slurm-array.sh MANIFEST.parquet OUT [scan flags...]}"
out="${2:?usage: slurm-array.sh MANIFEST.parquet OUT [scan flags...]}"
shift 2
exec "${SEAMSCAN:-seamscan}" scan --manifest "$manifest" \
  --shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}" \
  -o "$out" --jobs "${SLURM_CPUS_PER_TASK:-0}" --no-progress --log-format json "$@"
