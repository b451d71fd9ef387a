"""Run the configured external benchmarks for one model: sample, score or parse, and compute their metrics.

`run_benchmarks` is what `refuseu eval` calls when its config has a `benchmarks:` section with a path set. The
model is reached through `generate(conversations, SamplingConfig) -> texts`, so the same code drives the
in-process sampler in `refuseu eval` and a scripted generator in tests. Per-item outputs go to
<run>/benchmarks/<name>.jsonl, the metrics into metrics.json under "benchmarks".
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from data_tools.errors import UserError
from data_tools.schema import write_jsonl_atomic
from refuseu_jax.evaluate.benchmarks import FilesMissing, metrics, ptp, rtplx

Generate = Callable[[list, object], list]


def _sampling(cfg, batch_size: int):
    from refuseu_jax.sample import SamplingConfig

    return SamplingConfig(max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature, top_p=cfg.top_p,
                          seed=cfg.seed, batch_size=batch_size)


def sample_continuations(texts: list[str], generate: Generate, cfg, batch_size: int) -> list[list[str]]:
    """`cfg.samples` continuations per text. Each text is repeated k times in one call, so every copy draws its own
    noise from the sampler (rows of a batch are sampled independently; batches get different keys)."""
    k = cfg.samples
    conversations = [[{"role": "user", "content": text}] for text in texts for _ in range(k)]
    outputs = generate(conversations, _sampling(cfg, batch_size))
    return [list(outputs[i * k:(i + 1) * k]) for i in range(len(texts))]


def _score_rows(rows: list[dict], scorer, desc: str) -> None:
    items = [(row["prompt"], text, row["lang"]) for row in rows for text in row["continuations"]]
    scores = scorer.score(items, desc=desc)
    at = 0
    for row in rows:
        n = len(row["continuations"])
        row["toxicity"] = scores[at:at + n]
        at += n


def _absent(on_missing: str, err: FilesMissing, layout: str) -> dict:
    """Files not there: stop (exit 2, the message names the layout) or record the benchmark as absent. Files that
    are there but malformed always stop the run."""
    if on_missing == "error":
        raise err
    return {"status": "absent", "reason": str(err), "expected_layout": layout}


def run_ptp(section, generate: Generate, scorer, out_dir: Path, on_missing: str, batch_size: int) -> dict:
    cfg = section
    layout = ptp.expected_layout(cfg.path, cfg.subset, cfg.split)
    wanted = [lang for lang in ptp.shared_languages(cfg.languages) if lang in scorer.languages]
    not_scored = [lang for lang in ptp.shared_languages(cfg.languages) if lang not in scorer.languages]
    if not wanted:
        return {"status": "skipped", "reason": "the scorer covers none of the configured PTP languages",
                "not_scored_languages": not_scored}
    try:
        rows, absent = ptp.load(cfg.path, cfg.subset, cfg.split, wanted, cfg.limit_per_language)
    except FilesMissing as err:
        return _absent(on_missing, err, layout)
    continuations = sample_continuations([r["prompt"] for r in rows], generate, cfg.sampling, batch_size)
    for row, texts in zip(rows, continuations):
        row["continuations"] = texts
    _score_rows(rows, scorer, "PolygloToxicityPrompts")
    write_jsonl_atomic(out_dir / "ptp.jsonl", rows)
    return {"status": "done", "protocol": "continuation (PolygloToxicityPrompts)", "subset": cfg.subset,
            "split": cfg.split, "sampling": vars(cfg.sampling).copy(), "absent_languages": absent,
            "not_scored_languages": not_scored,
            "metrics": metrics.continuation_metrics(rows, scorer.threshold)}


def run_rtplx(section, generate: Generate, scorer_factory, out_dir: Path, on_missing: str, batch_size: int) -> dict:
    cfg = section
    layout = rtplx.expected_layout(cfg.path)
    annotate = cfg.protocol == "annotate"
    scorer = None if annotate else scorer_factory()
    languages = cfg.languages
    not_scored: list[str] = []
    if scorer is not None:
        from data_tools.taxonomy import check_languages

        every = check_languages(cfg.languages, where="key 'benchmarks.rtplx.languages'")
        languages = [lang for lang in every if lang in scorer.languages]
        not_scored = [lang for lang in every if lang not in scorer.languages]
        if not languages:
            return {"status": "skipped", "reason": "the scorer covers none of the configured RTP-LX languages",
                    "not_scored_languages": not_scored}
    try:
        rows, absent = rtplx.load(cfg.path, cfg.text_field, languages, cfg.limit_per_language, need_labels=annotate)
        rubric = rtplx.load_rubric(rtplx.rubric_path(cfg)) if annotate else None
    except FilesMissing as err:
        return _absent(on_missing, err, layout)
    result = {"status": "done", "field": cfg.text_field, "absent_languages": absent, "not_scored_languages": not_scored}
    if annotate:
        from refuseu_jax.sample import SamplingConfig

        prompts = [rtplx.render(rubric, row["text"], cfg.text_field) for row in rows]
        answers = generate([[{"role": "user", "content": p}] for p in prompts],
                           SamplingConfig(max_new_tokens=cfg.annotate_max_new_tokens, batch_size=batch_size))
        for row, prompt, answer in zip(rows, prompts, answers):
            row["answer"] = answer
            row["model"] = rtplx.parse_annotation(answer, prompt)
        write_jsonl_atomic(out_dir / "rtplx.jsonl", rows)
        result.update(protocol="annotate (RTP-LX authors': rubric labels vs annotators' vote)",
                      rubric=str(rtplx.rubric_path(cfg)), max_new_tokens=cfg.annotate_max_new_tokens,
                      metrics=metrics.annotation_metrics(rows))
        return result
    for row in rows:
        row["prompt"] = row.pop("text")
    continuations = sample_continuations([r["prompt"] for r in rows], generate, cfg.continuation, batch_size)
    for row, texts in zip(rows, continuations):
        row["continuations"] = texts
    _score_rows(rows, scorer, "RTP-LX")
    write_jsonl_atomic(out_dir / "rtplx.jsonl", rows)
    result.update(protocol="continuation (RealToxicityPrompts' protocol on RTP-LX prompts)",
                  sampling=vars(cfg.continuation).copy(),
                  metrics=metrics.continuation_metrics(rows, scorer.threshold))
    return result


def run_benchmarks(section, generate: Generate, out_dir: Path, cache=None, mesh=None, progress: bool = True) -> dict:
    """Every configured benchmark; -> {"scorer": ..., "ptp": ..., "rtplx": ...} for metrics.json."""
    from refuseu_jax.evaluate.benchmarks.scorers import build_scorer

    out_dir = Path(out_dir) / "benchmarks"
    out_dir.mkdir(parents=True, exist_ok=True)
    made: list = []

    def scorer():
        if not made:
            made.append(build_scorer(section.scorer, cache=cache, mesh=mesh, progress=progress))
            made[0].threshold = section.scorer.threshold
        return made[0]

    result: dict = {}
    if section.ptp.path is not None:
        result["ptp"] = run_ptp(section.ptp, generate, scorer(), out_dir, section.on_missing, section.batch_size)
    else:
        result["ptp"] = {"status": "not_configured"}
    if section.rtplx.path is not None:
        result["rtplx"] = run_rtplx(section.rtplx, generate, scorer, out_dir, section.on_missing, section.batch_size)
    else:
        result["rtplx"] = {"status": "not_configured"}
    result["scorer"] = made[0].describe() | {"threshold": section.scorer.threshold, "stats": made[0].stats()} \
        if made else None
    return result


def sampler_generate(model, tokenizer, mesh=None, unstack_layers: bool | None = None) -> Generate:
    """`generate` over our KV-cache sampler, with the model's own chat template (as both benchmarks' authors used
    for instruction-tuned models)."""
    from refuseu_jax.sample import Sampler

    sampler = Sampler(model, tokenizer, mesh=mesh, unstack_layers=unstack_layers)
    return lambda conversations, config: sampler.generate(conversations, config)


def run_for_eval(cfg, loaded, out_dir: Path, cache=None, progress: bool = True) -> tuple[dict, tuple]:
    """The `refuseu eval` hook: loads the model if the run has not yet (`loaded` = (model, tokenizer, mesh))."""
    from refuseu_jax.evaluate.run import load_model

    model, tokenizer, mesh = loaded
    if model is None:
        if cfg.model is None:
            raise UserError("config: the external benchmarks need 'model' (a checkpoint) to sample from")
        model, tokenizer, mesh = load_model(cfg.model, cfg.dtype, cfg.mesh)
    generate = sampler_generate(model, tokenizer, mesh, cfg.sampling.unstack_layers)
    result = run_benchmarks(cfg.benchmarks, generate, out_dir, cache=cache, mesh=mesh, progress=progress)
    return result, (model, tokenizer, mesh)


def append_to_report(run_dir: Path, result: dict) -> None:
    """Add the benchmarks' section to the run's report.md (written before by the evaluation's own report)."""
    from refuseu_jax.evaluate.benchmarks.report import markdown

    path = Path(run_dir) / "report.md"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    from data_tools.atomic import write_text_atomic

    write_text_atomic(path, text.rstrip("\n") + "\n\n" + markdown(result))
