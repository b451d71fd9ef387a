"""ChatClient through the real `openai` client against the local chat-completions server."""

from __future__ import annotations

import logging
import time

import pytest

from data_tools.clients.cache import CallCache
from data_tools.clients.llm import (CallFailure, ChatClient, ChatRequest, ChatResult, EndpointAuthError,
                                    first_token_probability)
from data_tools.judges import llama_guard_messages, parse_llama_guard, parse_polyguard, polyguard_messages
from tests.servers.openai_server import COMPLIANCE, REFUSAL, Reply
from tests.servers.fixtures import endpoint_for


def ask(text: str, **kw) -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": text}], **kw)


def echo(body: dict) -> str:
    return "echo: " + body["messages"][-1]["content"]


def test_results_come_back_in_input_order_with_usage(openai_server):
    openai_server.responder = echo
    openai_server.latency_s = 0.01
    client = ChatClient("generator", endpoint_for(openai_server, max_concurrency=8), progress=False)
    results = client.run([ask(f"question {i}") for i in range(30)], desc="order")
    assert [r.text for r in results] == [f"echo: question {i}" for i in range(30)]
    assert all(isinstance(r, ChatResult) and not r.cached for r in results)
    assert results[0].usage["completion_tokens"] == 3
    assert client.stats.calls == 30 and client.stats.completion_tokens == 90
    assert openai_server.request_count == 30


def test_run_works_inside_a_running_event_loop(openai_server):
    import asyncio

    client = ChatClient("generator", endpoint_for(openai_server), progress=False)

    async def notebook_cell():
        return client.run([ask("from inside a loop")])

    [result] = asyncio.run(notebook_cell())
    assert result.text == COMPLIANCE


def test_request_body_on_the_wire(openai_server):
    cfg = endpoint_for(openai_server, model="refuser-model", params={"top_p": 0.9})
    client = ChatClient("refuser", cfg, progress=False)
    [result] = client.run([ask("hello", max_tokens=16, temperature=0.7, extra={"seed": 3}, cache_tag="k=1")])
    assert result.text == REFUSAL
    [body] = openai_server.requests
    assert body == {"model": "refuser-model", "messages": [{"role": "user", "content": "hello"}], "top_p": 0.9,
                    "seed": 3, "max_tokens": 16, "temperature": 0.7}  # cache_tag is never sent


def test_rerun_is_served_from_cache_with_zero_requests_and_no_key(openai_server, tmp_path, api_key, monkeypatch):
    openai_server.responder = echo
    requests = [ask(f"q{i}") for i in range(12)]
    cfg = endpoint_for(openai_server, api_key_env=api_key.env)
    first = ChatClient("generator", cfg, cache=CallCache(tmp_path / "calls.sqlite"), progress=False).run(requests)
    assert openai_server.request_count == 12

    monkeypatch.delenv(api_key.env)  # a fully cached rerun needs no key at all
    client = ChatClient("generator", cfg, cache=CallCache(tmp_path / "calls.sqlite"), progress=False)
    assert client.count_cached(requests) == 12
    again = client.run(requests)
    assert openai_server.request_count == 12
    assert [r.text for r in again] == [r.text for r in first]
    assert all(r.cached for r in again) and client.stats.cache_hits == 12 and client.stats.calls == 0


def test_identical_requests_in_one_run_are_sent_once(openai_server):
    openai_server.responder = echo
    client = ChatClient("generator", endpoint_for(openai_server), cache=None, progress=False)
    results = client.run([ask("same"), ask("other"), ask("same"), ask("same", cache_tag="k=2")])
    assert [r.text for r in results] == ["echo: same", "echo: other", "echo: same", "echo: same"]
    assert openai_server.request_count == 3 and client.stats.calls == 3


