#!/usr/bin/env bash
# The figures the README records for a lent GPU, in one command (about 6 minutes on an H100 80GB):
#   bash bench/gpu_session.sh OUT_DIR
# Llama-3.2-1B and -3B shapes, random bf16 weights, 8 pairs x 2 x 1024 tokens per DPO step: the step with cuDNN
# attention (checked against the dense one first) with and without remat, the dense attention for comparison;
# greedy sampling with the default (per-layer) decode after each step, and the scanned decode for comparison.
# One JSON and one log per run in OUT_DIR; exits 1 if any run failed.
# What fits in 80 GB (H100, 2026-11-26): without remat neither the dense-attention 1B step (117 GiB) nor the 3B
# step (134 GiB with 8 pairs, 79 GiB with 4) does; hence remat for those.
set -uo pipefail
out=${1:?usage: bench/gpu_session.sh OUT_DIR}
mkdir -p "$out"
cd "$(dirname "$0")/.."
export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$PWD" PYTHONUNBUFFERED=1
python=${PYTHON:-python3}
status=0

run() {
  local name=$1
  shift
  echo "== $name: bench/accelerator.py $*"
  "$python" bench/accelerator.py "$@" --json "$out/$name.json" 2>&1 | tee "$out/$name.log" || status=1
}

run 1b-cudnn --preset llama-3.2-1b
run 1b-cudnn-remat --preset llama-3.2-1b --remat
run 1b-dense-remat --preset llama-3.2-1b --remat --attention dense
run 3b-cudnn-remat --preset llama-3.2-3b --remat
run 1b-sample-scan --preset llama-3.2-1b --no-train --decode scan
run 3b-sample-scan --preset llama-3.2-3b --no-train --decode scan
exit $status
