"""Celery tasks: the beat tick fans out one refresh per live scope."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from dashboard import live, publish
from graph.build import gc_paused


@shared_task(name="dashboard.tasks.tick", ignore_result=True)
def tick() -> int:
    """Queue a refresh for every live scope; return how many."""
    live.worker_beat()
    scopes = live.live_scopes()
    for scope_key in scopes:
        # The lock keeps a slow Prometheus from piling up refreshes of one scope.
        if live.acquire(scope_key, settings.MESHLENS_REFRESH_SECONDS * 3):
            refresh_scope.delay(scope_key)
    return len(scopes)


@shared_task(name="dashboard.tasks.refresh_scope", ignore_result=True,
             soft_time_limit=60, time_limit=90)
def refresh_scope(scope_key: str) -> None:
    try:
        # The build, the delta and the cache write allocate a whole graph or two; with the
        # collector held off until they are dropped, it never walks them.
        with gc_paused():
            publish.refresh_and_report(scope_key)
    finally:
        live.release(scope_key)


QUEUED, HERE, BUSY = "queued", "here", "busy"
# How long a build started for a viewer may hold its scope's lock.
BUILD_LOCK_S = 120


def request_refresh(scope_key: str) -> str:
    """Have a scope rebuilt now, for a viewer: QUEUED on a worker when one is alive; HERE
    when none is (the caller builds it, then releases the lock); BUSY when a build of the
    scope is already under way."""
    if not live.acquire(scope_key, BUILD_LOCK_S):
        return BUSY
    age = live.worker_age()
    if age is not None and age < 3 * settings.MESHLENS_REFRESH_SECONDS:
        refresh_scope.delay(scope_key)
        return QUEUED
    return HERE
