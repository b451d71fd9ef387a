"""What every step gets: the config, the build directory, the one call cache, clients per role, and a ledger of
calls, cache hits, failures and cost that ends up in the step's report and the build summary."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from data_tools.build_config import BuildConfig
from data_tools.clients.config import EndpointConfig
from data_tools.clients.llm import CallFailure, ChatClient
from data_tools.errors import UserError
from data_tools.steps.layout import BuildDir


@dataclass
class RoleTally:
    """Per role: what the build's results cost to make (`*` fields, cache hits included, which is what the dataset
    card reports) and what this run paid for (`paid_*`, zero on a rerun from cache)."""

    calls: int = 0              # results obtained (from the service or the cache)
    cached: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    characters: int = 0         # DeepL billed characters
    cost_usd: float | None = None
    paid_prompt_tokens: int = 0
    paid_completion_tokens: int = 0
    paid_characters: int = 0
    paid_cost_usd: float | None = None

    def add(self, *, cached: bool, prompt_tokens: int = 0, completion_tokens: int = 0, characters: int = 0,
            cost: float | None = None) -> None:
        self.calls += 1
        self.cached += int(cached)
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        self.characters += characters
        if cost is not None:
            self.cost_usd = (self.cost_usd or 0.0) + cost
        if not cached:
            self.paid_prompt_tokens += prompt_tokens
            self.paid_completion_tokens += completion_tokens
            self.paid_characters += characters
            if cost is not None:
                self.paid_cost_usd = (self.paid_cost_usd or 0.0) + cost


@dataclass
class Ledger:
    roles: dict[str, RoleTally] = field(default_factory=dict)

    def tally(self, role: str) -> RoleTally:
        return self.roles.setdefault(role, RoleTally())

    def to_dict(self) -> dict:
        return {role: vars(t).copy() for role, t in sorted(self.roles.items())}

    def merge(self, other: "Ledger") -> None:
        for role, theirs in other.roles.items():
            mine = self.tally(role)
            for name, value in vars(theirs).items():
                current = getattr(mine, name)
                if value is None:
                    continue
                setattr(mine, name, value if current is None else current + value)


@dataclass
class StepContext:
    cfg: BuildConfig
    build: BuildDir
    use_cache: bool = True
    ledger: Ledger = field(default_factory=Ledger)
    _cache: object = None
    _clients: dict = field(default_factory=dict)
    # Stats of clients that are not ChatClients (the DeepL translator), by label, for the step report.
    other_client_stats: dict = field(default_factory=dict)

    @property
    def cache(self):
        """The one SQLite cache of the build, opened on first use (never with --no-cache)."""
        if not self.use_cache:
            return None
        if self._cache is None:
            from data_tools.clients.cache import CallCache

            self._cache = CallCache(Path(self.cfg.cache) if self.cfg.cache else self.build.cache)
        return self._cache

    def chat(self, role: str, endpoint: EndpointConfig):
        key = (role, endpoint.endpoint_id, endpoint.model)
        if key not in self._clients:
            self._clients[key] = ChatClient(role, endpoint, cache=self.cache)
        return self._clients[key]

    def run_chat(self, role: str, endpoint: EndpointConfig, requests: list, desc: str) -> list:
        """Send `requests` through the role's client and tally them. Any call that still failed after the
        client's retries stops the step: its successful calls are cached, so a rerun pays only for the rest."""
        return self.run_chats([ChatJob(role, endpoint, requests, desc)])[0]

    def run_chats(self, jobs: list["ChatJob"]) -> list[list]:
        """Several roles at once (e.g. refuser and complier, or both guards): each role keeps its own concurrency
        limit, and a step waits for the slowest endpoint instead of the sum of all of them."""
        async def gather():
            return await asyncio.gather(*(self.chat(j.role, j.endpoint).arun(j.requests, desc=j.desc)
                                          if j.requests else _nothing() for j in jobs))

        all_results = asyncio.run(gather())
        for job, results in zip(jobs, all_results):
            self._tally(job, results)
        return all_results

    def _tally(self, job: "ChatJob", results: list) -> None:
        tally = self.ledger.tally(job.role)
        failures = []
        for result in results:
            if isinstance(result, CallFailure):
                tally.failures += 1
                failures.append(result)
                continue
            usage = result.usage or {}
            prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
            tally.add(cached=bool(result.cached), prompt_tokens=prompt, completion_tokens=completion,
                      cost=chat_cost(job.endpoint, prompt, completion))
        if failures:
            raise_failures(job.role, job.endpoint.endpoint_id, failures, len(job.requests))

    def client_stats(self) -> dict:
        """Retries, requests sent and cache hits per client, as the clients counted them."""
        stats = {f"{role} ({model})": client.stats.as_dict() for (role, _, model), client in self._clients.items()}
        stats.update(self.other_client_stats)
        return stats

    def close(self) -> None:
        for client in self._clients.values():
            close = getattr(client, "close", None)
            if close is not None:
                close()
        if self._cache is not None:
            self._cache.close()


@dataclass(frozen=True)
class ChatJob:
    role: str
    endpoint: EndpointConfig
    requests: list
    desc: str


async def _nothing() -> list:
    return []


def chat_cost(endpoint: EndpointConfig, prompt_tokens: int, completion_tokens: int) -> float | None:
    if endpoint.prompt_price_per_mtok is None or endpoint.completion_price_per_mtok is None:
        return None
    return (prompt_tokens * endpoint.prompt_price_per_mtok + completion_tokens * endpoint.completion_price_per_mtok) / 1e6


def raise_failures(role: str, endpoint: str, failures: list, total: int) -> None:
    first = failures[0]
    if first.kind == "auth" or any(f.kind == "auth" for f in failures):
        auth = next(f for f in failures if f.kind == "auth")
        raise UserError(f"role '{role}' ({endpoint}): authentication failed: {auth.message}")
    raise UserError(
        f"role '{role}' ({endpoint}): {len(failures)} of {total} calls failed ({first.kind}: {first.message}); "
        f"every successful call is cached, rerun the same command to retry only the failed ones"
    )
