"""`refuseu models list|prepare`, `refuseu convert`, `refuseu chat`.

Imports of jax and the model stay inside the commands, so `refuseu --help` stays fast.
"""

from __future__ import annotations

import click


DTYPES = ("float32", "bfloat16")


@click.group("models")
def models():
    """Named models that work offline (cached as Hugging Face directories)."""


@models.command("list")
def list_models():
    """Show the named models and where each is cached."""
    from refuseu_jax.checkpoints.registry import MODELS, cache_root, cached_path

    click.echo(f"cache: {cache_root()}")
    for name, source in MODELS.items():
        path = cached_path(name)
        state = f"prepared at {path}" if path else "not prepared (refuseu models prepare " + name + ")"
        click.echo(f"{name:16s} {source.description}\n{'':16s} {state}")


@models.command("prepare")
@click.argument("name")
@click.option("--force", is_flag=True, help="Convert again even when already cached.")
def prepare(name, force):
    """Convert NAME once into the cache and print its directory."""
    from refuseu_jax.checkpoints.registry import prepare_model

    click.echo(str(prepare_model(name, force=force, progress=True)))


@click.command("convert")
@click.argument("src")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--to", "to", type=click.Choice(["hf", "orbax"]), default="hf", show_default=True,
              help="Output format.")
@click.option("--config", type=click.Path(exists=True),
              help="For an orbax checkpoint without config.json: the HF directory or config.json of its model.")
@click.option("--dtype", type=click.Choice(DTYPES), default=None, help="Cast weights (default: keep stored dtype).")
@click.option("--max-shard-size", default="2GiB", show_default=True,
              help="HF output: shard into files of at most this size, with model.safetensors.index.json.")
def convert(src, out, to, config, dtype, max_shard_size):
    """Convert SRC (HF directory, .gguf file, orbax checkpoint, or model name) into OUT.

    \b
    Examples:
      refuseu convert smollm2-135m out/smollm2            GGUF model -> HF directory
      refuseu convert path/to/hf out/hf-bf16 --dtype bfloat16
      refuseu convert path/to/hf out/orbax --to orbax     HF -> orbax params + config + tokenizer
      refuseu convert runs/x/checkpoints/100 out/hf --config path/to/base-hf   trained params -> HF
    """
    from refuseu_jax.checkpoints.convert import convert as run_convert
    from refuseu_jax.checkpoints.convert import parse_size

    path = run_convert(src, out, to=to, config=config, dtype=dtype, max_shard_bytes=parse_size(max_shard_size),
                       progress=True)
    click.echo(str(path))
