"""The DPO loss family and the memory-bounded log-prob computation it runs on.

Everything here is a pure function of arrays, so it can be tested against TRL's PyTorch code number for number and
used inside any jitted step.

- `dpo_loss`: sigmoid (DPO, with cDPO label smoothing), ipo (per-token averaged), hinge (SLiC) and robust (rDPO),
  with the metric names TRL logs.
- `token_logprobs`: log p(target) for every position from final hidden states and the output embedding, computed
  in vocabulary chunks with a hand-written backward pass, so neither the forward nor the backward ever holds
  `[tokens, vocab]` float32 logits (that tensor alone is 1 GiB at vocab 128256, 2 x 1024 tokens).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from refuseu_jax.kernels import as_uint16, contract_rows, from_uint16

LOSS_TYPES = ("sigmoid", "ipo", "hinge", "robust")


def dpo_loss(
    policy_chosen_logps,
    policy_rejected_logps,
    reference_chosen_logps,
    reference_rejected_logps,
    *,
    beta: float = 0.1,
    loss_type: str = "sigmoid",
    label_smoothing: float = 0.0,
    chosen_lengths=None,
    rejected_lengths=None,
):
    """Batch-mean DPO loss and TRL-named metrics.

    Log-probs are per-example sums over completion tokens, shape [B]. `chosen_lengths`/`rejected_lengths` are the
    completion token counts; the ipo loss needs them (it averages the log-ratios per token, as TRL does).

    sigmoid: -(1-eps) logsigmoid(beta h) - eps logsigmoid(-beta h), h = chosen log-ratio - rejected log-ratio
             (eps = label_smoothing; eps = 0 is plain DPO, eps > 0 the conservative cDPO form older TRL used)
    robust:  (-(1-eps) logsigmoid(beta h) + eps logsigmoid(-beta h)) / (1 - 2 eps)     (unbiased under label noise)
    hinge:   relu(1 - beta h)
    ipo:     (h_avg - 1/(2 beta))^2 with h_avg built from per-token averaged log-ratios
    """
    if loss_type not in LOSS_TYPES:
        raise ValueError(f"loss_type must be one of {', '.join(LOSS_TYPES)}, got {loss_type!r}")
    if loss_type == "robust" and not 0.0 <= label_smoothing < 0.5:
        raise ValueError(f"robust loss needs 0 <= label_smoothing < 0.5, got {label_smoothing}")

    chosen_logratios = policy_chosen_logps - reference_chosen_logps
    rejected_logratios = policy_rejected_logps - reference_rejected_logps
    delta = chosen_logratios - rejected_logratios
    eps = label_smoothing

    if loss_type == "sigmoid":
        losses = -(1.0 - eps) * jax.nn.log_sigmoid(beta * delta) - eps * jax.nn.log_sigmoid(-beta * delta)
    elif loss_type == "robust":
        losses = (-(1.0 - eps) * jax.nn.log_sigmoid(beta * delta) + eps * jax.nn.log_sigmoid(-beta * delta)) / (
            1.0 - 2.0 * eps
        )
    elif loss_type == "hinge":
        losses = jax.nn.relu(1.0 - beta * delta)
    else:  # ipo
        if chosen_lengths is None or rejected_lengths is None:
            raise ValueError("ipo averages log-ratios per token: pass chosen_lengths and rejected_lengths")
        # max(n, 1): a zero-length completion must not divide by zero (batches never hold one, but padding rows may).
        chosen_avg = chosen_logratios / jnp.maximum(chosen_lengths, 1)
        rejected_avg = rejected_logratios / jnp.maximum(rejected_lengths, 1)
        losses = (chosen_avg - rejected_avg - 1.0 / (2.0 * beta)) ** 2

    loss = jnp.mean(losses)
    # Rewards are beta * log-ratio, detached: they describe the step, they are not optimised through.
    chosen_rewards = jax.lax.stop_gradient(beta * chosen_logratios)
    rejected_rewards = jax.lax.stop_gradient(beta * rejected_logratios)
    metrics = {
        "loss": jax.lax.stop_gradient(loss),
        "rewards/chosen": jnp.mean(chosen_rewards),
        "rewards/rejected": jnp.mean(rejected_rewards),
        "rewards/margins": jnp.mean(chosen_rewards - rejected_rewards),
        "rewards/accuracies": jnp.mean((chosen_rewards > rejected_rewards).astype(jnp.float32)),
        "logps/chosen": jnp.mean(jax.lax.stop_gradient(policy_chosen_logps)),
        "logps/rejected": jnp.mean(jax.lax.stop_gradient(policy_rejected_logps)),
    }
    return loss, metrics


# ---------------------------------------------------------------------------------------------------------------
# Chunked log-probs


def _chunk_plan(vocab: int, chunk: int):
    """Chunk width and count. The last chunk is shifted left to end at `vocab` (no padded copy of the weight);
    vocabulary entries it shares with the previous chunk are masked out so each one counts once."""
    chunk = min(chunk, vocab)
    return chunk, -(-vocab // chunk)


def _chunk_columns(i, chunk: int, vocab: int):
    nominal = i * chunk
    start = jnp.minimum(nominal, vocab - chunk)
    cols = start + jnp.arange(chunk)
    return start, cols, cols >= nominal


_CONTRACT_HIDDEN = (((1,), (1,)), ((), ()))  # [n, H] x [chunk, H] -> [n, chunk]


def _chunk_logits(h, w, start, chunk):
    # A contiguous block of vocabulary rows, in the hidden states' (compute) dtype: the matrix itself stays in
    # its stored dtype, so the step never holds a cast copy of it.
    # 16-bit matrices are sliced as uint16: XLA:CPU would widen the whole bfloat16 matrix to slice it.
    w_c = from_uint16(jax.lax.dynamic_slice_in_dim(as_uint16(w), start, chunk, axis=0), w).astype(h.dtype)
    # Accumulate in float32 whatever the parameter/compute dtype: log-softmax over 1e5 classes needs it.
    return jax.lax.dot_general(h, w_c, _CONTRACT_HIDDEN, preferred_element_type=jnp.float32), w_c


def _logprobs_fwd_impl(h, w, targets, chunk):
    vocab = w.shape[0]
    chunk, n_chunks = _chunk_plan(vocab, chunk)
    n = h.shape[0]

    def body(carry, i):
        running_max, running_sum, target_logit = carry
        start, cols, valid = _chunk_columns(i, chunk, vocab)
        logits, _ = _chunk_logits(h, w, start, chunk)
        logits = jnp.where(valid[None, :], logits, -jnp.inf)
        new_max = jnp.maximum(running_max, jnp.max(logits, axis=1))
        running_sum = running_sum * jnp.exp(running_max - new_max) + jnp.sum(
            jnp.exp(logits - new_max[:, None]), axis=1
        )
        hit = (cols[None, :] == targets[:, None]) & valid[None, :]
        target_logit = target_logit + jnp.sum(jnp.where(hit, logits, 0.0), axis=1)
        return (new_max, running_sum, target_logit), None

    init = (jnp.full((n,), -jnp.inf, jnp.float32), jnp.zeros((n,), jnp.float32), jnp.zeros((n,), jnp.float32))
    (running_max, running_sum, target_logit), _ = jax.lax.scan(body, init, jnp.arange(n_chunks))
    lse = running_max + jnp.log(running_sum)
    return target_logit - lse, lse


@partial(jax.custom_vjp, nondiff_argnums=(3,))
def _token_logprobs_flat(h, w, targets, chunk):
    return _logprobs_fwd_impl(h, w, targets, chunk)[0]


def _flat_fwd(h, w, targets, chunk):
    logps, lse = _logprobs_fwd_impl(h, w, targets, chunk)
    # Residuals are O(tokens x hidden + hidden x vocab): the logits are recomputed chunk by chunk in the backward.
    return logps, (h, w, targets, lse)


def _flat_bwd(chunk, residuals, g):
    h, w, targets, lse = residuals
    vocab = w.shape[0]
    chunk, n_chunks = _chunk_plan(vocab, chunk)
    g = g.astype(jnp.float32)

    def body(carry, i):
        grad_h, grad_w = carry
        start, cols, valid = _chunk_columns(i, chunk, vocab)
        logits, w_c = _chunk_logits(h, w, start, chunk)
        probs = jnp.where(valid[None, :], jnp.exp(logits - lse[:, None]), 0.0)
        onehot = ((cols[None, :] == targets[:, None]) & valid[None, :]).astype(jnp.float32)
        # d logp(target) / d logits = onehot - softmax; columns of the overlapped tail chunk contribute zero.
        dlogits = g[:, None] * (onehot - probs)
        grad_h = grad_h + jnp.dot(dlogits.astype(w_c.dtype), w_c, preferred_element_type=jnp.float32)
        dw_c = contract_rows(dlogits.astype(h.dtype), h)  # [chunk, H]
        # Accumulated in place: emitting the chunks as scan outputs would hold a second [V, H] float32 buffer.
        prev = jax.lax.dynamic_slice_in_dim(grad_w, start, chunk, axis=0)
        grad_w = jax.lax.dynamic_update_slice_in_dim(grad_w, prev + dw_c, start, axis=0)
        return (grad_h, grad_w), None

    init = (jnp.zeros(h.shape, jnp.float32), jnp.zeros(w.shape, jnp.float32))
    (grad_h, grad_w), _ = jax.lax.scan(body, init, jnp.arange(n_chunks))
    return grad_h.astype(h.dtype), grad_w.astype(w.dtype), None


_token_logprobs_flat.defvjp(_flat_fwd, _flat_bwd)


def token_logprobs(hidden, output_embedding, targets, *, chunk_size: int = 8192):
    """log softmax(hidden @ output_embedding)[target] per position, in vocabulary chunks.

    hidden [..., H], output_embedding [V, H] (vocabulary-major, as the embedding and lm_head are stored),
    targets [...] int -> float32 [...]. Differentiable in `hidden` and
    `output_embedding`; peak extra memory is O(tokens x chunk_size), forward and backward.
    """
    lead = hidden.shape[:-1]
    flat_h = hidden.reshape(-1, hidden.shape[-1])
    flat_t = targets.reshape(-1).astype(jnp.int32)
    out = _token_logprobs_flat(flat_h, output_embedding, flat_t, int(chunk_size))
    return out.reshape(lead)


def naive_token_logprobs(hidden, output_embedding, targets):
    """The full-logits version, kept as the reference for tests and the memory benchmark."""
    logits = jnp.einsum("...h,vh->...v", hidden, output_embedding.astype(hidden.dtype),
                        preferred_element_type=jnp.float32)
    logp = jax.nn.log_softmax(logits, axis=-1)
    return jnp.take_along_axis(logp, targets[..., None].astype(jnp.int32), axis=-1)[..., 0]


def mean_logits(hidden, output_embedding):
    """Mean over the vocabulary of each position's logits (TRL's logits/chosen metric) without building them:
    mean_v (h . w_v) = h . mean_v(w_v)."""
    # Accumulated in float32 without a float32 copy of the [V, H] matrix.
    w_mean = jnp.mean(output_embedding, axis=0, dtype=jnp.float32)
    return jnp.dot(jax.lax.stop_gradient(hidden).astype(jnp.float32), jax.lax.stop_gradient(w_mean))
