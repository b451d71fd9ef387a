"""Tolerances derived from the number format, so a test passes or fails the same way on every CPU.

A bar like "1.5 x transformers' own float32 error on this batch" moves with the machine: another CPU sums in
another order and both errors change (issue 15: 1.28e-4 against a bar of 1.19e-4 on one machine, a pass on
another). The bars here come from the format's unit roundoff instead:

    |logits_computed - logits_exact|  <~  C * sqrt(depth) * sqrt(width) * u * scale

Each dot product of length n rounds with a relative error that grows like sqrt(n) u when rounding errors are
independent (they add in quadrature; n u is the never-reached worst case); every one of `depth` residual blocks
adds such an error to the residual stream, again in quadrature, and the logits carry the relative error of the
final hidden state times their magnitude `scale` (the largest |logit|). `width` is the longest contraction (the
MLP's intermediate size). C is headroom for what the model leaves out (softmax and normalisation amplify some
errors; a different CPU's order): the float32 errors measured against float64 sit well inside C = 1 (SmolLM2:
0.93-1.28e-4 measured on two machines, bound 4.9e-4). A wrong weight mapping moves logits by O(1). At U64 the
same estimate bounds our float64 forward against transformers' (checkpoints/test_float64_parity.py: ~1e-13),
which is where the mapping is checked.

Greedy decoding cannot be held to a tolerance: where the reference's two best tokens are closer than the logit
error, either may win on another machine. `assert_same_until_near_tie` compares sequences token for token up to
the first step whose reference margin is below the bound, and requires that most tokens were compared.
"""

from __future__ import annotations

import math
from typing import Sequence

U32 = 2.0 ** -24  # unit roundoff of float32
U64 = 2.0 ** -53  # unit roundoff of float64


def logit_error_bound(depth: int, width: int, scale: float, unit: float = U32, headroom: float = 1.0) -> float:
    return headroom * math.sqrt(depth) * math.sqrt(width) * unit * scale


def model_bound(config, scale: float, unit: float = U32, headroom: float = 1.0) -> float:
    """`logit_error_bound` for a transformers LlamaConfig (or anything with its size attributes)."""
    width = max(config.hidden_size, config.intermediate_size)
    return logit_error_bound(config.num_hidden_layers, width, scale, unit, headroom)


def assert_same_until_near_tie(got: Sequence[Sequence[int]], expected: Sequence[Sequence[int]],
                               margins: Sequence[Sequence[float]], tie: float, min_compared: float = 0.75) -> None:
    """Row by row, `got` == `expected` up to (not including) the first step whose reference top-1/top-2 logit
    margin is below `tie`; rows without a near tie must match entirely (lengths, so stops, included). At least
    `min_compared` of the reference's tokens must have been compared, or the check says nothing."""
    compared = total = 0
    for row, (ours, theirs, margin) in enumerate(zip(got, expected, margins)):
        total += len(theirs)
        near = next((i for i, m in enumerate(margin[: len(theirs)]) if m < tie), None)
        if near is None:
            assert list(ours) == list(theirs), f"row {row}: {list(ours)} != {list(theirs)} (no near tie)"
            compared += len(theirs)
        else:
            assert list(ours[:near]) == list(theirs[:near]), f"row {row}, before the near tie at step {near}"
            compared += near
    assert compared >= min_compared * total, f"only {compared} of {total} tokens were decisive (tie < {tie:g})"
