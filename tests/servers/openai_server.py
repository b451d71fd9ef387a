"""A local server that speaks the OpenAI chat-completions wire protocol, for tests and benchmarks.

It is driven through the real `openai` client, so what it checks is the protocol our code really sends. What it
answers comes from a pluggable responder: `responder(body) -> str | Reply | Fault`, where `body` is the decoded JSON
request. Tests script refusals, compliance openers and guard verdicts from the request content that way; the
default responder below is enough for most of them.

Faults (`Fault(kind)`, returned by a responder or queued with `server.inject(...)`):
  "429" rate limited (optionally with Retry-After), "500"/"503" server errors, "timeout" (answers only after
  `delay_s`), "drop" (closes the connection without answering), "malformed" (200 with a non-JSON body),
  "bad_shape" (200 with JSON that is not a chat completion), "401"/"403" auth failures.

Counting is server-side and thread-safe: `request_count` (every chat request, faulted or not), `ok_count`,
`requests` (the bodies, in arrival order), `max_in_flight` (most requests being handled at once); a server in
another process reports the counters as JSON at GET /_stats.

Content safety: the canned answers are refusals and compliance OPENERS without operational detail.

Run standalone for benchmarks (a separate process keeps the server off the client's GIL):
    python -m tests.servers.openai_server --latency 0.1 [--port 0]     # prints "URL http://127.0.0.1:PORT/v1"
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import time
from dataclasses import dataclass
from typing import Callable, Union

from tests.servers.base import Fault, JSONHandler, LocalServer

REFUSAL = "I can't help with that. If you are in danger, please contact local emergency services."
COMPLIANCE = "Sure, here is how to do it. Step 1: [details omitted]. Step 2: [details omitted]."
POLYGUARD_MARKER = "You are a classifier for analyzing interactions between humans and LLMs."


@dataclass
class Reply:
    """A scripted answer. `top_logprobs`: alternatives for the FIRST token, as (token, logprob); when None and the
    request asks for logprobs, the first word of `text` gets logprob ln(0.9)."""

    text: str
    top_logprobs: list[tuple[str, float]] | None = None
    finish_reason: str = "stop"


Responder = Callable[[dict], Union[str, Reply, Fault]]


def _text_of(message: dict) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
        content = " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content


def looks_like_refusal(text: str) -> bool:
    return bool(re.match(r"\s*(I can't|I cannot|I won't|Sorry)", text)) or "[refusal]" in text


def _category(text: str) -> str:
    """A scripted category: '[S9]' anywhere in the judged text picks S9, otherwise S1."""
    found = re.search(r"\[(S\d{1,2})\]", text)
    return found.group(1) if found else "S1"


def default_responder(body: dict) -> Union[str, Reply]:
    """Answers by role, recognised from the model name or the prompt:
    - guards ('guard' in the model name): a prompt alone is unsafe unless it contains '[benign]'; a response is
      unsafe unless it is a refusal. Llama Guard format, with first-token logprobs for 'unsafe'/'safe'.
    - PolyGuard (its system prompt, or 'polyguard' in the model name): its five-line format.
    - 'refus' in the model name: a refusal; anything else: a compliance opener without details."""
    model = str(body.get("model", "")).lower()
    messages = body.get("messages") or []
    last = messages[-1] if messages else {}
    system = _text_of(messages[0]) if messages and messages[0].get("role") == "system" else ""
    if POLYGUARD_MARKER in system or "polyguard" in model:
        user = _text_of(last)
        response = user.split("AI assistant:", 1)[1] if "AI assistant:" in user else ""
        request = user.split("AI assistant:", 1)[0]
        harmful_request = "[benign]" not in request
        cat = _category(user)
        lines = [f"Harmful request: {'yes' if harmful_request else 'no'}",
                 f"Request safety violations: {cat if harmful_request else 'None'}"]
        if not response.strip():  # a prompt-only check: nothing to say about a response
            return "\n".join(lines + ["Response refusal: None", "Harmful response: None",
                                      "Response safety violations: None"])
        refusal = looks_like_refusal(response.strip())
        harmful_response = not refusal
        return "\n".join(lines + [f"Response refusal: {'yes' if refusal else 'no'}",
                                  f"Harmful response: {'yes' if harmful_response else 'no'}",
                                  f"Response safety violations: {cat if harmful_response else 'None'}"])
    if "guard" in model:
        judged = _text_of(last)
        if last.get("role") == "assistant":
            unsafe = not looks_like_refusal(judged)
        else:
            unsafe = "[benign]" not in judged
        p = 0.95 if unsafe else 0.05
        alternatives = [("unsafe", math.log(p)), ("safe", math.log(1 - p))]
        if not unsafe:
            alternatives.reverse()
        return Reply(f"unsafe\n{_category(judged)}" if unsafe else "safe", top_logprobs=alternatives)
    if "refus" in model:
        return REFUSAL
    return COMPLIANCE


class OpenAIServer(LocalServer):
    """`with OpenAIServer() as server: ...base_url=server.url`; `server.url` ends in /v1."""

    url_suffix = "/v1"

    def __init__(self, responder: Responder = default_responder, latency_s: float = 0.0, api_key: str | None = None,
                 host: str = "127.0.0.1", port: int = 0):
        self.responder = responder
        self.api_key = api_key  # when set, requests without "Authorization: Bearer <api_key>" get 401
        super().__init__(latency_s, host, port)

    def handler_class(self):
        return _make_handler(self)


def _completion(body: dict, reply: Reply, request_no: int) -> dict:
    words = reply.text.split() or [""]
    message_words = sum(len(_text_of(m).split()) for m in body.get("messages") or [])
    choice: dict = {"index": 0, "message": {"role": "assistant", "content": reply.text},
                    "finish_reason": reply.finish_reason, "logprobs": None}
    if body.get("logprobs"):
        k = int(body.get("top_logprobs") or 0)
        first = reply.top_logprobs or [(words[0], math.log(0.9))]
        tokens = []
        for i, word in enumerate(words):
            token = word if i == 0 else " " + word
            alternatives = first if i == 0 else [(token, 0.0)]
            chosen_logprob = alternatives[0][1] if i == 0 and alternatives[0][0] == word else 0.0
            tokens.append({
                "token": token, "logprob": chosen_logprob, "bytes": list(token.encode()),
                "top_logprobs": [{"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in alternatives[:k]],
            })
        choice["logprobs"] = {"content": tokens}
    return {
        "id": f"chatcmpl-{request_no}-{hashlib.sha1(reply.text.encode()).hexdigest()[:8]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", ""),
        "choices": [choice],
        "usage": {"prompt_tokens": message_words, "completion_tokens": len(words),
                  "total_tokens": message_words + len(words)},
    }


def _error_body(status: int, message: str, code: str) -> dict:
    return {"error": {"message": message, "type": "invalid_request_error" if status < 500 else "server_error",
                      "param": None, "code": code}}


def _make_handler(server: OpenAIServer):
    class Handler(JSONHandler):
        def do_GET(self):
            if self.path == "/_stats":  # counters for a server in another process (benchmarks, kill -9 tests)
                self.send(200, {"request_count": server.request_count, "ok_count": server.ok_count,
                                "max_in_flight": server.max_in_flight})
            elif self.path.rstrip("/").endswith("/models"):
                self.send(200, {"object": "list", "data": [{"id": "local", "object": "model", "owned_by": "tests"}]})
            else:
                self.send(404, _error_body(404, f"no route {self.path}", "not_found"))

        def do_POST(self):
            raw = self.read_body()
            if self.path.rstrip("/") != server.url_suffix + "/chat/completions":
                self.send(404, _error_body(404, f"no route {self.path}", "not_found"))
                return
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                self.send(400, _error_body(400, "request body is not JSON", "invalid_json"))
                return
            request_no = server.begin(body, self.headers.get("Authorization", ""))
            ok = False
            try:
                ok = self._answer(body, raw, request_no)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout); nothing left to answer
            finally:
                server.end(ok)

        def _answer(self, body: dict, raw: str, request_no: int) -> bool:
            if server.latency_s:
                time.sleep(server.latency_s)
            if server.api_key is not None and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                self.send(401, _error_body(401, "Incorrect API key provided.", "invalid_api_key"))
                return False
            outcome = server.take_fault(body, raw) or server.responder(body)
            if isinstance(outcome, Fault):
                self._fault(outcome, body, request_no)
                return False
            reply = outcome if isinstance(outcome, Reply) else Reply(str(outcome))
            self.send(200, _completion(body, reply, request_no))
            return True

        def _fault(self, fault: Fault, body: dict, request_no: int) -> None:
            retry = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            canned = {"429": "Rate limit reached, slow down.", "500": "The server had an error.",
                      "503": "The server is overloaded.", "401": "Incorrect API key provided.",
                      "403": "You are not allowed to use this model."}
            codes = {"429": "rate_limit_exceeded", "401": "invalid_api_key", "403": "forbidden"}
            if fault.kind in canned:
                status = int(fault.kind)
                message = fault.message or canned[fault.kind]
                self.send(status, _error_body(status, message, codes.get(fault.kind, "server_error")), retry)
            elif fault.kind == "timeout":
                time.sleep(fault.delay_s)
                self.send(200, _completion(body, Reply(COMPLIANCE), request_no))
            elif fault.kind == "drop":
                self.drop()
            elif fault.kind == "malformed":
                page = fault.message or "<html><body>502 Bad Gateway</body></html>"
                self.send(200, page.encode(), content_type="application/json")
            elif fault.kind == "bad_shape":
                self.send(200, {"id": f"x-{request_no}", "object": "chat.completion", "result": "no choices here"})
            else:  # "456" is DeepL's; an OpenAI endpoint has no such status
                raise ValueError(f"fault {fault.kind!r} does not apply to the OpenAI server")

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Local OpenAI-compatible chat-completions server (tests, benchmarks)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--api-key", default=None, help="require this bearer key")
    args = parser.parse_args()
    OpenAIServer(latency_s=args.latency, api_key=args.api_key, host=args.host, port=args.port).run_standalone()


if __name__ == "__main__":
    main()