def test_cache_tag_and_no_cache(openai_server, tmp_path):
    cache = CallCache(tmp_path / "calls.sqlite")
    client = ChatClient("generator", endpoint_for(openai_server), cache=cache, progress=False)
    client.run([ask("same", cache_tag="sample-0"), ask("same", cache_tag="sample-1")])
    assert openai_server.request_count == 2 and len(cache) == 2
    client.run([ask("same", cache_tag="sample-1")])
    assert openai_server.request_count == 2
    # --no-cache: the callers pass cache=None; every request goes out, nothing is stored.
    ChatClient("generator", endpoint_for(openai_server), cache=None, progress=False).run([ask("same", cache_tag="sample-1")])
    assert openai_server.request_count == 3 and len(cache) == 2


def test_429_and_500_are_retried_then_succeed(openai_server):
    openai_server.inject("500", times=2)
    openai_server.inject("429", times=2)
    openai_server.inject("503", times=1)
    client = ChatClient("generator", endpoint_for(openai_server, max_retries=5, max_concurrency=1), progress=False)
    results = client.run([ask("a"), ask("b")])
    assert [r.text for r in results] == [COMPLIANCE, COMPLIANCE]
    assert client.stats.retries == 5 and client.stats.failures == 0
    assert openai_server.request_count == 7 and openai_server.ok_count == 2


def test_retries_are_bounded_then_the_call_fails(openai_server):
    openai_server.inject("500", times=100, match="doomed")
    client = ChatClient("generator", endpoint_for(openai_server, max_retries=3), progress=False)
    doomed, fine = client.run([ask("doomed"), ask("fine")])
    assert isinstance(doomed, CallFailure) and doomed.kind == "server_error" and doomed.attempts == 4
    assert "HTTP 500" in doomed.message and "gave up after 4 attempts" in doomed.message
    assert fine.text == COMPLIANCE
    assert openai_server.request_count == 5  # 4 attempts for the doomed one, 1 for the other
    assert client.stats.failures == 1 and client.stats.retries == 3


def test_backoff_grows_and_honours_retry_after(openai_server):
    cfg = endpoint_for(openai_server, backoff_s=0.05, max_backoff_s=1.0, max_retries=3)
    openai_server.inject("500", times=3)
    client = ChatClient("generator", cfg, progress=False, seed=0)
    start = time.perf_counter()
    client.run([ask("x")])
    # Jittered delays lie in [b/2, b] for b = 0.05, 0.1, 0.2: at least 0.175 s in total.
    assert time.perf_counter() - start >= 0.175
    openai_server.inject("429", retry_after=0.4)
    start = time.perf_counter()
    [result] = client.run([ask("y")])
    assert result.text == COMPLIANCE and time.perf_counter() - start >= 0.4


def test_timeouts_and_dropped_connections_are_retried(openai_server):
    # 0.5 s is far above a normal answer here even on a loaded machine, and far below the injected 3 s stall.
    cfg = endpoint_for(openai_server, timeout_s=0.5, max_retries=1)
    openai_server.inject("timeout", delay_s=3.0)
    openai_server.inject("drop")
    client = ChatClient("generator", cfg, progress=False)
    results = client.run([ask("slow"), ask("dropped")])
    assert [r.text for r in results] == [COMPLIANCE, COMPLIANCE]
    assert client.stats.retries == 2
    openai_server.inject("timeout", times=2, delay_s=3.0)
    [failure] = client.run([ask("always slow")])
    assert failure.kind == "timeout" and failure.attempts == 2


@pytest.mark.parametrize("fault", ["malformed", "bad_shape"])
def test_bad_bodies_fail_without_retry_and_are_not_cached(openai_server, tmp_path, fault):
    cache = CallCache(tmp_path / "calls.sqlite")
    client = ChatClient("generator", endpoint_for(openai_server), cache=cache, progress=False)
    openai_server.inject(fault)
    [failure] = client.run([ask("x")])
    assert isinstance(failure, CallFailure) and failure.kind == "bad_response"
    assert openai_server.request_count == 1 and len(cache) == 0
    [result] = client.run([ask("x")])  # a rerun asks again
    assert result.text == COMPLIANCE and openai_server.request_count == 2


