"""Run under tcmalloc when the machine has it: a program that calls `use_tcmalloc` first thing re-executes
itself with it preloaded, before anything is imported.

Opt-in for users: `refuseu` re-executes itself only with REFUSEU_TCMALLOC=1 (re-executing a user's command is a
surprise: a second process start, an environment change, a debugger or profiler that loses the process). The CPU
benchmarks (bench/*.py) preload it by default, since their figures are quoted with it, print which allocator
they ran under, and take REFUSEU_TCMALLOC=0 to measure glibc malloc.

Why: XLA:CPU allocates each step's temporaries afresh. glibc serves large blocks with mmap and unmaps them on
free, so every step page-faults its working set in again (SmolLM2 bf16 DPO step on this 2-core machine: about
115 ms before the first kernel starts; 2.1-2.2 s -> 1.80-1.86 s a step under tcmalloc, which keeps freed
memory for reuse). jemalloc's defaults gave nothing here. TPU VM images preload tcmalloc for the same reason.

tcmalloc is a system library (Debian/Ubuntu: `apt-get install libtcmalloc-minimal4`, or `make tcmalloc`);
without it nothing changes. REFUSEU_TCMALLOC=1 turns the re-execution on, =0 off, unset: the caller's default.
"""

from __future__ import annotations

import ctypes.util
import os
import sys

NAMES = ("tcmalloc_minimal", "tcmalloc")  # gperftools' libraries, as ldconfig knows them
SWITCH = "REFUSEU_TCMALLOC"  # "1": on, "0": off, unset: the caller's default


def find_tcmalloc() -> str | None:
    """The soname of an installed tcmalloc (the dynamic linker resolves it), or None."""
    for name in NAMES:
        found = ctypes.util.find_library(name)
        if found:
            return found
    return None


def loaded_allocator() -> str:
    """'tcmalloc' if this process runs with it, else 'glibc malloc' (what benchmarks print with their figures)."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            if "libtcmalloc" in maps.read():
                return "tcmalloc"
    except OSError:
        pass
    return "glibc malloc"


def wanted(environ, default: bool) -> bool:
    """REFUSEU_TCMALLOC=1 / =0 decide; unset (or anything else), `default` does."""
    return {"1": True, "0": False}.get(environ.get(SWITCH, ""), default)


def use_tcmalloc(environ=None, execve=None, default: bool = False) -> None:
    """Re-execute this process with tcmalloc in LD_PRELOAD when it is wanted (REFUSEU_TCMALLOC, else `default`:
    off for the `refuseu` command, on for the benchmarks), unless it is already there (or was tried: a library
    the linker cannot preload stays in LD_PRELOAD, so this never loops), missing, or the platform has no
    LD_PRELOAD. Call it first thing in a program's entry point: the process is replaced."""
    environ = os.environ if environ is None else environ
    preload = environ.get("LD_PRELOAD", "")
    if not wanted(environ, default) or "tcmalloc" in preload or not sys.platform.startswith("linux"):
        return
    lib = find_tcmalloc()
    if lib is None:
        return
    env = {**environ, "LD_PRELOAD": f"{lib}:{preload}" if preload else lib}
    # sys.orig_argv is the command line as the interpreter got it ("python /venv/bin/refuseu train ...",
    # "python -m refuseu_jax.cli ...", "python bench/dpo_step.py ..."): the same program, started again.
    (execve or os.execve)(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
