#!/usr/bin/env bash
# Make a Hugging Face checkpoint directory from Cloud Storage readable on every worker under WEIGHTS_DIR.
# Usage: stage_weights.sh gs://bucket/Meta-Llama-3.1-70B-Instruct [name]
#   disk    (single host) copies it onto the data disk create.sh attached: WEIGHTS_DIR/name
#   bucket  (multi-host) nothing to copy: the checkpoint must lie under WEIGHTS_BUCKET, which setup.sh mounted
#           at WEIGHTS_DIR; this checks every worker sees it
# Each worker loads only the slices its devices own (see refuseu_jax/checkpoints/hf.py). Prints the model.path.
. "$(dirname "$0")/common.sh"
src="${1:?usage: stage_weights.sh gs://bucket/checkpoint-dir [name]}"
src="${src%/}"
if [ "$WEIGHTS_STORAGE" = disk ]; then
  name="${2:-$(basename "$src")}"
  on_all_workers "mkdir -p $WEIGHTS_DIR && gcloud storage cp -r $(printf '%q' "$src") $WEIGHTS_DIR/ && ls $WEIGHTS_DIR/$name/config.json"
  echo "model.path=$WEIGHTS_DIR/$name"
else
  : "${WEIGHTS_BUCKET:?set WEIGHTS_BUCKET=gs://bucket[/prefix]}"
  root="${WEIGHTS_BUCKET%/}"
  case "$src" in
    "$root"/*) rel="${src#"$root"/}" ;;
    *) echo "stage_weights.sh: $src is not under WEIGHTS_BUCKET=$root (the bucket mounted on the workers); copy it there first: gcloud storage cp -r $src $root/" >&2; exit 2 ;;
  esac
  on_all_workers "ls $WEIGHTS_DIR/$rel/config.json"
  echo "model.path=$WEIGHTS_DIR/$rel"
fi
