"""dpo_loss against TRL's own loss code, and the chunked log-probs against the full-logits computation."""

from __future__ import annotations

import math
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from refuseu_jax import dpo_loss
from refuseu_jax.train.losses import mean_logits, naive_token_logprobs, token_logprobs

from tests.refuseu_jax.train.tiny_assets import build_checkpoint
from tests.refuseu_jax.train.trl_helpers import trl_trainer

B, T = 6, 12


@pytest.fixture(scope="module")
def trl(tmp_path_factory):
    from data_tools.sample import SAMPLE_PATH
    from data_tools.schema import read_records

    ckpt = tmp_path_factory.mktemp("ckpt")
    build_checkpoint(ckpt)
    records = [r for r in read_records(SAMPLE_PATH) if r["split"] == "train"][:2]
    return trl_trainer(ckpt, records, tmp_path_factory.mktemp("trl"))


def _fake_lm(per_token):
    """Stands in for TRL's fused-LM-head model: returns fixed per-token log-probs (zeros off the completion)."""
    import torch

    class FakeLM(torch.nn.Module):
        def forward(self, input_ids=None, **kwargs):
            zeros = torch.zeros(per_token.shape)
            return SimpleNamespace(log_probs=per_token, entropy=zeros, mean_logits=zeros, is_top1=zeros.bool())

    return FakeLM()


def _trl_loss(trainer, logps, lengths, *, loss_type, beta, label_smoothing):
    """TRL's _compute_loss on given sequence log-probs [4, B] (policy c/r, ref c/r) and lengths [2, B]."""
    import torch

    mask = torch.zeros(2 * B, T, dtype=torch.long)
    for row, n in enumerate(np.concatenate(lengths)):
        mask[row, T - n:] = 1
    per_token = []
    for c, r in ((logps[0], logps[1]), (logps[2], logps[3])):
        tok = torch.zeros(2 * B, T - 1, dtype=torch.float64)
        # Put each sequence's whole log-prob on its last (always completion) position; TRL sums over positions.
        tok[:, -1] = torch.tensor(np.concatenate([c, r]))
        per_token.append(tok)
    inputs = {"input_ids": torch.zeros(2 * B, T, dtype=torch.long), "attention_mask": torch.ones(2 * B, T),
              "completion_mask": mask}
    trainer.beta, trainer.label_smoothing = beta, label_smoothing
    trainer.loss_types, trainer.loss_weights = [loss_type], [1.0]
    trainer.ref_model = _fake_lm(per_token[1])
    trainer._metrics["train"].clear()
    trainer.model.train()
    loss = trainer._compute_loss(_fake_lm(per_token[0]), inputs, False)
    metrics = {k: v[-1] for k, v in trainer._metrics["train"].items()}
    return float(loss), metrics


CASES = [("sigmoid", 0.1, 0.0), ("sigmoid", 0.5, 0.0), ("ipo", 0.1, 0.0), ("ipo", 0.5, 0.0), ("hinge", 0.1, 0.0),
         ("robust", 0.1, 0.1), ("robust", 0.3, 0.25)]


@pytest.mark.parametrize("loss_type,beta,eps", CASES)
def test_dpo_loss_matches_trl(trl, loss_type, beta, eps):
    jax.config.update("jax_enable_x64", True)  # compare in float64, as the TRL side runs
    try:
        rng = np.random.default_rng(7)
        logps = rng.normal(-40.0, 8.0, size=(4, B))
        lengths = rng.integers(1, T - 1, size=(2, B))
        theirs, their_metrics = _trl_loss(trl, logps, lengths, loss_type=loss_type, beta=beta, label_smoothing=eps)
        ours, metrics = dpo_loss(*[jnp.asarray(x) for x in logps], beta=beta, loss_type=loss_type,
                                 label_smoothing=eps, chosen_lengths=jnp.asarray(lengths[0]),
                                 rejected_lengths=jnp.asarray(lengths[1]))
    finally:
        jax.config.update("jax_enable_x64", False)
    assert abs(float(ours) - theirs) < 1e-6 * max(1.0, abs(theirs))
    for name in ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies", "logps/chosen",
                 "logps/rejected"):
        assert abs(float(metrics[name]) - their_metrics[name]) < 1e-6 * max(1.0, abs(their_metrics[name])), name


