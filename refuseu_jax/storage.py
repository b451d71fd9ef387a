"""Where a run's files live: a local directory, a file:// URL, or an object store that orbax writes (gs://, s3://,
az://), all as `etils.epath.Path`, the path type orbax itself uses.

On a pod every host runs the same command with the same config, so every host names the same run directory; it
must also *be* the same directory, which on a pod means a bucket: each TPU worker has a local disk of its own.
`pathlib.Path("gs://bucket/run")` is `gs:/bucket/run`, a local directory on each worker (one per host, silently),
which is why nothing here goes through pathlib.

Object stores cannot append or rename: small files (configs, the reference log-prob cache, metrics) are written
whole, in one object upload, which is atomic there; on local disks they are written to a temporary name and
renamed. Reading Cloud Storage needs gcsfs (or TensorFlow) beside etils; S3 needs s3fs and Azure adlfs.
"""

from __future__ import annotations

import importlib.util
import os
import urllib.parse
from typing import Union

from etils import epath

from data_tools.errors import UserError

Location = epath.Path
PathOrUrl = Union[str, "os.PathLike[str]"]

# Object stores etils.epath (and so orbax) reads and writes, and the fsspec package each needs when TensorFlow,
# epath's other backend, is not installed. tensorstore, which writes the checkpoint arrays, reads gs:// natively.
REMOTE_SCHEMES = {"gs": "gcsfs", "s3": "s3fs", "az": "adlfs"}
GCSFS_PIN = "gcsfs==2026.8.2"  # needs fsspec>=2026.7; datasets caps fsspec at 2026.9.0, the installed one


def location(value: PathOrUrl, key: str = "run_dir") -> Location:
    """The storage location a config value names: a local path (made absolute), file:///abs/path, or an object
    store URL (gs://bucket/prefix, s3://..., az://...). Bad or unsupported URLs are a UserError naming `key`."""
    text = os.fspath(value)
    scheme, sep, _ = text.partition("://")
    if not sep:
        return epath.Path(os.path.abspath(text))
    scheme = scheme.lower()
    if scheme == "file":
        parsed = urllib.parse.urlparse(text)
        if parsed.netloc not in ("", "localhost") or not parsed.path.startswith("/"):
            raise UserError(f"key '{key}': {text!r}: a file URL names an absolute local path (file:///dir/run)")
        return epath.Path(urllib.parse.unquote(parsed.path))
    if scheme in REMOTE_SCHEMES:
        if len(text) <= len(scheme) + 3 or text[len(scheme) + 3] == "/":
            raise UserError(f"key '{key}': {text!r}: no bucket named (expected {scheme}://bucket/prefix)")
        package = REMOTE_SCHEMES[scheme]
        if importlib.util.find_spec(package) is None and importlib.util.find_spec("tensorflow") is None:
            pin = GCSFS_PIN if scheme == "gs" else package
            raise UserError(f"key '{key}': {text!r}: {scheme}:// storage needs the {package} package "
                            f"(pip install {pin}; tpu_scripts/setup.sh installs gcsfs on TPU workers)")
        return epath.Path(text)
    supported = ", ".join(f"{s}://" for s in ("file", *REMOTE_SCHEMES))
    raise UserError(f"key '{key}': {text!r}: unsupported storage URL scheme '{scheme}://' (use a local path or "
                    f"{supported}; memory:// and the like are private to one process)")


def is_local(path: Location) -> bool:
    return not os.fspath(path).startswith(tuple(f"{s}://" for s in REMOTE_SCHEMES))


def local_path(path: Location):
    """A local location as a pathlib.Path (for code that needs one, e.g. os.replace); ValueError for a URL."""
    from pathlib import Path

    if not is_local(path):
        raise ValueError(f"{path} is not on a local file system")
    return Path(os.fspath(path))


def write_bytes(path: Location, data: bytes) -> None:
    """Write a whole file atomically: temporary name + rename on disk, a single object upload in a bucket."""
    if is_local(path):
        from data_tools.atomic import write_bytes_atomic

        write_bytes_atomic(local_path(path), data)
        return
    with path.open("wb") as fh:
        fh.write(data)


def write_text(path: Location, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def read_bytes(path: Location) -> bytes:
    with path.open("rb") as fh:
        return fh.read()


def read_text(path: Location) -> str:
    return read_bytes(path).decode("utf-8")


def makedirs(path: Location) -> None:
    """Create a directory (and its parents); object stores have no directories, so there it is a no-op."""
    if is_local(path):
        path.mkdir(parents=True, exist_ok=True)
