"""One SQLite cache of every external call, so a build that is killed and rerun pays for nothing twice.

Key: sha256 of the canonical JSON of (endpoint, model, request body). The body is what goes over the wire (messages,
sampling settings, extra params), never headers, so keys cannot end up here. Each `put` is its own committed
transaction: a process killed with SIGKILL loses only the calls that were still in flight.

WAL mode lets several processes (or a reader like `refuseu-data stats`) use the file while one writes; writes are
serialised by SQLite's lock, and a busy timeout makes a second writer wait instead of failing. Within a process one
connection is shared under a lock, so the async clients and worker threads can all use the same object.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    key      TEXT PRIMARY KEY,
    endpoint TEXT NOT NULL,
    model    TEXT NOT NULL,
    request  TEXT NOT NULL,
    response TEXT NOT NULL,
    created  REAL NOT NULL
)
"""


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, non-ASCII kept (so equal requests give equal keys)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def cache_key(endpoint: str, model: str, body: dict) -> str:
    return hashlib.sha256(canonical_json([endpoint, model, body]).encode("utf-8")).hexdigest()


class CallCache:
    """Request -> response store. `get` returns the stored response (a JSON value) or None."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: autocommit, every statement is its own transaction (one commit per call).
        self._conn = sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process (not a power cut), at a fraction of FULL's fsyncs.
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)

    def get(self, endpoint: str, model: str, body: dict) -> Any | None:
        key = cache_key(endpoint, model, body)
        with self._lock:
            row = self._conn.execute("SELECT response FROM calls WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, endpoint: str, model: str, body: dict, response: Any) -> None:
        key = cache_key(endpoint, model, body)
        row = (key, endpoint, model, canonical_json(body), canonical_json(response), time.time())
        with self._lock:
            # REPLACE: a --no-cache rerun that writes back refreshes the entry rather than failing on the key.
            self._conn.execute("INSERT OR REPLACE INTO calls VALUES (?, ?, ?, ?, ?, ?)", row)

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]

    def count_by_endpoint(self) -> dict[tuple[str, str], int]:
        """Entries per (endpoint, model), for `stats` summaries."""
        with self._lock:
            rows = self._conn.execute("SELECT endpoint, model, COUNT(*) FROM calls GROUP BY endpoint, model").fetchall()
        return {(e, m): n for e, m, n in rows}

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"CallCache({str(self.path)!r})"
