"""`refuseu abliterate`: find a model's refusal direction, ablate it from the weights, export, and measure per
language what that did (Arditi et al. 2024, adapted to 12 languages).

Steps, in order:
 1. the model's greedy answers to the harmful and harmless training/validation prompts, read by the offline judge:
    the refusal tokens come from them, and (with `filter_prompts`, as in the paper) only harmful prompts it
    refuses and harmless prompts it answers are kept;
 2. per-language running means of every layer's input at the post-instruction positions, harmful and harmless;
    candidate directions = the mean over languages of each language's harmful mean - harmless mean (or the pooled
    means, `balance_languages: false`), per position and layer;
 3. selection (select.py) on the validation prompts;
 4. the chosen direction orthogonalised out of the embedding, every o_proj and down_proj; the checkpoint written
    to `out` (Hugging Face format, tokenizer copied);
 5. per language: the direction from that language's prompts alone and the cosine similarities between them;
    refusal rates on the held-out harmful test split and on held-out benign prompts for the input model, the
    ablated model (and `baseline` when given), and the next-token KL on the benign prompts;
 6. the report in `out/abliteration/`: abliteration.json, report.md, plots, direction.npy.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from data_tools.errors import UserError
from data_tools.taxonomy import check_languages
from refuseu_jax.abliterate.prompts import BUNDLED
from refuseu_jax.abliterate.select import SelectionSpec
from refuseu_jax.parallel import MeshConfig

REPORT_DIR = "abliteration"


@dataclass(frozen=True)
class AbliterateConfig:
    model: str | None = None  # HF checkpoint directory or registry name (required)
    out: str | None = None  # where the ablated checkpoint is written (required); the report goes to out/abliteration
    harmful: str = BUNDLED  # RefusEU records (train split: directions and validation; test split: evaluation)
    harmless: str = BUNDLED  # benign records or benign prompts (bundled: the benign pairs' prompts)
    benign_eval: str = BUNDLED  # held-out harmless prompts for the final measurement (bundled: benign_eval.jsonl)
    baseline: str | None = None  # another checkpoint measured beside them (e.g. the model before refusal training)
    languages: list[str] | str = "all"
    dtype: Literal["float32", "bfloat16"] = "float32"
    n_train: int | None = 32  # per language, harmful and harmless, before filtering (None: all)
    n_val: int = 4  # per language, harmful and harmless
    positions: int | None = None  # read the last N post-instruction tokens (None: all of them)
    filter_prompts: bool = True
    # candidates = mean over languages of each language's harmful - harmless difference (false: pooled means; see
    # activations.difference_of_means for why pooled means mislead when the two sets' language mixes differ)
    balance_languages: bool = True
    untie_embeddings: bool = True  # tied models: keep the original matrix as output head (see ablation.py)
    batch_size: int = 16
    length_bucket: int = 32  # prompt lengths are padded to a multiple of this (fewer compiled shapes)
    select_new_tokens: int = 32  # answer length for the refusal tokens, the filter and the judged selection
    eval_new_tokens: int = 48  # answer length for the final per-language measurement
    evaluate: bool = True
    selection: SelectionSpec = field(default_factory=SelectionSpec)
    mesh: MeshConfig = field(default_factory=MeshConfig)
    seed: int = 0

    def __post_init__(self):
        if self.model is None or self.out is None:
            raise UserError("abliterate: --model and --out are required (keys 'model', 'out')")
        check_languages(self.languages, "config key 'languages'")
        for key in ("n_val", "batch_size", "length_bucket", "select_new_tokens", "eval_new_tokens"):
            if getattr(self, key) < 1:
                raise UserError(f"config: key '{key}' must be >= 1, got {getattr(self, key)}")
        for key in ("n_train", "positions"):
            if getattr(self, key) is not None and getattr(self, key) < 1:
                raise UserError(f"config: key '{key}' must be >= 1 or null, got {getattr(self, key)}")


def _log(message: str) -> None:
    print(message, flush=True)


def run(cfg: AbliterateConfig, log=_log) -> dict:
    """The whole job; returns the report dictionary (also written to out/abliteration/abliteration.json)."""
    import jax

    from refuseu_jax.abliterate import activations as A
    from refuseu_jax.abliterate import evaluate as E
    from refuseu_jax.abliterate import prompts as PR
    from refuseu_jax.abliterate.ablation import cosine_matrix, orthogonalise, unit
    from refuseu_jax.abliterate.select import Scorer, refusal_tokens_from_answers, select_direction
    from refuseu_jax.checkpoints.hf import resolve_model_dir, save_hf
    from refuseu_jax.evaluate.judge_validation import validation_summary
    from refuseu_jax.evaluate.run import load_model
    from refuseu_jax.models.llama import model_from_params
    from refuseu_jax.batching import pad_id_of

    t0 = time.time()
    say = log
    log = lambda message: say(f"{message}  [{time.time() - t0:.0f} s]")  # noqa: E731
    langs = list(check_languages(cfg.languages, "config key 'languages'"))
    out = Path(cfg.out)
    report_dir = out / REPORT_DIR
    _clear_failed_run(out)

    # -- data ----------------------------------------------------------------------------------------------------
    harmful = PR.read_harmful(cfg.harmful, langs)
    harmful_train, harmful_val = PR.split_train_val([p for p in harmful if p.split == "train"], cfg.n_val,
                                                    cfg.n_train, cfg.seed)
    harmless_train, harmless_val = PR.split_train_val(PR.read_harmless(cfg.harmless, langs), cfg.n_val, cfg.n_train,
                                                      cfg.seed)
    for name, items in (("harmful train", harmful_train), ("harmful validation", harmful_val),
                        ("harmless train", harmless_train), ("harmless validation", harmless_val)):
        if not items:
            raise UserError(f"abliterate: no {name} prompts for languages {', '.join(langs)} "
                            f"(harmful: {cfg.harmful}, harmless: {cfg.harmless})")

    # -- model ---------------------------------------------------------------------------------------------------
    model_dir = resolve_model_dir(cfg.model)
    model, tokenizer, mesh = load_model(str(model_dir), cfg.dtype, cfg.mesh)
    from flax import nnx

    params = nnx.state(model, nnx.Param).to_pure_dict()
    model_cfg = model.cfg
    suffix = PR.post_instruction_tokens(tokenizer)
    tail = min(cfg.positions or len(suffix), len(suffix))
    tokens = [tokenizer.decode([t]) for t in suffix[len(suffix) - tail:]]
    batcher = A.Batcher(mesh, cfg.batch_size, pad_id_of(tokenizer), cfg.length_bucket)
    devices = f"{len(jax.devices())} {jax.devices()[0].platform} device(s), mesh {dict(mesh.shape)}"
    log(f"[1/6] {model_dir}: {model_cfg.num_layers} layers, hidden {model_cfg.hidden_size}; {devices}; reading "
        f"{tail} post-instruction position(s) {tokens}")

    # -- 1. the model's own answers: refusal tokens and the filter -----------------------------------------------
    fit = harmful_train + harmful_val + harmless_train + harmless_val
    first_ids, texts = E.generate(model, tokenizer, fit, mesh, cfg.select_new_tokens, cfg.batch_size,
                                  cfg.length_bucket)
    verdicts = E.judge(texts, fit)
    n_h = len(harmful_train) + len(harmful_val)
    answers = {"fit": [{"id": p.id, "lang": p.lang, "set": "harmful" if i < n_h else "harmless", "prompt": p.text,
                        "response": t, "refusal": v} for i, (p, t, v) in enumerate(zip(fit, texts, verdicts))],
               "judged_candidates": []}
    refusal_info = refusal_tokens_from_answers([ids[0] if ids else -1 for ids in first_ids], verdicts)
    refusal_tokens = list(refusal_info)
    harmful_verdicts, harmless_verdicts = verdicts[:n_h], verdicts[n_h:]
    base_rates = {"harmful": E.by_language(harmful_train + harmful_val, harmful_verdicts, E.rate),
                  "harmless": E.by_language(harmless_train + harmless_val, harmless_verdicts, E.rate)}
    log(f"[2/6] the model's answers: refuses {_pct(base_rates['harmful']['all']['rate'])} of "
        f"{n_h} harmful and {_pct(base_rates['harmless']['all']['rate'])} of {len(harmless_verdicts)} harmless "
        f"training/validation prompts; refusal tokens "
        f"{[tokenizer.decode([t]) for t in refusal_tokens]}")
    if not refusal_tokens:
        raise UserError(f"{model_dir}: the model refused none of the {n_h} harmful prompts (offline judge), so it "
                        "has no refusal to ablate")
    verdict_of = {id(p): v for p, v in zip(fit, verdicts)}
    if cfg.filter_prompts:
        keep = lambda items, want: [p for p in items if verdict_of[id(p)] is want]  # noqa: E731
        harmful_train, harmful_val = keep(harmful_train, True), keep(harmful_val, True)
        harmless_train, harmless_val = keep(harmless_train, False), keep(harmless_val, False)
        for name, items in (("harmful train", harmful_train), ("harmful validation", harmful_val),
                            ("harmless train", harmless_train), ("harmless validation", harmless_val)):
            if not items:
                raise UserError(f"abliterate: no {name} prompt is left after filtering (harmful: refused, harmless: "
                                "answered); set filter_prompts=false or give more prompts (n_train, n_val)")

    # -- 2. means and candidates ---------------------------------------------------------------------------------
    group = {lang: i for i, lang in enumerate(langs)}

    def means(items):
        ids = PR.encode_all(tokenizer, items, suffix)
        return A.collect_means(model, ids, [group[p.lang] for p in items], len(langs), tail, batcher)

    harmful_means, harmless_means = means(harmful_train), means(harmless_train)
    candidates, from_groups = A.difference_of_means(harmful_means, harmless_means, cfg.balance_languages)
    direction_langs = [langs[g] for g in from_groups]
    if not direction_langs:
        raise UserError("abliterate: no language has both harmful prompts the model refuses and harmless prompts "
                        f"it answers ({_counts(harmful_train)} harmful, {_counts(harmless_train)} harmless); give "
                        "more prompts (n_train), set filter_prompts=false, or balance_languages=false")
    # Where every prompt has the same activation (layer 0 at a template token: its embedding) the difference is
    # float noise, and its normalised "direction" is random: such candidates are left empty (not scored).
    scale = np.linalg.norm(harmless_means.pooled(), axis=-1, keepdims=True)
    candidates = np.where(np.linalg.norm(candidates, axis=-1, keepdims=True) <= 1e-4 * scale, 0.0, candidates)
    log(f"[3/6] means over {len(harmful_train)} harmful and {len(harmless_train)} harmless prompts; "
        f"{tail * model_cfg.num_layers} candidate directions, "
        + (f"the mean of the per-language differences of {', '.join(direction_langs)}" if cfg.balance_languages
           else "pooled over all languages"))

    # -- 3. selection --------------------------------------------------------------------------------------------
    val_h, val_b = PR.encode_all(tokenizer, harmful_val, suffix), PR.encode_all(tokenizer, harmless_val, suffix)
    base_harmful = A.last_logprobs(model, val_h, batcher)
    base_harmless = A.last_logprobs(model, val_b, batcher)

    def ablated_model(direction):
        edited, edited_cfg = orthogonalise(params, model_cfg, direction, untie=cfg.untie_embeddings)
        return model_from_params(edited_cfg, edited)

    def ablated_logprobs(direction):
        m = ablated_model(direction)
        both = A.last_logprobs(m, val_h + val_b, batcher)
        return both[:len(val_h)], both[len(val_h):]

    def judge(direction, cand):
        _, replies = E.generate(ablated_model(direction), tokenizer, harmful_val, mesh, cfg.select_new_tokens,
                                cfg.batch_size, cfg.length_bucket)
        verdicts = E.judge(replies, harmful_val)
        answers["judged_candidates"] += [{"position": cand.position, "layer": cand.layer, "id": p.id, "lang": p.lang,
                                          "prompt": p.text, "response": t, "refusal": v}
                                         for p, t, v in zip(harmful_val, replies, verdicts)]
        counts = E.rate(verdicts)
        return counts["refusals"], counts["failures"], counts["n"]

    scorer = Scorer(ablated_logprobs, lambda vec, layer: A.last_logprobs(model, val_b, batcher, vec, layer),
                    judge)
    scored, chosen = select_direction(candidates, tokens, refusal_tokens, base_harmless, scorer, cfg.selection,
                                      progress=log)
    from refuseu_jax.abliterate.select import refusal_scores

    result = {
        "config": dataclasses.asdict(cfg),
        "model": str(model_dir), "num_layers": model_cfg.num_layers, "hidden_size": model_cfg.hidden_size,
        "devices": devices, "post_instruction_tokens": tokens,
        "refusal_tokens": [{"id": t, "text": tokenizer.decode([t]), **refusal_info[t]} for t in refusal_tokens],
        "prompts": {name: _counts(items) for name, items in (
            ("harmful_train", harmful_train), ("harmful_val", harmful_val), ("harmless_train", harmless_train),
            ("harmless_val", harmless_val))},
        "judge": validation_summary(),
        "model_answers_before_filter": base_rates,
        "baseline_scores": {"harmful_refusal_score": float(np.mean(refusal_scores(base_harmful, refusal_tokens))),
                            "harmless_refusal_score": float(np.mean(refusal_scores(base_harmless, refusal_tokens)))},
        "direction_languages": direction_langs,
        "candidates": [c.to_dict() for c in scored],
        "selected": None if chosen is None else chosen.to_dict(),
    }
    if chosen is None:
        _write(report_dir, result, answers=answers)
        raise UserError(f"abliterate: every candidate direction was discarded (layer, KL <= "
                        f"{cfg.selection.kl_bound}, induce > {cfg.selection.induce_threshold}); the scores of all "
                        f"{len(scored)} are in {report_dir}/report.md (keys selection.kl_bound, "
                        f"selection.induce_threshold, selection.prune_layers)")
    pos = tail + chosen.position
    direction = candidates[pos, chosen.layer]
    log(f"[4/6] chosen: position {chosen.position} ({chosen.token!r}), layer {chosen.layer}: bypass "
        f"{chosen.bypass:.3f} (baseline {result['baseline_scores']['harmful_refusal_score']:.3f}), kl "
        f"{chosen.kl:.4f}, induce {chosen.induce:.3f}, judged refusal on validation "
        f"{_pct(chosen.judged_refusal)} (unreadable {_pct(chosen.judged_failure)})")

    # -- 4. export -----------------------------------------------------------------------------------------------
    edited, edited_cfg = orthogonalise(params, model_cfg, direction, untie=cfg.untie_embeddings)
    save_hf(edited, edited_cfg, out, tokenizer_src=model_dir)
    ablated = model_from_params(edited_cfg, edited)
    log(f"[5/6] wrote the ablated checkpoint to {out}")

    # -- 5. per language -----------------------------------------------------------------------------------------
    per_lang_dirs = harmful_means.means()[:, pos] - harmless_means.means()[:, pos]  # [G, L, H]
    at_layer = per_lang_dirs[:, chosen.layer]
    result["languages"] = {
        "langs": langs,
        "cosine": _nan_to_none(cosine_matrix(at_layer)),
        "cosine_with_chosen": _nan_to_none(cosine_matrix(np.vstack([direction[None], at_layer]))[0, 1:]),
        "mean_cross_language_cosine_by_layer": _nan_to_none(np.array(
            [_mean_offdiag(cosine_matrix(per_lang_dirs[:, layer])) for layer in range(model_cfg.num_layers)])),
    }
    if cfg.evaluate:
        result["evaluation"] = _evaluate(cfg, model, ablated, tokenizer, mesh, langs, suffix, batcher, report_dir,
                                         log)
    result["seconds"] = round(time.time() - t0, 1)
    _write(report_dir, result, unit(direction), answers)
    log(f"[6/6] report: {report_dir}/report.md ({result['seconds']:.0f} s)")
    return result


def _evaluate(cfg, model, ablated, tokenizer, mesh, langs, suffix, batcher, report_dir, log) -> dict:
    """The project's per-language table (`evaluate_models`: harmful test split and benign prompts, judged, exact
    intervals, McNemar) for the baseline, the input and the ablated model; and the benign next-token KL of the
    ablated model against the input model, per language, against the bound."""
    from refuseu_jax.abliterate import activations as A
    from refuseu_jax.abliterate import evaluate as E
    from refuseu_jax.abliterate import prompts as PR
    from refuseu_jax.evaluate.quick import evaluate_models

    models = {"baseline": cfg.baseline} if cfg.baseline is not None else {}
    models |= {"input": model, "ablated": ablated}
    out_dir = report_dir / "evaluation"
    table = evaluate_models(models, tokenizer=tokenizer, data=cfg.harmful, benign=cfg.benign_eval,
                            max_new_tokens=cfg.eval_new_tokens, batch_size=cfg.batch_size, out_dir=out_dir,
                            mesh=mesh, languages=langs)
    out = {"models": {"baseline": cfg.baseline, "input": cfg.model, "ablated": cfg.out}, "table": table,
           "runs": {name: str(out_dir / name) for name in models}, "harmful_non_refusal": {}, "benign_refusal": {}}
    for name in models:
        metrics = json.loads((out_dir / name / "metrics.json").read_text(encoding="utf-8"))
        out["harmful_non_refusal"][name] = {"all": metrics["non_refusal_rate"]["overall"],
                                            **metrics["non_refusal_rate"]["lang"]}
        if metrics.get("benign"):
            out["benign_refusal"][name] = {"all": metrics["benign"]["refusal_rate"]["overall"],
                                           **metrics["benign"]["refusal_rate"]["lang"]}
    log("      per language (offline judge):\n" + table)
    benign = PR.read_benign_eval(cfg.benign_eval, langs)
    ids = PR.encode_all(tokenizer, benign, suffix)
    kl = E.kl_by_language(benign, A.last_logprobs(model, ids, batcher), A.last_logprobs(ablated, ids, batcher))
    out |= {"benign_kl": kl, "kl_bound": cfg.selection.kl_bound,
            "kl_within_bound": bool(kl["all"]["kl"] <= cfg.selection.kl_bound)}
    return out


def _counts(items) -> dict:
    counts: dict[str, int] = {}
    for p in items:
        counts[p.lang] = counts.get(p.lang, 0) + 1
    return {"all": len(items), **counts}


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _nan_to_none(array: np.ndarray):
    return [_nan_to_none(a) for a in array] if np.ndim(array) else (None if np.isnan(array) else float(array))


def _mean_offdiag(matrix: np.ndarray) -> float:
    n = matrix.shape[0]
    values = matrix[~np.eye(n, dtype=bool)]
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else float("nan")


def _clear_failed_run(out: Path) -> None:
    """A previous run that chose no direction left only its report in `out`; it is ours to replace. Anything
    else in a directory without config.json is not, and the export refuses it (write_dir_atomically)."""
    if out.is_dir() and not (out / "config.json").exists() and [p.name for p in out.iterdir()] == [REPORT_DIR]:
        shutil.rmtree(out)


def _write(report_dir: Path, result: dict, direction: np.ndarray | None = None, answers: dict | None = None) -> None:
    """Everything lands in the report directory only now, after the export: save_hf replaces `out` as a whole."""
    from data_tools.schema import write_jsonl_atomic
    from refuseu_jax.abliterate import report

    report.write(report_dir, result, direction)
    for name, rows in (answers or {}).items():
        write_jsonl_atomic(report_dir / "answers" / f"{name}.jsonl", rows)
