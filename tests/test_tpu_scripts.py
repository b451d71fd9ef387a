"""The TPU / multi-node launch scripts, run in DRY_RUN mode: they must parse, and print the gcloud (or env)
commands a user would run, with their arguments quoted for the remote shell."""

import os
import subprocess
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "tpu_scripts"
ENV = dict(os.environ, DRY_RUN="1", TPU_NAME="rf-test", ZONE="us-east5-a", PROJECT="proj",
           ACCELERATOR_TYPE="v5p-64", REPO_URL="https://example.org/r.git")


def run(script, *args, env=ENV):
    return subprocess.run(["bash", str(SCRIPTS / script), *args], env=env, capture_output=True, text=True)


@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPTS.glob("*.sh")))
def test_scripts_parse(script):
    assert subprocess.run(["bash", "-n", str(SCRIPTS / script)]).returncode == 0


def test_create_and_delete_print_gcloud_commands():
    out = run("create.sh", env=dict(ENV, SPOT="1")).stdout
    assert out.startswith("gcloud compute tpus tpu-vm create rf-test --zone us-east5-a --accelerator-type v5p-64")
    assert "--spot" in out and "--project proj" in out
    assert "tpu-vm delete rf-test" in run("delete.sh").stdout


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
    assert "make install" in out and "jax[tpu]==0.10.2" in out
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
