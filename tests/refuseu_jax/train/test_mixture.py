"""The training mix beyond the paper: benign pairs in a configured share, a validation split carved from the
training groups, and early stopping on it (train/mixture.py, train/validation.py, DPOTrainer.train)."""

from __future__ import annotations

import math
from collections import Counter

import jax
import numpy as np
import pytest

from data_tools.errors import UserError
from data_tools.sample import SAMPLE_PATH
from data_tools.schema import read_records
from refuseu_jax.train.mixture import benign_count, build_mixture, carve_validation, mix_benign
from refuseu_jax.train.trainer import DPOTrainer
from refuseu_jax.train.validation import EarlyStopping
from tests.refuseu_jax.train.test_trainer import ckpt, make_cfg, one_device  # noqa: F401  (module fixture)

LANGS = ("en", "de", "lv")


def record(i: int, lang: str, group: str, benign: bool = False) -> dict:
    answer, refusal = f"Sure, here is a helpful answer {i}.", "Sorry, I cannot help with that."
    return {"id": f"{'b' if benign else 'h'}{i}-{lang}", "lang": lang, "split": "train", "group": group,
            "category": "benign" if benign else "S2", "style": "Everyday" if benign else "Slang",
            "prompt": [{"role": "user", "content": f"Question {i} in {lang}{' (harmless)' if benign else ''}?"}],
            "chosen": [{"role": "assistant", "content": answer if benign else refusal}],
            "rejected": [{"role": "assistant", "content": refusal if benign else answer}],
            "source_id": f"s{i}", "labels": {}, "meta": {}}


def harmful_set(per_lang=12, groups=6):
    return [record(i, lang, f"S2/g{i % groups}") for lang in LANGS for i in range(per_lang)]


def benign_set(per_lang=10):
    return [record(i, lang, f"benign/item{i}", benign=True) for lang in LANGS for i in range(per_lang)]


def test_benign_share_is_the_configured_ratio_in_every_language():
    harmful, benign = harmful_set(), benign_set()
    for ratio, per_lang in ((0.25, 4), (0.4, 8), (0.0, 0)):
        picked = mix_benign(harmful, benign, ratio, seed=0)
        assert Counter(r["lang"] for r in picked) == Counter({lang: per_lang for lang in LANGS if per_lang})
        assert all(r in benign for r in picked) and len({r["id"] for r in picked}) == len(picked)
        if per_lang:
            assert per_lang / (12 + per_lang) == pytest.approx(ratio)
    assert benign_count(30, 0.25) == 10 and benign_count(7, 0.5) == 7


def test_benign_draw_is_seeded():
    harmful, benign = harmful_set(), benign_set()
    ids = [[r["id"] for r in mix_benign(harmful, benign, 0.25, seed=s)] for s in (0, 0, 1)]
    assert ids[0] == ids[1] and ids[0] != ids[2]


def test_too_few_benign_pairs_is_an_error_naming_the_key_and_language():
    with pytest.raises(UserError, match=r"data.benign_ratio.*needs 18 benign pairs in 'de'.*10 are available"):
        mix_benign(harmful_set(), benign_set(), 0.6, seed=0, source="b.jsonl")


