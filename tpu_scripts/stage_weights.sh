#!/usr/bin/env bash
# Copy a Hugging Face checkpoint directory from Cloud Storage to local disk on every worker.
# Usage: stage_weights.sh gs://bucket/Meta-Llama-3.1-70B-Instruct [name]
# Each worker loads only the slices its devices own (see refuseu_jax/checkpoints/hf.py), but reads them from a
# complete local copy; for 70B give the workers a data disk of >= 200 GB mounted at WEIGHTS_DIR.
. "$(dirname "$0")/common.sh"
src="${1:?usage: stage_weights.sh gs://bucket/checkpoint-dir [name]}"
name="${2:-$(basename "$src")}"
on_all_workers "mkdir -p $WEIGHTS_DIR && gcloud storage cp -r $(printf '%q' "$src") $WEIGHTS_DIR/ && ls $WEIGHTS_DIR/$name"
