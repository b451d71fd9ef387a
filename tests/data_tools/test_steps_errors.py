"""Bad input stops a build with one line naming what was wrong, exit code 2, and nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from data_tools.cli import main
from tests.data_tools.build_env import SMALL, write_config
from tests.data_tools.fake_services import build_responder, deepl_translator
from tests.servers.deepl_server import DeepLServer
from tests.servers.openai_server import OpenAIServer



@pytest.fixture
def servers(api_key):
    with OpenAIServer(responder=build_responder) as oa, DeepLServer(translator=deepl_translator) as dl:
        yield oa, dl


@pytest.fixture
def config(tmp_path, servers, api_key):
    oa, dl = servers
    return write_config(tmp_path / "build.yaml", oa.url, dl.url, api_key.env, **SMALL)


def run(*args) -> "click.testing.Result":  # noqa: F821
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_user_error(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def assert_nothing_half_written(build_dir: Path, absent: tuple[str, ...]):
    for name in absent:
        assert not (build_dir / name).exists(), name
    assert not list(build_dir.rglob("*.tmp"))


def test_unknown_language_code(tmp_path, config, servers):
    result = run("build", "-b", tmp_path / "out", "-c", config, "--langs", "en,xx")
    assert_user_error(result, "'xx'", "langs")
    assert servers[0].request_count == 0


def test_unknown_config_key_in_file_and_in_set(tmp_path, config):
    text = config.read_text().replace("seed: 0", "seed: 0\ngenerate_extra: 3")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    assert_user_error(run("build", "-b", tmp_path / "out", "-c", bad), "bad.yaml", "'generate_extra'")
    assert_user_error(run("build", "-b", tmp_path / "out", "-c", config, "--set", "generate.per_cel=2"),
                      "'generate.per_cel'")
    assert_nothing_half_written(tmp_path / "out", ("config.yaml",))


def test_endpoint_answering_non_json(tmp_path, servers, api_key):
    """In a process of its own (pytest's log capture would hide what a user sees): the stop is one line on
    stderr, not a warning per failed call first."""
    import os
    import subprocess
    import sys

    oa, dl = servers
    oa.inject("malformed", times=10**6, match=lambda body: body.get("model") == "gen-small")
    config = write_config(tmp_path / "build.yaml", oa.url, dl.url, api_key.env,
                          **dict(SMALL, generate={"per_cell": 8, "max_rounds": 2}))
    out = tmp_path / "out"
    proc = subprocess.run([str(Path(sys.executable).parent / "refuseu-data"), "build", "-b", str(out), "-c",
                           str(config)], capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "role 'generator'" in lines[0] and "bad_response" in lines[0] and "32 of 32 calls" in lines[0]
    assert oa.url.rsplit("/", 1)[0] in lines[0]
    assert_nothing_half_written(out, ("prompts.jsonl", "pairs.jsonl", "export"))
    assert (out / "material.json").is_file()   # the step before it finished and stays


def test_empty_translation(tmp_path, servers, api_key):
    oa, dl = servers
    dl.translator = lambda text, target, source, formality: "" if target == "DE" else deepl_translator(
        text, target, source, formality)
    config = write_config(tmp_path / "build.yaml", oa.url, dl.url, api_key.env, **SMALL)
    out = tmp_path / "out"
    assert_user_error(run("build", "-b", out, "-c", config), "empty translation", "DE")
    assert_nothing_half_written(out, ("material.json", "prompts.jsonl"))
    assert oa.request_count == 0


def test_missing_key_names_the_variable(tmp_path, servers, monkeypatch):
    oa, dl = servers
    config = write_config(tmp_path / "build.yaml", oa.url, dl.url, "REFUSEU_UNSET_KEY_VAR", **SMALL)
    monkeypatch.delenv("REFUSEU_UNSET_KEY_VAR", raising=False)
    assert_user_error(run("build", "-b", tmp_path / "out", "-c", config), "REFUSEU_UNSET_KEY_VAR")


@pytest.mark.parametrize("role", ["complier", "polyguard", "extra_generators[0]"])
def test_a_missing_key_of_a_late_role_stops_the_build_before_anything_is_paid(tmp_path, servers, api_key,
                                                                             monkeypatch, role):
    """The complier is first called in the third step: its key must be missing before translation is paid for."""
    oa, dl = servers
    config = write_config(tmp_path / "build.yaml", oa.url, dl.url, api_key.env, **SMALL)
    monkeypatch.delenv("REFUSEU_LATE_KEY", raising=False)
    if role == "extra_generators[0]":
        override = f"--set=endpoints.extra_generators=[{{base_url: '{oa.url}', model: gen-2, api_key_env: REFUSEU_LATE_KEY}}]"
    else:
        override = f"--set=endpoints.{role}.api_key_env=REFUSEU_LATE_KEY"
    line = assert_user_error(run("build", "-b", tmp_path / "out", "-c", config, override),
                             f"endpoints.{role}.api_key_env (REFUSEU_LATE_KEY)", "nothing was sent")
    assert api_key.env not in line                  # the keys that are set are not reported
    assert oa.request_count == 0 and dl.request_count == 0 and dl.usage_count == 0
    dry = run("build", "-b", tmp_path / "out", "-c", config, override, "--dry-run")
    assert dry.exit_code == 0 and "REFUSEU_LATE_KEY" in dry.output   # the dry run says so too


def test_set_errors_name_the_override_not_the_file(tmp_path, config):
    line = assert_user_error(run("build", "-b", tmp_path / "out", "-c", config, "--set", "generate.per_cell=many"),
                             "--set generate.per_cell=many", "key 'generate.per_cell'", "expected an integer")
    assert str(config) not in line
    assert_user_error(run("build", "-b", tmp_path / "out", "-c", config, "--set", "styles=[Slang, Rapping]"),
                      "--set styles=[Slang, Rapping]", "key 'styles[1]'", "'Rapping'")
    # a value from the file is still blamed on the file, with its key
    bad = tmp_path / "bad.yaml"
    bad.write_text(config.read_text().replace("- Role Play", "- Role Playing"))
    assert_user_error(run("build", "-b", tmp_path / "out", "-c", bad), "bad.yaml", "key 'styles[1]'",
                      "unknown attack style 'Role Playing'")


@pytest.mark.parametrize("name, content, fragments", [
    ("seeds.jsonl", '{"prompt": "Explain [a crime].", "category": "S1"}\n{"prompt": "x", "category":\n',
     ("seeds.jsonl:2", "malformed JSON")),
    ("seeds.jsonl", '{"prompt": "Explain [a crime].", "category": "S99"}\n', ("seeds.jsonl:1", "'S99'")),
    ("seeds.jsonl", '{"prompt": "Explain [a crime].", "category": "S1", "lang": "xx"}\n', ("seeds.jsonl:1", "'xx'")),
    ("seeds.jsonl", '{"prompt": "", "category": "S1"}\n', ("seeds.jsonl:1", "'prompt'")),
    ("seeds.csv", "text,category\nExplain [a crime].,S1\n", ("seeds.csv:1", "'prompt'")),
    ("seeds.csv", "prompt,category\nExplain [a crime].,S1,extra\n", ("seeds.csv:2", "more cells")),
    ("seeds.txt", "Explain [a crime].\n", ("seeds.txt", "unsupported")),
])
def test_malformed_seed_files(tmp_path, config, name, content, fragments):
    seeds = tmp_path / name
    seeds.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    assert_user_error(run("import-seeds", seeds, "-b", out, "-c", config), *fragments)
    assert_nothing_half_written(out, ("seeds.jsonl",))


def test_imported_seeds_drive_generation(tmp_path, config, servers):
    seeds = tmp_path / "mine.csv"
    seeds.write_text("prompt,category,lang\nTell me how to [do a violent thing].,S1,en\n"
                     "Sag mir wie man [etwas Gewalttätiges tut].,S1,de\n", encoding="utf-8")
    out = tmp_path / "out"
    assert run("import-seeds", seeds, "-b", out, "-c", config).exit_code == 0
    assert run("translate", "-b", out).exit_code == 0      # later steps reuse the saved config
    assert run("generate", "-b", out).exit_code == 0
    sent = [m["content"] for body in servers[0].requests for m in body["messages"] if m["role"] == "user"]
    assert any("Sag mir wie man [etwas Gewalttätiges tut]." in s for s in sent)   # a German seed, untranslated
    assert not any("[a crime]" in s for s in sent)                              # the packaged seeds are unused


def test_dry_run_calls_nothing(tmp_path, config, servers):
    result = run("build", "-b", tmp_path / "out", "-c", config, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run: 4 cells, about 4 prompts" in result.output
    assert servers[0].request_count == 0 and servers[1].request_count == 0
    assert not (tmp_path / "out" / "cache.sqlite").exists()


def test_deepl_quota_stops_cleanly_and_a_rerun_resumes(tmp_path, api_key):
    with OpenAIServer(responder=build_responder) as oa, DeepLServer(translator=deepl_translator,
                                                                    character_limit=500) as dl:
        config = write_config(tmp_path / "build.yaml", oa.url, dl.url, api_key.env, **SMALL)
        out = tmp_path / "out"
        line = assert_user_error(run("build", "-b", out, "-c", config), "DeepL")
        assert "quota" in line.lower() or "remain" in line
        assert_nothing_half_written(out, ("material.json",))
        assert oa.request_count == 0
        dl.character_limit = 10**9
        result = run("build", "-b", out, "-c", config)
        assert result.exit_code == 0, result.output
        assert "build:" in result.output and "from cache" in result.output


def test_deepl_quota_messages_count_every_language_already_cached(tmp_path, api_key):
    from data_tools.build_config import BuildConfig
    from data_tools.configuration import load_config
    from data_tools.steps.estimate import estimate

    with OpenAIServer(responder=build_responder) as oa, DeepLServer(translator=deepl_translator) as dl:
        config = write_config(tmp_path / "build.yaml", oa.url, dl.url, api_key.env,
                              **dict(SMALL, langs=["en", "de", "lv"]))
        per_language = estimate(load_config(BuildConfig, config))["roles"]["translator"]["characters"] // 2
        dl.character_limit = per_language + per_language // 2          # room for one language, not two
        out = tmp_path / "out"
        # 1. the check before sending anything counts both languages
        line = assert_user_error(run("build", "-b", out, "-c", config), "2 languages", f"{2 * per_language:,} more")
        assert "nothing was sent" in line and dl.request_count == 0
        # 2. translating what fits: German is done when Latvian runs out, and the message counts both
        line = assert_user_error(run("build", "-b", out, "-c", config, "--set", "endpoints.translator.check_quota=false"),
                                 "HTTP 456", "over 2 languages", "complete: de")
        assert "-> LV" in line
        # 3. the next check knows German is cached and asks only for Latvian
        line = assert_user_error(run("build", "-b", out, "-c", config), f"{per_language:,} more characters",
                                 f"{per_language:,} of {2 * per_language:,} are already translated and cached",
                                 "complete for de")
        assert oa.request_count == 0


def test_no_cache_pays_again(tmp_path, config, servers):
    out = tmp_path / "out"
    assert run("build", "-b", out, "-c", config).exit_code == 0
    first = servers[0].request_count
    assert run("build", "-b", out).exit_code == 0
    assert servers[0].request_count == first
    assert run("build", "-b", out, "--no-cache").exit_code == 0
    assert servers[0].request_count == 2 * first


def test_set_overrides_an_endpoint(tmp_path, servers, api_key):
    oa, dl = servers
    config = write_config(tmp_path / "build.yaml", "http://127.0.0.1:9/v1", dl.url, api_key.env, **SMALL)
    out = tmp_path / "out"
    result = run("build", "-b", out, "-c", config, *[f"--set=endpoints.{role}.base_url={oa.url}" for role in (
        "generator", "refuser", "complier", "llama_guard", "polyguard", "adjudicator")])
    assert result.exit_code == 0, result.output
    assert oa.request_count > 0 and (out / "export" / "refuseu").is_dir()
    saved = (out / "config.yaml").read_text()
    assert oa.url in saved and "127.0.0.1:9/" not in saved and api_key.value not in saved


def test_cells_are_spread_over_several_generators(tmp_path, servers, api_key):
    oa, dl = servers
    config = write_config(tmp_path / "build.yaml", oa.url, dl.url, api_key.env,
                          **dict(SMALL, generate={"per_cell": 2, "max_rounds": 3}))
    out = tmp_path / "out"
    extra = f"--set=endpoints.extra_generators=[{{base_url: '{oa.url}', model: gen-large, api_key_env: {api_key.env}}}]"
    assert run("translate", "-b", out, "-c", config, extra).exit_code == 0
    result = run("generate", "-b", out)
    assert result.exit_code == 0, result.output
    prompts = [json.loads(line) for line in (out / "prompts.jsonl").read_text().splitlines()]
    assert {p["meta"]["generator"] for p in prompts} == {"gen-small", "gen-large"}
    assert {b["model"] for b in oa.requests} >= {"gen-small", "gen-large"}
