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
            publish.refresh(scope_key)
    finally:
        live.release(scope_key)
