"""Throughput of the chat client against a local server with simulated latency, and a rerun from the cache.

    python bench/build_throughput.py [--latency 0.1] [--concurrency 1 8 32] [--requests-per-slot 20]

The server runs in its own process (tests/servers/openai_server.py) so it does not share the client's GIL, as a
real endpoint would not. For each concurrency c the ideal is c / latency requests/s; we report ChatClient (with its
SQLite cache writing every answer) as a fraction of that ideal and against a peer measured in the same run: bare
`openai.AsyncOpenAI` calls under an asyncio.Semaphore (no cache, no retries, no progress), the ceiling for any
client built on that library. Then the last run's requests are repeated from the cache: seconds, and the server's
own request counter, which must not move.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import openai

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data_tools.clients.cache import CallCache  # noqa: E402
from data_tools.clients.config import EndpointConfig  # noqa: E402
from data_tools.clients.llm import ChatClient, ChatRequest  # noqa: E402


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.servers.openai_server", "--latency", str(latency)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("URL "):
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return proc, line[4:]


def server_requests(url: str) -> int:
    root = url.rsplit("/v1", 1)[0]
    with urllib.request.urlopen(f"{root}/_stats") as answer:
        return json.load(answer)["request_count"]


def requests_for(tag: str, n: int) -> list[ChatRequest]:
    return [ChatRequest(messages=[{"role": "user", "content": f"{tag} prompt {i}"}], max_tokens=64) for i in range(n)]


async def bare_openai(url: str, requests: list[ChatRequest], concurrency: int) -> float:
    api = openai.AsyncOpenAI(base_url=url, api_key="EMPTY", max_retries=0)
    semaphore = asyncio.Semaphore(concurrency)

    async def one(request):
        async with semaphore:
            await api.chat.completions.create(model="bench", messages=list(request.messages),
                                              max_tokens=request.max_tokens, temperature=0.0)

    start = time.perf_counter()
    await asyncio.gather(*(one(r) for r in requests))
    elapsed = time.perf_counter() - start
    await api.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests-per-slot", type=int, default=20, help="requests = concurrency x this")
    args = parser.parse_args()

    proc, url = start_server(args.latency)
    tmp = tempfile.TemporaryDirectory()
    try:
        print(f"local server: {args.latency * 1000:.0f} ms latency per request, {os.cpu_count()} CPU cores")
        print(f"{'conc':>5} {'requests':>8} {'ideal/s':>8} {'ChatClient/s':>12} {'of ideal':>8} "
              f"{'bare openai/s':>13} {'of ideal':>8} {'client/bare':>11}")
        last = None
        for c in args.concurrency:
            n = c * args.requests_per_slot
            cfg = EndpointConfig(base_url=url, model="bench", max_concurrency=c, timeout_s=30)
            cache = CallCache(Path(tmp.name) / f"c{c}.sqlite")
            ours = requests_for(f"client-c{c}", n)
            client = ChatClient("bench", cfg, cache=cache, progress=False)
            start = time.perf_counter()
            results = client.run(ours)
            ours_s = time.perf_counter() - start
            assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
            bare_s = asyncio.run(bare_openai(url, requests_for(f"bare-c{c}", n), c))
            ideal = c / args.latency
            print(f"{c:>5} {n:>8} {ideal:>8.0f} {n / ours_s:>12.1f} {n / ours_s / ideal:>8.0%} "
                  f"{n / bare_s:>13.1f} {n / bare_s / ideal:>8.0%} {bare_s / ours_s:>11.2f}")
            last = (cfg, cache, ours, ours_s)

        cfg, cache, ours, ours_s = last
        before = server_requests(url)
        rerun = ChatClient("bench", cfg, cache=cache, progress=False)
        start = time.perf_counter()
        rerun.run(ours)
        cached_s = time.perf_counter() - start
        sent = server_requests(url) - before
        print(f"rerun from cache: {len(ours)} requests in {cached_s:.3f} s ({len(ours) / cached_s:,.0f}/s), "
              f"{sent} requests reached the server, {rerun.stats.cache_hits} cache hits; "
              f"{ours_s / cached_s:.0f}x faster than the first run")
    finally:
        proc.terminate()
        proc.wait()
        proc.stdout.close()
        tmp.cleanup()


if __name__ == "__main__":
    main()