def test_validation_holds_out_whole_groups_disjoint_from_training():
    harmful, benign = harmful_set(per_lang=12, groups=6), benign_set()
    mix = build_mixture(harmful, benign, benign_ratio=0.25, validation_fraction=0.2, seed=3)
    train_ids, val_ids = {r["id"] for r in mix.train}, {r["id"] for r in mix.validation}
    assert not train_ids & val_ids
    assert not {r["group"] for r in mix.train} & {r["group"] for r in mix.validation}
    val_harmful = [r for r in mix.validation if r["id"] not in mix.benign_ids]
    val_benign = [r for r in mix.validation if r["id"] in mix.benign_ids]
    # whole groups: every language of a held-out group is held out; at least the fraction, one group over at most
    assert 0.2 * 36 <= len(val_harmful) < 0.2 * 36 + 6 and len(val_harmful) % 6 == 0
    assert val_benign and len(val_benign) % 3 == 0
    # the benign share is taken of what is left for training, from benign pairs left for training
    train_benign = [r for r in mix.train if r["id"] in mix.benign_ids]
    assert len(train_benign) == 3 * benign_count((36 - len(val_harmful)) // 3, 0.25)
    same = build_mixture(harmful, benign, benign_ratio=0.25, validation_fraction=0.2, seed=3)
    assert [r["id"] for r in same.validation] == [r["id"] for r in mix.validation]
    other = build_mixture(harmful, benign, benign_ratio=0.25, validation_fraction=0.2, seed=4)
    assert {r["group"] for r in other.validation} != {r["group"] for r in mix.validation}


def test_no_benign_pairs_and_no_validation_by_default():
    harmful = harmful_set()
    mix = build_mixture(harmful, benign_set(), benign_ratio=0.0, validation_fraction=0.0, seed=0)
    assert mix.train == harmful and mix.validation == [] and not mix.benign_ids
    kept, held = carve_validation(harmful, 0.99, seed=0)
    assert kept and held  # at least one group always stays for training
    with pytest.raises(UserError, match="validation.fraction"):
        carve_validation([record(0, "en", "S2/only")], 0.5, seed=0)


def test_a_benign_id_that_repeats_a_harmful_one_is_an_error():
    harmful = harmful_set()
    clash = [dict(benign_set()[0], id=harmful[0]["id"])]
    with pytest.raises(UserError, match="occurs in both"):
        build_mixture(harmful, clash * 1 + benign_set()[1:], benign_ratio=0.25, validation_fraction=0.0, seed=0)


@pytest.mark.parametrize("key,value,match", [
    ("data.benign_ratio", 1.0, "benign_ratio"), ("validation.fraction", -0.1, "validation.fraction"),
    ("validation.every", 2, "validation.fraction"), ("batch_size", 0, "'batch_size'"), ("max_steps", 0, "max_steps"),
])
def test_bad_values_of_the_new_keys_are_config_errors(tmp_path, key, value, match):
    with pytest.raises(UserError, match=match):
        make_cfg("unused", tmp_path, **{key: value})


def test_early_stopping_counts_evaluations_without_improvement():
    stop = EarlyStopping(patience=2, min_delta=0.01, keep_best=False)
    decisions = [stop.update(step, value, None) for step, value in [(0, 1.0), (2, 0.8), (4, 0.795), (6, 0.7),
                                                                    (8, 0.75), (10, 0.71)]]
    assert decisions == [False, False, False, False, False, True] and stop.best_step == 6
    assert not EarlyStopping(patience=0).update(0, 1.0, None)


# ---------------------------------------------------------------------------------------------------------------
# In the trainer (tiny random model, the bundled harmful sample, synthetic benign pairs)


def tiny_benign():
    langs = sorted({r["lang"] for r in read_records(SAMPLE_PATH)})
    return [dict(record(i, lang, f"benign/item{i}", benign=True)) for lang in langs for i in range(8)]


def test_trainer_trains_on_the_mix_and_validates_on_held_out_groups(ckpt, tmp_path):  # noqa: F811
    cfg = make_cfg(ckpt, tmp_path, max_steps=4, **{"data.benign_ratio": 0.25, "validation.fraction": 0.15,
                                                    "validation.every": 2, "dpo.sft_weight": 0.5})
    trainer = DPOTrainer(cfg, mesh=one_device(), benign_records=tiny_benign())
    train_ids = {p.record_id for p in trainer.pairs}
    val_ids = {p.record_id for p in trainer.validation_pairs}
    assert train_ids and val_ids and not train_ids & val_ids
    n_benign = sum(i in trainer.mixture.benign_ids for i in train_ids)
    assert n_benign == pytest.approx(len(train_ids) * 0.25, abs=12)  # rounded per language
    assert {i in trainer.mixture.benign_ids for i in val_ids} == {True, False}
    before = trainer.validate()
    # Step 0 reads the untrained policy's scores kept from computing the reference: the same figures, no forward.
    assert trainer.validate(untrained=True) == pytest.approx(before, rel=1e-6)
    for part in ("harmful", "benign"):  # the untrained policy is the reference: DPO loss ln 2, margin 0
        assert before[f"val/{part}/loss"] == pytest.approx(math.log(2) + 0.5 * before[f"val/{part}/nll"], abs=1e-5)
        assert before[f"val/{part}/rewards/margins"] == pytest.approx(0.0, abs=1e-5)
    assert before["val/loss"] == pytest.approx((before["val/harmful/loss"] + before["val/benign/loss"]) / 2)
    out = trainer.train()
    assert [v["step"] for v in out["validation"]] == [0, 2, 4]
    after = trainer.validate()
    assert after["val/harmful/rewards/margins"] != pytest.approx(0.0, abs=1e-4)
    # The same numbers through the trainer's other evaluation path (a separate jitted forward, no sft term).
    harmful_val = [p for p in trainer.validation_pairs if p.record_id not in trainer.mixture.benign_ids]
    plain = trainer.evaluate(harmful_val)
    assert after["val/harmful/loss"] - 0.5 * after["val/harmful/nll"] == pytest.approx(plain["loss"], abs=2e-5)
    assert after["val/harmful/rewards/accuracies"] == pytest.approx(plain["rewards/accuracies"])


def _scripted_validation(trainer, values, monkeypatch) -> dict:
    """Replace the validation objective by `values` (one per evaluation); returns the parameters seen at each."""
    scripted, seen = iter(values), {}

    def fake_validate(untrained=False):
        assert untrained == (int(trainer.state["step"]) == 0)
        seen[int(trainer.state["step"])] = jax.tree.map(np.asarray, trainer.state["params"])
        return {"val/loss": next(scripted)}

    monkeypatch.setattr(trainer, "validate", fake_validate)
    return seen


def test_early_stopping_stops_after_patience_and_ends_with_the_best_parameters(ckpt, tmp_path,  # noqa: F811
                                                                              monkeypatch):
    from safetensors.numpy import load_file

    cfg = make_cfg(ckpt, tmp_path / "run", max_steps=12, epochs=4, export_dir=str(tmp_path / "hf"),
                   **{"validation.fraction": 0.15, "validation.every": 2, "validation.patience": 2})
    trainer = DPOTrainer(cfg, mesh=one_device())
    # steps 0 (baseline), 2, 4 (best), 6, 8 (stop: two evaluations without improvement)
    seen = _scripted_validation(trainer, [1.0, 0.9, 0.5, 0.6, 0.7, 0.1], monkeypatch)
    out = trainer.train()
    assert out["stopped_at"] == 8 and out["best_step"] == 4 and out["history"][-1]["step"] == 8
    assert out["improved_on_start"] and sorted(seen) == [0, 2, 4, 6, 8]
    jax.tree.map(np.testing.assert_array_equal, jax.tree.map(np.asarray, trainer.state["params"]), seen[4])
    assert not all(jax.tree.leaves(jax.tree.map(np.array_equal, seen[8], seen[4])))  # it did move on after 4
    again = DPOTrainer(cfg, mesh=one_device())
    assert again.restore() == 8  # the stopping point, for resume
    assert again.restore(4) == 4  # each new best was saved (the run checkpoints: it has an export_dir)
    exported = load_file(tmp_path / "hf" / "model.safetensors")  # export_dir holds the best, not the last
    np.testing.assert_array_equal(exported["model.layers.1.mlp.up_proj.weight"],
                                  seen[4]["layers"]["up_proj"]["weight"][1])


def test_the_untrained_state_is_the_baseline_not_a_candidate(ckpt, tmp_path, monkeypatch):  # noqa: F811
    cfg = make_cfg(ckpt, tmp_path, max_steps=12, epochs=4, **{"validation.fraction": 0.15, "validation.every": 2,
                                                               "validation.patience": 2})
    trainer = DPOTrainer(cfg, mesh=one_device())
    seen = _scripted_validation(trainer, [0.1, 0.5, 0.6, 0.7], monkeypatch)
    out = trainer.train()
    assert out["best_step"] == 2 and out["stopped_at"] == 6 and out["improved_on_start"] is False
    jax.tree.map(np.testing.assert_array_equal, jax.tree.map(np.asarray, trainer.state["params"]), seen[2])
