"""RefusEU-JAX: a Flax Llama, sharded DPO training, sampling and evaluation for multilingual refusal alignment."""

# Lazy re-exports: `import refuseu_jax` (and `refuseu --help`) must not pay for importing jax.
_LAZY = {
    "from_pretrained": "refuseu_jax.checkpoints.hf",
    "save_pretrained": "refuseu_jax.checkpoints.hf",
    "dpo_loss": "refuseu_jax.train.losses",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'refuseu_jax' has no attribute {name!r}")
