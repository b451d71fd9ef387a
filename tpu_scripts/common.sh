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
