"""Prompt sets for abliteration: readers, the train/validation split by source, post-instruction tokens."""

from __future__ import annotations

import json

import pytest

from data_tools.errors import UserError
from data_tools.taxonomy import LANGUAGES
from refuseu_jax.abliterate import prompts as PR
from tests.refuseu_jax.train.tiny_assets import build_tokenizer


def test_bundled_sets_cover_the_twelve_languages():
    harmful = PR.read_harmful("bundled", LANGUAGES)
    assert {p.lang for p in harmful} == set(LANGUAGES)
    assert {p.split for p in harmful} == {"train", "test"}
    harmless = PR.read_harmless("bundled", ["de", "lv"])
    assert {p.lang for p in harmless} == {"de", "lv"} and len(harmless) == 48  # 24 benign pairs per language
    held_out = PR.read_benign_eval("bundled", LANGUAGES)
    assert len(held_out) == 16 * 12
    # the benign evaluation prompts are not the harmless prompts directions are fitted on
    assert not {p.text for p in held_out} & {p.text for p in PR.read_harmless("bundled", LANGUAGES)}


def test_harmless_file_may_be_benign_prompts_or_records(tmp_path):
    from data_tools.benign import make_benign_prompt

    rows = [make_benign_prompt(source_id="s1", lang="fr", prompt="Comment faire du pain ?", kind="everyday",
                               topic="bread")]
    path = tmp_path / "benign.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (only,) = PR.read_harmless(str(path), LANGUAGES)
    assert only.text == "Comment faire du pain ?" and only.lang == "fr"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "everyday", "lang": "fr"}\n')
    with pytest.raises(UserError, match=r"bad.jsonl:1"):
        PR.read_harmless(str(bad), LANGUAGES)


def test_validation_split_keeps_translations_out_of_train():
    harmful = [p for p in PR.read_harmful("bundled", LANGUAGES) if p.split == "train"]
    train, val = PR.split_train_val(harmful, n_val=3, n_train=10, seed=0)
    per_lang = {lang: sum(p.lang == lang for p in val) for lang in LANGUAGES}
    assert set(per_lang.values()) == {3}
    assert all(sum(p.lang == lang for p in train) == 10 for lang in LANGUAGES)
    assert not {p.source_id for p in train} & {p.source_id for p in val}
    # parallel data: the same sources are held out in every language
    assert len({p.source_id for p in val}) == 3
    again = PR.split_train_val(harmful, n_val=3, n_train=10, seed=0)
    assert [p.id for p in again[1]] == [p.id for p in val]  # deterministic
    assert [p.id for p in PR.split_train_val(harmful, 3, 10, seed=1)[1]] != [p.id for p in val]
    everything, _ = PR.split_train_val(harmful, n_val=3, n_train=None, seed=0)
    assert len(everything) == len(harmful) - 3 * 12


def test_post_instruction_tokens_follow_the_chat_template(tmp_path):
    tok = build_tokenizer(tmp_path)
    suffix = PR.post_instruction_tokens(tok)
    assert tok.decode(suffix) == "<|im_end|>\n<|im_start|>assistant\n"
    prompt = PR.Prompt("x", "x", "en", ({"role": "user", "content": "Hello there"},))
    (ids,) = PR.encode_all(tok, [prompt], suffix)
    assert ids[-len(suffix):] == suffix and ids[0] == tok.bos_token_id and ids.count(tok.bos_token_id) == 1
    tok.chat_template = None
    with pytest.raises(UserError, match="no chat template"):
        PR.post_instruction_tokens(tok)
