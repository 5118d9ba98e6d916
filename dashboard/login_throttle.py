"""Password guessing slowed: after FAILURES wrong passwords for one user name from one
client address within WINDOW_S, that name is refused from that address (whatever the
password) until the window ends. It is an authentication backend, so that it guards every
password form: Meshlens's sign-in page and the admin's.

A refused sign-in reads like a wrong password: an attacker learns nothing of which names
exist, or when they are blocked. Counted per name and address, so that a guesser cannot
lock a user out from everywhere. Counts live in Redis (all web processes share them); with
Redis down, sign-in works unthrottled rather than not at all.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import redis
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from dashboard import live

log = logging.getLogger(__name__)

FAILURES = 10
WINDOW_S = 900


def failures_key(username: str, request: HttpRequest | None) -> str:
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    who = hashlib.sha256(f"{username.strip().lower()}\n{address}".encode()).hexdigest()[:32]
    return f"meshlens:login-failures:{who}"


def blocked(key: str) -> bool:
    try:
        count = live.client().get(key)
    except redis.RedisError as exc:
        log.warning("sign-in not throttled, Redis: %s", exc)
        return False
    return count is not None and int(count) >= FAILURES


def failed(key: str) -> None:
    try:
        pipe = live.client().pipeline()
        pipe.incr(key)
        pipe.expire(key, WINDOW_S, nx=True)
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("a failed sign-in not counted, Redis: %s", exc)


def forget(key: str) -> None:
    """A right password: the mistypes before it are forgotten."""
    try:
        live.client().delete(key)
    except redis.RedisError:
        pass  # they expire anyway


class ThrottledModelBackend(ModelBackend):
    """Django's users and passwords, FAILURES wrong guesses per name and address."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> Any:
        if username is None or password is None:
            return super().authenticate(request, username, password, **kwargs)
        key = failures_key(username, request)
        if blocked(key):
            return None
        user = super().authenticate(request, username, password, **kwargs)
        if user is None:
            failed(key)
        else:
            forget(key)
        return user
