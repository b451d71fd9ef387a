"""Our parameter paths <-> Hugging Face tensor names, and the small tree helpers both directions share.

Every parameter has one mapping (`_GLOBAL`, `_LAYER`) to its HF tensor name; `hf_name()` and `parse_hf_name()` are
inverses. Layouts are HF's own (Linear weights [out, in], layers stacked on axis 0), so a tensor's bytes are
copied, never transposed, on the way in and out.
"""

from __future__ import annotations

import re
from typing import Any

import ml_dtypes
import numpy as np

Path_ = tuple[str, ...]

# ---- name and tensor mapping ---------------------------------------------------------------------------------
_GLOBAL: dict[Path_, str] = {
    ("embed", "embedding"): "model.embed_tokens.weight",
    ("final_norm", "scale"): "model.norm.weight",
    ("lm_head", "weight"): "lm_head.weight",
}
_LAYER: dict[Path_, str] = {  # `{i}` is the layer
    ("layers", "attn_norm", "scale"): "model.layers.{i}.input_layernorm.weight",
    ("layers", "mlp_norm", "scale"): "model.layers.{i}.post_attention_layernorm.weight",
    **{("layers", f"{p}_proj", kind): f"model.layers.{{i}}.self_attn.{p}_proj.{kind}"
       for p in "qkvo" for kind in ("weight", "bias")},
    **{("layers", f"{p}_proj", kind): f"model.layers.{{i}}.mlp.{p}_proj.{kind}"
       for p in ("gate", "up", "down") for kind in ("weight", "bias")},
}
_BY_HF = {name: path for path, name in (_GLOBAL | _LAYER).items()}


def hf_pattern(path: Path_) -> str:
    """The HF name pattern of one of our parameters."""
    path = tuple(path)
    if path in _GLOBAL:
        return _GLOBAL[path]
    if path in _LAYER:
        return _LAYER[path]
    raise KeyError(f"no Hugging Face mapping for parameter {'/'.join(path)}")


def hf_name(path: Path_, layer: int | None = None) -> str:
    """Our (path, layer) -> HF tensor name."""
    pattern = hf_pattern(path)
    return pattern.format(i=layer) if tuple(path) in _LAYER else pattern


def parse_hf_name(name: str) -> tuple[Path_, int | None]:
    """HF tensor name -> our (path, layer); the exact inverse of `hf_name`. KeyError when unknown."""
    match = re.fullmatch(r"model\.layers\.(\d+)\.(.+)", name)
    if match:
        return _BY_HF["model.layers.{i}." + match.group(2)], int(match.group(1))
    if name in _BY_HF and (_BY_HF[name] in _GLOBAL):
        return _BY_HF[name], None
    raise KeyError(name)


def hf_tensor_shape(path: Path_, our_shape: tuple[int, ...]) -> tuple[int, ...]:
    """HF shape of one tensor (one layer) of a parameter of our shape."""
    hf_pattern(path)  # unknown parameter: KeyError
    return tuple(our_shape[1:]) if tuple(path) in _LAYER else tuple(our_shape)


def _np_dtype(name: str) -> np.dtype:
    return np.dtype(ml_dtypes.bfloat16) if name == "bfloat16" else np.dtype(name)


def _nested_set(tree: dict, path: Path_, value) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value


def _flatten(tree: dict, prefix: Path_ = ()) -> dict[Path_, Any]:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flatten(value, prefix + (str(key),)))
        else:
            out[prefix + (str(key),)] = value
    return out
