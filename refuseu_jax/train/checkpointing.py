"""Orbax checkpoints of a training run: train state (params, optimizer state, step) + each host's data-iterator
state + meta, in one directory every host shares (a bucket on a pod: see refuseu_jax.storage).

Saves are asynchronous (the step loop continues while arrays are written) and atomic: orbax writes each step into
a temporary directory and renames it only once complete, so a process killed mid-write leaves the previous
checkpoint as the latest restorable one. `keep` bounds how many are kept.

Layout choices:
- Stacked per-layer arrays ([L, ...], and their Adam moments) are stored in chunks of one layer, so a release
  export can read one layer at a time (refuseu_jax/checkpoints/run_export.py) instead of the whole stack:
  70B's stacked gate projection alone is 75 GB in float32.
- The data-iterator state is saved by every host in a file of its own (`data/process_I-of-N.json`, the layout
  grain's own orbax handler uses) and each host restores its own.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Mapping, Optional

import jax
import orbax.checkpoint as ocp
from etils import epath
from orbax.checkpoint._src.handlers.json_checkpoint_handler import JsonCheckpointHandler

from data_tools.errors import UserError
from refuseu_jax import storage


class HostStateHandler(JsonCheckpointHandler):
    """A small JSON dict per host: each process writes `process_{i}-of-{n}.json` and reads its own back.

    A job restarted with another number of hosts finds no file of its own; it may then take the saved states
    only if they are all equal (true of `PairBatches`, whose state is the position in the global batch order)."""

    @staticmethod
    def _name(index: int, count: int) -> str:
        return f"process_{index}-of-{count}.json"

    async def _save_fn(self, x, directory):
        (directory / self._name(jax.process_index(), jax.process_count())).write_text(json.dumps(x))

    def restore(self, directory: epath.Path, item=None, args=None) -> Mapping[str, Any]:
        del item, args
        own = directory / self._name(jax.process_index(), jax.process_count())
        if own.exists():
            return json.loads(own.read_text())
        if (directory / "metadata").exists():  # written by the JsonCheckpointHandler of earlier versions
            return json.loads((directory / "metadata").read_text())
        saved = sorted(p for p in directory.iterdir() if p.name.startswith("process_") and p.name.endswith(".json"))
        states = [json.loads(p.read_text()) for p in saved]
        if states and all(s == states[0] for s in states):
            return states[0]
        raise UserError(f"{directory}: data-iterator states saved by {len(saved)} hosts differ and none is this "
                        f"host's ({own.name}); resume with the number of hosts that wrote the checkpoint")


@ocp.args.register_with_handler(HostStateHandler, for_save=True)
@dataclasses.dataclass
class HostStateSave(ocp.args.CheckpointArgs):
    item: Mapping[str, Any]


@ocp.args.register_with_handler(HostStateHandler, for_restore=True)
@dataclasses.dataclass
class HostStateRestore(ocp.args.CheckpointArgs):
    item: Optional[Mapping[str, Any]] = None


def layer_chunked_save_args(tree):
    """orbax SaveArgs per leaf: arrays under a `layers` key are chunked one layer per chunk (shard_axes=(0,)
    splits the leading axis first, down to 1); everything else gets orbax's default chunking."""

    def args(path, leaf):
        names = [getattr(k, "key", getattr(k, "name", None)) for k in path]
        return ocp.SaveArgs(shard_axes=(0,)) if "layers" in names and getattr(leaf, "ndim", 0) >= 1 else ocp.SaveArgs()

    return jax.tree_util.tree_map_with_path(args, tree)


class RunCheckpoints:
    def __init__(self, directory: storage.PathOrUrl, keep: int = 3, async_save: bool = True):
        self.directory = directory if isinstance(directory, epath.Path) else storage.location(directory)
        options = ocp.CheckpointManagerOptions(max_to_keep=max(1, keep), create=True,
                                               enable_async_checkpointing=async_save)
        self.manager = ocp.CheckpointManager(self.directory, options=options)

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def all_steps(self) -> list[int]:
        return list(self.manager.all_steps())

    def save(self, step: int, state, data_state: dict, meta: dict) -> None:
        self.manager.save(step, args=ocp.args.Composite(
            state=ocp.args.StandardSave(state, save_args=layer_chunked_save_args(state)),
            data=HostStateSave(data_state),
            meta=ocp.args.JsonSave(meta),
        ), force=True)

    def restore(self, step: int, like_state):
        """Restore into the shapes, dtypes and shardings of `like_state` (arrays or ShapeDtypeStructs); the data
        state is this host's own."""
        abstract = jax.tree.map(_abstract, like_state)
        out = self.manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract),
            data=HostStateRestore(),
            meta=ocp.args.JsonRestore(),
        ))
        return out["state"], out["data"], out["meta"]

    def restore_meta(self, step: int) -> dict:
        return self.manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]

    def step_directory(self, step: int) -> epath.Path:
        return self.directory / str(step)

    def wait(self) -> None:
        self.manager.wait_until_finished()

    def close(self) -> None:
        self.manager.wait_until_finished()
        self.manager.close()


def _abstract(x):
    if isinstance(x, jax.ShapeDtypeStruct):
        return x
    return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=getattr(x, "sharding", None))
