#!/usr/bin/env bash
# Run one `refuseu` command on every worker as one multi-host JAX job (REFUSEU_DISTRIBUTED=1 makes each process
# call jax.distributed.initialize(), which finds its peers on a TPU slice by itself).
# Usage: run.sh train --config configs/train/llama-3.1-70b.yaml --set model.path=/mnt/disks/weights/...
# The job runs under nohup; its log is ~/refuseu-<command>.log on each worker (tail it with logs.sh).
. "$(dirname "$0")/common.sh"
[ $# -ge 1 ] || { echo "usage: run.sh <refuseu command> [args...]" >&2; exit 2; }
sub="$1"
args="$(quote_args "$@")"
on_all_workers "cd $REMOTE_DIR && REFUSEU_DISTRIBUTED=1 nohup .venv/bin/refuseu$args > ~/refuseu-$sub.log 2>&1 &"
