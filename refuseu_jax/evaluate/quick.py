"""The quickstart's last step: non-refusal rate per language before and after training, on a test split.

    from refuseu_jax.evaluate.quick import before_after_table
    print(before_after_table("smollm2-135m", "runs/quickstart/hf"))

Models are checkpoint directories / registry names, or `Llama` objects already in memory (then pass
`tokenizer`). Both are sampled greedily on the same prompts and judged by the offline refusal judge, so the only
difference between the columns is the model. Each side is written as an ordinary evaluation run
(OUT_DIR/before, OUT_DIR/after: responses, judgements, metrics.json, report.md) and the comparison as
OUT_DIR/comparison.md, .json and plots, exactly what `refuseu report OUT_DIR/before OUT_DIR/after` writes.
"""

from __future__ import annotations

from pathlib import Path

from data_tools.schema import write_jsonl_atomic
from refuseu_jax.evaluate import report
from refuseu_jax.evaluate.run import (
    BUNDLED,
    JudgesSection,
    SamplingSection,
    _write_json,
    compute_metrics,
    generate_responses,
    judge_rows,
    load_model,
    split_rows,
)


def evaluate_model(name: str, model, tokenizer, rows: list[dict], sampling: SamplingSection, out_dir: Path,
                   mesh=None, description: str | None = None, data: str = BUNDLED) -> dict:
    responses = generate_responses(rows, model, tokenizer, mesh, sampling)
    status = judge_rows(responses, JudgesSection(), progress=False)
    metrics = {"run": name, "model": description or name, "data": data, "split": "test",
               **compute_metrics(responses, JudgesSection(), status, sampling.seed)}
    run_dir = out_dir / name
    run_dir.mkdir(parents=True, exist_ok=True)
    write_jsonl_atomic(run_dir / "judgements.jsonl", responses)
    _write_json(run_dir / "metrics.json", metrics)
    report.write_run_report(run_dir, metrics)
    return metrics


def before_after_table(before, after, tokenizer=None, data: str = BUNDLED, split: str = "test",
                       max_new_tokens: int = 48, batch_size: int = 16, out_dir: str | Path = "runs/quickstart/eval",
                       mesh=None) -> str:
    """Markdown table of the non-refusal rate per language (before, after, change in points); files in out_dir."""
    out_dir = Path(out_dir)
    rows = split_rows(data, split)
    sampling = SamplingSection(max_new_tokens=max_new_tokens, batch_size=batch_size)
    runs = []
    for name, model in (("before", before), ("after", after)):
        description = str(model) if isinstance(model, (str, Path)) else f"in-memory model ({name} training)"
        if isinstance(model, (str, Path)):
            model, model_tokenizer, model_mesh = load_model(str(model))
        else:
            if tokenizer is None:
                raise ValueError("before_after_table: pass `tokenizer` with in-memory models")
            model_tokenizer, model_mesh = tokenizer, mesh
        runs.append(evaluate_model(name, model, model_tokenizer, rows, sampling, out_dir, model_mesh, description,
                                   data))
    report.write_comparison(runs, out_dir)
    return (out_dir / "comparison.md").read_text(encoding="utf-8")
