"""One process of a two-process CPU JAX job (run by test_multihost.py): load a HF checkpoint onto a mesh spanning
both processes, run a forward, and export it again (gathered across processes, written by process 0 only)."""

import os
import sys

import numpy as np


def main(src: str, out: str) -> None:
    import jax

    from refuseu_jax.parallel import MeshConfig, initialize_distributed, make_mesh

    assert initialize_distributed() is True  # from the JAX_* variables the test sets
    assert jax.process_count() == 2 and jax.device_count() == 8 and jax.local_device_count() == 4

    from flax import nnx

    from refuseu_jax import from_pretrained, save_pretrained
    from refuseu_jax.parallel import batch_sharding

    mesh = make_mesh(MeshConfig(data=2, fsdp=2, tensor=2))
    model = from_pretrained(src, mesh=mesh)
    weight = model.layers.q_proj.weight[...]
    assert not weight.is_fully_addressable and {s.data.shape for s in weight.addressable_shards} == {(2, 16, 16)}
    ids = np.arange(4 * 8).reshape(4, 8) % 128
    batch = jax.make_array_from_callback(ids.shape, batch_sharding(mesh), lambda idx: ids[idx])
    logits = nnx.jit(lambda m, x: m(x))(model, batch)
    from jax.experimental import multihost_utils
    full = multihost_utils.process_allgather(logits, tiled=True)
    np.save(os.path.join(out + f".logits{jax.process_index()}.npy"), np.asarray(full))
    save_pretrained(model, out)
    multihost_utils.sync_global_devices("exported")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
