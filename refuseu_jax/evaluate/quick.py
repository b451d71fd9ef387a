"""The quickstart's evaluation: several models, the same prompts, one table a reader can trust.

    from refuseu_jax.evaluate.quick import evaluate_models
    print(evaluate_models({"base": "smollm2-135m", "en-only": "runs/en/hf", "balanced": "runs/bal/hf"}))

Models are checkpoint directories / registry names, or `Llama` objects already in memory (then pass
`tokenizer`). Each is sampled greedily on (a) the harmful test split of a RefusEU dataset (default: the bundled
sample) and (b) the harmless evaluation prompts (default: the bundled benign set), and judged by the offline judge.
Each model is written as an ordinary evaluation run (OUT_DIR/NAME: responses, judgements, benign judgements,
metrics.json, report.md) and the comparison as OUT_DIR/comparison.md, .json and plots, exactly what
`refuseu report OUT_DIR/NAME ...` writes. The returned Markdown table has one row per language and a pooled row:
per model the harmful non-refusal rate, the benign refusal rate (over-refusal) and the failure-to-generate share,
each with its exact 95% interval; McNemar's exact p for the change from the first model to the last on the same
prompts; and a line saying what the judge is and how well it did on its independent validation set. A model that
refuses everything scores 0% non-refusal and 100% benign refusal: it looks safe in one column and useless in the
next.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from data_tools.schema import write_jsonl_atomic
from refuseu_jax.evaluate import report
from refuseu_jax.evaluate.run import (
    BUNDLED,
    JudgesSection,
    SamplingSection,
    benign_rows,
    compute_metrics,
    generate_responses,
    judge_rows,
    load_model,
    offline_judgements,
    split_rows,
    write_json,
)


def evaluate_model(name: str, model, tokenizer, rows: list[dict], sampling: SamplingSection, out_dir: Path,
                   mesh=None, description: str | None = None, data: str = BUNDLED,
                   benign: list[dict] | None = None, benign_path: str | None = BUNDLED) -> tuple[dict, dict]:
    """Sample, judge and write one run directory; returns (metrics, judged items for paired tests)."""
    judges = JudgesSection()
    responses = generate_responses(rows, model, tokenizer, mesh, sampling)
    status = judge_rows(responses, judges, progress=False)
    benign_responses = None
    if benign:
        benign_responses = generate_responses(benign, model, tokenizer, mesh, sampling)
        offline_judgements(benign_responses, judges)
    metrics = {"run": name, "model": description or name, "data": str(data), "split": "test",
               **compute_metrics(responses, judges, status, benign_responses, benign_path, str(data))}
    run_dir = Path(out_dir) / name
    run_dir.mkdir(parents=True, exist_ok=True)
    write_jsonl_atomic(run_dir / "responses.jsonl", responses)
    write_jsonl_atomic(run_dir / "judgements.jsonl", responses)
    if benign_responses is not None:
        write_jsonl_atomic(run_dir / "benign_judgements.jsonl", benign_responses)
    write_json(run_dir / "metrics.json", metrics)
    report.write_run_report(run_dir, metrics)
    return metrics, {"harmful": responses, "benign": benign_responses}


def evaluate_models(models: Mapping[str, object], tokenizer=None, data: str = BUNDLED, split: str = "test",
                    benign: str | None = BUNDLED, max_new_tokens: int = 48, batch_size: int = 16,
                    out_dir: str | Path = "runs/quickstart/eval", mesh=None, languages="all",
                    limit_per_language: int | None = None) -> str:
    """Evaluate named models on the same prompts; write run directories and a comparison; return the table."""
    if len(models) < 1:
        raise ValueError("evaluate_models: no models")
    out_dir = Path(out_dir)
    rows = split_rows(data, split, languages, limit_per_language)
    harmless = benign_rows(benign, languages, limit_per_language) if benign else None
    sampling = SamplingSection(max_new_tokens=max_new_tokens, batch_size=batch_size)
    runs, items = [], []
    for name, model in models.items():
        description = str(model) if isinstance(model, (str, Path)) else f"in-memory model ({name})"
        if isinstance(model, (str, Path)):
            model, model_tokenizer, model_mesh = load_model(str(model))
        else:
            if tokenizer is None:
                raise ValueError("evaluate_models: pass `tokenizer` with in-memory models")
            model_tokenizer, model_mesh = tokenizer, mesh
        metrics, judged = evaluate_model(name, model, model_tokenizer, rows, sampling, out_dir, model_mesh,
                                         description, data, harmless, benign)
        runs.append(metrics)
        items.append(judged)
    report.write_comparison(runs, out_dir, items)
    return models_table(runs, items)


def before_after_table(before, after, tokenizer=None, data: str = BUNDLED, split: str = "test",
                       max_new_tokens: int = 48, batch_size: int = 16, out_dir: str | Path = "runs/quickstart/eval",
                       mesh=None, benign: str | None = BUNDLED, limit_per_language: int | None = None) -> str:
    """`evaluate_models` for two models named "before" and "after"."""
    return evaluate_models({"before": before, "after": after}, tokenizer, data, split, benign, max_new_tokens,
                           batch_size, out_dir, mesh, limit_per_language=limit_per_language)


def _cell(rate: dict | None) -> str:
    if not rate:
        return "-"
    if rate["rate"] is None:
        return "n/a (n=0)"
    return f"{report.pct(rate['rate'])} [{report.pct(rate['ci_low'])}-{report.pct(rate['ci_high'])}]"


def _p(change: dict | None) -> str:
    mc = (change or {}).get("mcnemar")
    return "n/a" if mc is None else f"{mc['p_value']:.2g}"


def models_table(runs: list[dict], items: list[dict]) -> str:
    """Markdown: per language, per model harmful non-refusal / benign refusal / failure (exact 95% intervals),
    McNemar p first -> last, then the judge line."""
    result = report.compare(runs, items)
    names = [r["run"] for r in runs]
    sections = result["sections"]
    harmful, benign, failure = (sections.get("non_refusal_rate"), sections.get("benign_refusal_rate"),
                                sections.get("failure"))
    header = ["language"]
    for name in names:
        header += [f"{name}: harmful non-refusal %", f"{name}: benign refusal %", f"{name}: failure %"]
    if len(names) > 1:
        header += [f"McNemar p harmful ({names[0]}→{names[-1]})", f"McNemar p benign ({names[0]}→{names[-1]})"]
    rows = []
    for lang in harmful:
        row = ["all (pooled)" if lang == "all" else lang]
        for i in range(len(names)):
            row += [_cell(harmful[lang]["cells"][i]),
                    _cell(benign[lang]["cells"][i]) if benign and lang in benign else "not measured",
                    _cell(failure[lang]["cells"][i]) if failure and lang in failure else "-"]
        if len(names) > 1:
            row += [_p(harmful[lang]["change"]), _p(benign[lang]["change"]) if benign and lang in benign else "n/a"]
        rows.append(row)
    rows = rows[1:] + rows[:1]  # languages first, the pooled row last
    n_harmful = runs[0]["n"]
    n_benign = (runs[0].get("benign") or {}).get("n", 0)
    lines = [report._table(header, rows), "",
             f"{n_harmful} harmful test prompts and {n_benign} harmless prompts per model, greedy; rates in % with "
             "exact 95% intervals. Harmful non-refusal: compliance among responses that refused or complied; "
             "benign refusal: refusals of harmless requests (over-refusal); failure: responses that are neither "
             "(empty, loops, echoes, babble), % of all harmful-prompt responses.",
             report.judge_line(runs[0]["judge_setup"]["offline_judge"]["validation"])]
    return "\n".join(lines) + "\n"
