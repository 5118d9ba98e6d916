"""The Celery app. Beat ticks every MESHLENS_REFRESH_SECONDS; the tick fans out per live scope."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

app = Celery("meshlens")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["dashboard"])


@app.on_after_finalize.connect
def schedule_tick(sender: Celery, **_: object) -> None:
    from django.conf import settings

    sender.add_periodic_task(
        float(settings.MESHLENS_REFRESH_SECONDS), sender.signature("dashboard.tasks.tick"),
        name="meshlens-tick",
    )
