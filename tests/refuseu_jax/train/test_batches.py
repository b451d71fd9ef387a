"""Records -> token ids -> batches: chat template, masks from positions, truncation, filtering, grain iterator."""

from __future__ import annotations

import numpy as np
import pytest

from data_tools.errors import UserError
from data_tools.sample import SAMPLE_PATH
from data_tools.schema import read_records
from refuseu_jax.train import batches as B

from tests.refuseu_jax.train.tiny_assets import build_tokenizer


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return build_tokenizer(tmp_path_factory.mktemp("tok"))


@pytest.fixture(scope="module")
def records():
    return read_records(SAMPLE_PATH)


def test_bundled_sample_covers_languages_categories_styles_and_splits_by_group(records):
    from data_tools.taxonomy import LANGUAGES

    assert {r["lang"] for r in records} == set(LANGUAGES)
    for lang in LANGUAGES:
        assert sum(r["lang"] == lang for r in records) >= 48
    assert len({r["category"] for r in records}) >= 10 and len({r["style"] for r in records}) >= 6
    train = {r["group"] for r in records if r["split"] == "train"}
    test = {r["group"] for r in records if r["split"] == "test"}
    assert train and test and not train & test
    for r in records:  # compliance is an opener with the details left out, never instructions
        assert "[" in r["rejected"][0]["content"] and len(r["rejected"][0]["content"]) < 200


def test_chat_template_tokens_single_bos_completion_is_assistant_turn(tokenizer, records):
    rec = records[0]
    pairs, stats = B.encode_records(tokenizer, [rec], max_length=2048)
    pair = pairs[0]
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    naive = tokenizer(tokenizer.apply_chat_template(rec["prompt"], tokenize=False, add_generation_prompt=True))
    assert naive["input_ids"][:2] == [bos, bos]  # the trap: template BOS + post-processor BOS
    assert pair.prompt_ids.count(bos) == 1 and pair.prompt_ids[0] == bos
    assert tokenizer.decode(pair.prompt_ids).endswith("<|im_start|>assistant\n")
    chosen = tokenizer.decode(pair.chosen_ids)
    assert chosen == rec["chosen"][0]["content"] + "<|im_end|>\n"  # the assistant turn only, one end-of-turn
    assert pair.chosen_ids.count(eos) == 1 and bos not in pair.chosen_ids + pair.rejected_ids


def test_loss_mask_from_positions_keeps_eos_even_when_pad_is_eos(tokenizer, records):
    pairs, _ = B.encode_records(tokenizer, records[:3], max_length=2048)
    assert tokenizer.pad_token_id == tokenizer.eos_token_id
    batch = B.collate(pairs, 512, tokenizer.pad_token_id)
    for i, pair in enumerate(pairs):
        for j, completion in enumerate((pair.chosen_ids, pair.rejected_ids)):
            n_prompt, n = len(pair.prompt_ids), len(pair.prompt_ids) + len(completion)
            mask = batch["loss_mask"][i, j]
            assert mask[n_prompt:n].all() and mask.sum() == len(completion)
            assert batch["attention_mask"][i, j, :n].all() and not batch["attention_mask"][i, j, n:].any()
            eos_at = n_prompt + completion.index(tokenizer.eos_token_id)
            assert mask[eos_at]  # `ids != pad_id` would have dropped it
            assert (batch["input_ids"][i, j, :n] == pair.prompt_ids + completion).all()


def test_truncation_keeps_prompt_start_drops_completion_tails_and_counts_drops(tokenizer, records):
    full, _ = B.encode_records(tokenizer, records[:6], max_length=4096)
    prompt_lengths = sorted(len(p.prompt_ids) for p in full)
    limit = prompt_lengths[2] + 5  # some prompts fit with 5 completion tokens to spare, some do not fit at all
    pairs, stats = B.encode_records(tokenizer, records[:6], max_length=limit)
    assert stats.dropped_too_long == sum(n >= limit for n in prompt_lengths) > 0
    assert stats.kept == len(pairs) == 6 - stats.dropped_too_long
    by_id = {p.record_id: p for p in full}
    for p in pairs:
        assert 0 < len(p.chosen_ids) and 0 < len(p.rejected_ids)
        assert len(p.prompt_ids) + max(len(p.chosen_ids), len(p.rejected_ids)) <= limit
        assert p.prompt_ids == by_id[p.record_id].prompt_ids
        assert by_id[p.record_id].chosen_ids[: len(p.chosen_ids)] == p.chosen_ids
    with pytest.raises(UserError, match="max_length"):
        B.encode_records(tokenizer, records[:2], max_length=3)


def test_select_records_by_split_mix_languages_and_leak_check(records):
    train = B.select_records(records, split="train", mix="high_resource")
    assert {r["lang"] for r in train} == {"en", "de", "fr", "it", "es", "pt"}
    assert {r["split"] for r in train} == {"train"}
    assert {r["lang"] for r in B.select_records(records, split="train", mix="no_en", languages=["pl", "en"])} == {"pl"}
    assert {r["lang"] for r in B.select_records(records, split="test", mix="single:lv")} == {"lv"}
    leaked = dict(next(r for r in records if r["split"] == "test"), split="train", id="leak")
    with pytest.raises(UserError, match="group"):
        B.select_records(records + [leaked], split="train")
    with pytest.raises(UserError, match="no records left"):
        B.select_records(records, split="train", mix="en_only", languages=["de"])
    with pytest.raises(UserError, match="unknown language"):
        B.select_records(records, split="train", languages=["xx"])


def test_model_without_chat_template_is_a_user_error(tmp_path, records):
    tok = build_tokenizer(tmp_path, chat_template=None)
    with pytest.raises(UserError, match="chat template"):
        B.encode_records(tok, records[:1], max_length=512, source="model-dir")


def test_grain_batches_deterministic_resumable_and_split_over_hosts(tokenizer, records):
    pairs, _ = B.encode_records(tokenizer, records[:24], max_length=2048)
    kw = dict(global_batch=8, epochs=2, seed=3, max_length=2048, pad_id=0, pad_multiple=64)
    one = B.PairBatches(pairs, **kw)
    order = [b["index"].tolist() for b in one]
    assert len(order) == one.num_steps == 6
    epoch1 = sorted(i for b in order[:3] for i in b)
    epoch2 = sorted(i for b in order[3:] for i in b)
    assert epoch1 == epoch2 == list(range(24)) and order[:3] != order[3:]  # each epoch reshuffled
    again = B.PairBatches(pairs, **kw)
    next(again), next(again)
    state = again.get_state()
    resumed = B.PairBatches(pairs, **kw)
    resumed.set_state(state)
    assert [b["index"].tolist() for b in resumed] == order[2:]
    hosts = [B.PairBatches(pairs, process_index=i, process_count=2, **kw) for i in range(2)]
    for step, (a, b) in enumerate(zip(*hosts)):
        assert a["index"].tolist() + b["index"].tolist() == order[step]
        assert a["input_ids"].shape[-1] == b["input_ids"].shape[-1]  # hosts agree on the padded length
        assert a["input_ids"].shape[-1] % 64 == 0
