"""Celery tasks: the beat tick fans out one refresh per live scope; the web process hands
its builds to `answer`."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

import dashboard.builds  # noqa: F401  (registers the builds a web process may ask for)
from dashboard import answers, graphs, live, locks, metrics, publish


def lock_seconds() -> int:
    return settings.MESHLENS_REFRESH_SECONDS * 3


@shared_task(name="dashboard.tasks.tick", ignore_result=True)
def tick() -> int:
    """Queue a refresh for every live scope whose last build is done; return how many
    scopes are live."""
    live.worker_beat()
    scopes = live.live_scopes()
    for scope_key in scopes:
        # The lock is held until the refresh's build ends (dashboard/locks.py): while a
        # slow Prometheus keeps it building, ticks skip the scope instead of queueing.
        token = locks.new_token()
        if live.acquire(scope_key, lock_seconds(), token):
            refresh_scope.delay(scope_key, token)
        else:
            metrics.refresh_skipped()
    return len(scopes)


@shared_task(name="dashboard.tasks.refresh_scope", ignore_result=True,
             soft_time_limit=60, time_limit=90)
def refresh_scope(scope_key: str, token: str = "") -> None:
    refresh_holding(scope_key, token or locks.new_token())


def refresh_holding(scope_key: str, token: str) -> None:
    """Build and publish a scope while holding its lock (taken with `token`), renewed until
    the build ends; nothing when another build holds it. A worker's refresh and a web
    server's build for a viewer both run this."""
    if locks.superseded(token):  # a web server built it for its viewer instead
        return
    with locks.holding(scope_key, token, lock_seconds()) as ours:
        if not ours:  # another refresh of this scope is running or queued
            metrics.refresh_skipped()
            return
        locks.mark_started(token)  # a viewer waiting on this refresh no longer takes it over
        graphs.apart(lambda: publish.refresh_and_report(scope_key), scope_key)


QUEUED, HERE, BUSY = "queued", "here", "busy"
# How long a build started for a viewer may hold its scope's lock.
BUILD_LOCK_S = 120
# How long a viewer's build may wait in the queue before the web server takes it over: the
# worker's heartbeat can still look fresh when the worker has just died.
PICKUP_S = 5.0


def request_refresh(scope_key: str) -> tuple[str, str]:
    """Have a scope rebuilt now, for a viewer; return where, and the lock's token: QUEUED on
    a worker when one is alive; HERE when none is (the caller runs refresh_holding with the
    token); BUSY when a build of the scope is already under way."""
    token = locks.new_token()
    if not live.acquire(scope_key, BUILD_LOCK_S, token):
        return BUSY, ""
    age = live.worker_age()
    if age is not None and age < 3 * settings.MESHLENS_REFRESH_SECONDS:
        refresh_scope.delay(scope_key, token)
        return QUEUED, token
    return HERE, token


def take_over(scope_key: str, token: str) -> str | None:
    """The token to build a queued refresh here with, when no worker has begun it; None when
    one has (or the lock moved on). The queued task, if a worker takes it later, finds the
    lock no longer its own and skips."""
    if locks.started(token):
        return None
    return locks.hand_over(scope_key, token, BUILD_LOCK_S)


@shared_task(name=answers.TASK, ignore_result=True)
def answer(kind: str, query: dict[str, str], path: dict[str, str], reply_id: str,
           patterns: list[str] | None = None) -> None:
    """A build a web process asked for (dashboard/answers.py), answered on its reply list,
    within the namespaces of whoever asked (`patterns`; None: no limit)."""
    answers.run(kind, query, path, reply_id, patterns)
