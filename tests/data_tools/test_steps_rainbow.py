"""`generate.method: rainbow` against the local OpenAI and DeepL protocol servers: the archive fills, the judge
decides replacements pairwise in both orders, the rest of the build takes its output, a rerun pays for nothing,
kill -9 resumes without paying twice, and the dry run states the calls."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from data_tools.cli import main
from data_tools.clients.cache import canonical_json
from data_tools.schema import read_records
from tests.data_tools.build_env import endpoint
from tests.data_tools.build_env import write_config as write_base_config
from tests.data_tools.fake_services import build_responder, deepl_translator
from tests.servers.deepl_server import DeepLServer
from tests.servers.openai_server import OpenAIServer

KEY_ENV, KEY = "REFUSEU_RAINBOW_TEST_KEY", "sk-rainbow-4e8a1c2b-NEVER-WRITTEN"
LANGS, CATEGORIES, STYLES = ["en", "de", "lv"], ["S1", "S2"], ["Slang", "Role Play"]
ROUNDS, BATCH, ARCHIVE = 4, 4, 2


def write_config(path: Path, openai_url: str, deepl_url: str, key_env: str, **overrides) -> Path:
    """The build tests' config with the two roles rainbow adds: the target model and the judge."""
    import yaml

    write_base_config(path, openai_url, deepl_url, key_env, **overrides)
    data = yaml.safe_load(path.read_text())
    data["endpoints"]["target"] = endpoint(openai_url, "target-ablated", key_env)
    data["endpoints"]["judge"] = endpoint(openai_url, "judge-model", key_env)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def rainbow_config(path: Path, oa, dl, **rainbow) -> Path:
    return write_config(path, oa.url, dl.url, KEY_ENV, langs=LANGS, categories=CATEGORIES, styles=STYLES,
                        generate={"method": "rainbow", "rainbow": {"iterations": ROUNDS, "batch": BATCH,
                                                                   "archive_size": ARCHIVE, **rainbow}},
                        split={"test_per_category": 1})


@pytest.fixture(scope="module")
def rainbow_built(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv(KEY_ENV, KEY)
    root = tmp_path_factory.mktemp("rainbow")
    with OpenAIServer(responder=build_responder, api_key=KEY) as oa, DeepLServer(translator=deepl_translator) as dl:
        config = rainbow_config(root / "build.yaml", oa, dl)
        first = CliRunner().invoke(main, ["build", "-b", str(root / "out"), "-c", str(config)])
        bodies = Counter(canonical_json(b) for b in oa.requests)
        by_model = Counter(b["model"] for b in oa.requests)
        before = oa.request_count
        second = CliRunner().invoke(main, ["build", "-b", str(root / "out"), "-c", str(config)])
        rerun_requests = oa.request_count - before
    mp.undo()
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    return {"dir": root / "out", "config": config, "bodies": bodies, "by_model": by_model,
            "rerun_requests": rerun_requests}


def test_archive_fills_and_its_history_is_reported_and_plotted(rainbow_built):
    out = rainbow_built["dir"]
    report = json.loads((out / "reports" / "generate.json").read_text())
    result = report["result"]
    assert result["method"] == "rainbow" and result["fill"] == 1.0
    cells = len(LANGS) * len(CATEGORIES) * len(STYLES)
    assert result["prompts"] == cells * ARCHIVE
    history = result["history"]
    assert [h["iteration"] for h in history] == list(range(1, ROUNDS + 1))
    assert all(a["fill"] <= b["fill"] for a, b in zip(history, history[1:]))            # an archive never empties
    assert history[0]["fill"] == pytest.approx(BATCH / (len(CATEGORIES) * len(STYLES) * ARCHIVE))
    assert set(history[-1]["per_language"]) == set(LANGS) and history[-1]["score"] is not None
    assert sum(h["replaced"] for h in history) > 0 and result["dropped"].get("lost_to_incumbent", 0) > 0
    assert (out / "reports" / "rainbow.png").stat().st_size > 5000
    # the step's calls: one mutation per candidate, as the server counted them
    assert rainbow_built["by_model"]["gen-small"] == ROUNDS * len(LANGS) * BATCH
    assert report["calls"]["generator"]["calls"] == ROUNDS * len(LANGS) * BATCH
    assert report["calls"]["judge"]["calls"] == rainbow_built["by_model"]["judge-model"]


def test_rainbow_output_feeds_the_rest_of_the_build(rainbow_built):
    out = rainbow_built["dir"]
    prompts = [json.loads(line) for line in (out / "prompts.jsonl").read_text().splitlines()]
    for row in prompts:
        assert set(row) == {"id", "source_id", "lang", "category", "style", "prompt", "meta"}
        assert row["meta"]["method"] == "rainbow" and row["meta"]["generator"] == "gen-small"
        assert set(row["meta"]["usage"]) >= {"generator", "target", "judge"}
    assert Counter((r["lang"], r["category"], r["style"]) for r in prompts) == {
        (lang, c, s): ARCHIVE for lang in LANGS for c in CATEGORIES for s in STYLES}
    records = read_records(out / "export" / "refuseu.jsonl")
    assert records and {r["lang"] for r in records} == set(LANGS)
    assert {r["split"] for r in records} == {"train", "test"}


def test_rerun_is_served_from_cache(rainbow_built):
    assert rainbow_built["rerun_requests"] == 0


def _between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0].strip()


