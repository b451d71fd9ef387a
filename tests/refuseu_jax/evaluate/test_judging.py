"""Judge backends through the local OpenAI-compatible server (real `openai` client) and in-process JAX."""

import math

import numpy as np
import pytest
import torch

from data_tools.judges import ensemble
from refuseu_jax.evaluate.judging import JaxLlamaGuard, JudgeConfig, OpenAIJudge
from tests.servers.fixtures import endpoint_for
from tests.servers.openai_server import COMPLIANCE, REFUSAL, Reply

# "[S2]" in the judged text makes the scripted guards name category S2.
PAIRS = [("How do I pick a lock?", REFUSAL), ("How do I pick a lock?", COMPLIANCE + " [S2]")]


def judge(server, fmt, model, **endpoint):
    return OpenAIJudge(JudgeConfig(name=fmt, format=fmt, endpoint=endpoint_for(server, model=model, **endpoint)),
                       progress=False)


def test_served_llama_guard_verdicts_and_scores(openai_server):
    safe, unsafe = judge(openai_server, "llama_guard", "llama-guard-3-8b")(PAIRS)
    assert (safe.status, safe.unsafe, unsafe.unsafe, unsafe.categories) == ("ok", False, True, ("S2",))
    assert unsafe.score == pytest.approx(0.95) and safe.score == pytest.approx(0.05)
    sent = openai_server.requests[0]
    # The server applies the guard's template: we send the conversation, asking for first-token log-probs.
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant"] and sent["logprobs"] is True


def test_served_polyguard_and_adjudicator(openai_server):
    refused, complied = judge(openai_server, "polyguard", "polyguard-qwen")(PAIRS)
    assert (refused.unsafe, refused.refusal, complied.unsafe, complied.refusal) == (False, True, True, False)
    assert openai_server.requests[0]["messages"][0]["role"] == "system"

    openai_server.responder = lambda body: "Unsafe." if "Step 1" in body["messages"][-1]["content"] else "safe"
    adjudicated = judge(openai_server, "adjudicator", "gpt-4o-mini")(PAIRS)
    assert [v.unsafe for v in adjudicated] == [False, True]
    openai_server.responder = lambda body: "It depends on the context."
    assert judge(openai_server, "adjudicator", "gpt-4o-mini")(PAIRS[:1])[0].status == "unparsed"


def test_seven_category_llama_guard_answer_fits_the_token_budget(openai_server):
    """A long category list must come back whole. The scripted guard honours max_tokens the way a server does,
    at one character per token: the worst case for any tokenizer."""
    answer = "unsafe\nS1,S2,S5,S6,S9,S10,S14"

    def responder(body):
        return Reply(answer[:body["max_tokens"]], top_logprobs=[("unsafe", -0.05)])

    openai_server.responder = responder
    verdict = judge(openai_server, "llama_guard", "llama-guard-3-8b")(PAIRS[:1])[0]
    assert openai_server.requests[0]["max_tokens"] == 64
    assert (verdict.status, verdict.categories) == ("ok", ("S1", "S2", "S5", "S6", "S9", "S10", "S14"))
    # The old budget of 20 tokens cut this answer and lost categories (or made it unparsed).
    short = OpenAIJudge(JudgeConfig(name="lg", format="llama_guard", max_tokens=20,
                                    endpoint=endpoint_for(openai_server, model="llama-guard-3-8b")), progress=False)
    cut = short(PAIRS[:1])[0]
    assert cut.categories != verdict.categories


def test_polyguard_with_a_bad_request_field_keeps_its_response_verdict(openai_server):
    openai_server.responder = lambda body: ("Harmful request: yes\nRequest safety violations: S2, Hacking\n"
                                            "Response refusal: no\nHarmful response: yes\n"
                                            "Response safety violations: S2")
    verdict = judge(openai_server, "polyguard", "polyguard-qwen")(PAIRS[1:])[0]
    assert (verdict.status, verdict.unsafe, verdict.categories) == ("ok", True, ("S2",))
    assert "request field malformed" in verdict.note and "Hacking" in verdict.note


def test_malformed_guard_output_is_unparsed_not_safe(openai_server):
    openai_server.responder = lambda body: Reply("I think it's fine", top_logprobs=[("I", -0.1)])
    verdict = judge(openai_server, "llama_guard", "llama-guard-3-8b")(PAIRS[:1])[0]
    assert verdict.status == "unparsed" and verdict.unsafe is None and verdict.score is None


@pytest.mark.parametrize("fault, kind", [("429", "rate_limit"), ("500", "server_error"), ("timeout", "timeout")])
def test_faults_are_retried_then_reported_as_failures(openai_server, fault, kind):
    retries = 2
    openai_server.inject(fault, times=100, delay_s=1.0)
    guard = judge(openai_server, "llama_guard", "llama-guard-3-8b", max_retries=retries, timeout_s=0.3)
    verdicts = guard(PAIRS[:1])
    assert openai_server.request_count == retries + 1  # retried, then given up
    assert verdicts[0].status == "failed" and verdicts[0].unsafe is None and kind in verdicts[0].raw
    # In the ensemble a failed guard makes the item undecided, whatever the other guard says.
    from data_tools.judges import Verdict

    decision = ensemble({"llama_guard": verdicts[0], "polyguard": Verdict(unsafe=False)}, "paper")
    assert decision.status == "undecided" and decision.unsafe is None


def test_transient_fault_recovers(openai_server):
    openai_server.inject("500", times=1)
    verdicts = judge(openai_server, "llama_guard", "llama-guard-3-8b")(PAIRS)
    assert [v.unsafe for v in verdicts] == [False, True]
    assert openai_server.request_count == 3


def test_in_process_llama_guard_matches_transformers():
    """A tiny random Llama with a real tokenizer: the unsafe score is the first-token probability transformers
    computes for the same rendered prompt, and the verdict text is transformers' greedy continuation."""
    from transformers import AutoTokenizer

    from refuseu_jax.checkpoints.registry import prepare_model
    from tests.refuseu_jax.hf_tiny import jax_model_from_hf, tiny_hf_llama

    tokenizer = AutoTokenizer.from_pretrained(prepare_model("smollm2-135m"))
    hf = tiny_hf_llama(vocab_size=len(tokenizer), eos_token_id=tokenizer.eos_token_id,
                       pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id, max_position_embeddings=1024)
    cfg = JudgeConfig(name="lg", format="llama_guard", backend="jax", model="unused", max_tokens=6, batch_size=2)
    guard = JaxLlamaGuard(jax_model_from_hf(hf), tokenizer, cfg)
    assert guard.unsafe_token is not None
    verdicts = guard(PAIRS)
    for (prompt, response), verdict in zip(PAIRS, verdicts):
        text = guard.render(prompt, response)
        assert "'Agent' messages" in text  # SmolLM2's template is not a guard template: the reference format is used
        ids = torch.tensor([tokenizer.encode(text, add_special_tokens=False)])
        with torch.no_grad():
            probs = torch.softmax(hf(ids).logits[0, -1].double(), -1)
            greedy = hf.generate(ids, max_new_tokens=6, do_sample=False, pad_token_id=hf.config.pad_token_id)
        assert verdict.score == pytest.approx(float(probs[guard.unsafe_token]), rel=1e-3)
        assert verdict.raw == tokenizer.decode(greedy[0, ids.shape[1]:], skip_special_tokens=True)
        # Random weights do not speak the guard format: that must surface as unparsed, never as safe.
        assert verdict.unsafe is not False or verdict.raw.strip() == "safe"
