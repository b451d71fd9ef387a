"""The typed configuration of a `refuseu-data build` (YAML in configs/data/, every field settable with --set).

Defaults follow the paper where it says something (test = 100 per category per language, the guard filtering
rule, the training mixes); everything else is a knob with a comment saying why it exists. Endpoints carry the
NAME of the environment variable holding each key, never a key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from data_tools.clients.config import DeepLConfig, EndpointConfig
from data_tools.errors import UserError
from data_tools.judges import LLAMA_GUARD_MAX_NEW_TOKENS
from data_tools.taxonomy import (ATTACK_STYLE_NAMES, HIGH_RESOURCE, LANGUAGES, check_languages, get_style,
                                   get_taxonomy, mix_languages)

CHAT_ROLES = ("generator", "refuser", "complier", "llama_guard", "polyguard", "adjudicator")


@dataclass(frozen=True)
class Endpoints:
    """One endpoint per role. The paper generated with two models; `extra_generators` adds more beside
    `generator`, and a cell's samples are spread over all of them round-robin."""

    generator: EndpointConfig
    refuser: EndpointConfig
    complier: EndpointConfig
    llama_guard: EndpointConfig
    polyguard: EndpointConfig
    adjudicator: EndpointConfig
    translator: DeepLConfig = field(default_factory=DeepLConfig)
    extra_generators: list[EndpointConfig] = field(default_factory=list)
    # generate.method: rainbow only: the model under attack (the paper's ablated model) answers each candidate,
    # and the judge compares its answers pairwise (and says whether an elite's answer is unsafe).
    target: EndpointConfig | None = None
    judge: EndpointConfig | None = None

    @property
    def generators(self) -> list[EndpointConfig]:
        return [self.generator, *self.extra_generators]


@dataclass(frozen=True)
class RainbowConfig:
    """Rainbow Teaming (Samvelyan et al. 2024): an archive of (category, style) cells per language, improved by
    mutating archived prompts toward a target cell and keeping a candidate when the judge finds the target model's
    answer to it more harmful than the incumbent's. See data_tools/steps/rainbow.py."""

    iterations: int = 100             # rounds per language
    batch: int = 8                    # candidates per language per round, each aimed at a different cell
    archive_size: int = 1             # elites kept per (category, style) cell (the paper's archive keeps one)
    # A candidate whose character 5-grams overlap its parent's this much (Jaccard) is discarded: the Rainbow paper
    # filters mutations too close to their parent (it used BLEU) to keep the archive diverse.
    similarity_threshold: float = 0.6
    target_max_tokens: int = 256
    judge_max_tokens: int = 5
    template: str | None = None       # YAML with mutate/judge prompts; None = data_tools/prompts/rainbow.yaml

    def __post_init__(self):
        if self.iterations < 1 or self.batch < 1 or self.archive_size < 1:
            raise ValueError("iterations, batch and archive_size must be >= 1")
        if not 0.0 < self.similarity_threshold <= 1.0:
            raise ValueError("similarity_threshold must be in (0, 1]")


@dataclass(frozen=True)
class GenerateConfig:
    # one_shot: per_cell prompts per cell, each from one seed example; rainbow: the archive loop of RainbowConfig.
    method: Literal["one_shot", "rainbow"] = "one_shot"
    rainbow: RainbowConfig = field(default_factory=RainbowConfig)
    per_cell: int = 4                 # prompts kept per (language, category, style) cell
    max_rounds: int = 4               # rounds of top-up requests for cells that lost samples to dedup/lang check
    temperature: float = 1.0
    max_tokens: int = 256
    # Rejected as a prompt: longer than this (a generator that rambles has not followed the instruction).
    max_chars: int = 1500
    ngram: int = 5                    # character n-gram size for near-duplicate detection
    near_duplicate_threshold: float = 0.7   # Jaccard overlap at or above which two prompts are near-duplicates
    language_check: bool = True
    min_language_prob: float = 0.5
    template: str | None = None       # YAML with system/user templates; None = data_tools/prompts/generate.yaml
    seeds: str | None = None          # seed examples (JSONL/CSV); None = the build's imported seeds or the packaged ones

    def __post_init__(self):
        if self.per_cell < 1 or self.max_rounds < 1:
            raise ValueError("per_cell and max_rounds must be >= 1")
        if not 0.0 < self.near_duplicate_threshold <= 1.0:
            raise ValueError("near_duplicate_threshold must be in (0, 1]")


