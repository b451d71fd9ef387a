#!/usr/bin/env bash
# Show the last lines of a job's log on worker 0 (WORKER=all for every worker). Usage: logs.sh train [lines]
. "$(dirname "$0")/common.sh"
sub="${1:-train}"; lines="${2:-40}"
args=(compute tpus tpu-vm ssh "$TPU_NAME" --zone "$ZONE" --worker="${WORKER:-0}" --command "tail -n $lines ~/refuseu-$sub.log")
[ -n "$PROJECT" ] && args+=(--project "$PROJECT")
run_gcloud "${args[@]}"
