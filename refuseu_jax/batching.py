"""Fixed-shape batches over a list of items, for every loop that scores or samples a list on the mesh.

Each jitted function compiles once per input shape, so a list is cut into batches of one size and the last
batch is filled up with copies of its first item; their results are dropped. On a multi-host mesh every host
walks the same batches (so all of them agree on lengths and enter the same collectives) and feeds its own rows.
"""

from __future__ import annotations

from typing import Iterator, Sequence, TypeVar

T = TypeVar("T")


def fixed_batches(items: Sequence[T], size: int) -> Iterator[tuple[int, list[T], int]]:
    """(start, batch, real) for consecutive batches of `size` items: `batch` always holds `size` items, the first
    `real` of them genuine (items[start:start + real]), the rest copies of its first item."""
    for start in range(0, len(items), size):
        batch = list(items[start:start + size])
        real = len(batch)
        yield start, batch + [batch[0]] * (size - real), real


def host_rows(batch: Sequence[T], process_index: int, process_count: int) -> Sequence[T]:
    """This host's rows of a global batch: contiguous equal shares, in process order."""
    per_host = len(batch) // process_count
    return batch[process_index * per_host:(process_index + 1) * per_host]


def pad_id(pad_token_id: int | None, eos_token_ids: int | Sequence[int] | None) -> int:
    """The id written into padding: the pad token, else the (first) EOS token, else 0. Masks come from lengths and
    positions, never from the ids, so the value reaches no loss or logit; one rule keeps every batch alike."""
    if pad_token_id is not None:
        return int(pad_token_id)
    if isinstance(eos_token_ids, int):
        return int(eos_token_ids)
    return int(eos_token_ids[0]) if eos_token_ids else 0


def pad_id_of(tokenizer) -> int:
    """`pad_id` of a Hugging Face tokenizer."""
    return pad_id(tokenizer.pad_token_id, tokenizer.eos_token_id)
