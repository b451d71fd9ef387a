"""One DPO step on a tiny model: the same token ids, loss, metrics and gradients as TRL's DPOTrainer."""

from __future__ import annotations

import copy

import jax
import numpy as np
import pytest

from data_tools.configuration import from_dict
from data_tools.sample import SAMPLE_PATH
from data_tools.schema import read_records
from refuseu_jax.parallel import MeshConfig, make_mesh
from refuseu_jax.train import batches as B
from refuseu_jax.train.config import TrainConfig
from refuseu_jax.train.trainer import DPOTrainer

from tests.refuseu_jax.train.tiny_assets import build_checkpoint
from tests.refuseu_jax.train.trl_helpers import trl_batch, trl_trainer



@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    ref_dir, policy_dir = tmp_path_factory.mktemp("ref"), tmp_path_factory.mktemp("policy")
    build_checkpoint(ref_dir, seed=0)
    build_checkpoint(policy_dir, seed=1)  # a policy that differs from its reference: rewards are not all zero
    all_train = [r for r in read_records(SAMPLE_PATH) if r["split"] == "train"]
    records = [all_train[i] for i in (0, 13, 27, 40)]  # different languages and lengths
    return ref_dir, policy_dir, records, tmp_path_factory


def _ours(setup, loss_type, sft_weight):
    ref_dir, policy_dir, records, tmp = setup
    cfg = from_dict(TrainConfig, {
        "run_dir": str(tmp.mktemp("run")), "batch_size": 4, "epochs": 1, "progress": False,
        "model": {"path": str(policy_dir), "reference_path": str(ref_dir)},
        "data": {"max_length": 1024, "pad_multiple": 1},
        "dpo": {"loss_type": loss_type, "sft_weight": sft_weight, "logprob_chunk": 100},
    })
    mesh = make_mesh(MeshConfig(1, 1, 1), devices=jax.devices()[:1])
    return DPOTrainer(cfg, mesh=mesh, records=records)


@pytest.mark.parametrize("loss_type,sft_weight", [("sigmoid", 0.5), ("ipo", 0.0)])
def test_one_step_matches_trl(setup, loss_type, sft_weight):
    import torch
    from tests.refuseu_jax.hf_tiny import params_from_hf

    ref_dir, policy_dir, records, tmp = setup
    theirs = trl_trainer(policy_dir, records, tmp.mktemp("trl"), loss_type=loss_type, sft_weight=sft_weight)
    from transformers import AutoModelForCausalLM

    theirs.ref_model = AutoModelForCausalLM.from_pretrained(str(ref_dir), dtype=torch.float32).eval()
    from trl.trainer.dpo_trainer import add_fused_lm_head

    add_fused_lm_head(theirs.ref_model)
    trainer = _ours(setup, loss_type, sft_weight)

    # Same token ids: prompt rendered with the generation prompt, completion = the assistant turn only.
    for pair, row in zip(trainer.pairs, theirs.train_dataset):
        assert list(pair.prompt_ids) == row["prompt_ids"]
        assert list(pair.chosen_ids) == row["chosen_ids"] and list(pair.rejected_ids) == row["rejected_ids"]

    batch = trl_batch(theirs)
    theirs.model.train()
    theirs.model.zero_grad()
    their_loss = theirs._compute_loss(theirs.model, batch, False)
    their_loss.backward()
    their_metrics = {k: v[-1] for k, v in theirs._metrics["train"].items()}
    grad_model = copy.deepcopy(theirs.model)
    with torch.no_grad():
        for p, g in zip(grad_model.parameters(), theirs.model.parameters()):
            p.copy_(g.grad)
    their_grads = params_from_hf(grad_model)

    seq_len = B.padded_length(trainer.pairs, 1024, 1)
    loss, metrics, grads = trainer.loss_and_grads(B.collate(trainer.pairs, seq_len, trainer.pad_id))
    assert abs(float(loss) - their_loss.item()) < 1e-4
    for name in ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies", "logps/chosen",
                 "logps/rejected", "logits/chosen", "logits/rejected"):
        assert abs(float(metrics[name]) - their_metrics[name]) < 1e-4 * max(1.0, abs(their_metrics[name])), name
    assert 0 < float(metrics["rewards/accuracies"]) < 1 or abs(float(metrics["rewards/margins"])) > 1e-3
    flat_ours = dict(jax.tree_util.tree_flatten_with_path(grads)[0])
    flat_theirs = dict(jax.tree_util.tree_flatten_with_path(their_grads)[0])
    assert flat_ours.keys() == flat_theirs.keys()
    pad = theirs.model.config.pad_token_id
    for path, g in flat_ours.items():
        g, want = np.array(g), np.array(flat_theirs[path])
        if jax.tree_util.keystr(path) == "['embed']['embedding']":
            # torch's nn.Embedding(padding_idx=pad) never passes gradient to the pad row. Here pad == eos, so HF
            # leaves the end-of-turn embedding untrained; we train it. Every other row must agree.
            assert not want[pad].any() and np.abs(g[pad]).max() > 1e-3
            g, want = np.delete(g, pad, axis=0), np.delete(want, pad, axis=0)
        np.testing.assert_allclose(g, want, atol=1e-4, err_msg=jax.tree_util.keystr(path))
