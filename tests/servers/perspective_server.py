"""A local server that speaks Perspective API's `comments:analyze` wire protocol (v1alpha1), for tests.

    with PerspectiveServer(api_key="...") as server:   # server.url ends in /v1alpha1
        ...PerspectiveConfig(base_url=server.url, ...)

Scores come from a pluggable `scorer(text, languages) -> float | Fault`; the default reads a "[tox=0.83]" marker
in the text, and otherwise gives a small deterministic score from the text's hash (below 0.3), so fixtures stay
mild. Languages outside `supported` are answered as Perspective does: HTTP 400 with errorType
LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE. The key is accepted in the X-Goog-Api-Key header or as ?key=.

Faults (`server.inject(kind, times=, match=)`): "429" (RESOURCE_EXHAUSTED, optional Retry-After), "500", "503",
"401", "403", "timeout", "drop", "malformed", "bad_shape". Counting as in tests/servers/base.py.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Callable, Union
from urllib.parse import parse_qs, urlsplit

from tests.servers.base import Fault, JSONHandler, LocalServer

SUPPORTED = ("ar", "zh", "cs", "nl", "en", "fr", "de", "hi", "hi-Latn", "id", "it", "ja", "ko", "pl", "pt", "ru",
             "es", "sv")
_MARKER = re.compile(r"\[tox=([01](?:\.\d+)?)\]")

Scorer = Callable[[str, list], Union[float, Fault]]


def default_scorer(text: str, languages: list) -> float:
    found = _MARKER.search(text)
    if found:
        return float(found.group(1))
    return int(hashlib.sha256(text.encode()).hexdigest()[:6], 16) / 0xFFFFFF * 0.3


def _google_error(status: int, message: str, reason: str, error_type: str | None = None) -> dict:
    details = [{"@type": "type.googleapis.com/google.commentanalyzer.v1alpha1.Error", "errorType": error_type}] \
        if error_type else []
    return {"error": {"code": status, "message": message, "status": reason, "details": details}}


class PerspectiveServer(LocalServer):
    url_suffix = "/v1alpha1"

    def __init__(self, scorer: Scorer = default_scorer, latency_s: float = 0.0, api_key: str | None = None,
                 supported: tuple[str, ...] = SUPPORTED, host: str = "127.0.0.1", port: int = 0):
        self.scorer = scorer
        self.api_key = api_key
        self.supported = supported
        self.keys_in_query = 0   # requests that carried the key as ?key= (the header is the default)
        super().__init__(latency_s, host, port)

    def handler_class(self):
        return _make_handler(self)


def _make_handler(server: PerspectiveServer):
    class Handler(JSONHandler):
        def do_GET(self):
            if self.path == "/_stats":
                self.send(200, {"request_count": server.request_count, "ok_count": server.ok_count,
                                "max_in_flight": server.max_in_flight})
            else:
                self.send(404, _google_error(404, f"no route {self.path}", "NOT_FOUND"))

        def do_POST(self):
            raw = self.read_body()
            parts = urlsplit(self.path)
            if parts.path != server.url_suffix + "/comments:analyze":
                self.send(404, _google_error(404, f"no route {parts.path}", "NOT_FOUND"))
                return
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                self.send(400, _google_error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT"))
                return
            query_key = (parse_qs(parts.query).get("key") or [None])[0]
            key = self.headers.get("X-Goog-Api-Key") or query_key
            if query_key is not None:
                server.keys_in_query += 1
            server.begin(body, key or "")
            ok = False
            try:
                ok = self._answer(body, raw, key)
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                server.end(ok)

        def _answer(self, body: dict, raw: str, key: str | None) -> bool:
            if server.latency_s:
                time.sleep(server.latency_s)
            # As Google answers: no key -> 403; a wrong key -> 400 with reason API_KEY_INVALID.
            if server.api_key is not None and key is None:
                self.send(403, _google_error(403, "The request is missing a valid API key.", "PERMISSION_DENIED"))
                return False
            if server.api_key is not None and key != server.api_key:
                error = _google_error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT")
                error["error"]["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                              "reason": "API_KEY_INVALID"}]
                self.send(400, error)
                return False
            fault = server.take_fault(body, raw)
            if fault is not None:
                self._fault(fault)
                return False
            text = ((body.get("comment") or {}).get("text"))
            attributes = body.get("requestedAttributes")
            if not isinstance(text, str) or not isinstance(attributes, dict) or not attributes:
                self.send(400, _google_error(400, "Comment text and requestedAttributes are required.",
                                             "INVALID_ARGUMENT"))
                return False
            if not text.strip():
                self.send(400, _google_error(400, "Comment must be non-empty.", "INVALID_ARGUMENT", "COMMENT_EMPTY"))
                return False
            languages = body.get("languages") or ["en"]
            for lang in languages:
                if lang not in server.supported:
                    attribute = next(iter(attributes))
                    self.send(400, _google_error(
                        400, f"Attribute {attribute} does not support request languages: {lang}", "INVALID_ARGUMENT",
                        "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"))
                    return False
            outcome = server.scorer(text, languages)
            if isinstance(outcome, Fault):
                self._fault(outcome)
                return False
            scores = {name: {"spanScores": [{"begin": 0, "end": len(text),
                                              "score": {"value": outcome, "type": "PROBABILITY"}}],
                             "summaryScore": {"value": outcome, "type": "PROBABILITY"}}
                      for name in attributes}
            self.send(200, {"attributeScores": scores, "languages": languages, "detectedLanguages": languages})
            return True

        def _fault(self, fault: Fault) -> None:
            retry = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            canned = {"429": ("Quota exceeded for quota metric 'Analysis requests'.", "RESOURCE_EXHAUSTED"),
                      "500": ("Internal error encountered.", "INTERNAL"),
                      "503": ("The service is currently unavailable.", "UNAVAILABLE"),
                      "401": ("Request had invalid authentication credentials.", "UNAUTHENTICATED"),
                      "403": ("The caller does not have permission", "PERMISSION_DENIED")}
            if fault.kind in canned:
                status = int(fault.kind)
                message, reason = canned[fault.kind]
                self.send(status, _google_error(status, fault.message or message, reason), retry)
            elif fault.kind == "timeout":
                time.sleep(fault.delay_s)
                self.send(200, {"attributeScores": {}})
            elif fault.kind == "drop":
                self.drop()
            elif fault.kind == "malformed":
                self.send(200, (fault.message or "<html>502 Bad Gateway</html>").encode(),
                          content_type="application/json")
            elif fault.kind == "bad_shape":
                self.send(200, {"attributeScores": {"TOXICITY": {"summaryScore": {"value": "high"}}}})
            else:
                raise ValueError(f"fault {fault.kind!r} does not apply to the Perspective server")

    return Handler
