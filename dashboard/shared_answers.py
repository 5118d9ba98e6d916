"""Answers shared by every viewer for a while: one computation per key, whichever web
process is asked, kept in Redis.

Ten SREs with the same element's charts open during an incident would otherwise cost
Prometheus ten sets of range queries per refresh; the earlier graph of a comparison, a
whole build, once per viewer. The first process to miss takes a short lock (SET NX) and
computes; the others asking meanwhile wait for its answer instead of computing it again.
An error is not kept: the next one to ask computes again. With Redis unreachable every
process computes its own answer, as without the cache.
"""

from __future__ import annotations

import gzip
import logging
import time
from collections.abc import Callable

import redis

from dashboard import live

log = logging.getLogger(__name__)

# The longest a computation may hold the lock: past it, a waiter computes itself.
LOCK_S = 60
# How often a waiter looks for the answer.
POLL_S = 0.05


def shared(key: str, ttl_s: float, compute: Callable[[], bytes]) -> bytes:
    """The answer kept under `key` (a `meshlens:...` Redis key), else `compute()`'s, kept
    `ttl_s` seconds. Computed once at a time across processes."""
    try:
        return shared_or_raise(key, ttl_s, compute)
    except redis.RedisError as exc:
        log.warning("shared answer %s: Redis cannot be reached (%s); computed here", key, exc)
        return compute()


def shared_or_raise(key: str, ttl_s: float, compute: Callable[[], bytes]) -> bytes:
    r = live.client()
    kept = r.get(key)
    if kept is not None:
        return gzip.decompress(bytes(kept))
    lock = f"{key}:computing"
    deadline = time.monotonic() + LOCK_S
    while not r.set(lock, "1", nx=True, ex=LOCK_S):
        # Another process computes it: its answer, once kept, is this one's.
        time.sleep(POLL_S)
        kept = r.get(key)
        if kept is not None:
            return gzip.decompress(bytes(kept))
        if time.monotonic() > deadline:
            return compute()
    try:
        answer = compute()
        r.set(key, gzip.compress(answer, compresslevel=1, mtime=0), px=max(1, int(ttl_s * 1000)))
        return answer
    finally:
        r.delete(lock)


def key_of(kind: str, text: str) -> str:
    """A Redis key for the answer of `kind` that `text` (a canonical request) names, hashed
    as the other caches' are (live.scope_hash)."""
    return f"meshlens:{kind}:{live.scope_hash(text)}"
