"""Two CPU processes as one JAX job: sharded load across hosts, and an export that gathers across them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from tests.refuseu_jax.hf_tiny import tiny_hf_llama

WORKER = Path(__file__).with_name("multihost_worker.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_load_forward_and_export(tmp_path):
    import torch

    model = tiny_hf_llama()
    src, out = tmp_path / "src", tmp_path / "out"
    model.save_pretrained(src)
    port = _free_port()
    root = Path(__file__).resolve().parents[3]
    procs = []
    for rank in range(2):
        env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=4",
                   JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{port}", JAX_NUM_PROCESSES="2", JAX_PROCESS_ID=str(rank),
                   PYTHONPATH=str(root))
        procs.append(subprocess.Popen([sys.executable, str(WORKER), str(src), str(out)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    logs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n".join(logs)[-4000:]

    original, exported = load_file(src / "model.safetensors"), load_file(out / "model.safetensors")
    assert exported.keys() == original.keys()
    assert all(exported[k].tobytes() == v.tobytes() for k, v in original.items())
    ids = np.arange(4 * 8).reshape(4, 8) % 128
    with torch.no_grad():
        want = model(torch.tensor(ids)).logits.numpy()
    for rank in range(2):
        np.testing.assert_allclose(np.load(f"{out}.logits{rank}.npy"), want, atol=1e-4, rtol=0)
