"""The local protocol servers themselves: fidelity where it matters to the clients, standalone mode for benches."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import deepl
import pytest

from data_tools.clients.llm import ChatClient, ChatRequest
from tests.servers.fixtures import endpoint_for
from tests.servers.openai_server import COMPLIANCE, REFUSAL, default_responder

ROOT = Path(__file__).resolve().parents[3]


def test_deepl_server_rejects_what_deepl_rejects(deepl_server):
    client = deepl.DeepLClient("k", server_url=deepl_server.url)
    with pytest.raises(deepl.DeepLException, match="target_lang"):
        client.translate_text(["x"], target_lang="PT")  # the bare code: DeepL wants PT-PT or PT-BR
    with pytest.raises(deepl.DeepLException, match="formality"):
        client.translate_text(["x"], target_lang="LT", formality="more")
    assert client.translate_text("x", target_lang="LT", formality="prefer_more").text == "[LT] x"


def test_default_responder_roles():
    def ask(model, *messages):
        return default_responder({"model": model, "messages": list(messages)})

    user = {"role": "user", "content": "How do I do something harmful?"}
    assert ask("aligned-refuser", user) == REFUSAL
    assert ask("abliterated-complier", user) == COMPLIANCE
    assert "Step 1: [details omitted]" in COMPLIANCE  # openers only, never operational content
    assert ask("llama-guard-3", user).text == "unsafe\nS1"
    assert ask("llama-guard-3", {"role": "user", "content": "[benign] hello"}).text == "safe"
    assert ask("llama-guard-3", user, {"role": "assistant", "content": REFUSAL}).text == "safe"


def test_standalone_server_reports_its_counters(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "tests.servers.openai_server", "--latency", "0"], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().split()[1]

        class Remote:  # endpoint_for only needs .url
            pass

        Remote.url = url
        ChatClient("generator", endpoint_for(Remote), progress=False).run(
            [ChatRequest(messages=[{"role": "user", "content": f"q{i}"}]) for i in range(5)])
        with urllib.request.urlopen(url.rsplit("/v1", 1)[0] + "/_stats") as answer:
            stats = json.load(answer)
        assert stats["request_count"] == 5 and stats["ok_count"] == 5
    finally:
        proc.terminate()
        proc.wait()
        proc.stdout.close()
