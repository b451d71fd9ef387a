"""`refuseu models list|prepare`, `refuseu convert`, `refuseu chat`.

Imports of jax and the model stay inside the commands, so `refuseu --help` stays fast.
"""

from __future__ import annotations

import click

from data_tools.errors import UserError

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


@click.command("chat")
@click.option("--model", "model_name", default="smollm2-135m", show_default=True,
              help="HF checkpoint directory or model name.")
@click.option("--prompt", "prompts", multiple=True, required=True, help="A user message (repeat for a batch).")
@click.option("--max-new-tokens", default=128, show_default=True, type=click.IntRange(1))
@click.option("--temperature", default=0.0, show_default=True, type=click.FloatRange(0.0),
              help="0 = greedy.")
@click.option("--dtype", type=click.Choice(DTYPES), default="float32", show_default=True)
def chat(model_name, prompts, max_new_tokens, temperature, dtype):
    """Answer each --prompt with the model's chat template (KV-cache sampler)."""
    from transformers import AutoTokenizer

    from refuseu_jax.checkpoints.hf import from_pretrained, resolve_model_dir
    from refuseu_jax.sample import Sampler, SamplingConfig

    directory = resolve_model_dir(model_name)
    if not (directory / "tokenizer.json").is_file() and not (directory / "tokenizer.model").is_file():
        raise UserError(f"{directory}: no tokenizer files (expected tokenizer.json); chat needs a tokenizer")
    model = from_pretrained(directory, dtype=dtype)
    sampler = Sampler(model, AutoTokenizer.from_pretrained(str(directory)))
    config = SamplingConfig(max_new_tokens=max_new_tokens, temperature=temperature,
                            batch_size=len(prompts), length_bucket=32)
    for prompt, reply in zip(prompts, sampler.generate(list(prompts), config)):
        click.echo(f"> {prompt}\n{reply.strip()}\n")
