#!/usr/bin/env bash
# Stop a running refuseu job on every worker (the last orbax checkpoint stays; run.sh resumes from it).
. "$(dirname "$0")/common.sh"
on_all_workers "pkill -INT -f '.venv/bin/refuseu' || true"