def test_other_4xx_is_a_bad_request_failure(openai_server):
    openai_server.responder = lambda body: Reply("unused")
    client = ChatClient("generator", endpoint_for(openai_server, base_url=openai_server.url + "/nowhere"),
                        progress=False)
    [failure] = client.run([ask("x")])
    assert failure.kind == "bad_request" and "HTTP 404" in failure.message and failure.attempts == 1


def test_auth_error_stops_the_run_at_once(openai_server, api_key):
    openai_server.api_key = "the-right-key"
    openai_server.latency_s = 0.02
    client = ChatClient("adjudicator", endpoint_for(openai_server, api_key_env=api_key.env, max_concurrency=4),
                        progress=False)
    with pytest.raises(EndpointAuthError) as err:
        client.run([ask(f"q{i}") for i in range(200)])
    message = str(err.value)
    assert "adjudicator" in message and api_key.env in message and "HTTP 401" in message
    assert api_key.value not in message
    assert openai_server.request_count <= 8  # the in-flight ones at most, not 200


def test_missing_key_variable_is_a_user_error(openai_server, monkeypatch):
    from data_tools.errors import UserError

    monkeypatch.delenv("REFUSEU_UNSET_KEY", raising=False)
    client = ChatClient("generator", endpoint_for(openai_server, api_key_env="REFUSEU_UNSET_KEY"), progress=False)
    with pytest.raises(UserError, match="REFUSEU_UNSET_KEY is not set"):
        client.run([ask("x")])
    assert openai_server.request_count == 0


def test_concurrency_limit_is_respected(openai_server):
    openai_server.latency_s = 0.05
    client = ChatClient("generator", endpoint_for(openai_server, max_concurrency=4), progress=False)
    client.run([ask(f"q{i}") for i in range(24)])
    assert openai_server.max_in_flight == 4


def test_requests_per_minute_spaces_request_starts(openai_server):
    client = ChatClient("generator", endpoint_for(openai_server, max_concurrency=8, requests_per_minute=600),
                        progress=False)
    start = time.perf_counter()
    client.run([ask(f"q{i}") for i in range(5)])
    assert time.perf_counter() - start >= 0.4  # 5 starts, 0.1 s apart


def test_first_token_logprobs_give_the_guard_score(openai_server):
    cfg = endpoint_for(openai_server, model="llama-guard-3-8b")
    client = ChatClient("llama_guard", cfg, progress=False)
    unsafe, safe = client.run([
        ChatRequest(messages=llama_guard_messages("prompt", COMPLIANCE), max_tokens=10, top_logprobs=5),
        ChatRequest(messages=llama_guard_messages("prompt", REFUSAL), max_tokens=10, top_logprobs=5),
    ])
    assert first_token_probability(unsafe, "unsafe") == pytest.approx(0.95)
    assert first_token_probability(safe, "unsafe") == pytest.approx(0.05)
    assert unsafe.top_logprobs[0][0] == "unsafe" and safe.top_logprobs[0][0] == "safe"
    assert parse_llama_guard(unsafe.text, unsafe.top_logprobs).unsafe is True
    assert parse_llama_guard(safe.text, safe.top_logprobs).unsafe is False
    [plain] = client.run([ask("no logprobs asked")])
    assert plain.top_logprobs is None and first_token_probability(plain, "unsafe") is None


def test_polyguard_answers_parse(openai_server):
    client = ChatClient("polyguard", endpoint_for(openai_server, model="polyguard-qwen"), progress=False)
    pair, prompt_only = client.run([ChatRequest(messages=polyguard_messages("a [S9] question", COMPLIANCE)),
                                    ChatRequest(messages=polyguard_messages("a question", None))])
    verdict = parse_polyguard(pair.text)
    assert verdict.status == "ok" and verdict.harmful_response is True and verdict.response_categories == ("S9",)
    verdict = parse_polyguard(prompt_only.text)
    assert verdict.harmful_request is True and verdict.harmful_response is None


