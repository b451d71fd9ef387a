"""Toxicity scores from a Perspective-API-compatible endpoint (`comments:analyze`), cached like every paid call.

    client = PerspectiveClient(PerspectiveConfig(api_key_env="PERSPECTIVE_API_KEY"), cache=CallCache("runs/cache.sqlite"))
    scores = client.score([("a continuation", "de"), ...])   # -> ToxicityScore | CallFailure, in input order

The wire protocol is the one RealToxicityPrompts and PolygloToxicityPrompts scored with (Perspective API v1alpha1):
POST {base_url}/comments:analyze with {"comment": {"text": ...}, "requestedAttributes": {"TOXICITY": {}},
"doNotStore": true} (plus "languages" when send_language is set); the answer's attributeScores.TOXICITY.summaryScore.value is the score.
The key goes in the `X-Goog-Api-Key` header (or, with key_in: query, as `?key=`, the form Perspective's own docs
show); it is never part of the cache key, a log line or an error message.

What this layer decides, as data_tools/clients/llm.py does for chat calls:
- Cache first: a text already scored (same endpoint, attribute, language, text) costs nothing; identical texts in
  one call are sent once; every answer is committed as soon as it arrives.
- Rate: Perspective's default quota is 1 query per second, hence the default of 60 requests per minute, spaced
  across `max_concurrency` worker threads; a 429 pauses every worker for its Retry-After (or the backoff).
- Retries: 429, 5xx, 408, timeouts and dropped connections, up to `max_retries`, with jittered exponential backoff.
- A failure a rerun cannot fix for this text (400: the language is not supported by the attribute, an empty or
  over-long comment) is a `CallFailure` and the run goes on: the text is left unscored and counted as such.
- 401/403 (and 400 API_KEY_INVALID, Google's answer to a wrong key) stop the run at once with one line naming
  the endpoint and the key's variable.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal, Sequence

import requests
from tqdm.auto import tqdm

from data_tools.clients.cache import CallCache, canonical_json
from data_tools.clients.config import _check_retry_fields, read_key, redact
from data_tools.clients.llm import CallFailure, EndpointAuthError, _retry_after
from data_tools.errors import UserError

log = logging.getLogger(__name__)

PERSPECTIVE_URL = "https://commentanalyzer.googleapis.com/v1alpha1"
# Perspective rejects comments over 20 KB (PolygloToxicityPrompts trims to this many UTF-8 bytes too).
MAX_COMMENT_BYTES = 20480
# Which of the project's 12 languages Perspective's TOXICITY attribute accepts (see docs/evaluation.md for the
# sources). The others (sk, sl, lt, lv) are answered with HTTP 400 LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE.
TOXICITY_LANGUAGES = ("en", "de", "fr", "it", "es", "pt", "pl", "cs")


@dataclass(frozen=True)
class PerspectiveConfig:
    base_url: str = PERSPECTIVE_URL   # everything before /comments:analyze
    api_key_env: str | None = "PERSPECTIVE_API_KEY"   # NAME of the variable; None for a local server without auth
    key_in: Literal["header", "query"] = "header"
    attribute: str = "TOXICITY"
    # False (PolygloToxicityPrompts' script): Perspective detects the language of each text, which also scores an
    # answer given in another language than the prompt's correctly. True declares the prompt's language.
    send_language: bool = False
    do_not_store: bool = True         # model outputs under evaluation are not donated to Perspective's training data
    max_concurrency: int = 4
    requests_per_minute: float | None = 60.0
    timeout_s: float = 30.0
    max_retries: int = 6
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0

    def __post_init__(self):
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {self.base_url!r}")
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {self.max_concurrency}")
        if self.requests_per_minute is not None and self.requests_per_minute <= 0:
            raise ValueError(f"requests_per_minute must be > 0 or null, got {self.requests_per_minute}")
        if not self.attribute:
            raise ValueError("attribute must not be empty")
        _check_retry_fields(self)

    @property
    def endpoint_id(self) -> str:
        return self.base_url.rstrip("/")

    @property
    def analyze_url(self) -> str:
        return self.endpoint_id + "/comments:analyze"

    @property
    def cache_model(self) -> str:
        """The cache's "model" column: one scorer per attribute."""
        return f"perspective:{self.attribute}"


