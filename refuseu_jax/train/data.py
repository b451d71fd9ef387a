"""Training data of a run: the configured records -> the mixture (harmful pairs, benign pairs, held-out
validation groups; train/mixture.py) -> tokenized pairs (train/batches.py)."""

from __future__ import annotations

import numpy as np

from data_tools.sample import BENIGN_PAIRS_PATH, SAMPLE_PATH, bundled_or
from refuseu_jax.train import batches as B
from refuseu_jax.train import mixture
from refuseu_jax.train.config import TrainConfig


def data_path(path: str) -> str:
    """`data.path`: a records file or directory, or "sample" for the bundled sample."""
    return str(bundled_or(path, "sample", SAMPLE_PATH))


def benign_data_path(path: str) -> str:
    """`data.benign_path`: a records file or directory, or "sample" for the bundled benign pairs."""
    return str(bundled_or(path, "sample", BENIGN_PAIRS_PATH))


def selected_records(cfg: TrainConfig, records=None) -> list[dict]:
    """The records of the configured split and mix (and the first `data.limit` of them, seeded)."""
    from data_tools.schema import read_records

    path = data_path(cfg.data.path)
    records = read_records(path) if records is None else records
    selected = B.select_records(records, split=cfg.data.split, mix=cfg.data.mix, languages=cfg.data.languages,
                                high_resource=cfg.data.high_resource, balance=cfg.data.balance, source=path)
    if cfg.data.limit is not None and cfg.data.limit < len(selected):
        order = np.random.default_rng(cfg.data.shuffle_seed).permutation(len(selected))
        selected = [selected[i] for i in sorted(order[: cfg.data.limit])]
    return selected


def training_mixture(cfg: TrainConfig, records=None, benign=None) -> mixture.Mixture:
    """Harmful pairs of the configured mix, plus `data.benign_ratio` benign pairs (same languages), minus the
    groups held out for validation (`validation.fraction`); see train/mixture.py."""
    harmful = selected_records(cfg, records)
    source = "benign pairs"
    if cfg.data.benign_ratio > 0:
        if benign is None:
            from data_tools.schema import read_records

            source = benign_data_path(cfg.data.benign_path)
            benign = read_records(source)
        benign = B.select_records(benign, split="train", mix=cfg.data.mix, languages=cfg.data.languages,
                                  high_resource=cfg.data.high_resource, source=source)
    return mixture.build_mixture(harmful, benign or [], benign_ratio=cfg.data.benign_ratio,
                                 validation_fraction=cfg.validation.fraction, seed=cfg.data.shuffle_seed,
                                 source=source)


def encode(cfg: TrainConfig, tokenizer, records) -> tuple[list[B.EncodedPair], B.EncodeStats]:
    return B.encode_records(tokenizer, records, max_length=cfg.data.max_length,
                            max_prompt_length=cfg.data.max_prompt_length, source=data_path(cfg.data.path))


def prepare_pairs(cfg: TrainConfig, tokenizer, records=None) -> tuple[list[B.EncodedPair], B.EncodeStats]:
    return encode(cfg, tokenizer, selected_records(cfg, records))

