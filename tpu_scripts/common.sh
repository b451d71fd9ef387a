#!/usr/bin/env bash
# Shared settings for the TPU scripts. Every value can be set in the environment or in tpu_scripts/env.sh
# (not committed; copy env.example.sh). DRY_RUN=1 prints each remote command instead of running it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ -f "$here/env.sh" ] && . "$here/env.sh"

: "${TPU_NAME:?set TPU_NAME (e.g. refuseu-v5p-64)}"
: "${ZONE:?set ZONE (e.g. us-east5-a)}"
PROJECT="${PROJECT:-$(gcloud config get-value project 2>/dev/null || true)}"
ACCELERATOR_TYPE="${ACCELERATOR_TYPE:-v5p-64}"
RUNTIME_VERSION="${RUNTIME_VERSION:-v2-alpha-tpuv5}"
REPO_URL="${REPO_URL:-}"                 # git URL of this repository, cloned on every worker
REPO_REF="${REPO_REF:-main}"
REMOTE_DIR="${REMOTE_DIR:-refuseu-jax}"  # checkout location in each worker's home directory
WEIGHTS_DIR="${WEIGHTS_DIR:-/mnt/disks/weights}"  # where checkpoints are staged on every worker
JAX_TPU_VERSION="${JAX_TPU_VERSION:-0.10.2}"
GCSFS_VERSION="${GCSFS_VERSION:-2026.8.2}"  # gs:// run directories (refuseu_jax/storage.py)

# Hosts (TPU VMs) in a slice: v4/v5p types count TensorCores (2 per chip), v5e/v6e count chips; 4 chips per
# host, except single-host v5e/v6e slices of up to 8 chips.
slice_hosts() {
  local kind="${1%-*}" n="${1##*-}" chips
  case "$kind" in
    v4|v5p) chips=$((n / 2)) ;;
    *) chips=$n; [ "$chips" -le 8 ] && { echo 1; return; } ;;
  esac
  echo $(((chips + 3) / 4))
}

# Where the weights live on the workers (what stage_weights.sh fills and model.path points into):
#   disk    a persistent disk created by create.sh and attached read-write: single-host slices only (a disk
#           attaches read-write to one VM at a time)
#   bucket  WEIGHTS_BUCKET (gs://bucket[/prefix]) mounted read-only with Cloud Storage FUSE on every worker
#           (setup.sh): multi-host slices, where every worker must read the same files
if [ -z "${WEIGHTS_STORAGE:-}" ]; then
  if [ "$(slice_hosts "$ACCELERATOR_TYPE")" -eq 1 ]; then WEIGHTS_STORAGE=disk; else WEIGHTS_STORAGE=bucket; fi
fi
DATA_DISK="${DATA_DISK:-$TPU_NAME-weights}"
DATA_DISK_SIZE_GB="${DATA_DISK_SIZE_GB:-400}"  # Llama-3.1-70B in bf16 is 141 GB; float32 exports double it
case "$ACCELERATOR_TYPE" in v6e-*) DEFAULT_DISK_TYPE=hyperdisk-balanced ;; *) DEFAULT_DISK_TYPE=pd-balanced ;; esac
DATA_DISK_TYPE="${DATA_DISK_TYPE:-$DEFAULT_DISK_TYPE}"
case "$WEIGHTS_STORAGE" in
  disk)
    if [ "$(slice_hosts "$ACCELERATOR_TYPE")" -gt 1 ]; then
      echo "WEIGHTS_STORAGE=disk: $ACCELERATOR_TYPE has $(slice_hosts "$ACCELERATOR_TYPE") hosts and a disk attaches read-write to one; use WEIGHTS_STORAGE=bucket with WEIGHTS_BUCKET=gs://..." >&2
      exit 2
    fi ;;
  bucket) : ;;
  *) echo "WEIGHTS_STORAGE=$WEIGHTS_STORAGE: expected disk or bucket" >&2; exit 2 ;;
esac

# Run a command on every worker of the slice (or print it with DRY_RUN=1).
on_all_workers() {
  local cmd="$1"
  local args=(compute tpus tpu-vm ssh "$TPU_NAME" --zone "$ZONE" --worker=all --command "$cmd")
  [ -n "$PROJECT" ] && args+=(--project "$PROJECT")
  if [ "${DRY_RUN:-0}" = "1" ]; then
    printf 'gcloud'; printf ' %q' "${args[@]}"; printf '\n'
  else
    gcloud "${args[@]}"
  fi
}

# Run a gcloud command locally (or print it with DRY_RUN=1).
run_gcloud() {
  if [ "${DRY_RUN:-0}" = "1" ]; then
    printf 'gcloud'; printf ' %q' "$@"; printf '\n'
  else
    gcloud "$@"
  fi
}

# Quote a list of arguments for the remote shell.
quote_args() {
  local out=""
  for a in "$@"; do out+=" $(printf '%q' "$a")"; done
  printf '%s' "$out"
}