def test_sigmoid_label_smoothing_is_cdpo_and_initial_loss_is_ln2():
    # TRL 1.16's sigmoid ignores label_smoothing; older TRL (and cDPO) mix in the flipped label.
    c, r = jnp.array([-3.0, -5.0]), jnp.array([-4.0, -2.0])
    rc, rr = jnp.array([-3.5, -4.0]), jnp.array([-3.0, -3.0])
    h = 0.2 * ((c - rc) - (r - rr))
    expected = jnp.mean(-(0.9) * jax.nn.log_sigmoid(h) - 0.1 * jax.nn.log_sigmoid(-h))
    loss, _ = dpo_loss(c, r, rc, rr, beta=0.2, label_smoothing=0.1)
    assert abs(float(loss) - float(expected)) < 1e-6
    loss, metrics = dpo_loss(c, r, c, r)
    assert abs(float(loss) - math.log(2)) < 1e-7 and float(metrics["rewards/accuracies"]) == 0.0


def test_bad_loss_arguments():
    x = jnp.zeros(2)
    with pytest.raises(ValueError, match="loss_type"):
        dpo_loss(x, x, x, x, loss_type="kto")
    with pytest.raises(ValueError, match="lengths"):
        dpo_loss(x, x, x, x, loss_type="ipo")


@pytest.mark.parametrize("vocab,chunk,dtype,w_dtype", [(37, 8, jnp.float32, jnp.float32),
                                                       (64, 64, jnp.float32, jnp.float32),
                                                       (50, 16, jnp.bfloat16, jnp.bfloat16),
                                                       (50, 16, jnp.bfloat16, jnp.float32)])
def test_chunked_logprobs_match_full_logits(vocab, chunk, dtype, w_dtype):
    # The last case is the bf16 train step: bf16 hidden states, the float32 master embedding cast chunk by chunk.
    k = jax.random.split(jax.random.key(0), 4)
    h = jax.random.normal(k[0], (3, 5, 16)).astype(dtype)
    w = jax.random.normal(k[1], (vocab, 16)).astype(w_dtype)  # [V, H], vocabulary-major
    targets = jax.random.randint(k[2], (3, 5), 0, vocab)
    weights = jax.random.normal(k[3], (3, 5))
    tol = 1e-5 if dtype == jnp.float32 else 2e-2
    np.testing.assert_allclose(token_logprobs(h, w, targets, chunk_size=chunk), naive_token_logprobs(h, w, targets),
                               atol=tol)

    def grads(fn):
        return jax.grad(lambda h, w: jnp.sum(fn(h, w) * weights), argnums=(0, 1))(h, w)

    ours = grads(lambda h, w: token_logprobs(h, w, targets, chunk_size=chunk))
    ref = grads(lambda h, w: naive_token_logprobs(h, w, targets))
    for a, b in zip(ours, ref):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(np.asarray(a, np.float32), np.asarray(b, np.float32), atol=tol * 10)
    full = jnp.einsum("bth,vh->btv", h, w, preferred_element_type=jnp.float32)
    np.testing.assert_allclose(mean_logits(h, w), jnp.mean(full, -1), atol=tol)


def test_chunked_logprobs_and_gradient_need_a_fraction_of_the_full_logits_memory():
    """Issue target: <= 25% of the full-logits version's temporaries (compiled memory analysis). Hidden size is
    large next to the token count, so a second [V, H] float32 buffer in the backward pass would break the bound."""
    h = jax.ShapeDtypeStruct((2, 256, 1024), jnp.float32)
    w = jax.ShapeDtypeStruct((32768, 1024), jnp.float32)
    t = jax.ShapeDtypeStruct((2, 256), jnp.int32)

    def temporaries(fn):
        grad = jax.jit(jax.value_and_grad(lambda h, w, t: jnp.sum(fn(h, w, t)), argnums=(0, 1)))
        return grad.lower(h, w, t).compile().memory_analysis().temp_size_in_bytes

    chunked = temporaries(lambda h, w, t: token_logprobs(h, w, t, chunk_size=4096))
    naive = temporaries(naive_token_logprobs)
    assert chunked <= 0.25 * naive, (chunked, naive)
