"""API answers that many clients ask alike, built once and kept a short while in Redis.

A live scope's graph is cached by its refresh, and `GET /api/v1/graph` reads it. The other
routes a dashboard or a script polls build an answer per request: the failing edges
(`/api/v1/edges`, the page asks after every update in every browser) and Kiali's graph
route, which queries Prometheus each time. At 50 requests a second that is a build, or a set
of Prometheus queries, per request (bench/load.py). Here such an answer is kept under a key
naming what it answers (the route, its parameters, the version of the live graph it comes
from when there is one, and the namespaces the asker may see) for at most a refresh period,
so that it is as fresh as the live graph; and while one request builds it, the others
asking the same wait for that build instead of starting their own (one lock per key, taken
with SET NX).

Only answers of now are kept (a request naming its time, `query_time`, is not shared) and
only good ones (200): an error is answered again the next time.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence

import orjson
import redis

from dashboard import live

log = logging.getLogger(__name__)

# How often a request waiting for another's build looks for its answer.
POLL_S = 0.02


def key_of(kind: str, query: Mapping[str, str], path: Mapping[str, str],
           version: int | None = None, limit: Sequence[str] = ()) -> str:
    """The key of an answer: `kind` (the route), its parameters in any order, its route
    variables, for an answer derived from a live graph that graph's version, and the
    namespaces the asker may see (GraphOptions.access: () for all), as answers differ by
    them."""
    named = orjson.dumps([kind, sorted(query.items()), sorted(path.items()), version,
                          list(limit)])
    return f"meshlens:shared:{hashlib.sha256(named).hexdigest()[:32]}"


def get(key: str) -> bytes | None:
    raw = live.client().get(key)
    return None if raw is None else bytes(raw)


def shared(key: str, keep_s: float, wait_s: float,
           build: Callable[[], tuple[int, bytes]]) -> tuple[int, bytes]:
    """The answer kept under `key`, else `build()`'s (status, gzip-compressed JSON), kept
    `keep_s` seconds when good. One request builds while the others asking the same wait
    for it, `wait_s` at most, then build their own. Without Redis, everyone builds."""
    try:
        kept = get(key)
        leader = kept is None and bool(
            live.client().set(key + ":lock", "1", nx=True, ex=max(1, round(wait_s))))
        if kept is None and not leader:
            kept = wait_for(key, wait_s)
    except redis.RedisError as exc:
        log.warning("shared answers: Redis: %s; building", exc)
        return build()
    if kept is not None:
        return 200, kept
    if not leader:  # the other build failed or is slow: build, and leave the key be
        return build()
    try:
        status, body = build()
        if status == 200:
            keep(key, body, keep_s)
        return status, body
    finally:
        release(key)


def keep(key: str, body: bytes, keep_s: float) -> None:
    try:
        live.client().set(key, body, px=max(1, int(keep_s * 1000)))
    except redis.RedisError as exc:
        log.warning("shared answers: cannot keep %s: %s", key, exc)


def release(key: str) -> None:
    try:
        live.client().delete(key + ":lock")
    except redis.RedisError:
        pass  # it expires


def wait_for(key: str, wait_s: float) -> bytes | None:
    """The answer another request is building, once kept; None when that build ends without
    one (an error) or takes longer than `wait_s`."""
    deadline = time.monotonic() + wait_s
    r = live.client()
    while time.monotonic() < deadline:
        time.sleep(POLL_S)
        kept, building = r.pipeline().get(key).exists(key + ":lock").execute()
        if kept is not None:
            return bytes(kept)
        if not building:
            return None
    return None
