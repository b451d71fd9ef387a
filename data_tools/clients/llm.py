"""Chat completions against any OpenAI-compatible endpoint, through the real `openai` client.

One `ChatClient` per role (generator, refuser, complier, llama_guard, polyguard, adjudicator, judge ...):

    client = ChatClient("generator", endpoint_cfg, cache=CallCache("build/cache.sqlite"))
    results = client.run([ChatRequest(messages=[{"role": "user", "content": "..."}]), ...], desc="generate")
    # -> list of ChatResult | CallFailure, in input order; client.stats / client.summary() afterwards

What this layer decides, so callers do not have to:
- Cache first: a request whose (endpoint, model, body) is in the cache is answered from it with no network call;
  identical requests in one run are sent once; every answer from the network is committed as soon as it arrives.
- Concurrency: at most `max_concurrency` requests in flight per client (a semaphore shared by every `arun` on the
  same event loop), and `requests_per_minute` spacing between request starts.
- Retries: 429, 5xx, 408/409, timeouts and dropped connections are retried up to `max_retries` times with
  exponential backoff and jitter, honouring Retry-After; a 429 also pauses the client's other workers for that
  long. The openai client's own retries are off, so this is the only retry policy.
- Failures a rerun may fix become `CallFailure` results (the run goes on): retries exhausted, other 4xx, bodies
  that are not JSON or not a chat completion ("bad_response", not retried: a broken proxy rarely heals in seconds).
- Failures no rerun fixes stop the run at once: 401/403 (and 402, out of credit) raise `EndpointAuthError`, a
  `UserError`, naming the role, URL and the key's environment variable.
- The key is read from the environment only when a network call is needed (a fully cached rerun needs none), and
  is scrubbed from every message this module produces (and, by config.read_key, from every log record).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Sequence

import openai
from tqdm.auto import tqdm

from data_tools.clients.cache import CallCache, canonical_json
from data_tools.clients.config import EndpointConfig, read_key, redact
from data_tools.errors import UserError

log = logging.getLogger(__name__)

FAILURE_KINDS = ("timeout", "rate_limit", "server_error", "connection", "bad_request", "bad_response")


@dataclass(frozen=True)
class ChatRequest:
    messages: Sequence[dict]
    max_tokens: int | None = None
    temperature: float | None = 0.0
    logprobs: bool = False
    top_logprobs: int | None = None  # alternatives per token; implies logprobs
    extra: dict = field(default_factory=dict)  # more body fields (seed, top_p, stop, ...), sent and cache-keyed
    # Distinguishes otherwise identical requests (the k-th sample of one prompt at temperature > 0) in the cache.
    # It is part of the cache key only and never sent.
    cache_tag: str | None = None

    def body(self, cfg: EndpointConfig) -> dict:
        """The JSON body sent to the server (the endpoint's `params`, then this request's fields)."""
        body: dict[str, Any] = {**cfg.params, **self.extra, "model": cfg.model,
                                "messages": [dict(m) for m in self.messages]}
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.logprobs or self.top_logprobs is not None:
            body["logprobs"] = True
        if self.top_logprobs is not None:
            body["top_logprobs"] = self.top_logprobs
        return body

    def key_body(self, body: dict) -> dict:
        return body if self.cache_tag is None else {**body, "_cache_tag": self.cache_tag}


@dataclass
class ChatResult:
    text: str
    top_logprobs: list[tuple[str, float]] | None  # first generated token's alternatives, best first
    usage: dict
    cached: bool
    finish_reason: str | None = None

    @property
    def ok(self) -> bool:
        return True


@dataclass
class CallFailure:
    kind: str  # one of FAILURE_KINDS
    message: str  # never holds the key
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return False


class EndpointAuthError(UserError):
    """401/402/403 from an endpoint: no retry can fix it, so the whole run stops."""


@dataclass
class ClientStats:
    calls: int = 0  # requests answered by the network
    cache_hits: int = 0
    requests_sent: int = 0  # HTTP attempts, retries included
    retries: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class _BadResponse(Exception):
    pass


def parse_completion(data: Any) -> tuple[str, list[tuple[str, float]] | None, dict, str | None]:
    """(text, first-token top_logprobs, usage, finish_reason) from a chat.completion JSON; _BadResponse if it is not
    one."""
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"]:
        raise _BadResponse("response has no 'choices'")
    choice = data["choices"][0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("content"), str):
        raise _BadResponse("response choice has no message content")
    top = None
    logprobs = choice.get("logprobs")
    if isinstance(logprobs, dict) and logprobs.get("content"):
        first = logprobs["content"][0]
        try:
            top = [(str(t["token"]), float(t["logprob"])) for t in first.get("top_logprobs") or []]
        except (KeyError, TypeError, ValueError):
            raise _BadResponse("malformed logprobs in response") from None
        if not top and "token" in first:  # top_logprobs=0: the chosen token is all there is
            top = [(str(first["token"]), float(first.get("logprob", 0.0)))]
        top.sort(key=lambda pair: -pair[1])
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    return message["content"], top, usage, choice.get("finish_reason")


def first_token_probability(result: ChatResult, token: str) -> float | None:
    """exp(logprob) of `token` (compared stripped, case-insensitive) among the first token's alternatives; 0.0 when
    alternatives were returned without it; None when the server returned no logprobs."""
    if result.top_logprobs is None:
        return None
    for candidate, logprob in result.top_logprobs:
        if candidate.strip().lower() == token.strip().lower():
            return math.exp(logprob)
    return 0.0


class _Pacer:
    """Spaces request starts by 60/rpm seconds, and holds everyone back after a 429 (server-imposed pause).

    Lock-free: asyncio runs one coroutine at a time, and the slot is claimed without an await in between."""

    def __init__(self, requests_per_minute: float | None):
        self.interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self.next_slot = 0.0
        self.paused_until = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(now, self.next_slot, self.paused_until)
        self.next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)


class ChatClient:
    def __init__(self, role: str, cfg: EndpointConfig, cache: CallCache | None = None, progress: bool = True,
                 seed: int | None = None):
        self.role = role
        self.cfg = cfg
        self.cache = cache  # None: --no-cache, every request goes to the network and nothing is stored
        self.progress = progress
        self.stats = ClientStats()
        self._key: str | None = None
        self._pacer = _Pacer(cfg.requests_per_minute)
        self._rng = random.Random(seed)
        self._semaphores: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = (
            weakref.WeakKeyDictionary())

    # ---------------------------------------------------------------- public entry points
    def run(self, requests: Sequence[ChatRequest], desc: str | None = None) -> list[ChatResult | CallFailure]:
        """Blocking wrapper around `arun` (for code that is not async)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.arun(requests, desc=desc))
        # Called from inside an event loop (a notebook, an async caller that did not await arun): asyncio.run would
        # refuse, so the run gets its own loop on a worker thread. The cache is safe to share across threads.
        with ThreadPoolExecutor(1, thread_name_prefix=f"chat-{self.role}") as pool:
            return pool.submit(asyncio.run, self.arun(requests, desc=desc)).result()

    async def arun(self, requests: Sequence[ChatRequest], desc: str | None = None) -> list[ChatResult | CallFailure]:
        results: list[ChatResult | CallFailure | None] = [None] * len(requests)
        # Identical requests (same cache key) are sent once: the cache would give them one answer on a rerun anyway.
        todo: dict[str, tuple[list[int], dict, dict]] = {}
        for i, request in enumerate(requests):
            body = request.body(self.cfg)
            key_body = request.key_body(body)
            key = canonical_json(key_body)
            if key in todo:
                todo[key][0].append(i)
                continue
            hit = self._from_cache(key_body)
            if hit is not None:
                results[i] = hit
            else:
                todo[key] = ([i], body, key_body)
        label = f"{self.role}: {desc}" if desc else self.role
        with tqdm(total=len(requests), desc=label, unit="call", disable=None if self.progress else True) as bar:
            bar.update(sum(r is not None for r in results))
            if todo:
                await self._fetch_all(list(todo.values()), results, bar)
        return results  # type: ignore[return-value]

    def count_cached(self, requests: Sequence[ChatRequest]) -> int:
        """How many of `requests` a run would answer from the cache (for dry runs and cost estimates)."""
        if self.cache is None:
            return 0
        return sum(self.cache.get(self.cfg.endpoint_id, self.cfg.model, r.key_body(r.body(self.cfg))) is not None
                   for r in requests)

    def summary(self) -> str:
        s = self.stats
        cost = f", cost ${s.cost_usd:.4f}" if s.cost_usd is not None else ""
        return (f"{self.role} ({self.cfg.model}): {s.calls} calls, {s.cache_hits} cache hits, {s.retries} retries, "
                f"{s.failures} failures, {s.prompt_tokens}+{s.completion_tokens} tokens{cost}")

    # ---------------------------------------------------------------- internals
    def _from_cache(self, key_body: dict) -> ChatResult | None:
        if self.cache is None:
            return None
        stored = self.cache.get(self.cfg.endpoint_id, self.cfg.model, key_body)
        if stored is None:
            return None
        try:
            text, top, usage, finish = parse_completion(stored)
        except _BadResponse:
            return None  # only good answers are stored; an unreadable entry is simply fetched again
        self.stats.cache_hits += 1
        return ChatResult(text, top, usage, cached=True, finish_reason=finish)

    def _semaphore(self) -> asyncio.Semaphore:
        # One per event loop: asyncio primitives are bound to the loop that first waits on them, and `run` starts a
        # fresh loop each time.
        loop = asyncio.get_running_loop()
        if loop not in self._semaphores:
            self._semaphores[loop] = asyncio.Semaphore(self.cfg.max_concurrency)
        return self._semaphores[loop]

    def _redact(self, text: str) -> str:
        return redact(text, self._key)

    async def _fetch_all(self, todo: list, results: list, bar) -> None:
        if self._key is None:
            # Servers without auth (local vLLM) still need a non-empty key for the openai client.
            self._key = read_key(self.cfg.api_key_env, self.role, default="EMPTY")
        api = openai.AsyncOpenAI(base_url=self.cfg.base_url, api_key=self._key, max_retries=0,
                                 timeout=self.cfg.timeout_s)
        pending = iter(todo)
        semaphore = self._semaphore()

        async def worker():
            for indices, body, key_body in pending:  # shared iterator: each item goes to exactly one worker
                async with semaphore:
                    result = await self._call(api, body, key_body)
                for index in indices:
                    results[index] = result
                bar.update(len(indices))

        workers = [asyncio.create_task(worker()) for _ in range(min(self.cfg.max_concurrency, len(todo)))]
        try:
            done, running = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            # Read every finished worker's exception (unread ones are reported as "never retrieved"), raise the first.
            errors = [task.exception() for task in done if task.exception() is not None]
            if errors:
                raise errors[0]
        finally:
            await api.close()

    async def _call(self, api: openai.AsyncOpenAI, body: dict, key_body: dict) -> ChatResult | CallFailure:
        cfg = self.cfg
        extra = {k: v for k, v in body.items() if k not in ("model", "messages")}
        attempt = 0
        while True:
            await self._pacer.wait()
            self.stats.requests_sent += 1
            retry_after = None
            try:
                raw = await api.chat.completions.with_raw_response.create(
                    model=body["model"], messages=body["messages"], extra_body=extra)
                try:
                    data = json.loads(raw.text)
                    text, top, usage, finish = parse_completion(data)
                except json.JSONDecodeError:
                    return self._fail("bad_response", f"HTTP {raw.status_code} with a body that is not JSON: "
                                      f"{raw.text[:80]!r}", attempt)
                except _BadResponse as err:
                    return self._fail("bad_response", f"HTTP {raw.status_code}: {err}", attempt)
                if self.cache is not None:
                    self.cache.put(cfg.endpoint_id, cfg.model, key_body, data)
                self._account(usage)
                return ChatResult(text, top, usage, cached=False, finish_reason=finish)
            except openai.APIStatusError as err:
                status = err.status_code
                if status in (401, 402, 403):
                    raise self._auth_error(status) from None
                if status == 429:
                    kind = "rate_limit"
                elif status >= 500 or status in (408, 409):
                    kind = "server_error"
                else:
                    return self._fail("bad_request", f"HTTP {status}: {_first_line(err.message)}", attempt)
                message = f"HTTP {status}: {_first_line(err.message)}"
                retry_after = _retry_after(err.response.headers.get("retry-after"))
            except openai.APITimeoutError:
                kind, message = "timeout", f"no answer within {cfg.timeout_s:g} s"
            except openai.APIConnectionError as err:
                kind, message = "connection", f"connection failed: {_first_line(str(err.__cause__ or err))}"
            if attempt >= cfg.max_retries:
                return self._fail(kind, f"{message}; gave up after {attempt + 1} attempts", attempt)
            delay = self._backoff(attempt, retry_after)
            if kind == "rate_limit":
                self._pacer.pause(delay)  # the server said slow down: so do the other workers
            log.debug("%s: %s; retry %d/%d in %.2f s", self.role, self._redact(message), attempt + 1,
                      cfg.max_retries, delay)
            self.stats.retries += 1
            attempt += 1
            await asyncio.sleep(delay)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.cfg.max_backoff_s)
        ceiling = min(self.cfg.max_backoff_s, self.cfg.backoff_s * 2 ** attempt)
        # Jitter in [ceiling/2, ceiling]: spreads workers that failed together without ever retrying at once.
        return ceiling * (0.5 + 0.5 * self._rng.random())

    def _fail(self, kind: str, message: str, attempt: int) -> CallFailure:
        self.stats.failures += 1
        message = self._redact(f"{self.role} ({self.cfg.base_url}): {message}")
        # Debug, not warning: the caller reports failures once, counted (a build step stops with one line naming the
        # first; evaluation counts them per judge). A warning per call printed ~100 identical lines before that.
        log.debug("%s", message)
        return CallFailure(kind, message, attempts=attempt + 1)

    def _auth_error(self, status: int) -> EndpointAuthError:
        what = {401: "authentication failed", 402: "payment required (out of credit?)",
                403: "access denied"}[status]
        source = (f"the key in environment variable {self.cfg.api_key_env}" if self.cfg.api_key_env
                  else "api_key_env (not set: no key was sent)")
        return EndpointAuthError(
            f"endpoint '{self.role}' ({self.cfg.base_url}, model {self.cfg.model}): {what} (HTTP {status}); "
            f"check {source}. Stopped; answers so far are cached, rerun to resume.")

    def _account(self, usage: dict) -> None:
        s = self.stats
        s.calls += 1
        prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        s.prompt_tokens += prompt
        s.completion_tokens += completion
        if self.cfg.prompt_price_per_mtok is not None and self.cfg.completion_price_per_mtok is not None:
            s.cost_usd = (s.cost_usd or 0.0) + (prompt * self.cfg.prompt_price_per_mtok
                                                 + completion * self.cfg.completion_price_per_mtok) / 1e6


def _first_line(text: str) -> str:
    text = str(text).strip()
    return text.splitlines()[0][:300] if text else "(no message)"


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is rare from APIs and ignored)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