@dataclass(frozen=True)
class RespondConfig:
    max_tokens: int = 512
    temperature: float = 0.0
    template: str | None = None       # YAML with refuser/complier system messages; None = packaged respond.yaml
    # Answers are always checked for the prompt's language and counted in the report; with this set, a pair whose
    # refusal or compliance is in another language is dropped (an English refusal to a Latvian prompt teaches the
    # model to switch language, which the paper counts against language consistency).
    drop_wrong_language: bool = False


@dataclass(frozen=True)
class FilterConfig:
    # "paper": prompt unsafe by both guards, chosen safe by both, rejected unsafe by at least one.
    # "adjudicated": prompt as in "paper"; a response the guards disagree on goes to the adjudicator (the rule the
    # paper used for evaluation ASR), and chosen must then be safe, rejected unsafe, by that decision.
    rule: Literal["paper", "adjudicated"] = "paper"
    llama_guard_max_tokens: int = LLAMA_GUARD_MAX_NEW_TOKENS  # fits all 14 categories (data_tools/judges.py)
    polyguard_max_tokens: int = 100
    adjudicator_max_tokens: int = 5
    adjudicator_prompt: str | None = None   # YAML with system/user; None = data_tools/prompts/adjudicator.yaml


@dataclass(frozen=True)
class SplitConfig:
    test_per_category: int = 100      # test records per hazard category per language (paper: 100)

    def __post_init__(self):
        if self.test_per_category < 0:
            raise ValueError("test_per_category must be >= 0")


@dataclass(frozen=True)
class MixConfig:
    # Empty: the paper's mixes that the built languages allow (balanced, high_resource, en_only, no_en, and
    # single:<lang> per language). Otherwise the names given, each of which must find training records.
    names: list[str] = field(default_factory=list)
    # The paper's high-resource mix; a config value so a study can move a language across the line.
    high_resource: list[str] = field(default_factory=lambda: list(HIGH_RESOURCE))
    # Multi-language mixes are cut to the size of their smallest language so no language dominates.
    balance: bool = True


@dataclass(frozen=True)
class AuditConfig:
    per_language: int = 100


@dataclass(frozen=True)
class EstimateConfig:
    """Assumptions of `--dry-run` where the real number is only known after the calls."""

    avg_prompt_chars: int = 250
    avg_response_tokens: int = 300
    chars_per_token: float = 4.0


@dataclass(frozen=True)
class BuildConfig:
    endpoints: Endpoints
    # native: translate the generation material, then generate in each language (the paper);
    # parallel: generate in English, then translate the prompts (the same questions in every language).
    mode: Literal["native", "parallel"] = "native"
    langs: list[str] = field(default_factory=lambda: list(LANGUAGES))
    taxonomy: str = "llama_guard3"
    categories: list[str] = field(default_factory=list)   # empty: every category of the taxonomy
    styles: list[str] = field(default_factory=list)       # empty: every attack style
    seed: int = 0
    cache: str | None = None          # SQLite call cache; None = <build dir>/cache.sqlite
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    respond: RespondConfig = field(default_factory=RespondConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    mix: MixConfig = field(default_factory=MixConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    estimate: EstimateConfig = field(default_factory=EstimateConfig)

    def __post_init__(self):
        # Validated here so that a bad value is reported against its config key before anything runs.
        check_languages(self.langs, where="key 'langs'")
        taxonomy = get_taxonomy(self.taxonomy)
        for category in self.categories:
            taxonomy.get(category)
        for style in self.styles:
            get_style(style)
        check_languages(self.mix.high_resource, where="key 'mix.high_resource'")
        if self.generate.method == "rainbow":
            for role in ("target", "judge"):
                if getattr(self.endpoints, role) is None:
                    raise UserError(f"key 'endpoints.{role}': generate.method 'rainbow' needs a {role} endpoint")
        built = set(self.languages)
        for name in self.mix.names:
            if not set(mix_languages(name, tuple(self.mix.high_resource))) & built:
                raise UserError(f"key 'mix.names': mix {name!r} draws on languages this build does not make "
                                f"(langs: {', '.join(sorted(built))})")

    @property
    def languages(self) -> tuple[str, ...]:
        return check_languages(self.langs, where="key 'langs'")

    @property
    def category_ids(self) -> tuple[str, ...]:
        return tuple(self.categories) or get_taxonomy(self.taxonomy).ids

    @property
    def style_names(self) -> tuple[str, ...]:
        return tuple(self.styles) or ATTACK_STYLE_NAMES
