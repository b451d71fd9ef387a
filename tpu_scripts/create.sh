#!/usr/bin/env bash
# Create the TPU VM slice. SPOT=1 asks for spot capacity (cheaper, can be preempted: training resumes from the
# last orbax checkpoint when relaunched).
. "$(dirname "$0")/common.sh"
args=(compute tpus tpu-vm create "$TPU_NAME" --zone "$ZONE" --accelerator-type "$ACCELERATOR_TYPE"
      --version "$RUNTIME_VERSION")
[ -n "$PROJECT" ] && args+=(--project "$PROJECT")
[ "${SPOT:-0}" = "1" ] && args+=(--spot)
run_gcloud "${args[@]}"
