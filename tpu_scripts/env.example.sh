# Copy to tpu_scripts/env.sh and edit. env.sh is ignored by git.
TPU_NAME=refuseu-v5p-64
ZONE=us-east5-a
PROJECT=my-gcp-project
ACCELERATOR_TYPE=v5p-64          # 8B: v5p-32 or v4-32 is enough; 70B: v5p-128 or larger
RUNTIME_VERSION=v2-alpha-tpuv5
REPO_URL=https://example.org/your-fork/refuseu-jax.git
REPO_REF=main
WEIGHTS_DIR=/mnt/disks/weights