@pytest.mark.parametrize("judge", ["prefers_candidate", "position_biased"])
def test_candidate_replaces_an_incumbent_only_if_it_wins_in_both_orders(tmp_path, monkeypatch, judge):
    import threading

    order: dict[str, int] = {}     # generated prompt -> when the generator produced it (newer = the candidate)
    lock = threading.Lock()

    def responder(body):
        text = body["messages"][-1]["content"]
        if body["model"] == "judge-model" and "Answer with one letter" in text:
            if judge == "position_biased":
                return "A"
            a, b = _between(text, "[Request A]", "[Response A]"), _between(text, "[Request B]", "[Response B]")
            return "A" if order.get(a, -1) > order.get(b, -1) else "B"
        answer = build_responder(body)
        if body["model"] == "gen-small":
            with lock:
                order[answer] = len(order)
        return answer

    monkeypatch.setenv(KEY_ENV, KEY)
    with OpenAIServer(responder=responder) as oa, DeepLServer(translator=deepl_translator) as dl:
        config = write_config(tmp_path / "b.yaml", oa.url, dl.url, KEY_ENV, langs=["en"], categories=["S1"],
                              styles=["Slang", "Role Play"],
                              generate={"method": "rainbow", "rainbow": {"iterations": 4, "batch": 2,
                                                                         "archive_size": 1}})
        for step in ("translate", "generate"):
            result = CliRunner().invoke(main, [step, "-b", str(tmp_path / "out"), "-c", str(config)])
            assert result.exit_code == 0, result.output
    result = json.loads((tmp_path / "out" / "reports" / "generate.json").read_text())["result"]
    history = result["history"]
    assert history[0]["accepted"] == history[0]["kept"] == 2 and history[0]["replaced"] == 0   # empty cells fill
    later = sum(h["kept"] for h in history[1:])
    assert later > 0
    if judge == "prefers_candidate":
        assert sum(h["replaced"] for h in history[1:]) == later
    else:   # "A" in both orders names each response once: no consistent preference, the incumbent stays
        assert sum(h["replaced"] for h in history[1:]) == 0
        assert result["dropped"]["lost_to_incumbent"] == later
    prompts = [json.loads(line) for line in (tmp_path / "out" / "prompts.jsonl").read_text().splitlines()]
    assert all((p["meta"]["wins"] > 0) == (judge == "prefers_candidate" and p["meta"]["round"] > 0) for p in prompts)


