#!/usr/bin/env bash
# Delete the TPU slice (copy checkpoints and exports to Cloud Storage first).
. "$(dirname "$0")/common.sh"
args=(compute tpus tpu-vm delete "$TPU_NAME" --zone "$ZONE" --quiet)
[ -n "$PROJECT" ] && args+=(--project "$PROJECT")
run_gcloud "${args[@]}"
