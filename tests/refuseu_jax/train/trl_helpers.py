"""TRL's DPOTrainer built on a tiny checkpoint directory, as the PyTorch reference the tests compare against."""

from __future__ import annotations

import copy


def trl_trainer(model_dir, records, out_dir, *, loss_type="sigmoid", beta=0.1, label_smoothing=0.0, max_length=1024,
                sft_weight=0.0):
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    # The reference is passed explicitly: with ref_model=None TRL reloads it from disk by name.
    ref_model = copy.deepcopy(model)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    data = Dataset.from_list([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in records])
    loss_types = [loss_type] + (["sft"] if sft_weight else [])
    args = DPOConfig(output_dir=str(out_dir), loss_type=loss_types, loss_weights=[1.0] + ([sft_weight] if sft_weight else []),
                     beta=beta, label_smoothing=label_smoothing, max_length=max_length, report_to="none",
                     use_cpu=True, per_device_train_batch_size=len(records), bf16=False, fp16=False, seed=0,
                     dataloader_drop_last=False, save_strategy="no", logging_strategy="no")
    trainer = DPOTrainer(model=model, ref_model=ref_model, args=args, train_dataset=data, processing_class=tokenizer)
    return trainer


def trl_batch(trainer):
    """The collated batch of the whole (tiny) training set, in dataset order."""
    rows = [trainer.train_dataset[i] for i in range(len(trainer.train_dataset))]
    return trainer.data_collator(rows)
