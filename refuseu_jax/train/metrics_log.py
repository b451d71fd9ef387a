"""Where a run's metrics go: metrics.jsonl in the run directory, optional TensorBoard, a progress bar."""

from __future__ import annotations

import json
import os
import time

from refuseu_jax import storage


class MetricsLogger:
    """metrics.jsonl in the run directory and optional TensorBoard (process 0 only; the others pass
    enabled=False).

    A resumed run first drops lines past the step it resumes from (a killed run may have logged steps after its
    last checkpoint; they are run again), so the file holds one trajectory. On a local disk lines are appended
    and flushed one by one. Object stores cannot append: there the file (and TensorBoard's event files, written
    to a local temporary directory) is uploaded whole at most every `sync_seconds`, and on close."""

    def __init__(self, run_dir: storage.Location, start_step: int = 0, tensorboard: bool = False,
                 enabled: bool = True, sync_seconds: float = 30.0):
        self.enabled = enabled
        self.path = run_dir / "metrics.jsonl"
        self.local = storage.is_local(run_dir)
        self.sync_seconds, self.last_sync = sync_seconds, time.monotonic()
        self.file = self.writer = self.tb_local = None
        self.lines: list[str] = []
        if not enabled:
            return
        storage.makedirs(run_dir)
        if self.path.exists():
            old = storage.read_text(self.path).splitlines()
            self.lines = [line for line in old if _logged_step(line) is not None and _logged_step(line) <= start_step]
            if len(self.lines) != len(old):
                storage.write_text(self.path, "".join(line + "\n" for line in self.lines))
        if self.local:
            self.file = open(storage.local_path(self.path), "a", encoding="utf-8")
        if tensorboard:
            import tempfile

            from tensorboardX import SummaryWriter

            self.tb_remote = run_dir / "tensorboard"
            self.tb_local = None if self.local else tempfile.mkdtemp(prefix="refuseu-tensorboard-")
            self.writer = SummaryWriter(self.tb_local or str(storage.local_path(self.tb_remote)))

    def log(self, metrics: dict) -> None:
        if not self.enabled:
            return
        line = json.dumps(metrics)
        if self.file is not None:
            self.file.write(line + "\n")
            self.file.flush()
        else:
            self.lines.append(line)
        if self.writer is not None:
            for key, value in metrics.items():
                if key != "step":
                    self.writer.add_scalar(f"train/{key}", value, metrics["step"])
        if not self.local and time.monotonic() - self.last_sync >= self.sync_seconds:
            self.sync()

    def sync(self) -> None:
        """Upload the metrics (and event files) to a bucket run directory; a no-op on local disks."""
        if not self.enabled or self.local:
            return
        storage.write_text(self.path, "".join(line + "\n" for line in self.lines))
        if self.writer is not None:
            self.writer.flush()
            for name in os.listdir(self.tb_local):
                with open(os.path.join(self.tb_local, name), "rb") as fh:
                    storage.write_bytes(self.tb_remote / name, fh.read())
        self.last_sync = time.monotonic()

    def close(self) -> None:
        if not self.enabled:
            return
        if self.writer is not None:
            self.writer.flush()
        self.sync()
        if self.file is not None:
            self.file.close()
        if self.writer is not None:
            self.writer.close()
        if self.tb_local is not None:
            import shutil

            shutil.rmtree(self.tb_local, ignore_errors=True)


def _logged_step(line: str) -> int | None:
    """The step of a metrics line, None for a line a killed process left half-written."""
    try:
        return int(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return None


def progress_bar(start: int, total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=start, desc="dpo", unit="step", disable=not enabled, dynamic_ncols=True)
