"""DeepL translation through the real `deepl` client, cached per text in the shared call cache.

    tr = DeepLTranslator(deepl_cfg, cache=CallCache("build/cache.sqlite"))
    german = tr.translate(texts, target="de", source="en", desc="seeds")   # same order as `texts`

Texts go out in batches of `batch_size` (DeepL takes up to 50 per request), `max_concurrency` batches at a time,
each on its own thread and DeepLClient (the sync client's requests.Session is not thread-safe). Each translated
text is cached under (server, "deepl", {text, target_lang, source_lang, formality}) as soon as its batch returns,
so a rerun, with the same or a different batching, pays only for what is missing.

Unlike chat calls, a translation cannot be skipped: the step that asked for it has nothing to write without it.
So every failure stops the call with a `UserError` whose message says what happened and that a rerun resumes:
  456 quota exhausted -> QuotaExhausted (everything translated so far is already cached)
  403 bad key         -> EndpointAuthError, at once
  429/5xx/timeouts    -> retried with backoff and jitter up to `max_retries`, then TranslationError
  400, empty translation for a non-empty text, malformed answers -> TranslationError
The deepl client's own retry loop is switched off (its module-level `max_network_retries`), so retries are bounded
by our config and the backoff is ours (the client's starts at 1 s and grows to minutes).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Sequence

import deepl
import deepl.http_client
from tqdm.auto import tqdm

from data_tools.clients.cache import CallCache
from data_tools.clients.config import DeepLConfig, read_key, redact
from data_tools.clients.llm import EndpointAuthError
from data_tools.errors import UserError
from data_tools.taxonomy import DEEPL_TARGETS, check_languages

log = logging.getLogger(__name__)

CACHE_MODEL = "deepl"  # the "model" column of the cache for DeepL entries
# Targets where DeepL accepts formality="more"/"less"; elsewhere only the prefer_* forms are accepted.
FORMALITY_TARGETS = frozenset({"DE", "FR", "IT", "ES", "PT-PT", "PT-BR", "PL", "NL", "JA", "RU"})


def _languages(n: int) -> str:
    return f"{n} language" if n == 1 else f"{n} languages"


class TranslationError(UserError):
    """A translation that cannot be completed now; what was translated before it is cached."""


class QuotaExhausted(UserError):
    """DeepL answered 456: the character quota of this billing period is used up."""

    def __init__(self, message: str, done: int):
        super().__init__(message)
        self.done = done  # texts translated (or found in the cache) before the quota ran out


@dataclass
class TranslatorStats:
    requests_sent: int = 0  # HTTP attempts, retries included
    retries: int = 0
    texts_translated: int = 0  # texts that came from the network
    cache_hits: int = 0
    billed_characters: int = 0
    cost_usd: float | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class _Retryable(Exception):
    pass


class _QuotaHit(Exception):
    """A batch got 456; `translate` turns it into QuotaExhausted once it knows how far the run got."""


class DeepLTranslator:
    def __init__(self, cfg: DeepLConfig, cache: CallCache | None = None, progress: bool = True,
                 role: str = "translator", seed: int | None = None):
        self.cfg = cfg
        self.cache = cache  # None: --no-cache
        self.progress = progress
        self.role = role
        self.stats = TranslatorStats()
        self._rng = random.Random(seed)
        self._key: str | None = None
        # requests.Session is not thread-safe, so each batch thread gets its own DeepLClient.
        self._local = threading.local()
        self._clients: list[deepl.DeepLClient] = []
        self._lock = threading.Lock()  # stats, client list and key, shared by the batch threads

    # ---------------------------------------------------------------- public
    def translate_many(self, texts: Sequence[str], targets: Sequence[str], source: str | None = "en",
                       desc: str | None = None) -> dict[str, list[str]]:
        """`translate` into every language of `targets` (the source language itself is left out), with one quota
        check for all of them before anything is sent, and quota messages that count every language: the ones
        finished earlier in the run are cached too, and a rerun skips them."""
        targets = [t for t in targets if t != source]
        if self.cfg.check_quota:
            self._check_quota_over(texts, targets, source)
        out: dict[str, list[str]] = {}
        for target in targets:
            try:
                out[target] = self.translate(texts, target, source, desc, check_quota=False)
            except QuotaExhausted as err:
                done = len(texts) * len(out) + err.done
                finished = f"complete: {', '.join(out)}; " if out else ""
                raise QuotaExhausted(
                    f"DeepL ({self.cfg.endpoint_id}) -> {DEEPL_TARGETS[target]}: character quota exhausted (HTTP 456) "
                    f"after {done} of {len(texts) * len(targets)} texts over {_languages(len(targets))} ({finished}"
                    f"{target}: {err.done} of {len(texts)}); {self._kept()}. {self._resume()}", done=done) from None
        return out

    def translate(self, texts: Sequence[str], target: str, source: str | None = "en",
                  desc: str | None = None, check_quota: bool | None = None) -> list[str]:
        """Translate `texts` (our language codes: target="pt" goes to DeepL as PT-PT). Empty texts stay empty and
        identical texts are sent once. `check_quota`: None = as configured (`translate_many` checks for all its
        languages at once and passes False)."""
        target_code, source_code = self._codes(target, source)
        if target == source:
            return list(texts)
        results: list[str | None] = [None] * len(texts)
        missing: dict[str, list[int]] = {}  # text -> positions still to translate, first-seen order
        for i, text in enumerate(texts):
            if not text.strip():
                results[i] = text
                continue
            hit = self._cached(text, target_code, source_code)
            if hit is not None:
                results[i] = hit
                self.stats.cache_hits += 1
            else:
                missing.setdefault(text, []).append(i)
        label = f"{self.role}: {desc or 'translate'} -> {target}"
        with tqdm(total=len(texts), desc=label, unit="text", disable=None if self.progress else True) as bar:
            bar.update(len(texts) - sum(len(v) for v in missing.values()))
            pending = list(missing)
            if pending and (self.cfg.check_quota if check_quota is None else check_quota):
                self.check_quota(sum(len(t) for t in pending))
            batches = [pending[i:i + self.cfg.batch_size] for i in range(0, len(pending), self.cfg.batch_size)]
            for batch, translated in self._run_batches(batches, target_code, source_code, results):
                for text, out in zip(batch, translated):
                    for i in missing[text]:
                        results[i] = out
                    bar.update(len(missing[text]))
        return results  # type: ignore[return-value]

    def usage(self) -> tuple[int | None, int | None]:
        """(characters used, character limit) of this billing period; None where the account reports none."""
        try:
            usage = self._attempt(lambda client: client.get_usage())
        except _Retryable as err:
            raise TranslationError(f"DeepL ({self.cfg.endpoint_id}): usage check failed: {err}") from None
        return usage.character.count, usage.character.limit

    def check_quota(self, needed_chars: int) -> None:
        """Refuse to start a translation the account cannot finish (one /v2/usage request)."""
        count, limit = self.usage()
        if count is None or limit is None:
            return
        if count + needed_chars > limit:
            raise QuotaExhausted(
                f"DeepL ({self.cfg.endpoint_id}): this translation needs {needed_chars:,} characters but only "
                f"{max(0, limit - count):,} of {limit:,} remain this billing period; nothing was sent. Raise the "
                f"quota or use another key (${self.cfg.api_key_env}), or set translator.check_quota=false to "
                f"translate what fits and resume later.", done=0)

    def _check_quota_over(self, texts: Sequence[str], targets: Sequence[str], source: str | None) -> None:
        """check_quota for several languages at once; the message counts what every language already has cached."""
        total = sum(len(t) for t in {t for t in texts if t.strip()}) * len(targets)
        to_pay = {target: self.uncached_characters(texts, target, source) for target in targets}
        needed = sum(to_pay.values())
        if not needed:
            return
        count, limit = self.usage()
        if count is None or limit is None or count + needed <= limit:
            return
        cached = [target for target, chars in to_pay.items() if chars == 0]
        complete = f", complete for {', '.join(cached)}" if cached else ""
        raise QuotaExhausted(
            f"DeepL ({self.cfg.endpoint_id}): translating into {_languages(len(targets))} needs {needed:,} more "
            f"characters ({total - needed:,} of {total:,} are already translated and cached{complete}) but only "
            f"{max(0, limit - count):,} of {limit:,} remain this billing period; nothing was sent. Raise the quota or "
            f"use another key (${self.cfg.api_key_env}), or set translator.check_quota=false to translate what fits "
            f"and resume later.", done=0)

    def uncached_characters(self, texts: Sequence[str], target: str, source: str | None = "en") -> int:
        """Characters a `translate` call would send (what it would bill), for dry runs."""
        target_code, source_code = self._codes(target, source)
        if target == source:
            return 0
        unique = {t for t in texts if t.strip()}
        return sum(len(t) for t in unique if self._cached(t, target_code, source_code) is None)

    def summary(self) -> str:
        s = self.stats
        cost = f", cost ${s.cost_usd:.4f}" if s.cost_usd is not None else ""
        return (f"{self.role} (DeepL): {s.texts_translated} texts translated, {s.cache_hits} cache hits, "
                f"{s.retries} retries, {s.billed_characters:,} billed characters{cost}")

    def close(self) -> None:
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()
            self._local = threading.local()

    # ---------------------------------------------------------------- internals
    @staticmethod
    def _codes(target: str, source: str | None) -> tuple[str, str | None]:
        check_languages([target], where="translation target")
        if source is not None:
            check_languages([source], where="translation source")
        # Source codes are bare ("EN", "PT"); only targets need the regional variant.
        return DEEPL_TARGETS[target], source.upper() if source is not None else None

    def _formality(self, target_code: str) -> str | None:
        formality = self.cfg.formality
        if formality == "default":
            return None
        if formality.startswith("prefer_") or target_code in FORMALITY_TARGETS:
            return formality
        return None  # "more"/"less" where DeepL has no formality: sending it would be a 400

    def _key_body(self, text: str, target_code: str, source_code: str | None) -> dict:
        body = {"text": text, "target_lang": target_code, "source_lang": source_code}
        formality = self._formality(target_code)
        if formality is not None:
            body["formality"] = formality
        return body

    def _cached(self, text: str, target_code: str, source_code: str | None) -> str | None:
        if self.cache is None:
            return None
        stored = self.cache.get(self.cfg.endpoint_id, CACHE_MODEL, self._key_body(text, target_code, source_code))
        return stored.get("text") if isinstance(stored, dict) else None

    def _get_client(self) -> deepl.DeepLClient:
        client = getattr(self._local, "client", None)
        if client is None:
            with self._lock:
                if self._key is None:
                    self._key = read_key(self.cfg.api_key_env, self.role)
                # One attempt per call: our loop does the retrying (see the module docstring). These are the deepl
                # package's module-level settings; nothing else in this process uses deepl.
                deepl.http_client.max_network_retries = 0
                deepl.http_client.min_connection_timeout = self.cfg.timeout_s
                client = deepl.DeepLClient(self._key, server_url=self.cfg.server_url, send_platform_info=False)
                self._clients.append(client)
            self._local.client = client
        return client

    def _redact(self, text: str) -> str:
        return redact(text, self._key)

    def _attempt(self, call):
        """Run `call(client)` with bounded retries; _Retryable once they are exhausted."""
        attempt = 0
        while True:
            with self._lock:
                self.stats.requests_sent += 1
            try:
                return call(self._get_client())
            except deepl.AuthorizationException:
                raise EndpointAuthError(
                    f"DeepL ({self.cfg.endpoint_id}): authorization failed (HTTP 403); check the key in environment "
                    f"variable {self.cfg.api_key_env}. Stopped; translations so far are cached, rerun to resume."
                ) from None
            except deepl.QuotaExceededException:
                raise  # the caller knows how far it got
            except deepl.DeepLException as err:
                status = err.http_status_code
                retryable = err.should_retry or status == 429 or (status is not None and status >= 500)
                message = self._redact(f"HTTP {status}: {err}" if status else str(err)).splitlines()[0][:300]
                if not retryable:
                    raise TranslationError(f"DeepL ({self.cfg.endpoint_id}) rejected the request: {message}") from None
            if attempt >= self.cfg.max_retries:
                raise _Retryable(f"{message}; gave up after {attempt + 1} attempts")
            ceiling = min(self.cfg.max_backoff_s, self.cfg.backoff_s * 2 ** attempt)
            delay = ceiling * (0.5 + 0.5 * self._rng.random())  # jitter, as for chat calls
            log.debug("%s: %s; retry %d/%d in %.2f s", self.role, message, attempt + 1, self.cfg.max_retries, delay)
            with self._lock:
                self.stats.retries += 1
            attempt += 1
            time.sleep(delay)

    def _run_batches(self, batches, target_code, source_code, results):
        """Yield (batch, translations) as batches finish, `max_concurrency` requests at a time. The first error
        stops new batches from starting; the ones in flight finish (and are cached) before it is raised."""
        stop = threading.Event()

        def one(batch):
            if stop.is_set():
                return batch, None  # not sent: an earlier batch already failed
            try:
                return batch, self._translate_batch(batch, target_code, source_code)
            except BaseException:
                stop.set()
                raise

        errors = []
        with ThreadPoolExecutor(self.cfg.max_concurrency, thread_name_prefix="deepl") as pool:
            for future in as_completed([pool.submit(one, batch) for batch in batches]):
                try:
                    batch, translated = future.result()
                except (_QuotaHit, UserError) as err:
                    errors.append(err)
                    continue
                if translated is not None:
                    yield batch, translated
        if not errors:
            return
        quota = next((e for e in errors if isinstance(e, _QuotaHit)), None)
        if quota is None:
            raise errors[0]
        done = sum(r is not None for r in results)  # every finished batch was placed before we got here
        raise QuotaExhausted(
            f"DeepL ({self.cfg.endpoint_id}) -> {target_code}: character quota exhausted (HTTP 456) after {done} of "
            f"{len(results)} texts; {self._kept()}. {self._resume()}", done=done)

    def _kept(self) -> str:
        return (f"the texts translated so far are cached in {self.cache.path}" if self.cache is not None
                else "nothing was cached (--no-cache)")

    def _resume(self) -> str:
        return (f"Rerun the same command once the quota resets, or with a key that has quota left in "
                f"${self.cfg.api_key_env}, to resume where it stopped.")

    def _translate_batch(self, batch: list[str], target_code: str, source_code: str | None) -> list[str]:
        formality = self._formality(target_code)
        where = f"DeepL ({self.cfg.endpoint_id}) -> {target_code}"
        try:
            results = self._attempt(lambda client: client.translate_text(
                batch, target_lang=target_code, source_lang=source_code, formality=formality))
        except deepl.QuotaExceededException:
            raise _QuotaHit() from None
        except _Retryable as err:
            raise TranslationError(f"{where}: {err}. Translations so far are cached; rerun to resume.") from None
        except (TypeError, ValueError, KeyError, AttributeError) as err:
            # The deepl client parses the body itself; a malformed one surfaces as one of these.
            raise TranslationError(f"{where}: malformed answer from the server ({type(err).__name__})") from None
        if not isinstance(results, list) or len(results) != len(batch):
            got = len(results) if isinstance(results, list) else "no"
            raise TranslationError(f"{where}: sent {len(batch)} texts, got {got} translations back (malformed answer)")
        outputs, empty = [], []
        for text, result in zip(batch, results):
            billed = int(result.billed_characters or 0)
            self._account(billed)  # billed even when the answer is unusable
            if not result.text.strip():
                empty.append(text)  # never cached: a rerun asks again
            elif self.cache is not None:
                self.cache.put(self.cfg.endpoint_id, CACHE_MODEL, self._key_body(text, target_code, source_code),
                               {"text": result.text, "detected_source_language": result.detected_source_lang,
                                "billed_characters": billed})
            outputs.append(result.text)
        if empty:
            raise TranslationError(
                f"{where}: empty translation for {len(empty)} text(s), first {empty[0][:60]!r}; the others in this "
                f"batch are cached. Check the source text, then rerun.")
        return outputs

    def _account(self, billed: int) -> None:
        with self._lock:
            self._count(billed)

    def _count(self, billed: int) -> None:
        self.stats.texts_translated += 1
        self.stats.billed_characters += billed
        if self.cfg.price_per_mchar is not None:
            self.stats.cost_usd = (self.stats.cost_usd or 0.0) + billed * self.cfg.price_per_mchar / 1e6