def test_dry_run_states_the_rainbow_calls(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    with OpenAIServer() as oa, DeepLServer() as dl:
        config = rainbow_config(tmp_path / "b.yaml", oa, dl)
        result = CliRunner().invoke(main, ["build", "-b", str(tmp_path / "out"), "-c", str(config), "--dry-run"])
        assert oa.request_count == 0 and dl.request_count == 0
    assert result.exit_code == 0, result.output
    candidates = ROUNDS * len(LANGS) * BATCH
    assert (f"rainbow: {ROUNDS} rounds x {len(LANGS) * BATCH} candidates ({len(LANGS)} languages) = {candidates} "
            f"generator calls; at most {candidates} target and {3 * candidates} judge calls") in result.output
    prompts = len(LANGS) * len(CATEGORIES) * len(STYLES) * ARCHIVE
    assert f"about {prompts} prompts" in result.output


def test_rainbow_without_target_or_judge_is_a_config_error(tmp_path):
    import yaml

    with OpenAIServer() as oa, DeepLServer() as dl:
        config = rainbow_config(tmp_path / "b.yaml", oa, dl)
    data = yaml.safe_load(config.read_text())
    del data["endpoints"]["judge"]
    config.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(main, ["build", "-b", str(tmp_path / "out"), "-c", str(config), "--dry-run"])
    assert result.exit_code == 2 and "key 'endpoints.judge'" in result.output


def _run(config: Path, build_dir: Path, server=None, kill_at_requests: int | None = None, command: str = "build"):
    """`refuseu-data COMMAND` in its own process; with `kill_at_requests`, SIGKILL it as soon as the server has
    counted that many chat requests (a kill inside the loop on any machine speed, unlike a fixed delay)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    exe = Path(sys.executable).parent / "refuseu-data"
    env = dict(os.environ, **{KEY_ENV: KEY})
    proc = subprocess.Popen([str(exe), command, "-b", str(build_dir), "-c", str(config)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if kill_at_requests is not None:
        deadline = time.monotonic() + 180
        while proc.poll() is None and server.request_count < kill_at_requests and time.monotonic() < deadline:
            time.sleep(0.005)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            out, _ = proc.communicate()
            return None, out.decode()
    out, _ = proc.communicate(timeout=180)
    return proc.returncode, out.decode()


@pytest.mark.slow
def test_kill_minus_nine_mid_archive_then_rerun(rainbow_built, tmp_path):
    """Killed twice inside the archive loop at seeded random points, then rerun: the same archive and dataset, and
    no call made twice except the ones in flight at a kill (one role's concurrency window per kill)."""
    import random

    rng = random.Random(11)
    with OpenAIServer(responder=build_responder, api_key=KEY) as oa, DeepLServer(translator=deepl_translator) as dl:
        oa.latency_s = 0.02
        config = rainbow_config(tmp_path / "build.yaml", oa, dl)
        build_dir = tmp_path / "out"
        code, output = _run(config, build_dir, command="translate")
        assert code == 0, output
        killed = 0
        for _ in range(2):
            code, _ = _run(config, build_dir, oa, kill_at_requests=oa.request_count + rng.randint(15, 70),
                           command="generate")
            killed += code is None
        paid_before_rerun = oa.request_count
        code, output = _run(config, build_dir)
        assert code == 0, output
        bodies = Counter(canonical_json(b) for b in oa.requests)
    assert killed == 2 and paid_before_rerun > 0
    reference = rainbow_built["dir"]
    assert (build_dir / "prompts.jsonl").read_text() == (reference / "prompts.jsonl").read_text()
    assert (build_dir / "export" / "refuseu.jsonl").read_text() == (reference / "export" / "refuseu.jsonl").read_text()
    assert set(bodies) == set(rainbow_built["bodies"])           # the very same requests as the uninterrupted build
    assert sum(n - 1 for n in bodies.values()) <= 16 * killed    # repeats: only calls in flight at a kill


def test_shipped_rainbow_config_dry_run():
    result = CliRunner().invoke(main, ["build", "-b", "/nonexistent-build-dir", "-c", "configs/data/rainbow.yaml",
                                       "--dry-run"])
    assert result.exit_code == 0, result.output
    candidates = 200 * 12 * 16
    assert f"= {candidates} generator calls; at most {candidates} target and {3 * candidates} judge calls" \
        in result.output
    assert "about 6720 prompts" in result.output          # 12 languages x 14 x 10 cells x 4
