"""RefusEU records -> token ids -> fixed-shape DPO batches, with a checkpointable grain iterator.

Tokenization goes through the tokenizer's own chat template, the way the model will see the prompt at inference:
  prompt     = template(prompt messages, add_generation_prompt=True)
  completion = template(prompt + answer)[len(prompt):]   (the assistant turn only, with its end-of-turn token)
Both are tokenized with add_special_tokens=False because the template already carries BOS/EOS where the model
wants them; tokenizing the rendered text with special tokens again is the classic doubled-BOS bug.

Masks are built from lengths and positions, never from `ids != pad_id` (which drops the final EOS whenever
pad == eos, as it does for many Llama tokenizers).

Batches are pair-major: arrays are [pairs, 2, T] with row 0 = chosen, row 1 = rejected, so splitting the leading
axis over devices keeps each pair on one device and the step does a single forward over [2 * pairs, T].
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from typing import Sequence

import numpy as np

from data_tools.errors import UserError
from data_tools.taxonomy import HIGH_RESOURCE, check_languages, mix_languages


@dataclasses.dataclass(frozen=True)
class EncodedPair:
    record_id: str
    lang: str
    prompt_ids: tuple[int, ...]
    chosen_ids: tuple[int, ...]
    rejected_ids: tuple[int, ...]


@dataclasses.dataclass
class EncodeStats:
    kept: int = 0
    dropped_too_long: int = 0  # the prompt alone filled max_length: no completion token would be trained on
    truncated: int = 0  # completion tails cut to fit max_length
    per_language: Counter = dataclasses.field(default_factory=Counter)

    def summary(self) -> str:
        return (f"{self.kept} pairs kept, {self.dropped_too_long} dropped (prompt fills max_length), "
                f"{self.truncated} with truncated completions")


# ---------------------------------------------------------------------------------------------------------------
# Selecting records


def select_records(records: Sequence[dict], *, split: str, mix: str = "balanced", languages: Sequence[str] = (),
                   high_resource: Sequence[str] | None = None, balance: bool = True,
                   source: str = "data") -> list[dict]:
    """Records of one split in the mix (and in `languages`, when given).

    The train split goes through `data_tools.steps.mix.select_mix`, the function the dataset build uses for
    export/mixes/<mix>: "balanced" is every language at equal counts, here as there, and the same records are
    chosen. The test split is every test record of the mix's languages.

    For the train split this also checks that no test prompt (normalised, per language) and no test
    (category/style) group leaks into training: the paper splits by group, and a leak would inflate every test
    number.
    """
    from data_tools.steps.leakage import prompt_key
    from data_tools.steps.mix import select_mix

    high_resource = tuple(high_resource) if high_resource else HIGH_RESOURCE
    langs = set(mix_languages(mix, high_resource))
    if languages:
        langs &= set(check_languages(list(languages), where=f"{source}: key 'data.languages'"))
    chosen = [r for r in records if r["split"] == split and r["lang"] in langs]
    if not chosen:
        raise UserError(f"{source}: no records left after filtering (split={split!r}, mix={mix!r}, "
                        f"languages={sorted(langs)}); check key 'data.split', 'data.mix' or 'data.languages'")
    if split == "train":
        test = [r for r in records if r["split"] == "test"]
        test_groups = {r["group"] for r in test}
        test_prompts = {prompt_key(r): r["id"] for r in test}
        for rec in chosen:
            if rec["group"] in test_groups:
                raise UserError(f"{source}: train record {rec['id']} is in group {rec['group']!r}, which also has "
                                f"test records (the split must be by group)")
            if prompt_key(rec) in test_prompts:
                raise UserError(f"{source}: train record {rec['id']} repeats the prompt of test record "
                                f"{test_prompts[prompt_key(rec)]}")
        chosen = select_mix(chosen, mix, high_resource, balance, languages=sorted(langs))
    return chosen


# ---------------------------------------------------------------------------------------------------------------
# Tokenizing


def check_chat_template(tokenizer, source: str) -> None:
    if not getattr(tokenizer, "chat_template", None):
        raise UserError(f"{source}: tokenizer has no chat template (key 'chat_template' in tokenizer_config.json "
                        f"or chat_template.jinja); conversational RefusEU records need one")


def _strip_doubled(ids: list[int], token: int | None, at_start: bool) -> list[int]:
    if token is None or len(ids) < 2:
        return ids
    if at_start and ids[0] == token and ids[1] == token:
        return ids[1:]
    if not at_start and ids[-1] == token and ids[-2] == token:
        return ids[:-1]
    return ids


def render_pair(tokenizer, rec: dict, where: str) -> tuple[str, str, str]:
    """(prompt text with generation prompt, chosen turn text, rejected turn text)."""
    prompt_text = tokenizer.apply_chat_template(rec["prompt"], tokenize=False, add_generation_prompt=True)
    turns = []
    for key in ("chosen", "rejected"):
        full = tokenizer.apply_chat_template(rec["prompt"] + rec[key], tokenize=False)
        if not full.startswith(prompt_text):
            raise UserError(f"{where}: key '{key}': the chat template renders the prompt differently when the "
                            f"answer follows it, so the completion cannot be separated from the prompt")
        turns.append(full[len(prompt_text):])
    return prompt_text, turns[0], turns[1]


def encode_records(tokenizer, records: Sequence[dict], *, max_length: int, max_prompt_length: int | None = None,
                   source: str = "data") -> tuple[list[EncodedPair], EncodeStats]:
    """Tokenize records into pairs; truncate (prompt start kept, completion tails dropped) and count drops."""
    check_chat_template(tokenizer, source)
    texts = [render_pair(tokenizer, rec, f"{source}: record {rec['id']}") for rec in records]
    flat = [t for triple in texts for t in triple]
    ids = tokenizer(flat, add_special_tokens=False)["input_ids"] if flat else []
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    stats = EncodeStats()
    pairs = []
    for i, rec in enumerate(records):
        prompt = _strip_doubled(list(ids[3 * i]), bos, at_start=True)
        completions = [_strip_doubled(list(ids[3 * i + k]), eos, at_start=False) for k in (1, 2)]
        if max_prompt_length is not None and len(prompt) > max_prompt_length:
            prompt = prompt[:max_prompt_length]
        room = max_length - len(prompt)
        if room <= 0:
            stats.dropped_too_long += 1
            continue
        if any(len(c) > room for c in completions):
            stats.truncated += 1
        chosen, rejected = (tuple(c[:room]) for c in completions)
        pairs.append(EncodedPair(rec["id"], rec["lang"], tuple(prompt), chosen, rejected))
        stats.kept += 1
        stats.per_language[rec["lang"]] += 1
    if not pairs:
        raise UserError(f"{source}: every pair was dropped by truncation (key 'data.max_length' = {max_length} "
                        f"is shorter than the prompts)")
    return pairs, stats


# ---------------------------------------------------------------------------------------------------------------
# Collating


def padded_length(pairs: Sequence[EncodedPair], max_length: int, pad_multiple: int) -> int:
    """Sequence length of a batch: the longest pair rounded up to `pad_multiple` (fewer distinct shapes to
    compile), capped at max_length; pad_multiple <= 0 always pads to max_length."""
    if pad_multiple <= 0:
        return max_length
    longest = max(len(p.prompt_ids) + max(len(p.chosen_ids), len(p.rejected_ids)) for p in pairs)
    return min(max_length, math.ceil(longest / pad_multiple) * pad_multiple)


def collate(pairs: Sequence[EncodedPair], seq_len: int, pad_id: int) -> dict[str, np.ndarray]:
    """Right-padded [len(pairs), 2, seq_len] arrays: input_ids, attention_mask, loss_mask (completion tokens)."""
    n = len(pairs)
    input_ids = np.full((n, 2, seq_len), pad_id, np.int32)
    lengths = np.zeros((n, 2), np.int32)
    prompt_lengths = np.zeros((n, 1), np.int32)
    for i, pair in enumerate(pairs):
        prompt_lengths[i] = len(pair.prompt_ids)
        for j, completion in enumerate((pair.chosen_ids, pair.rejected_ids)):
            seq = pair.prompt_ids + completion
            input_ids[i, j, : len(seq)] = seq
            lengths[i, j] = len(seq)
    positions = np.arange(seq_len, dtype=np.int32)[None, None, :]
    attention_mask = positions < lengths[..., None]
    loss_mask = attention_mask & (positions >= prompt_lengths[..., None])
    return {"input_ids": input_ids, "attention_mask": attention_mask, "loss_mask": loss_mask}


# ---------------------------------------------------------------------------------------------------------------
# Iterating (grain)


def planned_steps(num_pairs: int, global_batch: int, epochs: int) -> int:
    """Optimizer steps over `epochs` passes: whole batches only, the remainder of the last pass dropped."""
    return (num_pairs * epochs) // global_batch


class PairBatches:
    """Deterministic, resumable batches of pairs for one host.

    A grain pipeline over pair indices: shuffle (seeded, a fresh permutation every epoch), repeat for the epochs,
    group into global batches, then each host keeps its own rows of every global batch. Every host therefore
    agrees on the order and on the padded length; the iterator state is a small dict (saved with checkpoints).
    """

    def __init__(self, pairs: Sequence[EncodedPair], *, global_batch: int, epochs: int, seed: int, max_length: int,
                 pad_id: int, pad_multiple: int = 0, process_index: int = 0, process_count: int = 1,
                 ref_logps: np.ndarray | None = None, shuffle: bool = True):
        import grain

        if global_batch % process_count:
            raise UserError(f"key 'batch_size' = {global_batch} is not divisible by {process_count} hosts")
        if len(pairs) < global_batch:
            raise UserError(f"data: {len(pairs)} pairs are fewer than one batch (key 'batch_size' = {global_batch})")
        self.pairs = list(pairs)
        self.ref_logps = ref_logps
        self.steps_per_epoch = len(self.pairs) // global_batch
        self.num_steps = planned_steps(len(self.pairs), global_batch, epochs)
        per_host = global_batch // process_count
        rows = slice(process_index * per_host, (process_index + 1) * per_host)

        def make_batch(indices):
            selected = [self.pairs[i] for i in indices]
            seq_len = padded_length(selected, max_length, pad_multiple)
            batch = collate(selected[rows], seq_len, pad_id)
            batch["index"] = np.asarray(indices[rows], np.int32)
            if self.ref_logps is not None:
                batch["ref_logps"] = self.ref_logps[indices[rows]]
            return batch

        ds = grain.MapDataset.range(len(self.pairs))
        if shuffle:
            ds = ds.shuffle(seed=seed)
        ds = ds.repeat(epochs).batch(global_batch, drop_remainder=True).map(make_batch)
        self._dataset = ds
        self._iter = iter(ds.to_iter_dataset())

    def __iter__(self):
        return self

    def __next__(self) -> dict[str, np.ndarray]:
        return next(self._iter)

    def get_state(self) -> dict:
        return self._iter.get_state()

    def set_state(self, state: dict) -> None:
        self._iter.set_state(state)
