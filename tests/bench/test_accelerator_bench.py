"""bench/accelerator.py, the script a lent GPU/TPU session runs, end to end on the tiny preset (CPU)."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def accelerator(monkeypatch_module):
    monkeypatch_module.syspath_prepend(str(ROOT / "bench"))  # as when run as `python bench/accelerator.py`
    spec = importlib.util.spec_from_file_location("bench_accelerator", ROOT / "bench" / "accelerator.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reports_step_time_mfu_and_sampler_throughput(accelerator, tmp_path):
    out = tmp_path / "result.json"
    result = accelerator.main(["--preset", "tiny", "--pairs", "2", "--seq", "32", "--steps", "1", "--gen-batch", "3",
                               "--prompt-len", "8", "--new-tokens", "5", "--peak-n", "256", "--json", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    train, sample = result["train"], result["sample"]
    assert train["tokens"] == 2 * 2 * 32 and train["step_s"] > 0 and 0 < train["mfu_measured_peak"] < 1
    assert abs(train["loss"] - 0.6931) < 1e-3  # policy == reference at the first step
    assert sample["generated"] == 3 * 5 and sample["tokens_per_s"] > 0  # no EOS: every row runs to the end
    assert sample["per_layer_decode"] is False  # auto: the scanned decode off GPUs
    assert result["datasheet_bf16_peak"] is None  # a CPU has no datasheet entry
    assert result["attention"] == "dense" and "attention_check" not in result  # auto: dense off GPUs


def test_sampler_only_with_the_per_layer_decode(accelerator):
    result = accelerator.main(["--preset", "tiny", "--no-train", "--decode", "per-layer", "--gen-batch", "2",
                               "--prompt-len", "8", "--new-tokens", "4", "--peak-n", "256"])
    assert "train" not in result and result["sample"]["generated"] == 2 * 4 and result["sample"]["per_layer_decode"]


def test_fused_attention_check_passes_and_catches_a_wrong_kernel(accelerator, monkeypatch):
    """The check a GPU session relies on to trust the cuDNN kernel, run here on jax's XLA implementation of the
    same call; a kernel without the causal mask must fail it."""
    import jax

    from refuseu_jax.models.config import get_preset

    cfg = get_preset("tiny", dtype="bfloat16", param_dtype="bfloat16", attention="cudnn")
    check = accelerator.check_fused_attention(cfg, seq=48)
    assert check["ok"] and check["hidden_rel_error"] < 1e-2 and check["worst_grad_rel_error"] < 3e-2
    real = jax.nn.dot_product_attention
    monkeypatch.setattr(jax.nn, "dot_product_attention", lambda *a, **k: real(*a, **{**k, "is_causal": False}))
    broken = accelerator.check_fused_attention(cfg, seq=48)
    assert not broken["ok"] and broken["hidden_rel_error"] > 0.1


def test_model_flops_count_matches_the_parameter_count(accelerator):
    import common  # bench/common.py, importable once the accelerator fixture has put bench/ on the path

    from refuseu_jax.models.config import get_preset

    cfg = get_preset("llama-3.2-1b")
    # Every parameter but the norms and the (tied) input embedding is a matmul weight; the tied embedding is the
    # output projection, counted once.
    norms = cfg.num_layers * 2 * cfg.hidden_size + cfg.hidden_size
    assert common.matmul_params(cfg) == cfg.num_params() - norms
    # 8 N (policy 6 N, reference 2 N) plus causal attention, 8 L T d_attn for the same three passes.
    attention = 8 * cfg.num_layers * 1024 * cfg.num_heads * cfg.head_dim
    assert common.train_flops_per_token(cfg, 1024) == 8 * common.matmul_params(cfg) + attention
    assert accelerator.datasheet_peak("NVIDIA H100 80GB HBM3") == 989.4e12
