"""Decisions every host of a multi-host job must take identically.

Each host runs the same program, and every jitted computation over the global mesh is a collective: a host that
skips one (because *its* disk has a cache file, or *its* listing shows another latest checkpoint) leaves the others
waiting in it forever. So whatever decides which collectives run is read once, on process 0, and broadcast:
the step to resume from, whether the reference log-probs are cached, and their values. On one host every helper
here is a no-op.
"""

from __future__ import annotations

import secrets

import jax
import numpy as np

from data_tools.errors import UserError
from refuseu_jax import storage


def from_process_0(tree):
    """`tree` (numpy arrays of the same shapes on every host) as process 0 holds it, on every host."""
    from jax.experimental import multihost_utils

    return multihost_utils.broadcast_one_to_all(tree)


def decided_int(value: int) -> int:
    """Process 0's integer, on every host (int32 range: steps, flags)."""
    return int(from_process_0(np.asarray(value, np.int32)))


def raise_unless_all(ok: bool, message: str) -> None:
    """Raise UserError(message) on every host if any host says not ok (a host raising alone would leave the
    others in their next collective)."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        flags = np.asarray(multihost_utils.process_allgather(np.asarray([int(ok)], np.int32)))
        bad = [i for i, flag in enumerate(flags.reshape(-1)) if not flag]
        if bad:
            raise UserError(f"{message} (hosts {bad})")
    elif not ok:
        raise UserError(message)


def check_shared(directory: storage.Location, key: str = "run_dir") -> None:
    """Fail (on every host, with the same message) unless every host sees the same `directory`: process 0 writes
    a fresh random token there and every host must read it back. A local path on a pod fails here, at start-up,
    instead of as orbax commits that never complete or a resume that hangs."""
    if jax.process_count() == 1:
        return
    token = np.frombuffer(secrets.token_bytes(16), np.int32).copy()
    probe = directory / ".shared-storage-check"
    if jax.process_index() == 0:
        try:  # a failure must reach the other hosts too, below, not leave them in the broadcast
            storage.makedirs(directory)
            storage.write_bytes(probe, token.tobytes())
        except OSError:
            token[:] = 0
    token = from_process_0(token)
    try:
        seen = np.frombuffer(storage.read_bytes(probe), np.int32)
        ok = token.any() and seen.shape == token.shape and bool((seen == token).all())
    except OSError:
        ok = False
    raise_unless_all(ok, f"key '{key}': {directory} is not one directory shared by every host: what process 0 "
                         f"wrote there is not visible to all (on a TPU pod use a bucket, e.g. gs://BUCKET/runs/NAME)")
