# Copy to tpu_scripts/env.sh and edit. env.sh is ignored by git.
TPU_NAME=refuseu-v5p-128
ZONE=us-east5-a
PROJECT=my-gcp-project
ACCELERATOR_TYPE=v5p-128         # the 70B configs' slice (configs/train/llama-3.1-70b.yaml); 8B: v5p-32
RUNTIME_VERSION=v2-alpha-tpuv5
REPO_URL=https://example.org/your-fork/refuseu-jax.git
REPO_REF=main
WEIGHTS_DIR=/mnt/disks/weights
# Multi-host slices read the weights from a bucket mounted on every worker (single-host ones get a data disk:
# WEIGHTS_STORAGE=disk, DATA_DISK_SIZE_GB); the run directory goes in a bucket too (--set run_dir=gs://...).
WEIGHTS_BUCKET=gs://my-bucket/checkpoints