def test_cost_is_reported_when_prices_are_set(openai_server):
    openai_server.responder = lambda body: "one two three four"
    cfg = endpoint_for(openai_server, prompt_price_per_mtok=1.0, completion_price_per_mtok=10.0)
    client = ChatClient("generator", cfg, progress=False)
    client.run([ask("a b"), ask("c d")])
    # 2 calls x (2 prompt tokens x $1 + 4 completion tokens x $10) per million
    assert client.stats.cost_usd == pytest.approx(2 * (2 * 1.0 + 4 * 10.0) / 1e6)
    assert "cost $" in client.summary() and "2 calls" in client.summary()


def test_the_key_is_never_written_anywhere(openai_server, tmp_path, api_key, caplog):
    """Grep everything this layer writes (cache and WAL files, logs, failure messages, exception strings) for the
    key, with a hostile server that echoes the Authorization header into its error bodies."""
    from tests.servers.base import Fault

    def hostile(body):
        header = " ".join(sorted(openai_server.auth_headers_seen))
        text = body["messages"][-1]["content"]
        if text == "fails":
            return Fault("500", message=f"upstream rejected {header}")
        if text == "garbled":
            return Fault("malformed", message=f"<html>{header}</html>")
        return "fine"

    openai_server.responder = hostile
    openai_server.api_key = api_key.value
    caplog.set_level(logging.DEBUG)
    cache_dir = tmp_path / "cache"
    cfg = endpoint_for(openai_server, api_key_env=api_key.env, max_retries=1)
    client = ChatClient("generator", cfg, cache=CallCache(cache_dir / "calls.sqlite"), progress=False)
    results = client.run([ask("ok"), ask("fails"), ask("garbled")])
    assert results[0].text == "fine" and [r.kind for r in results[1:]] == ["server_error", "bad_response"]
    assert "[REDACTED]" in results[1].message  # the echo happened and was scrubbed
    written = [str(r) for r in results] + [caplog.text, client.summary()]
    openai_server.api_key = "another-key"
    with pytest.raises(EndpointAuthError) as err:
        client.run([ask("now unauthorised")])
    written += [str(err.value), repr(err.value)]
    assert all(api_key.value not in text for text in written)
    files = list(cache_dir.iterdir())
    assert files and all(api_key.value.encode() not in path.read_bytes() for path in files)


KILLED_RUN = """
import sys
from data_tools.clients.cache import CallCache
from data_tools.clients.config import EndpointConfig
from data_tools.clients.llm import ChatClient, ChatRequest
cfg = EndpointConfig(base_url=sys.argv[1], model="m", max_concurrency=4)
requests = [ChatRequest(messages=[{"role": "user", "content": f"q{i}"}]) for i in range(int(sys.argv[3]))]
ChatClient("generator", cfg, cache=CallCache(sys.argv[2]), progress=False).run(requests)
"""


def test_sigkill_mid_run_costs_at_most_the_in_flight_calls(openai_server, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    n, concurrency = 60, 4
    openai_server.latency_s = 0.02
    cache_path = tmp_path / "calls.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, openai_server.url, str(cache_path), str(n)])
    deadline = time.monotonic() + 30
    while openai_server.ok_count < 20 and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    answered_before_kill = openai_server.request_count
    assert 20 <= answered_before_kill < n  # killed mid-run

    client = ChatClient("generator", endpoint_for(openai_server, model="m", max_concurrency=concurrency),
                        cache=CallCache(cache_path), progress=False)
    results = client.run([ask(f"q{i}") for i in range(n)])
    assert all(r.ok for r in results)
    # Everything answered before the kill was committed, except the calls that were in flight at that moment.
    assert client.stats.cache_hits >= answered_before_kill - concurrency
    assert openai_server.request_count <= n + concurrency
