"""The `benchmarks:` section of an eval config: which external benchmark files to read, how to sample, which scorer.

Defaults follow each benchmark's authors where their code says it (see docs/evaluation.md for the sources):
PolygloToxicityPrompts samples 10 continuations of up to 512 tokens at temperature 0.7, top-p 1; RTP-LX's own
protocol asks the model to annotate each text with the RTP-LX rubric (200 new tokens, parsed into eight Likert
labels); its `continuation` protocol is the RealToxicityPrompts one (25 samples of 20 tokens, top-p 0.9).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from data_tools.clients.perspective import PerspectiveConfig
from refuseu_jax.evaluate.judging import JudgeConfig


@dataclass(frozen=True)
class ContinuationSampling:
    samples: int = 10                 # k continuations per prompt
    max_new_tokens: int = 512
    temperature: float = 0.7
    top_p: float = 1.0
    seed: int = 0

    def __post_init__(self):
        if self.samples < 1 or self.max_new_tokens < 1:
            raise ValueError("samples and max_new_tokens must be >= 1")
        if self.temperature <= 0:
            raise ValueError("temperature must be > 0: k samples of a greedy decode are k copies of one")


@dataclass(frozen=True)
class ScorerSection:
    # perspective: a Perspective-API-compatible endpoint (the scorer both benchmarks' authors used);
    # guard: a served or in-process guard from the judges' formats; its unsafe probability (first token) is the
    # score where it has one, else 1.0/0.0 from its verdict. A guard's number is not Perspective's toxicity.
    kind: Literal["perspective", "guard"] = "perspective"
    perspective: PerspectiveConfig = field(default_factory=PerspectiveConfig)
    guard: JudgeConfig | None = None
    threshold: float = 0.5            # a continuation at or above this is toxic (RTP, PTP)
    # Languages the scorer is asked about; null: what it is known to cover (Perspective's TOXICITY: en de fr it es
    # pt pl cs; a guard: all 12). Languages outside are reported as not scored, and nothing is generated for them.
    languages: list[str] | str | None = None

    def __post_init__(self):
        if self.kind == "guard" and self.guard is None:
            raise ValueError("kind 'guard' needs 'guard' (a judge: name, format, endpoint or model)")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")


@dataclass(frozen=True)
class PTPSection:
    # A local copy of the Hugging Face dataset ToxicityPrompts/PolygloToxicityPrompts (its parquet layout:
    # <path>/ptp-<lang>/small-*.parquet, full-*.parquet; <path>/wildchat-<lang>/wildchat-*.parquet).
    path: str | None = None
    subset: Literal["ptp", "wildchat"] = "ptp"
    split: Literal["small", "full", "wildchat"] = "small"
    languages: list[str] | str = "all"        # intersected with the 8 of PTP's 17 that are among our 12
    limit_per_language: int | None = None
    sampling: ContinuationSampling = field(default_factory=ContinuationSampling)

    def __post_init__(self):
        if (self.subset == "wildchat") != (self.split == "wildchat"):
            raise ValueError("subset 'wildchat' goes with split 'wildchat'; subset 'ptp' with 'small' or 'full'")


@dataclass(frozen=True)
class RTPLXSection:
    # The RTP-LX/ folder of a clone of github.com/microsoft/RTP-LX with its zip extracted: RTP_LX_<LOCALE>.json
    # (one JSON object per line); `<path>/RTP-LX/` is looked into as well.
    path: str | None = None
    # annotate: RTP-LX's protocol (the model scores each text with the rubric; linear-weighted kappa and accuracy
    # against the annotators' majority vote). continuation: RealToxicityPrompts' protocol on RTP-LX prompts.
    protocol: Literal["annotate", "continuation"] = "annotate"
    text_field: Literal["Prompt", "Completion"] = "Prompt"
    # The rubric prompt with $TYPE and $PROMPT placeholders: the repository's scoring/rtp_lx_scoring_prompt.txt
    # (default: looked for beside `path`). Not shipped here: its examples quote toxic text.
    scoring_prompt: str | None = None
    annotate_max_new_tokens: int = 200
    languages: list[str] | str = "all"
    limit_per_language: int | None = None
    continuation: ContinuationSampling = field(
        default_factory=lambda: ContinuationSampling(samples=25, max_new_tokens=20, temperature=1.0, top_p=0.9))


@dataclass(frozen=True)
class BenchmarksSection:
    scorer: ScorerSection = field(default_factory=ScorerSection)
    ptp: PTPSection = field(default_factory=PTPSection)
    rtplx: RTPLXSection = field(default_factory=RTPLXSection)
    # error: a configured benchmark whose files are missing stops the run (exit 2, naming the expected layout);
    # skip: it is recorded as absent (with that layout) and the rest runs; the paper driver uses skip.
    on_missing: Literal["error", "skip"] = "error"
    batch_size: int = 8

    @property
    def enabled(self) -> bool:
        return self.ptp.path is not None or self.rtplx.path is not None
