"""One host of a two-process CPU "pod" (run by test_pod.py): DPO on the tiny model with a precomputed reference,
on a (2, 2, 2) mesh that spans both processes, its run directory on shared storage given as a URL.

argv: phase ("first" | "resume"), run_dir (URL or path), tiny checkpoint directory, stop_at (a checkpoint step)
The working directory is this host's own scratch directory. In the "first" phase the process stops for good right
after checkpoint `stop_at` is committed (it writes ./checkpointed and sleeps until the test kills it); "resume"
trains to the end and writes ./summary.json on process 0.
"""

import json
import sys
import time
from pathlib import Path


def config(run_dir: str, ckpt: str):
    from data_tools.configuration import from_dict
    from refuseu_jax.train.config import TrainConfig

    return from_dict(TrainConfig, {
        "run_dir": run_dir, "model": {"path": ckpt, "scan_layers": False}, "batch_size": 8, "epochs": 1,
        "max_steps": 6, "checkpoint_every": 2, "progress": False,
        "data": {"max_length": 320, "pad_multiple": 0, "limit": 48},
        "dpo": {"reference": "precomputed"},
        "optim": {"learning_rate": 1e-3, "warmup_ratio": 0.0, "schedule": "constant"}})


def main(phase: str, run_dir: str, ckpt: str, stop_at: int) -> None:
    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1)  # the test asks for every thread's stack before killing a hung host
    import jax

    from refuseu_jax.parallel import MeshConfig, initialize_distributed, make_mesh

    assert initialize_distributed() is True
    assert jax.process_count() == 2 and jax.device_count() == 8

    from refuseu_jax.train import checkpointing
    from refuseu_jax.train.trainer import DPOTrainer

    if phase == "first":
        save = checkpointing.RunCheckpoints.save

        def save_then_stop(self, step, *args, **kwargs):
            save(self, step, *args, **kwargs)
            if step == stop_at:
                self.wait()  # committed on every host
                Path("checkpointed").write_text(str(step))
                time.sleep(3600)  # the test kills this process here (SIGKILL: no cleanup runs)

        checkpointing.RunCheckpoints.save = save_then_stop
    trainer = DPOTrainer(config(run_dir, ckpt), mesh=make_mesh(MeshConfig(data=2, fsdp=2, tensor=2)))
    summary = trainer.train()
    if jax.process_index() == 0:
        Path("summary.json").write_text(json.dumps({"start_step": summary["start_step"],
                                                    "losses": [h["loss"] for h in summary["history"]]}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
