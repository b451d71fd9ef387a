#!/usr/bin/env bash
# Install RefusEU-JAX on every worker: clone (or update) the repository, make the venv, add JAX's TPU backend.
. "$(dirname "$0")/common.sh"
: "${REPO_URL:?set REPO_URL to the git URL of this repository}"
remote="set -euo pipefail
if [ -d $REMOTE_DIR/.git ]; then git -C $REMOTE_DIR fetch -q origin && git -C $REMOTE_DIR checkout -q $REPO_REF && git -C $REMOTE_DIR pull -q --ff-only || true
else git clone -q --branch $REPO_REF $REPO_URL $REMOTE_DIR; fi
cd $REMOTE_DIR && make install
.venv/bin/pip install -q 'jax[tpu]==$JAX_TPU_VERSION'
.venv/bin/python -c 'import jax; print(jax.process_index(), jax.device_count(), jax.devices()[0].device_kind)'"
on_all_workers "$remote"
