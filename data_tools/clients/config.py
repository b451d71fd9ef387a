"""Endpoint settings for the external services, one frozen dataclass per role.

They load with `data_tools.configuration.load_config` like every other config, so each field is settable from YAML
or with `--set endpoints.generator.max_concurrency=32`. A key is never a field: only the NAME of the environment
variable that holds it, so configs, logs and caches can be shared without leaking it.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from data_tools.errors import UserError

# DeepL's documented formality options; the prefer_* forms fall back silently where a language has none.
Formality = Literal["default", "more", "less", "prefer_more", "prefer_less"]


def _check_retry_fields(cfg) -> None:
    if cfg.timeout_s <= 0:
        raise ValueError(f"timeout_s must be > 0, got {cfg.timeout_s}")
    if cfg.max_retries < 0:
        raise ValueError(f"max_retries must be >= 0, got {cfg.max_retries}")
    if cfg.backoff_s < 0 or cfg.max_backoff_s < cfg.backoff_s:
        raise ValueError(f"need 0 <= backoff_s <= max_backoff_s, got {cfg.backoff_s} and {cfg.max_backoff_s}")


_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
# Shorter "keys" are test placeholders (or "EMPTY" for keyless servers); scrubbing them would mangle every message.
MIN_SECRET_LEN = 8


def redact(text: str, secret: str | None) -> str:
    """`text` with `secret` replaced by [REDACTED]."""
    if secret and len(secret) >= MIN_SECRET_LEN:
        return text.replace(secret, "[REDACTED]")
    return text


def _install_log_redaction() -> None:
    """Scrub known keys from every log record as it is created.

    Our own messages never hold a key, but the client libraries log request and response details at debug level
    (deepl logs whole response bodies), and a misbehaving server can echo the Authorization header back. A logger
    filter would only see records of the logger it sits on, so the record factory is wrapped instead: every
    record, from any library, is cleaned before any handler can write it."""
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        secrets = tuple(_SECRETS)  # a snapshot: another thread may register a key meanwhile
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is the logging module's business, not ours
            return record
        if any(secret in text for secret in secrets):
            for secret in secrets:
                text = redact(text, secret)
            record.msg, record.args = text, None
        return record

    logging.setLogRecordFactory(factory)


def read_key(api_key_env: str | None, role: str, default: str | None = None) -> str:
    """The key from the environment, registered for log redaction. The message on failure names the variable,
    never a value."""
    if not api_key_env:
        if default is None:
            raise UserError(f"endpoint '{role}': api_key_env is not set (name the environment variable holding the key)")
        return default
    value = os.environ.get(api_key_env, "")
    if not value.strip():
        raise UserError(f"endpoint '{role}': environment variable {api_key_env} is not set or empty (it must hold the API key)")
    value = value.strip()
    if len(value) < MIN_SECRET_LEN:
        return value
    with _SECRETS_LOCK:
        if not _SECRETS:
            _install_log_redaction()
        _SECRETS.add(value)
    return value


@dataclass(frozen=True)
class EndpointConfig:
    """An OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp server, OpenRouter, ...)."""

    base_url: str
    model: str
    # Name of the env var holding the key; None for servers without auth (a local vLLM gets the dummy key "EMPTY").
    api_key_env: str | None = None
    max_concurrency: int = 8
    requests_per_minute: float | None = None
    timeout_s: float = 60.0
    # Retries after the first attempt, for 429, 5xx, timeouts and dropped connections.
    max_retries: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    # Extra body fields sent with every request (top_p, seed, vLLM's repetition_penalty, ...); part of the cache key.
    params: dict[str, Any] = field(default_factory=dict)
    # USD per million tokens; cost is reported only when both are set.
    prompt_price_per_mtok: float | None = None
    completion_price_per_mtok: float | None = None

    def __post_init__(self):
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {self.base_url!r}")
        if not self.model:
            raise ValueError("model must not be empty")
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {self.max_concurrency}")
        if self.requests_per_minute is not None and self.requests_per_minute <= 0:
            raise ValueError(f"requests_per_minute must be > 0 or null, got {self.requests_per_minute}")
        _check_retry_fields(self)

    @property
    def endpoint_id(self) -> str:
        """The endpoint as the cache keys it: trailing slashes do not make a different endpoint."""
        return self.base_url.rstrip("/")


@dataclass(frozen=True)
class DeepLConfig:
    """DeepL API v2 (Free or Pro, or any server speaking its protocol)."""

    # None: the real service, Free or Pro chosen by the key (keys ending in ':fx' are Free), as the deepl client does.
    server_url: str | None = None
    api_key_env: str = "DEEPL_AUTH_KEY"
    formality: Formality = "default"
    # DeepL accepts at most 50 texts per request.
    batch_size: int = 50
    # Batches in flight at once (one thread and one HTTP connection each).
    max_concurrency: int = 2
    timeout_s: float = 30.0
    max_retries: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    # Refuse to start a translation whose characters exceed what the account has left (checked with /v2/usage).
    check_quota: bool = True
    # USD per million billed characters, for the cost summary; None to leave cost out.
    price_per_mchar: float | None = None

    def __post_init__(self):
        if self.server_url is not None and not self.server_url.startswith(("http://", "https://")):
            raise ValueError(f"server_url must start with http:// or https://, got {self.server_url!r}")
        if not 1 <= self.batch_size <= 50:
            raise ValueError(f"batch_size must be between 1 and 50 (DeepL's limit), got {self.batch_size}")
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {self.max_concurrency}")
        _check_retry_fields(self)

    @property
    def endpoint_id(self) -> str:
        return (self.server_url or "https://api.deepl.com").rstrip("/")
