"""`refuseu eval`'s configuration (configs/eval/*.yaml): what to sample, which judges, which side measurements."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from data_tools.clients.config import EndpointConfig
from data_tools.errors import UserError
from data_tools.judges import check_rule, rule_needs_adjudicator
from refuseu_jax.evaluate.benchmarks.config import BenchmarksSection
from refuseu_jax.evaluate.judging import JudgeConfig
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
    guards: list[JudgeConfig] = field(default_factory=list)  # none: offline judge only
    adjudicator: JudgeConfig | None = None
    rule: str = "paper"  # paper | majority | any_unsafe | single:<name>
    # The adjudicator judges every response, not only the disputed ones: its agreement with each guard is then
    # measured on all items (the paper's Figure 2). The rule still uses it only where it would anyway.
    adjudicate_all: bool = False
    refusal_grammar: str | None = None  # the offline judge's refusal grammar YAML; default: packaged
    # A response in another language than the prompt's: "keep" reads it as refusal/compliance like any other and
    # reports the wrong-language share beside (default; see docs/evaluation.md); "failure" counts it as a failure.
    wrong_language: Literal["keep", "failure"] = "keep"
    undecided_warning: float = 0.05  # warn when more than this share of a language's responses is undecided

    def __post_init__(self):
        if not 0.0 <= self.undecided_warning <= 1.0:
            raise ValueError(f"undecided_warning must be a share in [0, 1], got {self.undecided_warning}")
        if not self.guards:
            return
        if rule_needs_adjudicator(self.rule) and self.adjudicator is None:
            raise ValueError(f"rule '{self.rule}' needs an adjudicator for the items the guards disagree on, and "
                             "judges.adjudicator is not set (set it, or choose rule majority, any_unsafe or "
                             "single:NAME)")
        if self.adjudicate_all and self.adjudicator is None:
            raise ValueError("adjudicate_all needs judges.adjudicator")
        try:
            check_rule(self.rule, [g.name for g in self.guards])
        except UserError as err:
            raise ValueError(str(err)) from None


@dataclass(frozen=True)
class BenignSection:
    """Harmless prompts in the same languages, answered by the same model: a refusal there is over-refusal."""

    path: str | None = BUNDLED  # benign prompts JSONL (data_tools.benign); "bundled" = the 12-language set; null: skip
    limit_per_language: int | None = None
    responses: str | None = None  # with top-level `responses`: a responses.jsonl for these prompts


@dataclass(frozen=True)
class MMLUSection:
    path: str | None = None  # Global MMLU parquet / directory / dataset dir; None: skip
    languages: list[str] | str = "all"  # any of Global-MMLU's 42 languages; "all": every one found at `path`
    limit_per_language: int | None = None
    batch_size: int = 8
    add_bos: bool = False

    def __post_init__(self):
        from refuseu_jax.evaluate.mmlu import check_mmlu_languages

        try:
            check_mmlu_languages(self.languages)
        except UserError as err:
            raise ValueError(str(err).replace("key 'mmlu.languages': ", "")) from None


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
    benign: BenignSection = BenignSection()
    mmlu: MMLUSection = MMLUSection()
    fluency: FluencySection = FluencySection()
    benchmarks: BenchmarksSection = BenchmarksSection()  # external toxicity benchmarks (PTP, RTP-LX), off by default

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name
