"""Live scopes and their cached graphs, in Redis.

A *scope* is one normalised set of graph options (GraphOptions.scope_key()). A scope is
live while a browser watches it: each consumer keeps renewing its expiry in a sorted set,
and Celery refreshes every live scope once per tick however many viewers it has. The last
good graph of a scope is cached as gzip-compressed JSON under a version number that only
grows, with what is known of it (when, how big, whether stale) in a small record beside it.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import orjson
import redis
from django.conf import settings
from kombu.exceptions import OperationalError

from graph.compression import gzipped

LIVE_KEY = "meshlens:live"
# What talking to Redis raises when it is down or restarting: redis-py's errors, a socket's,
# and Celery's (kombu's) when a task is queued.
REDIS_ERRORS = (redis.RedisError, OSError, OperationalError)
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
class Cached:
    """What is known of a scope's last good graph; its body is stored apart, by version
    (`load_body`), so that knowing whether a graph is there never costs reading it."""

    version: int
    updated: float  # when the graph was last built or confirmed
    size: int  # bytes of its JSON
    stale: bool = False
    error: str = ""


# A replaced version stays readable this long, for the browsers that were told of it just
# before the next one came and are still fetching it.
REPLACED_TTL_S = 120
# A scope's last graph is kept for a day: long enough to survive any outage of interest.
KEPT_TTL_S = 86400


def meta_key(scope_key: str) -> str:
    return f"meshlens:graph:{scope_hash(scope_key)}"


def body_key(scope_key: str, version: int) -> str:
    return f"meshlens:graph:{scope_hash(scope_key)}:v{version}"


def load(scope_key: str) -> Cached | None:
    raw = client().get(meta_key(scope_key))
    return None if raw is None else Cached(**orjson.loads(raw))


def load_body(scope_key: str, version: int) -> bytes | None:
    """The gzip-compressed JSON of version `version` of the scope's graph, if still kept."""
    raw = client().get(body_key(scope_key, version))
    return None if raw is None else bytes(raw)


def load_carried(scope_key: str, version: int) -> dict[str, Any] | None:
    """What the build after version `version` needs of it (see save), if still kept."""
    raw = client().get(body_key(scope_key, version) + ":carried")
    return None if raw is None else orjson.loads(raw)


def save(scope_key: str, body: bytes, carried: dict[str, Any]) -> Cached:
    """Store a new graph (its JSON) as the scope's next version, with `carried`: what the
    next build needs of it (its elements' fingerprints for the delta, its positions), small
    beside the graph and read without it. Return what is cached now."""
    r = client()
    version = int(r.incr(f"{meta_key(scope_key)}:version"))
    cached = Cached(version=version, updated=time.time(), size=len(body))
    key, replaced = body_key(scope_key, version), body_key(scope_key, version - 1)
    pipe = r.pipeline()
    pipe.set(key, gzipped(body), ex=KEPT_TTL_S)
    pipe.set(key + ":carried", orjson.dumps(carried), ex=KEPT_TTL_S)
    pipe.set(meta_key(scope_key), orjson.dumps(asdict(cached)), ex=KEPT_TTL_S)
    pipe.expire(replaced, REPLACED_TTL_S)
    pipe.delete(replaced + ":carried")
    pipe.execute()
    return cached


def delta_key(scope_key: str, version: int) -> str:
    return body_key(scope_key, version) + ":delta"


def save_delta(scope_key: str, version: int, text: bytes) -> None:
    """A graph.delta too big for the socket, to version `version`, gzip-compressed: kept as
    long as a replaced version, for the browsers told of it to fetch."""
    client().set(delta_key(scope_key, version), gzipped(text),
                 ex=REPLACED_TTL_S)


def load_delta(scope_key: str, version: int) -> bytes | None:
    """The gzip-compressed graph.delta message to version `version`, if still kept."""
    raw = client().get(delta_key(scope_key, version))
    return None if raw is None else bytes(raw)


def mark_stale(scope_key: str, error: str) -> Cached | None:
    """The last graph stays, marked stale with the error; None if there is none."""
    cached = load(scope_key)
    if cached is None:
        return None
    cached.stale, cached.error = True, error
    client().set(meta_key(scope_key), orjson.dumps(asdict(cached)), ex=KEPT_TTL_S)
    return cached


def fresh_body(scope_key: str, max_age_s: float) -> bytes | None:
    """The scope's graph as gzip-compressed JSON when it is good and at most `max_age_s`
    old; else None."""
    cached = load(scope_key)
    if cached is None or cached.stale or time.time() - cached.updated >= max_age_s:
        return None
    return load_body(scope_key, cached.version)


def lock_key(scope_key: str) -> str:
    return f"meshlens:lock:{scope_hash(scope_key)}"


def acquire(scope_key: str, seconds: int, token: str = "1") -> bool:
    """A lock so that one process at a time builds a scope (see dashboard/locks.py)."""
    return bool(client().set(lock_key(scope_key), token, nx=True, ex=seconds))


def worker_beat() -> None:
    client().set(WORKER_KEY, str(time.time()), ex=3600)


def worker_age() -> float | None:
    raw = client().get(WORKER_KEY)
    return None if raw is None else time.time() - float(raw)
