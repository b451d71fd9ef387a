"""tcmalloc preloading: when the process re-executes itself, with what, that it really ends up loaded, and that
the `refuseu` command leaves the user's process alone unless asked."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from refuseu_jax import allocator


class Exec(Exception):
    pass


def fake_execve(path, argv, env):
    raise Exec(path, argv, env)


@pytest.mark.parametrize("environ,default", [
    ({"LD_PRELOAD": "libother.so", "KEEP": "1", "REFUSEU_TCMALLOC": "1"}, False),  # a user opting in
    ({"LD_PRELOAD": "libother.so", "KEEP": "1"}, True),  # a benchmark's default
])
def test_reexecutes_the_same_command_line_with_tcmalloc_preloaded(monkeypatch, environ, default):
    monkeypatch.setattr(allocator, "find_tcmalloc", lambda: "libtcmalloc_minimal.so.4")
    with pytest.raises(Exec) as called:
        allocator.use_tcmalloc(environ, execve=fake_execve, default=default)
    path, argv, env = called.value.args
    assert path == sys.executable and argv == [sys.executable, *sys.orig_argv[1:]]
    assert env["LD_PRELOAD"] == "libtcmalloc_minimal.so.4:libother.so" and env["KEEP"] == "1"


@pytest.mark.parametrize("environ,default,found", [
    ({"LD_PRELOAD": "/usr/lib/libtcmalloc.so.4", "REFUSEU_TCMALLOC": "1"}, True, "libtcmalloc.so.4"),  # no loop
    ({"REFUSEU_TCMALLOC": "0"}, True, "libtcmalloc.so.4"),  # turned off where the default is on
    ({}, False, "libtcmalloc.so.4"),  # not asked for (the `refuseu` command's default)
    ({"REFUSEU_TCMALLOC": "1"}, False, None),  # asked for, not installed
])
def test_leaves_the_process_alone(monkeypatch, environ, default, found):
    monkeypatch.setattr(allocator, "find_tcmalloc", lambda: found)
    allocator.use_tcmalloc(environ, execve=fake_execve, default=default)  # no Exec raised


def test_the_refuseu_command_does_not_reexecute_itself_by_default(monkeypatch):
    from refuseu_jax import cli

    monkeypatch.setattr(allocator, "find_tcmalloc", lambda: "libtcmalloc_minimal.so.4")
    monkeypatch.setattr(os, "execve", fake_execve)
    monkeypatch.delenv("REFUSEU_TCMALLOC", raising=False)
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    monkeypatch.setattr(sys, "argv", ["refuseu", "--help"])
    with pytest.raises(SystemExit) as done:  # click's --help exits 0; an Exec would mean a re-execution
        cli.run()
    assert done.value.code == 0
    monkeypatch.setenv("REFUSEU_TCMALLOC", "1")
    with pytest.raises(Exec):
        cli.run()


def _allocator_of(code: str, **extra) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "REFUSEU_TCMALLOC")}
    env.update(extra)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_a_real_process_ends_up_running_under_tcmalloc_when_asked_and_the_machine_has_it():
    code = "from refuseu_jax.allocator import use_tcmalloc, loaded_allocator; use_tcmalloc({}); print(loaded_allocator())"
    expected = "tcmalloc" if allocator.find_tcmalloc() else "glibc malloc"
    assert _allocator_of(code.format("")) == "glibc malloc"  # the user's default: off
    assert _allocator_of(code.format(""), REFUSEU_TCMALLOC="1") == expected
    assert _allocator_of(code.format("default=True")) == expected  # the benchmarks' default
    assert _allocator_of(code.format("default=True"), REFUSEU_TCMALLOC="0") == "glibc malloc"
