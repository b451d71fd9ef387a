"""refuseu-data: builds the RefusEU multilingual refusal-preference dataset.

This package never imports jax (see DESIGN.md); `refuseu_jax` may import it.
"""
