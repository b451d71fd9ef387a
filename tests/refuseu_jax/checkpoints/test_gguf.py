"""The embedded SmolLM2-135M: GGUF -> HF conversion checked against transformers' own GGUF loading, the cached
registry, and bad GGUF input."""

from __future__ import annotations


import jax.numpy as jnp
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from safetensors.numpy import load_file

from refuseu_jax import from_pretrained
from refuseu_jax.checkpoints import gguf as gguf_mod
from refuseu_jax.checkpoints import registry
from refuseu_jax.cli import main
from tests.refuseu_jax.hf_tiny import float64_reference
from tests.refuseu_jax.precision import model_bound

PROMPTS = [
    [{"role": "user", "content": "What is the capital of France? Answer in one word."}],
    [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Name three primary colours."}],
]


def chat_rows(model_dir, prompts):
    """Chat prompts with the model's template, left padded, as numpy ids and mask."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    rows = [tok.apply_chat_template(p, add_generation_prompt=True, tokenize=False) for p in prompts]
    rows = [tok.encode(r, add_special_tokens=False) for r in rows]
    width = max(map(len, rows))
    ids = np.full((len(rows), width), tok.pad_token_id)
    mask = np.zeros((len(rows), width), dtype=bool)
    for i, row in enumerate(rows):
        ids[i, width - len(row):] = row
        mask[i, width - len(row):] = True
    return ids, mask


@pytest.fixture(scope="module")
def chat_batch(smollm2_dir):
    """Two chat prompts, left padded (the second is shorter), as numpy ids and mask."""
    ids, mask = chat_rows(smollm2_dir, PROMPTS)
    assert not mask.all()  # one row really is padded
    return ids, mask


def _reference_forward(forward, chat_batch) -> np.ndarray:
    ids, mask = chat_batch
    positions = np.maximum(np.cumsum(mask, axis=1) - 1, 0)
    with torch.no_grad():
        return forward(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask.astype(np.int64)),
                       position_ids=torch.tensor(positions)).logits.numpy()


@pytest.fixture(scope="module")
def reference_logits(smollm2_reference, chat_batch):
    return _reference_forward(smollm2_reference, chat_batch)


@pytest.fixture(scope="module")
def exact_logits(smollm2_reference, chat_batch):
    """The same transformers model computing in float64 throughout (`float64_reference`; `.double()` keeps
    float32 steps): the ground truth both float32 implementations round away from."""
    return _reference_forward(float64_reference(smollm2_reference)[1], chat_batch)


def test_unpermute_matches_transformers_and_inverts_llama_cpp():
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    w = np.random.RandomState(0).randn(3 * 8, 5).astype(np.float32)  # 3 heads of dim 8
    theirs = LlamaTensorProcessor(config={"num_attention_heads": 3, "num_key_value_heads": 3}) \
        ._reverse_permute_weights(w, 3, 3)
    np.testing.assert_array_equal(gguf_mod.unpermute_qk(w, 3), theirs)
    np.testing.assert_array_equal(gguf_mod.unpermute_qk(gguf_mod.permute_qk(w, 3), 3), w)
    assert not np.array_equal(gguf_mod.unpermute_qk(w, 3), w)


@pytest.mark.slow  # shares the session's SmolLM2 fixtures (~25 s once, on 2 cores)
def test_weights_equal_transformers_gguf_dequantisation(smollm2_dir, smollm2_reference):
    ours = load_file(smollm2_dir / "model.safetensors")
    theirs = {k: v.numpy() for k, v in smollm2_reference.state_dict().items()}
    theirs.pop("lm_head.weight")  # tied: the same tensor as the embedding
    assert sorted(ours) == sorted(theirs)
    for name, value in ours.items():
        assert value.dtype == np.float32
        np.testing.assert_array_equal(value, theirs[name], err_msg=name)


@pytest.mark.slow  # shares the session's SmolLM2 fixtures (~25 s once, on 2 cores)
def test_logits_match_transformers_gguf_model(smollm2_dir, smollm2_reference, chat_batch, reference_logits,
                                               exact_logits):
    model = from_pretrained(smollm2_dir, dtype="float32")
    ids, mask = chat_batch
    ours = np.asarray(model(jnp.asarray(ids), jnp.asarray(mask)))
    # The mapping itself is checked in float64 (test_float64_parity.py, to ~1e-13). Here float32 rounding is all
    # that may separate us from the exact logits, bounded from float32's unit roundoff (precision.py: over 30
    # layers, widths up to 1536 and logits up to 38, the estimate is ~4.9e-4), with headroom 2 for another CPU's
    # summation order (bound 9.6e-4). Measured on this batch: ours 1.1e-4 and transformers' float32 0.7e-4 from
    # exact, so both implementations pass with a margin of ~9, whichever order a CPU sums in.
    # A real mapping error gives O(1) differences.
    exact = exact_logits.astype(np.float64)
    bound = model_bound(smollm2_reference.config, float(np.abs(exact[mask]).max()), headroom=2.0)
    ours_error = np.abs(ours - exact)[mask].max()
    their_error = np.abs(reference_logits - exact)[mask].max()
    print(f"float32 vs float64: ours {ours_error:.3g}, transformers {their_error:.3g}, bound {bound:.3g}")
    assert ours_error <= bound and their_error <= bound
    # Each within `bound` of exact: ours and transformers' float32 differ by at most 2 * bound per logit, so a
    # greedy choice can flip only where the reference's top two are within 4 * bound of each other.
    top2 = np.sort(reference_logits, axis=-1)[..., -2:]
    decisive = mask & (top2[..., 1] - top2[..., 0] > 4 * bound)
    assert decisive.sum() >= 0.75 * mask.sum()  # most positions are compared, or the check says nothing
    np.testing.assert_array_equal(ours.argmax(-1)[decisive], reference_logits.argmax(-1)[decisive])


@pytest.mark.slow  # shares the session's SmolLM2 fixtures (~25 s once, on 2 cores)
def test_bfloat16_compute_stays_close_in_kl(smollm2_dir, chat_batch, reference_logits):
    model = from_pretrained(smollm2_dir, dtype="bfloat16")
    ids, mask = chat_batch
    ours = np.asarray(model(jnp.asarray(ids), jnp.asarray(mask)), dtype=np.float64)
    ref = reference_logits.astype(np.float64)
    log_p = ref - np.logaddexp.reduce(ref, axis=-1, keepdims=True)
    log_q = ours - np.logaddexp.reduce(ours, axis=-1, keepdims=True)
    kl = (np.exp(log_p) * (log_p - log_q)).sum(-1)[mask]
    assert 0 < kl.mean() <= 0.015, kl.mean()  # the MaxText logit-checker bar, per next-token distribution


def test_tokenizer_matches_transformers_gguf_tokenizer(smollm2_dir, smollm2_gguf):
    from transformers import AutoTokenizer

    ours = AutoTokenizer.from_pretrained(smollm2_dir)
    theirs = AutoTokenizer.from_pretrained(str(smollm2_gguf.parent), gguf_file=smollm2_gguf.name)
    texts = ["Hello world!", "  two leading spaces,\ttabs\n\nand newlines", "Grüße aus München, ça va? Żółć 東京",
             "<|im_start|>user\nHi<|im_end|>", "In 2024 there were 365 days; pi = 3.14159.",
             "def f(x):\n    return x**2"]
    for text in texts:
        assert ours.encode(text) == theirs.encode(text), text
        assert ours.decode(ours.encode(text)) == text
    for conversation in PROMPTS:
        assert ours.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True) == \
            theirs.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    assert (ours.bos_token, ours.eos_token, ours.pad_token) == ("<|im_start|>", "<|im_end|>", "<|im_end|>")
    assert len(ours) == 49152 and "<|im_start|>" in ours.all_special_tokens


def test_prepare_is_cached_and_listed(smollm2_dir, smollm2_cache):
    stamp = (smollm2_dir / "model.safetensors").stat().st_mtime_ns
    runner = CliRunner()
    result = runner.invoke(main, ["models", "prepare", "smollm2-135m"])
    assert result.exit_code == 0 and result.output.strip() == str(smollm2_dir)
    assert (smollm2_dir / "model.safetensors").stat().st_mtime_ns == stamp  # not converted again
    assert smollm2_dir.parent == smollm2_cache / "models"
    result = runner.invoke(main, ["models", "list"])
    assert "smollm2-135m" in result.output and f"prepared at {smollm2_dir}" in result.output
    assert not [p for p in smollm2_dir.parent.iterdir() if p.name.startswith(".")]  # no temporaries left


def test_interrupted_prepare_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("REFUSEU_CACHE", str(tmp_path))

    def crash(src, out, **options):
        (out / "model.safetensors").write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(gguf_mod, "gguf_to_hf", crash)
    with pytest.raises(KeyboardInterrupt):
        registry.prepare_model("smollm2-135m")
    assert registry.cached_path("smollm2-135m") is None
    assert list((tmp_path / "models").iterdir()) == []


def _write_gguf(path, arch):
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


@pytest.mark.parametrize("case, expected", [
    ("architecture", "unsupported architecture 'gpt2'"),
    ("truncated", "not a readable GGUF file"),
    ("missing", "not found"),
])
def test_bad_gguf_gives_one_line_and_exit_2(tmp_path, case, expected):
    path = tmp_path / "model.gguf"
    if case != "missing":
        _write_gguf(path, "gpt2")
    if case == "truncated":
        path.write_bytes(path.read_bytes()[:40])
    result = CliRunner().invoke(main, ["convert", str(path), str(tmp_path / "out")])
    message = result.stderr.strip()
    if case == "missing":  # not on disk: SRC cannot be told apart from a mistyped model name
        assert result.exit_code == 2 and "model.gguf: not found" in message
        return
    assert result.exit_code == 2, result.output
    assert message.startswith("error: ") and "\n" not in message and str(path) in message and expected in message
    assert not (tmp_path / "out").exists()
