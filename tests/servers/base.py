"""What the local protocol servers share: a threaded stdlib HTTP server, queued faults, server-side counting."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass
class Fault:
    """An injected failure. kinds: "429", "456" (DeepL quota), "500", "503", "401", "403", "timeout" (answers only
    after `delay_s`), "drop" (closes the connection unanswered), "malformed" (200 with a non-JSON body),
    "bad_shape" (200 with JSON of the wrong shape)."""

    kind: str
    retry_after: float | None = None  # seconds, sent as Retry-After with 429/503
    delay_s: float = 5.0
    message: str | None = None  # replaces the canned error message / malformed body (e.g. to echo a header)


FAULT_KINDS = ("429", "456", "500", "503", "401", "403", "timeout", "drop", "malformed", "bad_shape")


class _HTTPServer(ThreadingHTTPServer):
    # The default listen backlog (5) makes a burst of 32 new connections fail with resets; real servers queue them.
    request_queue_size = 256
    daemon_threads = True
    block_on_close = False  # a "timeout" handler still sleeping must not hold up stop()


class LocalServer:
    """Base: subclasses set `url_suffix` and provide `handler_class()`."""

    url_suffix = ""

    def __init__(self, latency_s: float = 0.0, host: str = "127.0.0.1", port: int = 0):
        self.latency_s = latency_s
        self._lock = threading.Lock()
        self._queued: list[list] = []  # [fault, times_left, match]
        self.reset_counts()
        self._httpd = _HTTPServer((host, port), self.handler_class())
        self._thread: threading.Thread | None = None

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{self.url_suffix}"

    def run_standalone(self) -> None:
        """Serve in the foreground (as `python -m tests.servers.X`): print the URL, stop on Ctrl-C."""
        self.start()
        print(f"URL {self.url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            self.stop()

    def start(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def inject(self, kind: str, times: int = 1, match: str | Callable[[dict], bool] | None = None, **fault_kw) -> None:
        """Answer the next `times` requests (those whose raw JSON contains `match`, if a string, or for which
        `match(body)` is true) with a fault instead of a normal answer."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {FAULT_KINDS}")
        with self._lock:
            self._queued.append([Fault(kind, **fault_kw), times, match])

    def reset_counts(self) -> None:
        with self._lock:
            self.request_count = 0  # every request on the main route, faulted or not
            self.ok_count = 0
            self.requests: list[dict] = []
            self.in_flight = 0
            self.max_in_flight = 0
            self.auth_headers_seen: set[str] = set()

    def take_fault(self, body: dict, raw: str) -> Fault | None:
        with self._lock:
            for entry in self._queued:
                fault, left, match = entry
                if left > 0 and (match is None or (match in raw if isinstance(match, str) else match(body))):
                    entry[1] -= 1
                    return fault
        return None

    def begin(self, body: dict, auth_header: str) -> int:
        """Count a request in; returns its 1-based number."""
        with self._lock:
            self.request_count += 1
            self.requests.append(body)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.auth_headers_seen.add(auth_header)
            return self.request_count

    def end(self, ok: bool) -> None:
        with self._lock:
            self.in_flight -= 1
            self.ok_count += ok


class JSONHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do; every answer carries Content-Length
    # Headers and body go out in two writes; with Nagle on, the second waits for the client's delayed ACK (~40 ms
    # on Linux), which would add 40% to a 100 ms simulated latency.
    disable_nagle_algorithm = True

    def log_message(self, *args):  # quiet: pytest output stays readable
        pass

    def send(self, status: int, payload: bytes | dict, headers: dict | None = None,
             content_type: str = "application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def read_body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode("utf-8")

    def drop(self) -> None:
        self.close_connection = True
        self.connection.shutdown(2)  # socket.SHUT_RDWR: the client sees the connection die mid-request
