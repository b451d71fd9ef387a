"""Shared fixtures: the real SmolLM2-135M prepared once per session (in a temporary cache), and its reference
model as transformers' own GGUF loader builds it."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def smollm2_cache():
    """The session's private REFUSEU_CACHE (set in tests/conftest.py)."""
    from pathlib import Path

    return Path(os.environ["REFUSEU_CACHE"])


@pytest.fixture(scope="session")
def smollm2_dir(smollm2_cache):
    from refuseu_jax.checkpoints.registry import prepare_model

    return prepare_model("smollm2-135m")


@pytest.fixture(scope="session")
def smollm2_gguf():
    from refuseu_jax.checkpoints.registry import MODELS

    return MODELS["smollm2-135m"].gguf_path()


@pytest.fixture(scope="session")
def smollm2_reference(smollm2_gguf):
    """transformers' LlamaForCausalLM loaded straight from the GGUF (its own dequantisation and un-permutation)."""
    import functools

    import gguf
    import torch
    from transformers import AutoModelForCausalLM

    # transformers rebuilds the same name table once per module (~400 times, a third of its load time here);
    # memoising that pure constructor changes nothing but the time.
    original = gguf.get_tensor_name_map
    gguf.get_tensor_name_map = functools.lru_cache(maxsize=None)(original)
    try:
        return AutoModelForCausalLM.from_pretrained(str(smollm2_gguf.parent), gguf_file=smollm2_gguf.name,
                                                    dtype=torch.float32).eval()
    finally:
        gguf.get_tensor_name_map = original
