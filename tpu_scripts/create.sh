#!/usr/bin/env bash
# Create the TPU VM slice and the storage the staging step needs (see WEIGHTS_STORAGE in common.sh):
#   disk    creates DATA_DISK (DATA_DISK_SIZE_GB, DATA_DISK_TYPE) and attaches it read-write; setup.sh formats
#           and mounts it at WEIGHTS_DIR
#   bucket  checks that WEIGHTS_BUCKET exists; setup.sh mounts it read-only at WEIGHTS_DIR on every worker
# Run directories (checkpoints, metrics, reference log-probs) belong in a bucket on multi-host slices:
# --set run_dir=gs://BUCKET/runs/NAME. SPOT=1 asks for spot capacity (cheaper, can be preempted: relaunching
# run.sh resumes from the last checkpoint in the run directory).
. "$(dirname "$0")/common.sh"
args=(compute tpus tpu-vm create "$TPU_NAME" --zone "$ZONE" --accelerator-type "$ACCELERATOR_TYPE"
      --version "$RUNTIME_VERSION")
[ -n "$PROJECT" ] && args+=(--project "$PROJECT")
[ "${SPOT:-0}" = "1" ] && args+=(--spot)
if [ "$WEIGHTS_STORAGE" = disk ]; then
  disk=(compute disks create "$DATA_DISK" --zone "$ZONE" --size "${DATA_DISK_SIZE_GB}GB" --type "$DATA_DISK_TYPE")
  [ -n "$PROJECT" ] && disk+=(--project "$PROJECT")
  run_gcloud "${disk[@]}"
  args+=(--data-disk "source=projects/${PROJECT:?set PROJECT for the data disk}/zones/$ZONE/disks/$DATA_DISK,mode=read-write")
else
  : "${WEIGHTS_BUCKET:?set WEIGHTS_BUCKET=gs://bucket[/prefix] (multi-host slices read the weights from a bucket mount)}"
  run_gcloud storage buckets describe "gs://$(printf '%s' "${WEIGHTS_BUCKET#gs://}" | cut -d/ -f1)" --format="value(name)"
fi
run_gcloud "${args[@]}"
