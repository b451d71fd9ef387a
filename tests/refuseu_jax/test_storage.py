"""Run-directory locations: local paths, file:// URLs and buckets, and what the trainer writes through them."""

from __future__ import annotations

import json
import os

import pytest
from etils import epath

from data_tools.errors import UserError
from refuseu_jax import storage


def test_locations_keep_urls_and_resolve_local_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert os.fspath(storage.location("runs/x")) == str(tmp_path / "runs" / "x")
    assert os.fspath(storage.location(f"file://{tmp_path}/a%20b")) == f"{tmp_path}/a b"
    assert storage.is_local(storage.location("file:///tmp/r"))
    monkeypatch.setattr(storage.importlib.util, "find_spec", lambda name: object())  # as if gcsfs were installed
    gs = storage.location("gs://bucket/runs/x")
    # pathlib would have made this gs:/bucket/runs/x, a local directory on each host
    assert os.fspath(gs / "checkpoints") == "gs://bucket/runs/x/checkpoints" and not storage.is_local(gs)


@pytest.mark.parametrize("url,message", [
    ("memory://run", "unsupported storage URL scheme 'memory://'"),
    ("file://host/run", "absolute local path"),
    ("gs:///run", "no bucket named"),
])
def test_bad_locations_name_the_key(url, message):
    with pytest.raises(UserError, match=f"key 'run_dir': .*{message}"):
        storage.location(url)


def test_a_bucket_without_its_filesystem_package_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(storage.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserError, match=r"gs:// storage needs the gcsfs package \(pip install gcsfs==2026.8.2"):
        storage.location("gs://bucket/run")


def test_metrics_in_a_bucket_are_uploaded_whole_and_trimmed_on_resume(tmp_path):
    """Object stores cannot append: the logger rewrites metrics.jsonl (epath's mocked gs:// backend stands in
    for the bucket, as the other hosts would see it); a resume drops lines after its checkpoint."""
    from refuseu_jax.train.metrics_log import MetricsLogger

    def local(path):
        return str(path).replace("gs://", str(tmp_path) + "/")

    def redirect(fn, path, *args, **kwargs):
        return fn(local(path), *args, **kwargs)

    with epath.testing.mock_epath(open=redirect, exists=redirect, makedirs=redirect, mkdir=redirect,
                                  listdir=redirect, isdir=redirect, replace=lambda fn, a, b: fn(local(a), local(b))):
        run = epath.Path("gs://bucket/run")
        (tmp_path / "bucket" / "run").mkdir(parents=True)  # a bucket has no directories to create
        logger = MetricsLogger(run, start_step=0, sync_seconds=0.0)
        for step in range(1, 5):
            logger.log({"step": step, "loss": 1.0 / step})
        logger.close()
        lines = (tmp_path / "bucket" / "run" / "metrics.jsonl").read_text().splitlines()
        assert [json.loads(line)["step"] for line in lines] == [1, 2, 3, 4]
        # killed after checkpoint 2, with a half-written line: the resumed run keeps steps 1-2 only
        (tmp_path / "bucket" / "run" / "metrics.jsonl").write_text("\n".join(lines) + '\n{"step": 5, "lo')
        logger = MetricsLogger(run, start_step=2, sync_seconds=3600.0)
        logger.log({"step": 3, "loss": 0.1})
        assert len((tmp_path / "bucket" / "run" / "metrics.jsonl").read_text().splitlines()) == 2  # not yet synced
        logger.close()
        steps = [json.loads(line)["step"] for line in
                 (tmp_path / "bucket" / "run" / "metrics.jsonl").read_text().splitlines()]
        assert steps == [1, 2, 3]


def test_one_host_needs_no_shared_storage_check(tmp_path):
    from refuseu_jax.train.hosts import check_shared, decided_int, raise_unless_all

    check_shared(storage.location(tmp_path / "run"))
    assert not (tmp_path / "run").exists()  # nothing written on a single host
    assert decided_int(7) == 7
    with pytest.raises(UserError, match="not ok"):
        raise_unless_all(False, "not ok")