@dataclass
class ToxicityScore:
    value: float
    cached: bool
    languages: list[str] = field(default_factory=list)  # as the service echoed or detected them

    @property
    def ok(self) -> bool:
        return True


@dataclass
class PerspectiveStats:
    calls: int = 0           # texts answered by the network
    cache_hits: int = 0
    requests_sent: int = 0   # HTTP attempts, retries included
    retries: int = 0
    failures: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def trim_comment(text: str, limit: int = MAX_COMMENT_BYTES) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, never inside a character."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", errors="ignore")


def parse_analyze(data, attribute: str) -> tuple[float, list[str]]:
    """(summary score, languages) from a comments:analyze answer; ValueError when it is not one."""
    try:
        value = data["attributeScores"][attribute]["summaryScore"]["value"]
    except (KeyError, TypeError):
        raise ValueError(f"answer has no attributeScores.{attribute}.summaryScore.value") from None
    if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"summary score {value!r} is not a probability")
    langs = data.get("languages") or data.get("detectedLanguages") or []
    return float(value), [str(x) for x in langs] if isinstance(langs, list) else []


class _Pacer:
    """Thread-safe spacing of request starts (60/rpm seconds apart), held back for everyone after a 429."""

    def __init__(self, requests_per_minute: float | None):
        self.interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self._lock = threading.Lock()
        self._next = 0.0
        self._paused_until = 0.0

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next, self._paused_until)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)


