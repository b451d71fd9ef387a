"""The TPU / multi-node launch scripts, run in DRY_RUN mode: they must parse, and print the gcloud (or env)
commands a user would run, with their arguments quoted for the remote shell."""

import os
import shlex
import subprocess
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "tpu_scripts"
ENV = dict(os.environ, DRY_RUN="1", TPU_NAME="rf-test", ZONE="us-east5-a", PROJECT="proj",
           ACCELERATOR_TYPE="v5p-64", REPO_URL="https://example.org/r.git", WEIGHTS_BUCKET="gs://rf-weights/ckpt")
SINGLE_HOST = dict(ENV, ACCELERATOR_TYPE="v5p-8")


def run(script, *args, env=ENV):
    return subprocess.run(["bash", str(SCRIPTS / script), *args], env=env, capture_output=True, text=True)


@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPTS.glob("*.sh")))
def test_scripts_parse(script):
    assert subprocess.run(["bash", "-n", str(SCRIPTS / script)]).returncode == 0


def test_create_and_delete_print_gcloud_commands():
    out = run("create.sh", env=dict(ENV, SPOT="1")).stdout.splitlines()
    create = out[-1]
    assert create.startswith("gcloud compute tpus tpu-vm create rf-test --zone us-east5-a --accelerator-type v5p-64")
    assert "--spot" in create and "--project proj" in create
    assert "tpu-vm delete rf-test" in run("delete.sh").stdout


def test_create_provisions_a_data_disk_on_a_single_host_slice():
    out = [shlex.split(line) for line in run("create.sh", env=SINGLE_HOST).stdout.splitlines()]
    assert out[0] == ("gcloud compute disks create rf-test-weights --zone us-east5-a --size 400GB --type pd-balanced "
                      "--project proj").split()
    assert out[1][:5] == ["gcloud", "compute", "tpus", "tpu-vm", "create"] and "v5p-8" in out[1]
    disk = out[1][out[1].index("--data-disk") + 1]
    assert disk == "source=projects/proj/zones/us-east5-a/disks/rf-test-weights,mode=read-write"
    v6e = run("create.sh", env=dict(SINGLE_HOST, ACCELERATOR_TYPE="v6e-8", DATA_DISK_SIZE_GB="300")).stdout
    assert "--size 300GB --type hyperdisk-balanced" in v6e


def test_multi_host_slices_read_weights_from_a_bucket_mount():
    out = run("create.sh").stdout.splitlines()
    assert shlex.split(out[0]) == ["gcloud", "storage", "buckets", "describe", "gs://rf-weights", "--format=value(name)"]
    assert "--data-disk" not in out[1] and "disks create" not in "\n".join(out)
    missing = run("create.sh", env={k: v for k, v in ENV.items() if k != "WEIGHTS_BUCKET"})
    assert missing.returncode != 0 and "WEIGHTS_BUCKET" in missing.stderr
    # A disk attaches read-write to one VM only: refused for a multi-host slice, with the reason.
    refused = run("create.sh", env=dict(ENV, WEIGHTS_STORAGE="disk"))
    assert refused.returncode == 2 and "8 hosts" in refused.stderr and "WEIGHTS_STORAGE=bucket" in refused.stderr


def test_stage_weights_copies_to_the_disk_or_checks_the_bucket_mount():
    disk = run("stage_weights.sh", "gs://b/Meta-Llama-3.1-8B-Instruct", env=SINGLE_HOST)
    remote = shlex.split(disk.stdout.splitlines()[0])
    assert "gcloud storage cp -r gs://b/Meta-Llama-3.1-8B-Instruct /mnt/disks/weights/" in remote[remote.index("--command") + 1]
    assert disk.stdout.strip().endswith("model.path=/mnt/disks/weights/Meta-Llama-3.1-8B-Instruct")
    bucket = run("stage_weights.sh", "gs://rf-weights/ckpt/Meta-Llama-3.1-70B-Instruct/")
    remote = shlex.split(bucket.stdout.splitlines()[0])
    assert remote[remote.index("--command") + 1] == "ls /mnt/disks/weights/Meta-Llama-3.1-70B-Instruct/config.json"
    assert "cp -r" not in bucket.stdout
    assert bucket.stdout.strip().endswith("model.path=/mnt/disks/weights/Meta-Llama-3.1-70B-Instruct")
    outside = run("stage_weights.sh", "gs://elsewhere/Model")
    assert outside.returncode == 2 and "not under WEIGHTS_BUCKET" in outside.stderr


def test_run_launches_the_same_command_on_every_worker_as_one_jax_job():
    result = run("run.sh", "train", "--config", "configs/train/x.yaml", "--set", "model.path=/mnt/w/My Model")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "--worker=all" in out and "REFUSEU_DISTRIBUTED=1" in out
    # the path with a space survives two shells: printf %q quoting, then the remote shell
    assert r"model.path=/mnt/w/My\\\ Model" in out
    assert "refuseu-train.log" in out


def test_setup_installs_the_tpu_backend_and_needs_a_repo_url():
    out = run("setup.sh").stdout
    assert "make install" in out and "jax[tpu]==0.10.2" in out and "gcsfs==2026.8.2" in out
    # multi-host: the bucket mounted read-only through Cloud Storage FUSE; single host: the disk formatted once
    assert "gcsfuse -o ro --implicit-dirs --only-dir ckpt rf-weights /mnt/disks/weights" in out
    disk = run("setup.sh", env=SINGLE_HOST).stdout
    assert "google-persistent-disk-1" in disk and "mkfs.ext4" in disk and "gcsfuse" not in disk
    missing = run("setup.sh", env={k: v for k, v in ENV.items() if k != "REPO_URL"})
    assert missing.returncode != 0 and "REPO_URL" in missing.stderr


def test_missing_settings_are_named():
    env = {k: v for k, v in ENV.items() if k != "TPU_NAME"}
    result = run("create.sh", env=env)
    assert result.returncode != 0 and "TPU_NAME" in result.stderr


def test_gpu_multinode_sets_the_jax_distributed_variables():
    env = dict(os.environ, DRY_RUN="1", NODE_RANK="1", NUM_NODES="4", COORDINATOR="node0:12355")
    out = subprocess.run(["bash", str(SCRIPTS / "gpu_multinode.sh"), "train", "--config", "c.yaml"], env=env,
                         capture_output=True, text=True).stdout
    assert "JAX_COORDINATOR_ADDRESS=node0:12355 JAX_NUM_PROCESSES=4 JAX_PROCESS_ID=1" in out
    assert out.strip().endswith(".venv/bin/refuseu train --config c.yaml")
