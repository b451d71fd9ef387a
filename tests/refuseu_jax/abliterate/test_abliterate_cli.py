"""`refuseu abliterate` end to end on a tiny random checkpoint, its outputs, the trainer starting from them, and bad
input (one line, exit code 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from refuseu_jax.cli import main
from tests.refuseu_jax.train.tiny_assets import build_checkpoint

# A random tiny model never says anything the offline judge calls a refusal, so the direction finding below uses a
# stand-in: an answer is a "refusal" when its first character sorts before "a" (the tiny model emits both kinds).
# What is tested here is the pipeline around the judge; the judge has its own tests (and the final evaluation
# table, `evaluate_models`, runs the real one).
SMALL = ["--set", "positions=2", "--set", "n_train=4", "--set", "n_val=2", "--set", "batch_size=8",
         "--set", "length_bucket=256", "--set", "select_new_tokens=3", "--set", "eval_new_tokens=3"]
PERMISSIVE = ["--set", "selection.kl_bound=1e9", "--set", "selection.induce_threshold=-1e9",
              "--set", "selection.prune_layers=0.0", "--set", "selection.judged_candidates=2"]


def _stand_in_judge(texts, prompts):
    assert len(texts) == len(prompts)
    return [bool(t) and t[0] < "a" for t in texts]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny")
    build_checkpoint(path, tie=True)
    return path


def _error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.slow
def test_abliterate_end_to_end(checkpoint, tmp_path, monkeypatch):
    import torch
    from transformers import AutoModelForCausalLM

    from refuseu_jax.abliterate import evaluate
    from refuseu_jax.abliterate.ablation import orthogonalise
    from refuseu_jax.checkpoints.hf import load_hf_params
    from refuseu_jax.models.config import ModelConfig

    monkeypatch.setattr(evaluate, "judge", _stand_in_judge)
    out = tmp_path / "ablated"
    result = CliRunner().invoke(main, ["abliterate", "--model", str(checkpoint), "--out", str(out),
                                       "--langs", "en,de", *SMALL, *PERMISSIVE])
    assert result.exit_code == 0, result.output + str(result.exception)
    report = json.loads((out / "abliteration" / "abliteration.json").read_text())

    # the directions come from the languages with prompts on both sides after the filter
    kept = report["prompts"]
    assert report["direction_languages"] == [lang for lang in ("en", "de")
                                             if kept["harmful_train"].get(lang) and kept["harmless_train"].get(lang)]
    # candidates scored as below; the choice follows the rule among the judged ones
    cands = report["candidates"]
    assert len(cands) == 2 * 2 and {(c["position"], c["layer"]) for c in cands} == {(-2, 0), (-2, 1), (-1, 0),
                                                                                     (-1, 1)}
    # Layer 0's input at a template token is that token's embedding for every prompt: the two means coincide and
    # the candidate is reported unscored; every other candidate gets all three scores (the bounds are permissive).
    no_direction = [c for c in cands if c["norm"] == 0.0]
    assert all(c["discarded"].startswith("no direction") and c["bypass"] is None for c in no_direction)
    scored = [c for c in cands if c["norm"] > 0.0]
    assert scored and all(c["bypass"] is not None and c["kl"] is not None and c["induce"] is not None
                          for c in scored)
    judged = [c for c in cands if c["judged_refusal"] is not None or c["judged_failure"] is not None]
    assert len(judged) == 2 and sum(c["selected"] for c in cands) == 1
    survivors = sorted(scored, key=lambda c: c["bypass"])[:2]
    assert {(c["position"], c["layer"]) for c in judged} == {(c["position"], c["layer"]) for c in survivors}
    chosen = report["selected"]
    assert chosen["selected"] and (chosen["position"], chosen["layer"]) in {(c["position"], c["layer"]) for c in judged}

    # the export is the original model with the reported direction ablated (tied embedding untied), and loads
    direction = np.load(out / "abliteration" / "direction.npy")
    assert abs(np.linalg.norm(direction) - 1.0) < 1e-6
    cfg = ModelConfig.from_hf(checkpoint)
    expected, expected_cfg = orthogonalise(load_hf_params(checkpoint, cfg), cfg, direction)
    exported_cfg = ModelConfig.from_hf(out)
    assert exported_cfg.tie_word_embeddings is False and expected_cfg.tie_word_embeddings is False
    exported = load_hf_params(out, exported_cfg)
    for key in ("embed", "lm_head"):
        np.testing.assert_allclose(exported[key][list(exported[key])[0]], expected[key][list(expected[key])[0]],
                                   atol=1e-6)
    for name in ("o_proj", "down_proj", "q_proj"):
        np.testing.assert_allclose(exported["layers"][name]["weight"], expected["layers"][name]["weight"], atol=1e-6)
    AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    assert (out / "tokenizer.json").is_file()

    # per language: directions, cosines, rates, KL
    langs = report["languages"]
    assert langs["langs"] == ["en", "de"]
    assert np.allclose(np.diag(np.array(langs["cosine"], dtype=float)), 1.0)
    assert len(langs["mean_cross_language_cosine_by_layer"]) == cfg.num_layers
    ev = report["evaluation"]
    for key in ("harmful_non_refusal", "benign_refusal"):
        assert set(ev[key]) == {"input", "ablated"}
        assert {"all", "en", "de"} <= set(ev[key]["input"])
        assert ev[key]["input"]["en"]["n"] == (12 if key == "harmful_non_refusal" else 16)
    assert "| de |" in ev["table"] and "McNemar" in ev["table"]
    assert set(ev["benign_kl"]) == {"all", "en", "de"} and ev["benign_kl"]["all"]["kl"] >= 0
    assert ev["kl_within_bound"] is True
    evaluated = (out / "abliteration" / "evaluation" / "ablated" / "judgements.jsonl").read_text().splitlines()
    assert len(evaluated) == 24  # 12 harmful test prompts in each of the 2 languages
    assert (out / "abliteration" / "evaluation" / "comparison.md").is_file()
    fit = [json.loads(line) for line in (out / "abliteration" / "answers" / "fit.jsonl").read_text().splitlines()]
    assert len(fit) == 2 * (4 + 2) * 2  # 2 languages x (train + validation) x (harmful, harmless)
    assert all(row["refusal"] == _stand_in_judge([row["response"]], [None])[0] for row in fit)
    judged_rows = (out / "abliteration" / "answers" / "judged_candidates.jsonl").read_text().splitlines()
    assert {(json.loads(r)["position"], json.loads(r)["layer"]) for r in judged_rows} == \
        {(c["position"], c["layer"]) for c in judged}
    for name in ("candidate_scores", "cosine_languages", "cosine_by_layer", "refusal_by_language"):
        assert (out / "abliteration" / "plots" / f"{name}.png").stat().st_size > 1000
    md = (out / "abliteration" / "report.md").read_text()
    assert "**chosen**" in md and "per-language differences of" in md and "| de |" in md
    assert "KL(input ‖ ablated)" in md and "Judge: offline judge" in md

    # the ablated checkpoint is a start point for training: one DPO step from it
    from refuseu_jax.train.config import DataSpec, ModelSpec, TrainConfig
    from refuseu_jax.train.trainer import DPOTrainer

    train_cfg = TrainConfig(run_dir=str(tmp_path / "dpo"), model=ModelSpec(path=str(out)),
                            data=DataSpec(path="sample", limit=8, max_length=512), batch_size=8, max_steps=1,
                            progress=False)
    trainer = DPOTrainer(train_cfg)
    np.testing.assert_array_equal(np.asarray(trainer.state["params"]["embed"]["embedding"]),
                                  np.asarray(exported["embed"]["embedding"]))
    summary = trainer.train()
    assert summary["steps"] == 1 and np.isfinite(summary["history"][0]["loss"])


def test_nothing_to_ablate_is_a_user_error(checkpoint, tmp_path, monkeypatch):
    from refuseu_jax.abliterate import evaluate

    monkeypatch.setattr(evaluate, "judge", lambda texts, prompts: [False] * len(texts))
    result = CliRunner().invoke(main, ["abliterate", "--model", str(checkpoint), "--out", str(tmp_path / "o"),
                                       "--langs", "en", *SMALL])
    assert "refused none" in _error_line(result)
    assert not (tmp_path / "o").exists()


def test_no_language_with_both_kinds_of_prompt_is_a_user_error(checkpoint, tmp_path, monkeypatch):
    """The model refuses everything in English and answers the harmless prompts in German: after the filter no
    language has both refused harmful and answered harmless prompts, so there is no per-language difference."""
    from refuseu_jax.abliterate import evaluate
    from refuseu_jax.abliterate import prompts as PR

    harmful_ids = set()

    def judge(texts, prompts):  # English: refusal; German: harmful unreadable, harmless answered
        return [True if p.lang == "en" else (None if p.id in harmful_ids else False) for p in prompts]

    read_harmful = PR.read_harmful

    def remember(*args, **kwargs):
        items = read_harmful(*args, **kwargs)
        harmful_ids.update(p.id for p in items)
        return items

    monkeypatch.setattr(evaluate, "judge", judge)
    monkeypatch.setattr(PR, "read_harmful", remember)
    result = CliRunner().invoke(main, ["abliterate", "--model", str(checkpoint), "--out", str(tmp_path / "o"),
                                       "--langs", "en,de", *SMALL])
    line = _error_line(result)
    assert "no language has both" in line and "balance_languages" in line and "'en': " in line
    assert not (tmp_path / "o").exists()


def test_bad_input(checkpoint, tmp_path):
    run = lambda *args: CliRunner().invoke(main, ["abliterate", *args])  # noqa: E731
    assert "--out" in _error_line(run("--model", str(checkpoint)))
    assert "'xx'" in _error_line(run("--model", str(checkpoint), "--out", str(tmp_path / "o"), "--langs", "en,xx"))
    assert "selection.kl_bound" in _error_line(run("--model", str(checkpoint), "--out", str(tmp_path / "o"),
                                                   "--set", "selection.kl_bound=-1"))
    assert "n_val" in _error_line(run("--model", str(checkpoint), "--out", str(tmp_path / "o"), "--set", "n_val=0"))
    missing = tmp_path / "missing.jsonl"
    assert str(missing) in _error_line(run("--model", str(checkpoint), "--out", str(tmp_path / "o"), "--harmful",
                                           str(missing)))
    assert "unknown key" in _error_line(run("--model", str(checkpoint), "--out", str(tmp_path / "o"),
                                            "--set", "no_such_key=1")).lower()
