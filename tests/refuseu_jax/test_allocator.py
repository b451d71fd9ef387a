"""tcmalloc preloading: when the process re-executes itself, with what, and that it really ends up loaded."""

from __future__ import annotations

import subprocess
import sys

import pytest

from refuseu_jax import allocator


class Exec(Exception):
    pass


def fake_execve(path, argv, env):
    raise Exec(path, argv, env)


def test_reexecutes_the_same_command_line_with_tcmalloc_preloaded(monkeypatch):
    monkeypatch.setattr(allocator, "find_tcmalloc", lambda: "libtcmalloc_minimal.so.4")
    with pytest.raises(Exec) as called:
        allocator.use_tcmalloc({"LD_PRELOAD": "libother.so", "KEEP": "1"}, execve=fake_execve)
    path, argv, env = called.value.args
    assert path == sys.executable and argv == [sys.executable, *sys.orig_argv[1:]]
    assert env["LD_PRELOAD"] == "libtcmalloc_minimal.so.4:libother.so" and env["KEEP"] == "1"


@pytest.mark.parametrize("environ,found", [
    ({"LD_PRELOAD": "/usr/lib/libtcmalloc.so.4"}, "libtcmalloc.so.4"),  # already preloaded (or tried): no loop
    ({"REFUSEU_TCMALLOC": "0"}, "libtcmalloc.so.4"),  # turned off
    ({}, None),  # not installed
])
def test_leaves_the_process_alone(monkeypatch, environ, found):
    monkeypatch.setattr(allocator, "find_tcmalloc", lambda: found)
    allocator.use_tcmalloc(environ, execve=fake_execve)  # no Exec raised


def test_a_real_process_ends_up_running_under_tcmalloc_when_the_machine_has_it():
    code = "from refuseu_jax.allocator import use_tcmalloc, loaded_allocator; use_tcmalloc(); print(loaded_allocator())"
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("LD_PRELOAD", "REFUSEU_TCMALLOC")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == ("tcmalloc" if allocator.find_tcmalloc() else "glibc malloc")
    env["REFUSEU_TCMALLOC"] = "0"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "glibc malloc"
