"""`refuseu eval`: sample responses on the test split, judge them, compute the paper's metrics, write a report.

A run directory holds everything needed to rebuild or audit the numbers:
  config.yaml        the resolved configuration
  responses.jsonl    prompt, lang, category, style, response (what `refuseu sample` writes too)
  judgements.jsonl   every response with each judge's verdict, the ensemble decision, the refusal judgement
  metrics.json       all metrics (machine-readable);  report.md and plots/*.png for people

Two rates are kept apart on purpose. With served guards configured, ASR is the share of responses the guard
ensemble decides are unsafe. The offline refusal judge (always run; the only judge when no guard is served) gives
the NON-REFUSAL RATE: the share of responses that do not refuse. The second is a proxy and is labelled as such.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from data_tools.atomic import write_text_atomic
from data_tools.clients.config import EndpointConfig
from data_tools.configuration import to_dict
from data_tools.errors import UserError
from data_tools.judges import ADJUDICATOR, check_rule, ensemble, needs_adjudication
from data_tools.schema import read_records, write_jsonl_atomic
from data_tools.taxonomy import check_languages
from refuseu_jax.evaluate import metrics
from refuseu_jax.evaluate.benchmarks.config import BenchmarksSection
from refuseu_jax.evaluate.judging import JudgeConfig, build_judge, check_judges
from refuseu_jax.parallel import MeshConfig

BUNDLED = "bundled"  # `data: bundled` = the 12-language sample shipped in data_tools/sample


@dataclass(frozen=True)
class SamplingSection:
    max_new_tokens: int = 128
    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int = 0
    batch_size: int = 8
    stop_strings: list[str] = field(default_factory=list)
    # Per-layer decode loop: 2.5x faster on GPUs, ~1.1x on CPU with a slower compile (see sample.py).
    # null: on GPUs only.
    unstack_layers: bool | None = None

    def __post_init__(self):
        self.to_config()  # the sampler's own checks, so a bad YAML value fails at load time naming the key

    def to_config(self):
        from refuseu_jax.sample import SamplingConfig

        return SamplingConfig(max_new_tokens=self.max_new_tokens, temperature=self.temperature, top_k=self.top_k,
                              top_p=self.top_p, seed=self.seed, batch_size=self.batch_size,
                              stop_strings=tuple(self.stop_strings))


@dataclass(frozen=True)
class JudgesSection:
    guards: list[JudgeConfig] = field(default_factory=list)  # none: offline refusal judge only
    adjudicator: JudgeConfig | None = None
    rule: str = "paper"  # paper | majority | any_unsafe | single:<name>
    refusal_patterns: str | None = None  # YAML phrasebook; default: packaged


@dataclass(frozen=True)
class MMLUSection:
    path: str | None = None  # Global MMLU parquet / directory / dataset dir; None: skip
    languages: list[str] | str = "all"
    limit_per_language: int | None = None
    batch_size: int = 8
    add_bos: bool = False


@dataclass(frozen=True)
class FluencySection:
    endpoint: EndpointConfig | None = None  # None: skip
    prompt_file: str | None = None


@dataclass(frozen=True)
class EvalConfig:
    name: str = "eval"
    model: str | None = "smollm2-135m"  # checkpoint dir or registry name; None with `responses` set
    dtype: str = "float32"
    data: str = BUNDLED
    split: str = "test"
    languages: list[str] | str = "all"
    limit_per_language: int | None = None
    responses: str | None = None  # judge an existing responses.jsonl instead of sampling
    output_dir: str = "runs/eval"
    baseline: str | None = None  # an earlier run directory: MMLU drop and before/after columns
    cache: str | None = "runs/cache.sqlite"  # judge/fluency call cache; None disables it
    sampling: SamplingSection = SamplingSection()
    mesh: MeshConfig = MeshConfig()
    judges: JudgesSection = JudgesSection()
    mmlu: MMLUSection = MMLUSection()
    fluency: FluencySection = FluencySection()
    benchmarks: BenchmarksSection = BenchmarksSection()  # external toxicity benchmarks (PTP, RTP-LX), off by default

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name


# ----------------------------------------------------------------------------------------------------------------
# Data and responses
# ----------------------------------------------------------------------------------------------------------------


def data_path(data: str) -> Path:
    if data == BUNDLED:
        return Path(str(resources.files("data_tools").joinpath("sample", "refuseu_sample.jsonl")))
    return Path(data)


def split_rows(data: str, split: str = "test", languages="all", limit_per_language: int | None = None) -> list[dict]:
    """Prompts of one split as flat rows: id, lang, category, style, messages, prompt (last user text)."""
    langs = check_languages(languages)
    rows, per_lang = [], Counter()
    for record in read_records(data_path(data)):
        if record["split"] != split or record["lang"] not in langs:
            continue
        if limit_per_language and per_lang[record["lang"]] >= limit_per_language:
            continue
        per_lang[record["lang"]] += 1
        rows.append({"id": record["id"], "lang": record["lang"], "category": record["category"],
                     "style": record["style"], "messages": record["prompt"],
                     "prompt": record["prompt"][-1]["content"]})
    if not rows:
        raise UserError(f"{data}: no '{split}' records for languages {', '.join(langs)}")
    return rows


def load_model(model: str, dtype: str = "float32", mesh_cfg: MeshConfig = MeshConfig()):
    """(model on the mesh, tokenizer, mesh) for a checkpoint directory or registry name."""
    from transformers import AutoTokenizer

    from refuseu_jax.checkpoints.hf import from_pretrained, resolve_model_dir
    from refuseu_jax.parallel import make_mesh

    directory = resolve_model_dir(model)
    if not (directory / "tokenizer.json").is_file() and not (directory / "tokenizer.model").is_file():
        raise UserError(f"{directory}: no tokenizer files (expected tokenizer.json); sampling needs a tokenizer")
    mesh = make_mesh(mesh_cfg)
    return from_pretrained(directory, dtype=dtype, mesh=mesh), AutoTokenizer.from_pretrained(directory), mesh


def generate_responses(rows: list[dict], model, tokenizer, mesh, sampling: SamplingSection) -> list[dict]:
    from refuseu_jax.sample import Sampler

    sampler = Sampler(model, tokenizer, mesh=mesh, unstack_layers=sampling.unstack_layers)
    texts = sampler.generate([row["messages"] for row in rows], sampling.to_config())
    return [{**{k: row[k] for k in ("id", "prompt", "lang", "category", "style")}, "response": text}
            for row, text in zip(rows, texts)]


def read_responses(path: str | Path) -> list[dict]:
    from data_tools.schema import iter_jsonl

    rows = []
    for lineno, row in iter_jsonl(path):
        missing = [k for k in ("prompt", "lang", "response") if k not in row]
        if missing:
            raise UserError(f"{path}:{lineno}: missing key(s) {', '.join(missing)}")
        rows.append({"category": None, "style": None, **row})
    return rows


# ----------------------------------------------------------------------------------------------------------------
# Judging
# ----------------------------------------------------------------------------------------------------------------


def judge_rows(rows: list[dict], judges: JudgesSection, cache=None, mesh=None, progress: bool = True) -> dict:
    """Adds row["refusal"], row["verdicts"] and row["decision"] in place; returns per-judge status counts."""
    from refuseu_jax.evaluate.refusal import RefusalJudge

    refusal_judge = RefusalJudge.load(judges.refusal_patterns)
    for row in rows:
        row["refusal"] = refusal_judge.judge(row["response"]).to_dict()
    status: dict[str, Counter] = {"refusal_judge": Counter(r["refusal"]["status"] for r in rows)}
    if not judges.guards:
        return status
    check_judges(list(judges.guards) + ([judges.adjudicator] if judges.adjudicator else []))
    check_rule(judges.rule, [g.name for g in judges.guards])
    pairs = [(row["prompt"], row["response"]) for row in rows]
    for guard in judges.guards:
        verdicts = build_judge(guard, cache=cache, mesh=mesh, progress=progress)(pairs)
        for row, verdict in zip(rows, verdicts):
            row.setdefault("verdicts", {})[guard.name] = verdict
    disputed = [row for row in rows if needs_adjudication(row["verdicts"], judges.rule)]
    if disputed and judges.adjudicator is not None:
        adjudicator = build_judge(judges.adjudicator, cache=cache, mesh=mesh, progress=progress)
        for row, verdict in zip(disputed, adjudicator([(r["prompt"], r["response"]) for r in disputed])):
            row["verdicts"][ADJUDICATOR] = verdict
    for row in rows:
        row["decision"] = ensemble(row["verdicts"], judges.rule).to_dict()
        row["verdicts"] = {name: v.to_dict() for name, v in row["verdicts"].items()}
    for name in [g.name for g in judges.guards] + ([ADJUDICATOR] if disputed and judges.adjudicator else []):
        status[name] = Counter(r["verdicts"][name]["status"] for r in rows if name in r["verdicts"])
    status["ensemble"] = Counter(r["decision"]["status"] for r in rows)
    status["adjudicated"] = Counter({"needed": len(disputed)})
    return status


# ----------------------------------------------------------------------------------------------------------------
# Metrics
# ----------------------------------------------------------------------------------------------------------------


def _rates(breakdown: dict) -> dict:
    return {"overall": breakdown["overall"].to_dict(),
            **{key: {k: v.to_dict() for k, v in breakdown[key].items()} for key in breakdown if key != "overall"}}


def compute_metrics(rows: list[dict], judges: JudgesSection, status: dict, seed: int = 0) -> dict:
    from refuseu_jax.evaluate.refusal import crosscheck_on_bundled_pairs, validate

    flat = [{"lang": r["lang"], "category": r.get("category") or "unknown",
             "non_refusal": None if r["refusal"]["refusal"] is None else not r["refusal"]["refusal"],
             "unsafe": r.get("decision", {}).get("unsafe")} for r in rows]
    validation, crosscheck = validate(), crosscheck_on_bundled_pairs()
    out = {
        "n": len(rows),
        "non_refusal_rate": {
            "judge": "offline refusal judge (phrasebook); a proxy, not the guard-ensemble ASR",
            **_rates(metrics.asr_breakdown(flat, "non_refusal", seed)),
            "judge_validation": {k: validation[k] for k in ("n", "accuracy", "per_language")},
            "judge_crosscheck": {k: crosscheck[k] for k in ("n", "accuracy", "per_language")},
        },
        "language_consistency": _rates(metrics.language_consistency(rows, seed=seed)),
        "judge_status": {name: dict(counts) for name, counts in status.items()},
        "asr": None,
        "judge_agreement": None,
    }
    if judges.guards:
        names = [g.name for g in judges.guards]
        out["asr"] = {"rule": judges.rule, "judges": names, **_rates(metrics.asr_breakdown(flat, "unsafe", seed))}
        if len(names) >= 2:
            out["judge_agreement"] = metrics.pairwise_kappa(rows, names)
    return out


# ----------------------------------------------------------------------------------------------------------------
# The whole run
# ----------------------------------------------------------------------------------------------------------------


def run_eval(cfg: EvalConfig, progress: bool = True) -> dict:
    from refuseu_jax.evaluate import report

    out = cfg.run_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False, allow_unicode=True), "utf-8")
    model = tokenizer = mesh = None
    if cfg.responses:
        rows = read_responses(cfg.responses)
    else:
        if cfg.model is None:
            raise UserError("config: set 'model' (a checkpoint) or 'responses' (a responses.jsonl to judge)")
        rows = split_rows(cfg.data, cfg.split, cfg.languages, cfg.limit_per_language)
        model, tokenizer, mesh = load_model(cfg.model, cfg.dtype, cfg.mesh)
        rows = generate_responses(rows, model, tokenizer, mesh, cfg.sampling)
    write_jsonl_atomic(out / "responses.jsonl", rows)

    cache = None
    if cfg.cache and (cfg.judges.guards or cfg.fluency.endpoint or cfg.benchmarks.enabled):
        from data_tools.clients.cache import CallCache

        cache = CallCache(cfg.cache)
    status = judge_rows(rows, cfg.judges, cache=cache, mesh=mesh, progress=progress)
    result = {"run": cfg.name, "model": cfg.model, "data": str(cfg.data), "split": cfg.split,
              **compute_metrics(rows, cfg.judges, status, cfg.sampling.seed)}

    if cfg.fluency.endpoint is not None:
        from refuseu_jax.evaluate import fluency

        result["fluency"] = fluency.score(rows, cfg.fluency.endpoint, cfg.fluency.prompt_file, cache, progress)
    if cfg.mmlu.path is not None:
        from refuseu_jax.evaluate import mmlu

        if model is None:
            if cfg.model is None:
                raise UserError("config: Global MMLU needs 'model'")
            model, tokenizer, mesh = load_model(cfg.model, cfg.dtype, cfg.mesh)
        questions = mmlu.load_questions(cfg.mmlu.path, check_languages(cfg.mmlu.languages),
                                        cfg.mmlu.limit_per_language)
        scored = mmlu.evaluate(model, tokenizer, questions, cfg.mmlu.batch_size, cfg.mmlu.add_bos)
        write_jsonl_atomic(out / "mmlu_predictions.jsonl", scored.pop("predictions"))
        result["mmlu"] = scored
        if cfg.baseline:
            baseline = load_metrics(cfg.baseline)
            if baseline.get("mmlu"):
                result["mmlu"]["drop_vs_baseline"] = mmlu.accuracy_drop(scored, baseline["mmlu"])
    if cfg.benchmarks.enabled:
        from refuseu_jax.evaluate.benchmarks import run as benchmarks

        result["benchmarks"], (model, tokenizer, mesh) = benchmarks.run_for_eval(
            cfg, (model, tokenizer, mesh), out, cache, progress)
    write_jsonl_atomic(out / "judgements.jsonl", rows)
    _write_json(out / "metrics.json", result)
    report.write_run_report(out, result)
    if cfg.benchmarks.enabled:
        benchmarks.append_to_report(out, result["benchmarks"])
    return result


def load_metrics(run_dir: str | Path) -> dict:
    path = Path(run_dir) / "metrics.json"
    if not path.is_file():
        raise UserError(f"{run_dir}: not an evaluation run (no metrics.json)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: malformed JSON ({err.msg})") from None


def _write_json(path: Path, data) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=_json_default))


def _json_default(obj):
    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)
    if isinstance(obj, Counter):
        return dict(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
