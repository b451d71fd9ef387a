"""`refuseu sample`: generate with a checkpoint, for a few prompts or over a dataset split (JSONL out)."""

from __future__ import annotations

import click


@click.command("sample")
@click.option("--model", default="smollm2-135m", show_default=True, help="Checkpoint directory or registry name.")
@click.option("--prompt", "prompts", multiple=True, help="A user message (repeatable). Printed replies.")
@click.option("--data", default=None, help="RefusEU records (JSONL/Parquet/dataset dir, or 'bundled') to answer.")
@click.option("--split", default="test", show_default=True)
@click.option("--languages", default="all", show_default=True, help="Comma-separated codes, or 'all'.")
@click.option("--limit-per-language", type=int, default=None)
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="JSONL output (prompt, lang, category, style, response). Required with --data.")
@click.option("--max-new-tokens", type=int, default=128, show_default=True)
@click.option("--temperature", type=float, default=0.0, show_default=True, help="0 = greedy.")
@click.option("--top-p", type=float, default=1.0, show_default=True)
@click.option("--top-k", type=int, default=0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--batch-size", type=int, default=8, show_default=True)
@click.option("--stop", "stop_strings", multiple=True, help="Stop string (repeatable).")
@click.option("--dtype", default="float32", show_default=True)
def sample(model, prompts, data, split, languages, limit_per_language, out_path, max_new_tokens, temperature,
           top_p, top_k, seed, batch_size, stop_strings, dtype):
    """Generate replies with the KV-cache sampler (chat template from the model's tokenizer)."""
    from data_tools.errors import UserError
    from data_tools.schema import write_jsonl_atomic
    from refuseu_jax.evaluate.run import SamplingSection, generate_responses, load_model, split_rows

    if bool(prompts) == bool(data):
        raise UserError("give either --prompt (one or more) or --data")
    if data and not out_path:
        raise UserError("--data needs --out FILE.jsonl")
    try:
        sampling = SamplingSection(max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
                                   seed=seed, batch_size=batch_size, stop_strings=list(stop_strings))
    except ValueError as err:
        raise UserError(f"sampling options: {err}") from None
    if data:
        rows = split_rows(data, split, languages, limit_per_language)
    else:
        rows = [{"id": str(i), "lang": None, "category": None, "style": None, "prompt": p,
                 "messages": [{"role": "user", "content": p}]} for i, p in enumerate(prompts)]
    loaded, tokenizer, mesh = load_model(model, dtype)
    results = generate_responses(rows, loaded, tokenizer, mesh, sampling)
    if out_path:
        write_jsonl_atomic(out_path, results)
        click.echo(f"wrote {len(results)} responses to {out_path}")
    else:
        for row in results:
            click.echo(f"> {row['prompt']}\n{row['response'].strip()}\n")
