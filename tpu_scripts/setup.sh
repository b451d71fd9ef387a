#!/usr/bin/env bash
# Install RefusEU-JAX on every worker: clone (or update) the repository, make the venv, add JAX's TPU backend
# and gcsfs (gs:// run directories), then mount the weights storage at WEIGHTS_DIR (see WEIGHTS_STORAGE in
# common.sh): the data disk (formatted on first use) or the bucket, read-only, through Cloud Storage FUSE.
. "$(dirname "$0")/common.sh"
: "${REPO_URL:?set REPO_URL to the git URL of this repository}"
if [ "$WEIGHTS_STORAGE" = disk ]; then
  mount_weights="dev=/dev/disk/by-id/google-persistent-disk-1
sudo blkid \$dev >/dev/null || sudo mkfs.ext4 -q -m 0 -E lazy_itable_init=0,lazy_journal_init=0,discard \$dev
sudo mkdir -p $WEIGHTS_DIR && (mountpoint -q $WEIGHTS_DIR || sudo mount -o discard,defaults \$dev $WEIGHTS_DIR)
sudo chown \$(id -u):\$(id -g) $WEIGHTS_DIR"
else
  : "${WEIGHTS_BUCKET:?set WEIGHTS_BUCKET=gs://bucket[/prefix]}"
  path="${WEIGHTS_BUCKET#gs://}"; bucket="${path%%/*}"; prefix=""; [ "$path" != "$bucket" ] && prefix="--only-dir ${path#*/}"
  mount_weights="command -v gcsfuse >/dev/null || { echo 'deb https://packages.cloud.google.com/apt gcsfuse-\$(lsb_release -cs) main' | sudo tee /etc/apt/sources.list.d/gcsfuse.list >/dev/null
  curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg | sudo tee /etc/apt/trusted.gpg.d/gcsfuse.asc >/dev/null
  sudo apt-get update -q && sudo apt-get install -y -q gcsfuse; }
sudo mkdir -p $WEIGHTS_DIR && sudo chown \$(id -u):\$(id -g) $WEIGHTS_DIR
mountpoint -q $WEIGHTS_DIR || gcsfuse -o ro --implicit-dirs $prefix $bucket $WEIGHTS_DIR"
fi
remote="set -euo pipefail
if [ -d $REMOTE_DIR/.git ]; then git -C $REMOTE_DIR fetch -q origin && git -C $REMOTE_DIR checkout -q $REPO_REF && git -C $REMOTE_DIR pull -q --ff-only || true
else git clone -q --branch $REPO_REF $REPO_URL $REMOTE_DIR; fi
cd $REMOTE_DIR && make install
.venv/bin/pip install -q 'jax[tpu]==$JAX_TPU_VERSION' 'gcsfs==$GCSFS_VERSION'
$mount_weights
.venv/bin/python -c 'import jax; print(jax.process_index(), jax.device_count(), jax.devices()[0].device_kind)'"
on_all_workers "$remote"
