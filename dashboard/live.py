"""Live scopes and their cached graphs, in Redis.

A *scope* is one normalised set of graph options (GraphOptions.scope_key()). A scope is
live while a browser watches it: each consumer keeps renewing its expiry in a sorted set,
and Celery refreshes every live scope once per tick however many viewers it has. The last
good graph of a scope is cached as ready-to-send JSON, with whether it is stale.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
import redis
from django.conf import settings

LIVE_KEY = "meshlens:live"
WORKER_KEY = "meshlens:worker-heartbeat"


def client() -> redis.Redis:
    return client_for(settings.REDIS_URL)


@lru_cache(maxsize=4)
def client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)


def scope_hash(scope_key: str) -> str:
    return hashlib.sha256(scope_key.encode()).hexdigest()[:32]


def group_name(scope_key: str) -> str:
    """A Channels group name: ^[a-zA-Z0-9-_.]+$, under 100 characters."""
    return f"graph.{scope_hash(scope_key)}"


def mark_live(scope_key: str, ttl: int | None = None) -> None:
    expires = time.time() + (ttl or settings.MESHLENS_LIVE_TTL_SECONDS)
    client().zadd(LIVE_KEY, {scope_key: expires})


def live_scopes() -> list[str]:
    r = client()
    r.zremrangebyscore(LIVE_KEY, "-inf", time.time())
    return [k.decode() for k in r.zrange(LIVE_KEY, 0, -1)]


@dataclass
class CachedGraph:
    graph: dict[str, Any]
    stale: bool = False
    error: str = ""
    updated: float = 0.0  # when the graph was last built or confirmed


def graph_key(scope_key: str) -> str:
    return f"meshlens:graph:{scope_hash(scope_key)}"


def load(scope_key: str) -> CachedGraph | None:
    raw = client().get(graph_key(scope_key))
    if raw is None:
        return None
    body = orjson.loads(raw)
    return CachedGraph(body["graph"], body["stale"], body["error"], body["updated"])


def save(scope_key: str, cached: CachedGraph) -> None:
    body = {"graph": cached.graph, "stale": cached.stale, "error": cached.error,
            "updated": cached.updated}
    # Keep a scope's last graph for a day: long enough to survive any outage of interest.
    client().set(graph_key(scope_key), orjson.dumps(body), ex=86400)


def lock_key(scope_key: str) -> str:
    return f"meshlens:lock:{scope_hash(scope_key)}"


def acquire(scope_key: str, seconds: int, token: str = "1") -> bool:
    """A lock so that one process at a time builds a scope (see dashboard/locks.py)."""
    return bool(client().set(lock_key(scope_key), token, nx=True, ex=seconds))


def release(scope_key: str) -> None:
    client().delete(lock_key(scope_key))


def worker_beat() -> None:
    client().set(WORKER_KEY, str(time.time()), ex=3600)


def worker_age() -> float | None:
    raw = client().get(WORKER_KEY)
    return None if raw is None else time.time() - float(raw)
