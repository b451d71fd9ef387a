"""DPO training of a Flax Llama on RefusEU pairs: the loop, its checkpoints, validation and logs.

The pieces, in the order a run uses them:
  load_params     HF checkpoint (or random preset) -> (ModelConfig, params on the mesh, tokenizer)  (train/state.py)
  prepare_pairs   records -> filtered, tokenized pairs                                   (train/data.py, batches.py)
  build_state     params + pairs -> the step's spec, optimizer, variables, reference, shardings   (train/state.py)
  train_step      one jitted update                                                                (train/step.py)
  DPOTrainer      runs the steps: resume, log, checkpoint, validate, stop early, export
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import time
from pathlib import Path

import jax
import numpy as np
from flax import nnx

from data_tools.configuration import to_dict
from data_tools.errors import UserError
from refuseu_jax import storage
from refuseu_jax.batching import pad_id_of
from refuseu_jax.parallel import make_mesh, param_shardings, with_mesh
from refuseu_jax.train import batches as B
from refuseu_jax.train import hosts
from refuseu_jax.train.checkpointing import RunCheckpoints
from refuseu_jax.train.config import TrainConfig
from refuseu_jax.train.data import encode, prepare_pairs, training_mixture
from refuseu_jax.train.lora import policy_params
from refuseu_jax.train.metrics_log import MetricsLogger, progress_bar
from refuseu_jax.train.state import build_state, load_params, resolve_auto_numerics
from refuseu_jax.train.step import graphdef_of, loss_fn, preference_loss, train_step


class DPOTrainer:
    """Build with a config (and optionally ready-made model/tokenizer/records, as tests do), then `train()`."""

    def __init__(self, cfg: TrainConfig, *, mesh=None, model=None, tokenizer=None, records=None,
                 model_source: str | None = None, benign_records=None):
        self.cfg = cfg = resolve_auto_numerics(cfg)
        if cfg.slice and jax.default_backend() == "tpu":
            from refuseu_jax.plan import parse_slice

            chips = parse_slice(cfg.slice, key="key 'slice'").devices
            if jax.device_count() != chips:
                raise UserError(f"key 'slice': the config is sized for {cfg.slice} ({chips} chips), this job has "
                                f"{jax.device_count()}; check with `refuseu plan --config ... --slice TYPE`, then "
                                f"--set slice=TYPE (or slice=null)")
        self.mesh = mesh if mesh is not None else make_mesh(cfg.mesh)
        if model is None:
            self.model_cfg, params, self.tokenizer, self.model_source = load_params(cfg, self.mesh)
        else:  # (ModelConfig, params) given directly
            self.model_cfg, params = model
            params = jax.device_put(params, param_shardings(self.mesh, params))
            self.tokenizer, self.model_source = tokenizer, model_source
        self.mixture = training_mixture(cfg, records, benign_records)
        self.pairs, self.encode_stats = encode(cfg, self.tokenizer, self.mixture.train)
        self.validation_pairs = encode(cfg, self.tokenizer, self.mixture.validation)[0] if self.mixture.validation \
            else []
        self.pad_id = pad_id_of(self.tokenizer)
        # One directory every host shares (a bucket on a pod); checked before anything depends on it.
        self.run_dir = storage.location(cfg.run_dir)
        hosts.check_shared(self.run_dir)

        steps = B.planned_steps(len(self.pairs), cfg.batch_size, cfg.epochs)
        self.total_steps = min(steps, cfg.max_steps or steps)
        built = build_state(cfg, self.mesh, self.model_cfg, params, pairs=self.pairs,
                            validation_pairs=self.validation_pairs, pad_id=self.pad_id, run_dir=self.run_dir,
                            total_steps=self.total_steps)
        del params
        self.spec, self.optimizer, self.state = built.spec, built.optimizer, built.variables
        self.reference, self.shardings, self.score = built.reference, built.shardings, built.score
        self.validation_ref, self._validation_start = built.validation_ref, built.validation_start
        self.data = B.PairBatches(self.pairs, global_batch=cfg.batch_size, epochs=cfg.epochs,
                                  seed=cfg.data.shuffle_seed, max_length=cfg.data.max_length, pad_id=self.pad_id,
                                  pad_multiple=cfg.data.pad_multiple, process_index=jax.process_index(),
                                  process_count=jax.process_count(), ref_logps=self.reference.logps)
        self._step_fn = None

    @property
    def frozen(self):
        """The weights the step reads besides the trainable ones (reference or LoRA base); None without any."""
        return self.reference.weights

    @property
    def ref_logps(self):
        """Precomputed reference log-probs [pairs, 2] in pair order; None when the step computes them."""
        return self.reference.logps

    def _to_device(self, batch: dict) -> dict:
        return self.score.to_device(batch)

    def policy_params(self, trainable):
        return policy_params(self.spec.lora, trainable, self.frozen)

    # -- the step ------------------------------------------------------------------------------------------------
    def step_fn(self):
        """The jitted step with explicit shardings: state and frozen weights by the partition rules, batch split
        over (data, fsdp), metrics replicated. The old state's buffers are donated to the new one."""
        if self._step_fn is None:
            sh = self.shardings
            self._step_fn = functools.partial(with_mesh(self.mesh, jax.jit(
                train_step, static_argnums=0, donate_argnums=(1,), in_shardings=(sh.state, sh.frozen, sh.batch),
                out_shardings=(sh.state, sh.replicated))), self.spec)
        return self._step_fn

    def loss_and_grads(self, host_batch: dict):
        """(loss, metrics, grads) for one host batch without updating anything (parity tests, debugging)."""
        fn = with_mesh(self.mesh, jax.jit(jax.value_and_grad(loss_fn, argnums=1, has_aux=True), static_argnums=0))
        (loss, metrics), grads = fn(self.spec, self.state["params"], self.frozen, self._to_device(host_batch))
        return loss, metrics, grads

    # -- validation (held-out training groups, train/validation.py) ----------------------------------------------
    def validate(self, untrained: bool = False) -> dict[str, float]:
        """The validation objective and metrics of the current policy (see train/validation.py). `untrained`:
        the policy has not taken a step yet, so where it is also the reference its scores are already known."""
        from refuseu_jax.train.validation import validation_metrics

        if not self.validation_pairs:
            raise UserError("validation needs held-out groups: set 'validation.fraction' > 0")
        if untrained and self._validation_start is not None:
            stats = self._validation_start
        else:
            stats = self.score(self.policy_params(self.state["params"]), self.validation_pairs, one_length=True)
        benign = np.asarray([p.record_id in self.mixture.benign_ids for p in self.validation_pairs])
        return validation_metrics(stats["logps"], self.validation_ref, stats["lengths"], benign, self.cfg.dpo)

    def _early_stopping(self):
        from refuseu_jax.train.validation import EarlyStopping

        if not self.validation_pairs:
            return None
        v = self.cfg.validation
        return EarlyStopping(v.patience, v.min_delta, v.keep_best)

    def _validation_point(self, step: int, stopper, logger) -> dict:
        point = {"step": step, **self.validate(untrained=step == 0)}
        if stopper is not None:
            point["stop"] = stopper.update(step, point["val/loss"], self.state["params"])
            point["best_step"] = stopper.best_step
        logger.log(point)
        return point

    # -- the loop ------------------------------------------------------------------------------------------------
    def train(self) -> dict:
        """Run (or resume) to the end; returns a summary. Raises UserError on a non-finite loss."""
        cfg = self.cfg
        primary = jax.process_index() == 0
        written = True
        if primary:  # the shared run directory gets one copy of each, from process 0
            try:
                storage.makedirs(self.run_dir)
                storage.write_text(self.run_dir / "config.json", json.dumps(to_dict(cfg), indent=1))
                storage.write_text(self.run_dir / "model.json", json.dumps(self.model_cfg.to_hf(), indent=1))
            except OSError as err:
                written = str(err)
        detail = "" if written is True else f" ({written})"
        hosts.raise_unless_all(written is True, f"{self.run_dir}: process 0 cannot write the run's config there{detail}")
        ckpt = RunCheckpoints(self.run_dir / "checkpoints", keep=cfg.keep_checkpoints)
        # Process 0's view of the latest checkpoint decides for every host (restoring is a collective).
        latest = hosts.decided_int(-1 if ckpt.latest_step() is None else ckpt.latest_step())
        start = 0
        if latest >= 0 and not cfg.resume:
            ckpt.close()
            raise UserError(f"{ckpt.directory}: holds checkpoints (latest step {latest}) but key "
                            f"'resume' is false; resume, or choose a new 'run_dir'")
        if latest >= 0:
            start = latest
            self.state, data_state, _ = ckpt.restore(start, self.state)
            self.data.set_state(data_state)
        logger = MetricsLogger(self.run_dir, start_step=start, tensorboard=cfg.tensorboard, enabled=primary)
        step_fn = self.step_fn()
        bar = progress_bar(start, self.total_steps, cfg.progress and jax.process_index() == 0)
        history, last_saved = [], start if start else None
        stopper, validations, stopped_at = self._early_stopping(), [], None
        if stopper is not None and start == 0:  # the untrained policy's figures: a baseline, not a candidate
            validations.append(self._validation_point(0, None, logger))
        try:
            for step in range(start + 1, self.total_steps + 1):
                host_batch = next(self.data)
                tokens = int(np.asarray(host_batch["attention_mask"]).sum()) * jax.process_count()
                t0 = time.perf_counter()
                self.state, metrics = step_fn(self.state, self.frozen, self._to_device(host_batch))
                metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
                elapsed = time.perf_counter() - t0
                if not math.isfinite(metrics["loss"]):
                    ckpt.wait()
                    where = f"step {last_saved} in {ckpt.directory}" if last_saved else "none saved yet"
                    raise UserError(f"step {step}: loss is {metrics['loss']} (non-finite); training stopped, "
                                    f"nothing saved for this step. Last good checkpoint: {where}")
                metrics.update(step=step, tokens_per_s=tokens / elapsed, step_time_s=elapsed, epoch=
                               (step - 1) // max(self.data.steps_per_epoch, 1) + 1)
                history.append(metrics)
                if step % cfg.log_every == 0 or step == self.total_steps:
                    logger.log(metrics)
                bar.update(1)
                bar.set_postfix(loss=f"{metrics['loss']:.4f}", acc=f"{metrics['rewards/accuracies']:.2f}",
                                tok_s=f"{metrics['tokens_per_s']:.0f}")
                if (cfg.checkpoint_every and step % cfg.checkpoint_every == 0) or step == self.total_steps:
                    ckpt.save(step, self.state, self.data.get_state(), {"step": step, "loss": metrics["loss"]})
                    logger.sync()  # a bucket's metrics.jsonl is at least as recent as its latest checkpoint
                    last_saved = step
                v = cfg.validation
                if stopper is not None and ((v.every and step % v.every == 0) or step == self.total_steps):
                    validations.append(self._validation_point(step, stopper, logger))
                    if (v.keep_best and stopper.best_step == step and last_saved != step
                            and (cfg.checkpoint_every or cfg.export_dir)):  # the best state, on disk
                        ckpt.save(step, self.state, self.data.get_state(), {"step": step, "loss": metrics["loss"],
                                                                            "best": True})
                        last_saved = step
                    if validations[-1]["stop"] and step < self.total_steps:  # the last step ends the run anyway
                        stopped_at = step
                        if last_saved != step:  # where the run ended: what export-run and a resume find
                            ckpt.save(step, self.state, self.data.get_state(), {"step": step, "loss": metrics["loss"],
                                                                                "early_stop": True})
                        break
        finally:
            bar.close()
            logger.close()
            ckpt.close()
        summary = {"steps": self.total_steps, "start_step": start, "history": history,
                   "encode": self.encode_stats.summary(), "mixture": self.mixture.summary(),
                   "run_dir": str(self.run_dir)}
        best_on_disk = None
        if stopper is not None:
            summary.update(validation=validations, stopped_at=stopped_at, best_step=stopper.best_step)
            if validations and validations[0]["step"] == 0 and stopper.best_step is not None:
                summary["improved_on_start"] = stopper.best < validations[0]["val/loss"]
            if stopper.best_params is not None and history and stopper.best_step != history[-1]["step"]:
                # The parameters only: export, sampling and evaluation read nothing else (step and optimizer
                # state stay the last step's). A run that checkpoints also saved each new best to disk, so
                # export_dir (below) and `refuseu export-run RUN OUT --step BEST` find it.
                self.state = {**self.state, "params": stopper.best_params}
                best_on_disk = stopper.best_step
            stopper.best_params = None
        if cfg.export_dir:
            summary["export_dir"] = str(self.export_final(cfg.export_dir, best_on_disk))
        return summary

    # -- evaluation ----------------------------------------------------------------------------------------------
    def evaluation_pairs(self, split: str = "test") -> list[B.EncodedPair]:
        """Tokenized pairs of another split of the same data (same mix, languages and max_length, no limit)."""
        cfg = self.cfg.replace(data=dataclasses.replace(self.cfg.data, split=split, limit=None))
        return prepare_pairs(cfg, self.tokenizer)[0]

    def evaluate(self, pairs: list[B.EncodedPair]) -> dict:
        """DPO loss and TRL-named metrics of the current policy on `pairs` (the preference loss alone, without the
        training objective's NLL term), without updating anything."""
        if self.frozen is None:
            raise UserError("evaluation needs the reference weights; set dpo.reference: model (or use LoRA)")
        policy = self.score(self.policy_params(self.state["params"]), pairs)
        ref = self.score(self.frozen, pairs, keys=("logps",))["logps"]
        _, metrics = preference_loss(self.cfg.dpo, policy["logps"], policy["lengths"], ref)
        return {k: float(v) for k, v in metrics.items()}

    # -- export --------------------------------------------------------------------------------------------------
    def export(self, out_dir: str | Path) -> Path:
        """Write the current policy (LoRA merged into the base) as a HF checkpoint with the run's tokenizer."""
        from refuseu_jax.checkpoints.hf import resolve_model_dir, save_hf

        params = self.policy_params(self.state["params"])
        tokenizer = self.cfg.model.tokenizer
        tokenizer_src = str(resolve_model_dir(tokenizer)) if tokenizer else self.model_source
        return save_hf(params, self.model_cfg, out_dir, tokenizer_src=tokenizer_src)

    def export_final(self, out_dir: storage.PathOrUrl, step: int | None = None) -> storage.Location:
        """The release export of the run's final checkpoint, or of checkpoint `step` (the best one under early
        stopping): process 0 writes it, from the checkpoint, one tensor at a time, with a model card; the other
        hosts wait."""
        from refuseu_jax.checkpoints.run_export import export_run

        out = storage.location(out_dir, key="export_dir")
        try:
            if jax.process_index() == 0:
                export_run(self.run_dir, out, step=step)
        finally:  # also when process 0 fails: the others must not wait for ever
            if jax.process_count() > 1:
                from jax.experimental import multihost_utils

                multihost_utils.sync_global_devices("export")
        return out

    def restore(self, step: int | None = None) -> int:
        """Load a checkpoint of this run into the trainer (e.g. to export it); returns its step."""
        ckpt = RunCheckpoints(self.run_dir / "checkpoints", keep=self.cfg.keep_checkpoints)
        try:
            wanted = ckpt.latest_step() if step is None else step
            # Process 0's listing decides, for every host (restoring is a collective).
            step = hosts.decided_int(wanted if wanted is not None and wanted in ckpt.all_steps() else -1)
            if step < 0:
                raise UserError(f"{ckpt.directory}: no checkpoint for step {wanted} (have {ckpt.all_steps()})")
            self.state, data_state, _ = ckpt.restore(step, self.state)
            self.data.set_state(data_state)
        finally:
            ckpt.close()
        return step

    def policy_model(self):
        """The current policy as an nnx `Llama` (for sampling)."""
        return nnx.merge(graphdef_of(self.model_cfg), self.policy_params(self.state["params"]))
