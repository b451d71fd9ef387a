"""Judge backends: guards and the adjudicator, served behind an OpenAI-compatible endpoint or run in-process.

Every backend turns (prompt, response) pairs into `data_tools.judges.Verdict`s, one per pair and in order. Formats
(prompt rendering, parsing) come from `data_tools.judges`, so the data toolkit's `filter` step and evaluation
judge identically. A call that fails after the client's retries (timeout, 429, 5xx) becomes a "failed" verdict
that the ensemble counts as missing, never as a safe or unsafe answer.

- OpenAI-compatible (vLLM serving Llama Guard 3 / PolyGuard, or an OpenAI chat model as adjudicator), through
  `data_tools.clients.llm.ChatClient` with its cache, concurrency limits and retries.
- In-process JAX for Llama-architecture guards (Llama Guard 3 is a Llama-3.1-8B): our sampler decodes the verdict
  greedily on the mesh, and the unsafe score is the probability of the first token, from the same model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

from data_tools.clients.config import EndpointConfig
from data_tools.errors import UserError
from data_tools.judges import (
    LLAMA_GUARD_MAX_NEW_TOKENS,
    POLYGUARD_MAX_NEW_TOKENS,
    Verdict,
    failed,
    llama_guard_messages,
    load_judge_prompt,
    parse_llama_guard,
    parse_polyguard,
    parse_safe_unsafe,
    polyguard_messages,
    render_llama_guard,
)

Format = Literal["llama_guard", "polyguard", "adjudicator"]
Pair = tuple[str, "str | None"]  # (prompt, response); response None = judge the prompt alone

# Llama Guard: enough for every category at once (see LLAMA_GUARD_MAX_NEW_TOKENS); the adjudicator answers one word.
DEFAULT_MAX_TOKENS = {"llama_guard": LLAMA_GUARD_MAX_NEW_TOKENS, "polyguard": POLYGUARD_MAX_NEW_TOKENS,
                      "adjudicator": 5}


@dataclass(frozen=True)
class JudgeConfig:
    """One judge. backend "openai" needs `endpoint`; backend "jax" needs `model` (checkpoint dir or registry name)
    and supports the llama_guard format only."""

    name: str
    format: Format
    backend: Literal["openai", "jax"] = "openai"
    endpoint: EndpointConfig | None = None
    model: str | None = None
    prompt_file: str | None = None  # adjudicator prompt (YAML with system/user); default: packaged
    max_tokens: int | None = None
    logprobs: bool = True  # ask a served Llama Guard for first-token log-probs (the unsafe score)
    batch_size: int = 8  # jax backend

    def __post_init__(self):
        if self.backend == "openai" and self.endpoint is None:
            raise ValueError(f"judge '{self.name}': backend 'openai' needs an endpoint")
        if self.backend == "jax" and (self.model is None or self.format != "llama_guard"):
            raise ValueError(f"judge '{self.name}': backend 'jax' needs 'model' and format 'llama_guard'")


def build_judge(cfg: JudgeConfig, cache=None, mesh=None, progress: bool = True):
    if cfg.backend == "jax":
        return JaxLlamaGuard.load(cfg, mesh=mesh)
    return OpenAIJudge(cfg, cache=cache, progress=progress)


# ----------------------------------------------------------------------------------------------------------------
# OpenAI-compatible endpoints
# ----------------------------------------------------------------------------------------------------------------


class OpenAIJudge:
    def __init__(self, cfg: JudgeConfig, cache=None, progress: bool = True):
        from data_tools.clients.llm import ChatClient

        self.cfg = cfg
        self.client = ChatClient(cfg.name, cfg.endpoint, cache=cache, progress=progress)
        self.prompt = load_judge_prompt(cfg.prompt_file) if cfg.format == "adjudicator" else None

    def requests(self, pairs: Sequence[Pair]):
        from data_tools.clients.llm import ChatRequest

        max_tokens = self.cfg.max_tokens or DEFAULT_MAX_TOKENS[self.cfg.format]
        out = []
        for prompt, response in pairs:
            if self.cfg.format == "llama_guard":
                top = 5 if self.cfg.logprobs else None
                out.append(ChatRequest(llama_guard_messages(prompt, response), max_tokens=max_tokens,
                                       temperature=0.0, top_logprobs=top))
            elif self.cfg.format == "polyguard":
                out.append(ChatRequest(polyguard_messages(prompt, response), max_tokens=max_tokens, temperature=0.0))
            else:
                if response is None:
                    raise ValueError("the adjudicator judges responses; got a prompt-only item")
                out.append(ChatRequest(self.prompt.messages(prompt, response), max_tokens=max_tokens,
                                       temperature=0.0))
        return out

    def __call__(self, pairs: Sequence[Pair]) -> list[Verdict]:
        results = self.client.run(self.requests(pairs), desc=f"judge {self.cfg.name}")
        verdicts = []
        for (prompt, response), result in zip(pairs, results):
            if not result.ok:
                verdicts.append(failed(f"{result.kind}: {result.message}"))
            elif self.cfg.format == "llama_guard":
                verdicts.append(parse_llama_guard(result.text, result.top_logprobs))
            elif self.cfg.format == "polyguard":
                parsed = parse_polyguard(result.text)
                verdicts.append(parsed.request_verdict() if response is None else parsed.response_verdict())
            else:
                verdicts.append(parse_safe_unsafe(result.text))
        return verdicts


# ----------------------------------------------------------------------------------------------------------------
# In-process Llama Guard
# ----------------------------------------------------------------------------------------------------------------


class JaxLlamaGuard:
    """A Llama-architecture guard run with our sampler: greedy verdict text plus the first-token unsafe score."""

    def __init__(self, model, tokenizer, cfg: JudgeConfig, mesh=None):
        from refuseu_jax.sample import Sampler

        self.cfg = cfg
        self.tokenizer = tokenizer
        self.sampler = Sampler(model, tokenizer, mesh=mesh)
        safe = tokenizer.encode("safe", add_special_tokens=False)
        unsafe = tokenizer.encode("unsafe", add_special_tokens=False)
        # The score needs "unsafe" and "safe" to start with different tokens (true for Llama 3's vocabulary).
        self.unsafe_token = unsafe[0] if safe[:1] != unsafe[:1] else None

    @classmethod
    def load(cls, cfg: JudgeConfig, mesh=None) -> "JaxLlamaGuard":
        from transformers import AutoTokenizer

        from refuseu_jax.checkpoints.hf import from_pretrained, resolve_model_dir

        directory = resolve_model_dir(cfg.model)
        return cls(from_pretrained(directory, mesh=mesh), AutoTokenizer.from_pretrained(directory), cfg, mesh)

    def render(self, prompt: str, response: str | None) -> str:
        """The guard's own chat template when it renders the guard prompt, else the verbatim reference format."""
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(llama_guard_messages(prompt, response), tokenize=False,
                                                      add_generation_prompt=True)
            if "<BEGIN UNSAFE CONTENT CATEGORIES>" in text:
                return text
        return render_llama_guard(prompt, response)

    def __call__(self, pairs: Sequence[Pair]) -> list[Verdict]:
        from refuseu_jax.sample import SamplingConfig

        encoded = [self.tokenizer.encode(self.render(p, r), add_special_tokens=False) for p, r in pairs]
        config = SamplingConfig(max_new_tokens=self.cfg.max_tokens or DEFAULT_MAX_TOKENS["llama_guard"],
                                batch_size=self.cfg.batch_size)
        outputs = self.sampler.generate_ids(encoded, config)
        scores = [None] * len(pairs)
        if self.unsafe_token is not None:
            import numpy as np

            first = self.sampler.next_token_logprobs(encoded, batch_size=self.cfg.batch_size)
            scores = [float(np.exp(row[self.unsafe_token])) for row in first]
        verdicts = []
        for ids, score in zip(outputs, scores):
            verdict = parse_llama_guard(self.tokenizer.decode(ids, skip_special_tokens=True))
            verdicts.append(Verdict(verdict.unsafe, verdict.categories, None, score, verdict.status, verdict.raw))
        return verdicts


def check_judges(judges: Sequence[JudgeConfig]) -> None:
    names = [j.name for j in judges]
    if len(set(names)) != len(names):
        raise UserError(f"judge names must be unique, got {names}")
