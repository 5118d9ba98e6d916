"""A scope's build lock, held from the tick that queues a refresh until the build ends.

The tick takes the lock (dashboard.live.acquire) with a token of its own and an expiry of
three refresh periods, and hands the token to the refresh it queues. The refresh renews
the lock while it builds, however long that takes, so a tick that comes meanwhile finds
the lock taken and skips the scope: a slow build is never joined by a second one, and
refreshes of one scope never pile up in the queue. The expiry only matters when a worker
dies holding the lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import uuid4

import redis

from dashboard import live

log = logging.getLogger(__name__)

# Renew (or release) the lock only while it still carries our token: after an expiry,
# another tick may hold it.
RENEW = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
         "return redis.call('expire', KEYS[1], ARGV[2]) else return 0 end")
RELEASE = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
           "return redis.call('del', KEYS[1]) else return 0 end")
# Hand the lock from one token to another, only if nobody else holds it meanwhile.
HAND_OVER = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
             "return redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3]) else return 0 end")


def new_token() -> str:
    return uuid4().hex


def renew(scope_key: str, token: str, seconds: int) -> bool:
    return bool(live.client().eval(RENEW, 1, live.lock_key(scope_key), token, seconds))


def release(scope_key: str, token: str) -> None:
    live.client().eval(RELEASE, 1, live.lock_key(scope_key), token)


def hand_over(scope_key: str, token: str, seconds: int) -> str | None:
    """A new token for the lock now held with `token`, if it still is (the refresh queued
    with `token` has not started: see started()); None when it is not."""
    new = new_token()
    done = live.client().eval(HAND_OVER, 1, live.lock_key(scope_key), token, new, seconds)
    if not done:
        return None
    # The refresh queued with `token`, should a worker take it from the queue later, must
    # not build again once the lock is free.
    live.client().set(superseded_key(token), "1", ex=300)
    return new


def superseded_key(token: str) -> str:
    return f"meshlens:superseded:{token}"


def superseded(token: str) -> bool:
    """Whether the lock taken with `token` was handed over to another build."""
    return bool(live.client().exists(superseded_key(token)))


def started_key(token: str) -> str:
    return f"meshlens:started:{token}"


def mark_started(token: str) -> None:
    live.client().set(started_key(token), "1", ex=300)


def started(token: str) -> bool:
    """Whether a refresh holding `token` has begun building."""
    return bool(live.client().exists(started_key(token)))


def take(scope_key: str, token: str, seconds: int) -> bool:
    """Whether this refresh may build: the lock is still its tick's (renewed now), or it
    expired while the refresh waited in the queue and nobody took it since (taken now).
    False when another refresh holds it."""
    return renew(scope_key, token, seconds) or live.acquire(scope_key, seconds, token)


@contextmanager
def holding(scope_key: str, token: str, seconds: int) -> Iterator[bool]:
    """Yield whether the lock is ours; if so, keep renewing it until the block ends, then
    release it."""
    if not take(scope_key, token, seconds):
        yield False
        return
    done = threading.Event()

    def keep() -> None:
        while not done.wait(max(seconds / 3, 0.1)):
            try:
                if not renew(scope_key, token, seconds):
                    log.warning("scope %s: build lock lost while building", scope_key)
                    return
            except redis.RedisError as exc:
                log.warning("scope %s: build lock not renewed: %s", scope_key, exc)

    renewer = threading.Thread(target=keep, name="meshlens-lock", daemon=True)
    renewer.start()
    try:
        yield True
    finally:
        done.set()
        renewer.join()
        release(scope_key, token)
