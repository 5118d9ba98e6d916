"""The Celery app. Beat ticks every MESHLENS_REFRESH_SECONDS; the tick fans out per live scope."""

from __future__ import annotations

import logging
import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

app = Celery("meshlens")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["dashboard"])


@worker_ready.connect
def announce(**_: object) -> None:
    """The worker's first heartbeat, before beat's first tick: until then the web server
    would take the worker for absent and build itself (dashboard/answers.py)."""
    import redis

    from dashboard import live

    try:
        live.worker_beat()
    except redis.RedisError as exc:
        logging.getLogger(__name__).warning("no first heartbeat: %s", exc)


@app.on_after_finalize.connect
def schedule_tick(sender: Celery, **_: object) -> None:
    from django.conf import settings

    sender.add_periodic_task(
        float(settings.MESHLENS_REFRESH_SECONDS), sender.signature("dashboard.tasks.tick"),
        name="meshlens-tick",
    )
