"""Directional ablation as a weight edit (Arditi et al. 2024, "Refusal in Language Models Is Mediated by a Single
Direction"): every matrix that writes into the residual stream loses its component along a unit direction r.

In a Llama the residual stream is the sum of the token embedding and each layer's attention output (o_proj) and
MLP output (down_proj). If each of those writes has no component along r, no activation anywhere in the stream
has one either, which is what ablating r from every layer's input and output at inference time does; the edited
weights do it with no hook, in any runtime that loads the checkpoint.

  embedding  [V, H], rows are residual vectors:        E  <- E - (E r) r^T
  o_proj, down_proj  [H, in] (HF's [out, in]):         W  <- W - r (r^T W)
  their biases [H] (when the config has them):         b  <- b - (r . b) r

The products run in float32 and the result is cast back to each parameter's dtype; in bfloat16 that rounding
leaves a residue of about 2^-9 of each row's norm along r (the float32 residue is ~1e-7, see the tests).

Tied embeddings: the same matrix is also the output head. Orthogonalising it would change what the final hidden
state is read out as too, which ablating the residual stream does not; by default the head keeps the original
matrix (`untie=True`: the checkpoint gets an `lm_head` of its own). `untie=False` edits the shared matrix, as
the reference implementation's in-place edit does for tied models.
"""

from __future__ import annotations


import jax
import jax.numpy as jnp
import numpy as np

from refuseu_jax.models.config import ModelConfig

# Parameters that write into the residual stream, as (module, leaf) under params["layers"].
RESIDUAL_WRITERS = ("o_proj", "down_proj")


def unit(direction) -> np.ndarray:
    """The direction normalised in float64, returned as float32 (the dtype every product below runs in)."""
    v = np.asarray(direction, np.float64)
    norm = np.linalg.norm(v)
    if not np.isfinite(norm) or norm == 0.0:
        raise ValueError("direction has zero or non-finite norm")
    return (v / norm).astype(np.float32)


def project_out(x: jax.Array, r: jax.Array) -> jax.Array:
    """x [..., H] minus its component along the unit vector r [H], in float32, cast back to x's dtype."""
    x32 = x.astype(jnp.float32)
    return (x32 - jnp.einsum("...h,h->...", x32, r)[..., None] * r).astype(x.dtype)


def _orthogonalise_writer(weight: jax.Array, r: jax.Array) -> jax.Array:
    """Stacked [L, H, in] weight (HF's [out, in] layout, the model's own) with no output along r."""
    w32 = weight.astype(jnp.float32)
    along = jnp.einsum("h,lhi->li", r, w32)  # r^T W per layer
    return (w32 - r[None, :, None] * along[:, None, :]).astype(weight.dtype)


@jax.jit
def _orthogonalise(params: dict, r: jax.Array) -> dict:
    out = {**params, "embed": {**params["embed"], "embedding": project_out(params["embed"]["embedding"], r)}}
    layers = dict(params["layers"])
    for name in RESIDUAL_WRITERS:
        module = dict(layers[name])
        module["weight"] = _orthogonalise_writer(module["weight"], r)
        if module.get("bias") is not None:
            module["bias"] = project_out(module["bias"], r)
        layers[name] = module
    out["layers"] = layers
    return out


def orthogonalise(params: dict, cfg: ModelConfig, direction, untie: bool = True) -> tuple[dict, ModelConfig]:
    """(params, config) of the model with `direction` ablated from every residual-stream write.

    Arrays keep their dtypes and shardings (the edit is elementwise per row/column, so XLA keeps each operand's
    layout on a mesh). With tied embeddings and `untie`, the result has an `lm_head` holding the original matrix
    and a config with tie_word_embeddings=False; otherwise the config is returned unchanged.
    """
    edited = _orthogonalise(params, jnp.asarray(unit(direction)))
    # Propagation keeps the layouts already; placing each leaf like its source makes it a guarantee (a no-op
    # when it holds), so a sharded 70B edit never ends up gathered on one device.
    edited = jax.tree.map(lambda new, old: jax.device_put(new, old.sharding) if isinstance(old, jax.Array) else new,
                          edited, params)
    if cfg.tie_word_embeddings and untie:
        edited["lm_head"] = {"weight": params["embed"]["embedding"]}
        cfg = cfg.replace(tie_word_embeddings=False)
    return edited, cfg


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """Pairwise cosine similarities of the rows of `vectors` [N, H] (float64); rows of zero norm give NaN."""
    v = np.asarray(vectors, np.float64)
    norms = np.linalg.norm(v, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit_rows = v / norms[:, None]
        out = unit_rows @ unit_rows.T
    out[norms == 0] = np.nan
    out[:, norms == 0] = np.nan
    return out
