"""Validation on held-out training groups (train/mixture.py carves them) and early stopping on it.

The objective is the training objective itself, DPO loss + dpo.sft_weight x NLL of the chosen answers, computed
on harmful and benign validation pairs separately; the value early stopping watches is the mean of the two
parts, so refusing harmless requests counts as much as answering harmful ones. The NLL term is what notices a
policy drifting into babble: DPO can keep widening the chosen/rejected margin while the chosen answers
themselves become less likely (both log-probs falling), and their NLL then rises.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from refuseu_jax.train.config import DPOSpec
from refuseu_jax.train.losses import dpo_loss


def validation_metrics(logps: np.ndarray, ref_logps: np.ndarray, lengths: np.ndarray, benign: np.ndarray,
                       dpo: DPOSpec) -> dict[str, float]:
    """logps, ref_logps, lengths: [pairs, 2] (chosen, rejected) sums over completion tokens; benign: [pairs] bool.
    Returns val/loss (the objective early stopping watches) and per-part loss, nll, reward accuracy, margin."""
    out, parts = {}, []
    for name, rows in (("harmful", ~benign), ("benign", benign)):
        if not rows.any():
            continue
        lp, ref, n = logps[rows], ref_logps[rows], lengths[rows]
        loss, metrics = dpo_loss(lp[:, 0], lp[:, 1], ref[:, 0], ref[:, 1], beta=dpo.beta, loss_type=dpo.loss_type,
                                 label_smoothing=dpo.label_smoothing, chosen_lengths=n[:, 0],
                                 rejected_lengths=n[:, 1])
        nll = -lp[:, 0].sum() / max(n[:, 0].sum(), 1.0)  # per chosen token, as the training term
        objective = float(loss) + dpo.sft_weight * float(nll)
        parts.append(objective)
        out.update({f"val/{name}/loss": objective, f"val/{name}/nll": float(nll),
                    f"val/{name}/rewards/accuracies": float(metrics["rewards/accuracies"]),
                    f"val/{name}/rewards/margins": float(metrics["rewards/margins"]), f"val/{name}/pairs": int(rows.sum())})
    out["val/loss"] = float(np.mean(parts))
    return out


class EarlyStopping:
    """Tracks the best validation objective; `update` says when `patience` evaluations in a row failed to beat it
    by more than `min_delta`, and keeps a device copy of the best parameters when asked (the step donates its
    input state's buffers, so a reference would not survive the next step). Parameters only: the optimizer's
    moments would triple the copy (full fine-tuning of SmolLM2: 0.5 instead of 1.6 GB), and export, sampling and
    evaluation read only the parameters."""

    def __init__(self, patience: int = 0, min_delta: float = 0.0, keep_best: bool = True):
        self.patience, self.min_delta, self.keep_best = patience, min_delta, keep_best
        self.best, self.best_step, self.best_params, self.bad = math.inf, None, None, 0

    def update(self, step: int, value: float, params) -> bool:
        if value < self.best - self.min_delta:
            self.best, self.best_step, self.bad = value, step, 0
            if self.keep_best:
                self.best_params = jax.tree.map(jnp.copy, params)
        else:
            self.bad += 1
        return bool(self.patience) and self.bad >= self.patience