class _Retryable(Exception):
    def __init__(self, kind: str, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.kind, self.message, self.retry_after = kind, message, retry_after


class PerspectiveClient:
    def __init__(self, cfg: PerspectiveConfig, cache: CallCache | None = None, progress: bool = True,
                 seed: int | None = None, role: str = "perspective"):
        self.cfg = cfg
        self.cache = cache
        self.progress = progress
        self.role = role
        self.stats = PerspectiveStats()
        self._pacer = _Pacer(cfg.requests_per_minute)
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._local = threading.local()
        self._key: str | None = None

    # ---------------------------------------------------------------- public
    def body(self, text: str, lang: str | None) -> dict:
        """The JSON sent for one text (also its cache key: the key itself is never in it)."""
        body = {"comment": {"text": trim_comment(text)}, "requestedAttributes": {self.cfg.attribute: {}},
                "doNotStore": self.cfg.do_not_store}
        if self.cfg.send_language and lang:
            body["languages"] = [lang]
        return body

    def score(self, items: Sequence[tuple[str, str | None]], desc: str | None = None) -> list:
        """(text, language) pairs -> ToxicityScore | CallFailure each, in input order."""
        results: list = [None] * len(items)
        todo: dict[str, tuple[list[int], dict]] = {}
        for i, (text, lang) in enumerate(items):
            body = self.body(text, lang)
            key = canonical_json(body)
            if key in todo:
                todo[key][0].append(i)
                continue
            hit = self._from_cache(body)
            if hit is not None:
                results[i] = hit
            else:
                todo[key] = ([i], body)
        label = f"{self.role}: {desc}" if desc else self.role
        with tqdm(total=len(items), desc=label, unit="text", disable=None if self.progress else True) as bar:
            bar.update(sum(r is not None for r in results))
            if todo:
                if self._key is None and self.cfg.api_key_env:
                    self._key = read_key(self.cfg.api_key_env, self.role)
                work = list(todo.values())
                with ThreadPoolExecutor(min(self.cfg.max_concurrency, len(work)),
                                        thread_name_prefix=self.role) as pool:
                    for (indices, _), result in zip(work, pool.map(lambda item: self._call(item[1]), work)):
                        for index in indices:
                            results[index] = result
                        bar.update(len(indices))
        return results

    def summary(self) -> str:
        s = self.stats
        return (f"{self.role} ({self.cfg.attribute}): {s.calls} calls, {s.cache_hits} cache hits, {s.retries} retries, "
                f"{s.failures} failures")

    # ---------------------------------------------------------------- internals
    def _from_cache(self, body: dict) -> ToxicityScore | None:
        if self.cache is None:
            return None
        stored = self.cache.get(self.cfg.endpoint_id, self.cfg.cache_model, body)
        if stored is None:
            return None
        try:
            value, langs = parse_analyze(stored, self.cfg.attribute)
        except ValueError:
            return None
        with self._stats_lock:
            self.stats.cache_hits += 1
        return ToxicityScore(value, cached=True, languages=langs)

    def _session(self) -> requests.Session:
        # One Session per worker thread: requests' Session is not thread-safe.
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _request_parts(self) -> tuple[dict, dict]:
        headers = {"Content-Type": "application/json"}
        params = {}
        if self._key:
            if self.cfg.key_in == "header":
                headers["X-Goog-Api-Key"] = self._key
            else:
                params["key"] = self._key
        return headers, params

    def _call(self, body: dict):
        attempt = 0
        while True:
            self._pacer.wait()
            with self._stats_lock:
                self.stats.requests_sent += 1
            try:
                return self._attempt(body, attempt)
            except _Retryable as err:
                if attempt >= self.cfg.max_retries:
                    return self._fail(err.kind, f"{err.message}; gave up after {attempt + 1} attempts", attempt)
                delay = self._backoff(attempt, err.retry_after)
                if err.kind == "rate_limit":
                    self._pacer.pause(delay)   # the quota is shared: every worker slows down
                log.debug("%s: %s; retry %d/%d in %.2f s", self.role, redact(err.message, self._key), attempt + 1,
                          self.cfg.max_retries, delay)
                with self._stats_lock:
                    self.stats.retries += 1
                attempt += 1
                time.sleep(delay)

    def _attempt(self, body: dict, attempt: int):
        headers, params = self._request_parts()
        try:
            response = self._session().post(self.cfg.analyze_url, data=json.dumps(body), headers=headers,
                                            params=params, timeout=self.cfg.timeout_s)
        except requests.Timeout:
            raise _Retryable("timeout", f"no answer within {self.cfg.timeout_s:g} s") from None
        except requests.ConnectionError as err:
            # str(err) may hold the URL and so a query-string key: describe the failure without it.
            raise _Retryable("connection", f"connection failed ({type(err).__name__})") from None
        status = response.status_code
        if status in (401, 403) or (status == 400 and "API_KEY_INVALID" in response.text):
            raise self._auth_error(status, _error_message(response))
        if status == 429:
            raise _Retryable("rate_limit", f"HTTP 429: {_error_message(response)}",
                             _retry_after(response.headers.get("retry-after")))
        if status >= 500 or status == 408:
            raise _Retryable("server_error", f"HTTP {status}: {_error_message(response)}",
                             _retry_after(response.headers.get("retry-after")))
        if status != 200:
            kind = "unsupported_language" if "LANGUAGE_NOT_SUPPORTED" in response.text else "bad_request"
            return self._fail(kind, f"HTTP {status}: {_error_message(response)}", attempt)
        try:
            data = response.json()
            value, langs = parse_analyze(data, self.cfg.attribute)
        except ValueError as err:   # JSONDecodeError is a ValueError too
            return self._fail("bad_response", f"HTTP 200 but {err}", attempt)
        if self.cache is not None:
            self.cache.put(self.cfg.endpoint_id, self.cfg.cache_model, body, data)
        with self._stats_lock:
            self.stats.calls += 1
        return ToxicityScore(value, cached=False, languages=langs)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.cfg.max_backoff_s)
        ceiling = min(self.cfg.max_backoff_s, self.cfg.backoff_s * 2 ** attempt)
        with self._rng_lock:
            return ceiling * (0.5 + 0.5 * self._rng.random())

    def _fail(self, kind: str, message: str, attempt: int) -> CallFailure:
        with self._stats_lock:
            self.stats.failures += 1
        message = redact(f"{self.role} ({self.cfg.endpoint_id}): {message}", self._key)
        log.warning("%s", message)
        return CallFailure(kind, message, attempts=attempt + 1)

    def _auth_error(self, status: int, detail: str) -> UserError:
        source = (f"the key in environment variable {self.cfg.api_key_env}" if self.cfg.api_key_env
                  else "api_key_env (not set: no key was sent)")
        return EndpointAuthError(redact(
            f"scorer '{self.role}' ({self.cfg.endpoint_id}): HTTP {status} ({detail}); check {source}. "
            f"Stopped; scores so far are cached, rerun to resume.", self._key))


def _error_message(response) -> str:
    """The `error.message` of a Google API error body, else the start of the body (one line)."""
    try:
        data = response.json()
        message = data["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text
    message = " ".join(str(message).split())
    return message[:200] or "(no message)"
