"""CallCache: canonical keys, durability across SIGKILL, concurrent writers (threads and processes)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

from data_tools.clients.cache import CallCache, cache_key

WRITER = textwrap.dedent("""
    import sys
    from data_tools.clients.cache import CallCache
    cache = CallCache(sys.argv[1])
    limit = int(sys.argv[2])
    i = 0
    while limit < 0 or i < limit:
        cache.put("http://e", "m", {"proc": i}, {"answer": i})
        print(i, flush=True)
        i += 1
""")


def test_round_trip_and_canonical_keys(tmp_path):
    cache = CallCache(tmp_path / "sub" / "c.sqlite")
    body = {"messages": [{"role": "user", "content": "Grüß dich"}], "temperature": 0.0}
    cache.put("http://a/v1", "m", body, {"choices": [1]})
    reordered = {"temperature": 0.0, "messages": [{"content": "Grüß dich", "role": "user"}]}
    assert cache.get("http://a/v1", "m", reordered) == {"choices": [1]}
    assert cache.get("http://b/v1", "m", body) is None
    assert cache.get("http://a/v1", "other", body) is None
    assert cache.get("http://a/v1", "m", {**body, "temperature": 0.5}) is None
    assert cache_key("e", "m", body) == cache_key("e", "m", reordered) != cache_key("e", "m2", body)
    cache.put("http://a/v1", "m", body, {"choices": [2]})  # a refreshed answer replaces the old one
    cache.close()
    reopened = CallCache(tmp_path / "sub" / "c.sqlite")
    assert reopened.get("http://a/v1", "m", body) == {"choices": [2]} and len(reopened) == 1
    assert reopened.count_by_endpoint() == {("http://a/v1", "m"): 1}
    mode = sqlite3.connect(tmp_path / "sub" / "c.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_sigkill_loses_nothing_that_was_reported_done(tmp_path):
    path = tmp_path / "c.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "-1"], stdout=subprocess.PIPE, text=True)
    last = -1
    for line in proc.stdout:  # each printed number was put() (committed) before it was printed
        last = int(line)
        if last >= 200:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    cache = CallCache(path)
    assert len(cache) >= last + 1
    assert all(cache.get("http://e", "m", {"proc": i}) == {"answer": i} for i in range(last + 1))
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_concurrent_writers_threads_and_another_process(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = CallCache(path)
    other = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "300"], stdout=subprocess.PIPE, text=True)
    other.stdout.readline()  # it is writing now: the threads below overlap with it

    def put(i):
        cache.put("http://e", "m", {"thread": i}, {"answer": i})
        return cache.get("http://e", "m", {"thread": i})

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(put, range(300)))
    other.stdout.read()
    other.stdout.close()
    assert other.wait(timeout=60) == 0
    assert got == [{"answer": i} for i in range(300)]
    assert len(cache) == 600
