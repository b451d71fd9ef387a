"""A local server that speaks the DeepL API v2 text-translation protocol (/v2/translate, /v2/usage).

Driven through the real `deepl` client (`deepl.DeepLClient(key, server_url=server.url)`). Like the real service it
rejects the bare "EN"/"PT" targets, rejects an explicit formality for languages without one (the prefer_* forms
fall back silently), bills characters per text, and answers 456 once the character quota would be exceeded.

What a "translation" is comes from `translator(text, target_lang, source_lang, formality) -> str | Fault`; the
default tags the text with the target code ("[DE] ..."), which keeps tests readable and deterministic.
Faults are injected as on the OpenAI server: `server.inject("429" | "456" | "500" | "503" | "403" | "timeout" |
"drop" | "malformed" | "bad_shape", times=..., match=...)`.

Counting: `request_count` (translate requests, faulted or not), `ok_count`, `requests` (bodies), `texts_translated`,
`character_count` (billed so far, what /v2/usage reports), `usage_count` (/v2/usage requests).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Callable, Union
from urllib.parse import parse_qs

from tests.servers.base import Fault, JSONHandler, LocalServer

# Targets the real API accepts (the subset this project can meet, plus the regional variants).
TARGETS = {"EN-US", "EN-GB", "DE", "FR", "IT", "ES", "PT-PT", "PT-BR", "PL", "CS", "SK", "SL", "LT", "LV", "NL"}
SOURCES = {"EN", "DE", "FR", "IT", "ES", "PT", "PL", "CS", "SK", "SL", "LT", "LV", "NL"}
FORMALITY_TARGETS = {"DE", "FR", "IT", "ES", "PT-PT", "PT-BR", "PL", "NL"}

Translator = Callable[[str, str, Union[str, None], Union[str, None]], Union[str, Fault]]


def tag_translator(text: str, target_lang: str, source_lang: str | None, formality: str | None) -> str:
    return f"[{target_lang}] {text}"


class DeepLServer(LocalServer):
    def __init__(self, translator: Translator = tag_translator, character_limit: int = 10**9,
                 latency_s: float = 0.0, api_key: str | None = None, host: str = "127.0.0.1", port: int = 0):
        self.translator = translator
        self.character_limit = character_limit
        self.api_key = api_key  # when set, requests without "Authorization: DeepL-Auth-Key <api_key>" get 403
        super().__init__(latency_s, host, port)

    def reset_counts(self) -> None:
        super().reset_counts()
        self.character_count = 0
        self.texts_translated = 0
        self.usage_count = 0

    def handler_class(self):
        return _make_handler(self)


def _message(text: str) -> dict:
    return {"message": text}


def _make_handler(server: DeepLServer):
    class Handler(JSONHandler):
        def _authorised(self) -> bool:
            if server.api_key is not None and self.headers.get("Authorization") != f"DeepL-Auth-Key {server.api_key}":
                self.send(403, _message("Wrong endpoint. Use https://api.deepl.com"))
                return False
            return True

        def _parse(self, raw: str) -> dict:
            if "json" in (self.headers.get("Content-Type") or ""):
                return json.loads(raw) if raw else {}
            return {k: v if k == "text" else v[0] for k, v in parse_qs(raw).items()}  # form-encoded, older clients

        def do_GET(self):
            self._route(self.path.split("?", 1)[0], "")

        def do_POST(self):
            self._route(self.path.split("?", 1)[0], self.read_body())

        def _route(self, path: str, raw: str) -> None:
            path = path.rstrip("/")
            if path.endswith("/v2/usage"):
                with server._lock:
                    server.usage_count += 1
                if self._authorised():
                    self.send(200, {"character_count": server.character_count,
                                    "character_limit": server.character_limit})
            elif path.endswith("/v2/translate"):
                try:
                    body = self._parse(raw)
                except (json.JSONDecodeError, ValueError):
                    self.send(400, _message("Invalid request body"))
                    return
                server.begin(body, self.headers.get("Authorization", ""))
                ok = False
                try:
                    ok = self._translate(body, raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    server.end(ok)
            else:
                self.send(404, _message(f"no route {path}"))

        def _translate(self, body: dict, raw: str) -> bool:
            if server.latency_s:
                time.sleep(server.latency_s)
            if not self._authorised():
                return False
            fault = server.take_fault(body, raw)
            if fault is not None:
                return self._fault(fault, body)
            texts = body.get("text")
            target = str(body.get("target_lang", "")).upper()
            source = body.get("source_lang")
            formality = body.get("formality")
            if not isinstance(texts, list) or not texts or len(texts) > 50:
                self.send(400, _message("Parameter 'text' must be a list of 1 to 50 texts"))
                return False
            if target not in TARGETS:
                self.send(400, _message(f"Value for 'target_lang' not supported: {target}"))
                return False
            if source is not None and str(source).upper() not in SOURCES:
                self.send(400, _message(f"Value for 'source_lang' not supported: {source}"))
                return False
            if formality in ("more", "less") and target not in FORMALITY_TARGETS:
                self.send(400, _message("'formality' is not supported for given 'target_lang'."))
                return False
            billed = sum(len(t) for t in texts)
            with server._lock:
                if server.character_count + billed > server.character_limit:
                    quota_hit = True
                else:
                    quota_hit = False
                    server.character_count += billed
            if quota_hit:
                self.send(456, _message("Quota exceeded"))
                return False
            translations = []
            for text in texts:
                out = server.translator(text, target, source, formality)
                if isinstance(out, Fault):
                    return self._fault(out, body)
                translations.append({"detected_source_language": str(source or "EN").upper(), "text": out,
                                     "billed_characters": len(text)})
            with server._lock:
                server.texts_translated += len(texts)
            self.send(200, {"translations": translations})
            return True

        def _fault(self, fault: Fault, body: dict) -> bool:
            retry = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            canned = {"429": (429, "Too many requests"), "456": (456, "Quota exceeded"),
                      "500": (500, "Internal server error"), "503": (503, "Service unavailable"),
                      "401": (403, "Authorization failure"), "403": (403, "Authorization failure")}
            if fault.kind in canned:
                status, message = canned[fault.kind]
                self.send(status, _message(fault.message or message), retry)
            elif fault.kind == "timeout":
                time.sleep(fault.delay_s)
                self.send(503, _message("late answer after a client timeout"))
            elif fault.kind == "drop":
                self.drop()
            elif fault.kind == "malformed":
                self.send(200, (fault.message or "<html>upstream error</html>").encode(), content_type="application/json")
            elif fault.kind == "bad_shape":
                self.send(200, {"translations": [{"text": "only one, and no billed_characters"}]})
            return False

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Local DeepL v2 server (tests, benchmarks)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--character-limit", type=int, default=10**9)
    args = parser.parse_args()
    DeepLServer(character_limit=args.character_limit, latency_s=args.latency, host=args.host,
                port=args.port).run_standalone()


if __name__ == "__main__":
    main()
