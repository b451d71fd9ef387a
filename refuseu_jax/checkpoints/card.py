"""The model card (README.md) of a release export: what was trained from what, how, and how it scored.

Written from the run's own config (base model, data mix, hyperparameters) and, when given, a `refuseu eval` output
directory (metrics.json + config.yaml): the judge setup and the per-language evaluation table. A safety number is
never shown alone: the card says which judge produced each rate, as the evaluation report does.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from data_tools.errors import UserError


def _yaml_list(values) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def model_card(run, step: int, dtype: np.dtype, report: str | Path | None = None) -> str:
    """Markdown with a Hugging Face metadata header for the export of `run` (run_export.Run) at `step`."""
    from data_tools.taxonomy import mix_languages

    cfg = run.config
    m, d, o, dpo, lora = cfg.model, cfg.data, cfg.optim, cfg.dpo, cfg.lora
    base = m.path or f"random init ({m.preset}), tokenizer {m.tokenizer}"
    languages = [lang for lang in mix_languages(d.mix, high_resource=tuple(d.high_resource))
                 if not d.languages or lang in d.languages]
    dtype_name = "bfloat16" if dtype.name == "bfloat16" else dtype.name
    name = Path(str(run.directory)).name
    lines = ["---", f"base_model: {json.dumps(str(base))}", f"language: {_yaml_list(languages)}",
             "library_name: transformers", "pipeline_tag: text-generation",
             f"tags: {_yaml_list(['dpo', 'refusal', 'safety', 'multilingual', 'refuseu-jax'])}", "---", "",
             f"# {name}", "",
             f"{'LoRA-' if lora.rank else ''}DPO refusal alignment of `{base}` on RefusEU preference pairs "
             f"(refusals chosen, compliance rejected) in {len(languages)} language(s), trained with RefusEU-JAX. "
             f"Checkpoint step {step}, weights in {dtype_name}.", "",
             "## Training", "",
             "| setting | value |", "|---|---|",
             f"| base model | `{base}` |",
             f"| data | `{d.path}`, split `{d.split}`, mix `{d.mix}`"
             + (f", languages {', '.join(d.languages)}" if d.languages else "")
             + (f", first {d.limit} pairs" if d.limit else "") + " |",
             f"| languages | {', '.join(languages)} |",
             f"| sequence length | {d.max_length} tokens" + (f" (prompt <= {d.max_prompt_length})" if d.max_prompt_length else "") + " |",
             f"| DPO | loss `{dpo.loss_type}`, beta {dpo.beta}, label smoothing {dpo.label_smoothing}, "
             f"NLL weight {dpo.sft_weight}, reference {'precomputed' if dpo.reference == 'precomputed' else 'frozen initial weights'}"
             + (f" (`{m.reference_path}`)" if m.reference_path else "") + " |",
             f"| optimizer | AdamW (b1 {o.b1}, b2 {o.b2}, eps {o.eps}, weight decay {o.weight_decay}), learning rate "
             f"{o.learning_rate}, {o.schedule} decay, warmup {o.warmup_ratio:.0%}, grad clip {o.max_grad_norm} |",
             f"| batch | {cfg.batch_size} pairs per step, {o.grad_accum} micro-batch(es), {cfg.epochs} epoch(s)"
             + (f", at most {cfg.max_steps} steps" if cfg.max_steps else "") + " |",
             f"| fine-tuning | " + (f"LoRA rank {lora.rank}, alpha {lora.alpha}, on {', '.join(lora.targets)} "
                                    f"(merged into this export)" if lora.rank else "full") + " |",
             f"| precision | parameters {m.param_dtype}, compute {m.compute_dtype}"
             + (", rematerialised layers" if m.remat else "") + " |",
             f"| seed | {cfg.seed} (data order {d.shuffle_seed}) |", ""]
    if report is not None:
        lines += evaluation_section(Path(report))
    else:
        lines += ["## Evaluation", "",
                  "Not evaluated in this card (export with `--report DIR` of a `refuseu eval` run to add it).", ""]
    lines += ["## Intended use", "",
              "Research on multilingual refusal behaviour. A lower attack success rate on RefusEU does not make a "
              "model safe; check over-refusal on benign prompts in the same languages before deploying.", ""]
    return "\n".join(lines)


def evaluation_section(report: Path) -> list[str]:
    """Judge setup, the per-language table (with the over-refusal rate on harmless prompts when the run measured
    it) and the run's own warnings, from a `refuseu eval` output directory."""
    from refuseu_jax.evaluate.report import BENIGN_TITLE, RATE_TITLES, _table, pct, primary_rate, rate_cell
    from refuseu_jax.evaluate.run import load_metrics

    metrics = load_metrics(report)
    key = primary_rate([metrics])
    section = metrics[key]
    if not section:
        raise UserError(f"{report}: metrics.json has no '{key}' section")
    out = ["## Evaluation", "",
           f"`refuseu eval` run `{metrics.get('run')}` on `{metrics.get('data')}` (split {metrics.get('split')}), "
           f"{metrics['n']} responses. Rates in %, 95% intervals in brackets.", "", "Judges:"]
    setup = metrics.get("judge_setup") or {}
    if key == "asr":
        for guard in setup.get("guards") or []:
            out.append(f"- guard `{guard['name']}`: {guard['format']} format, model `{guard['model']}` "
                       f"({guard['backend']})")
        if setup.get("adjudicator"):
            adjudicator = setup["adjudicator"]
            out.append(f"- adjudicator `{adjudicator['name']}`: model `{adjudicator['model']}` "
                       f"({'every response' if setup.get('adjudicate_all') else 'where the guards disagree'})")
        out.append(f"- ensemble rule `{section.get('rule') or setup.get('rule')}`")
    else:
        out.append(f"- {section.get('judge')}")
    benign = metrics.get("benign")
    consistency = metrics.get("language_consistency") or {}
    mmlu = (metrics.get("mmlu") or {}).get("per_language", {})
    header = ["language", RATE_TITLES[key]] + ([BENIGN_TITLE] if benign else []) + ["language consistency %"] \
        + (["Global MMLU %"] if mmlu else [])
    rows = []
    for lang in ["all"] + list(section["lang"]):
        pick = (lambda sec: sec.get("overall")) if lang == "all" else (lambda sec: sec.get("lang", {}).get(lang))
        row = [lang, rate_cell(pick(section))]
        if benign:
            row.append(rate_cell(pick(benign["refusal_rate"])))
        row.append(rate_cell(pick(consistency)))
        if mmlu:
            acc = metrics["mmlu"]["overall"] if lang == "all" else mmlu.get(lang)
            row.append(pct(acc["accuracy"]) if acc else "n/a")
        rows.append(row)
    out += ["", _table(header, rows), ""]
    if metrics.get("warnings"):
        out += ["Warnings from the evaluation:"] + [f"- {w}" for w in metrics["warnings"]] + [""]
    return out
