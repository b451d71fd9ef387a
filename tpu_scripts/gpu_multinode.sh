#!/usr/bin/env bash
# Multi-node GPU launcher: run the same `refuseu` command on every node, one process per node.
# Under SLURM (srun) the node rank and count come from SLURM_PROCID / SLURM_NTASKS and the coordinator is the
# first node of SLURM_JOB_NODELIST; elsewhere set NODE_RANK, NUM_NODES and COORDINATOR (host:port) yourself.
# Usage on each node: tpu_scripts/gpu_multinode.sh train --config configs/train/llama-3.1-8b.yaml
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: gpu_multinode.sh <refuseu command> [args...]" >&2; exit 2; }
port="${COORDINATOR_PORT:-12355}"
if [ -n "${SLURM_PROCID:-}" ]; then
  NODE_RANK="$SLURM_PROCID"; NUM_NODES="$SLURM_NTASKS"
  COORDINATOR="${COORDINATOR:-$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n1):$port}"
fi
: "${NODE_RANK:?set NODE_RANK}" "${NUM_NODES:?set NUM_NODES}" "${COORDINATOR:?set COORDINATOR=host:port}"
export JAX_COORDINATOR_ADDRESS="$COORDINATOR" JAX_NUM_PROCESSES="$NUM_NODES" JAX_PROCESS_ID="$NODE_RANK"
cd "$(dirname "$0")/.."
cmd=(.venv/bin/refuseu "$@")
if [ "${DRY_RUN:-0}" = "1" ]; then
  echo "JAX_COORDINATOR_ADDRESS=$JAX_COORDINATOR_ADDRESS JAX_NUM_PROCESSES=$JAX_NUM_PROCESSES JAX_PROCESS_ID=$JAX_PROCESS_ID ${cmd[*]}"
else
  exec "${cmd[@]}"
fi
