"""`refuseu train` on bad input: one line naming the file/line or key, exit code 2. And every shipped config loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from data_tools.configuration import load_config
from data_tools.sample import SAMPLE_PATH
from refuseu_jax.cli import main
from refuseu_jax.train.config import TrainConfig

from tests.refuseu_jax.train.tiny_assets import build_checkpoint

CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "train"


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    good, bare = tmp_path_factory.mktemp("good"), tmp_path_factory.mktemp("bare")
    build_checkpoint(good)
    build_checkpoint(bare, chat_template=None)
    return good, bare


def _run(tmp_path, model_dir, data_lines=None, *overrides):
    data = SAMPLE_PATH
    if data_lines is not None:
        data = tmp_path / "data.jsonl"
        data.write_text("\n".join(data_lines) + "\n")
    cfg = tmp_path / "train.yaml"
    cfg.write_text(f"run_dir: {tmp_path / 'run'}\nmodel: {{path: {model_dir}}}\ndata: {{path: {data}}}\n"
                   f"batch_size: 2\nprogress: false\n")
    args = ["train", "--config", str(cfg)]
    for o in overrides:
        args += ["--set", o]
    result = CliRunner().invoke(main, args)
    return result, data


def _sample_lines(n=4):
    return SAMPLE_PATH.read_text().splitlines()[:n]


def _error_line(result):
    assert result.exit_code == 2, result.output
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


def test_malformed_jsonl_line(dirs, tmp_path):
    lines = _sample_lines()
    lines[2] = lines[2][:40]
    result, data = _run(tmp_path, dirs[0], lines)
    assert f"{data}:3: malformed JSON" in _error_line(result)


def test_record_missing_chosen(dirs, tmp_path):
    lines = _sample_lines()
    rec = json.loads(lines[1])
    del rec["chosen"]
    lines[1] = json.dumps(rec)
    result, data = _run(tmp_path, dirs[0], lines)
    assert f"{data}:2: record is missing key 'chosen'" in _error_line(result)


def test_unknown_language(dirs, tmp_path):
    lines = _sample_lines()
    lines[3] = json.dumps(dict(json.loads(lines[3]), lang="xx"))
    result, data = _run(tmp_path, dirs[0], lines)
    line = _error_line(result)
    assert f"{data}:4" in line and "'lang'" in line and "xx" in line


def test_model_without_chat_template(dirs, tmp_path):
    result, _ = _run(tmp_path, dirs[1])
    line = _error_line(result)
    assert "chat template" in line and "chat_template" in line


def test_empty_dataset_after_filtering(dirs, tmp_path):
    lines = [l for l in SAMPLE_PATH.read_text().splitlines() if json.loads(l)["lang"] == "en"]
    result, data = _run(tmp_path, dirs[0], lines, "data.mix=single:lv")
    line = _error_line(result)
    assert str(data) in line and "no records left" in line and "data.mix" in line


def test_unknown_config_key(dirs, tmp_path):
    result, _ = _run(tmp_path, dirs[0], None, "optim.lr=1e-5")
    assert "unknown key 'optim.lr'" in _error_line(result)


def test_model_config_error_is_a_user_error(dirs, tmp_path):
    """The model raises its own ModelConfigError; the command reports it like any bad input."""
    import shutil

    model = tmp_path / "model"
    shutil.copytree(dirs[0], model)
    hf = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps(dict(hf, num_key_value_heads=hf["num_attention_heads"] - 1)))
    result, _ = _run(tmp_path, model)
    line = _error_line(result)
    assert "multiple of num_kv_heads" in line


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_load(path):
    cfg = load_config(TrainConfig, path)
    if path.name.startswith("llama-3.1"):
        assert (cfg.dpo.beta, cfg.optim.learning_rate, cfg.epochs) == (0.1, 1e-6, 3)  # the paper's recipe
