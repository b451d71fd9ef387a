"""Parameters in orbax checkpoints: our own parameter-only format, and the parameters inside training checkpoints.

A training checkpoint holds more than the model (optimizer state, step, ...). `restore_params` finds the
parameter subtree (the first mapping, searched breadth-first, that holds both "embed" and "layers") and restores
only that, each array straight into its target sharding, so exporting never loads the optimizer state.
"""

from __future__ import annotations

from pathlib import Path

import jax

from data_tools.errors import UserError
from refuseu_jax.models.config import ModelConfig


def save_params(params: dict, directory: str | Path) -> Path:
    """Write a parameter tree as an orbax (OCDBT) checkpoint directory; orbax writes it atomically."""
    import orbax.checkpoint as ocp

    directory = Path(directory).absolute()
    with ocp.StandardCheckpointer() as ckptr:
        ckptr.save(directory, params, force=True)
        ckptr.wait_until_finished()
    return directory


def _params_path(tree, where: Path) -> tuple[str, ...]:
    queue = [((), tree)]
    while queue:
        path, node = queue.pop(0)
        if hasattr(node, "keys"):
            keys = set(node.keys())
            if {"embed", "layers"} <= keys:
                return path
            queue.extend((path + (k,), node[k]) for k in node.keys())
    raise UserError(f"{where}: no model parameters found in this orbax checkpoint (expected a tree with 'embed' "
                    "and 'layers', at the top or under e.g. 'params')")


def restore_params(directory: str | Path, cfg: ModelConfig, mesh=None, rules=None) -> dict:
    """The parameter tree of an orbax checkpoint, laid out on `mesh` (default: the first device)."""
    import orbax.checkpoint as ocp
    from jax.sharding import SingleDeviceSharding

    from refuseu_jax.models.llama import param_shapes

    directory = Path(directory).absolute()
    if not directory.is_dir():
        raise UserError(f"{directory}: no such directory (expected an orbax checkpoint)")
    ckptr = ocp.PyTreeCheckpointer()
    try:
        metadata = ckptr.metadata(directory).item_metadata
    except Exception as err:  # orbax raises several types for a directory that is not a checkpoint
        raise UserError(f"{directory}: not a readable orbax checkpoint ({type(err).__name__}: {err})") from None
    prefix = _params_path(metadata, directory)

    shapes = param_shapes(cfg)
    if mesh is not None:
        from refuseu_jax.parallel import PARTITION_RULES, param_shardings
        shardings = param_shardings(mesh, shapes, rules or PARTITION_RULES)
    else:
        shardings = {k: SingleDeviceSharding(jax.devices()[0]) for k in shapes}

    on_disk = metadata
    for key in prefix:
        on_disk = on_disk[key]
    target, restore_args = {}, {}
    for path, (shape, _) in shapes.items():
        node = on_disk
        for key in path:
            if not hasattr(node, "keys") or key not in node.keys():
                raise UserError(f"{directory}: parameter {'/'.join(prefix + path)} missing (config expects it)")
            node = node[key]
        if tuple(node.shape) != tuple(shape):
            raise UserError(f"{directory}: parameter {'/'.join(prefix + path)} has shape {list(node.shape)}, "
                            f"expected {list(shape)} from the model config")
        _set(target, prefix + path, jax.ShapeDtypeStruct(shape, node.dtype, sharding=shardings[path]))
        _set(restore_args, prefix + path, ocp.ArrayRestoreArgs(sharding=shardings[path]))
    restored = ckptr.restore(directory, args=ocp.args.PyTreeRestore(item=target, restore_args=restore_args,
                                                                    partial_restore=True))
    for key in prefix:
        restored = restored[key]
    return restored


def _set(tree: dict, path: tuple[str, ...], value) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value
