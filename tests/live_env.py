"""Fixtures that point Django, Channels and Celery at the test session's Redis and at a
backfilled Prometheus. Imported by conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests import mesh

# A fixed evaluation time inside the backfilled data (see tests/support/prometheus.py).
QUERY_TIME = 1700000000


@pytest.fixture(scope="session")
def meshlens_redis(redis_server: str) -> Iterator[str]:
    """Django's cache, the channel layer and Celery's broker on the session's Redis."""
    from channels.layers import channel_layers
    from django.conf import settings

    from dashboard.celery import app
    from dashboard.settings import channel_layers as channel_layer_config

    settings.REDIS_URL = redis_server
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": redis_server, "KEY_PREFIX": "meshlens"}}
    settings.CHANNEL_LAYERS = channel_layer_config(redis_server)
    channel_layers.backends.clear()
    app.conf.broker_url = redis_server
    yield redis_server


@pytest.fixture(scope="module")
def celery_worker(meshlens_redis: str) -> Iterator[Any]:
    """A real Celery worker (solo pool) for the module that asks for it, and for that module
    only: left running, it would take the refreshes that the servers of later tests queue on
    the same Redis, without their database."""
    from celery.contrib.testing.worker import start_worker

    from dashboard.celery import app

    with start_worker(app, pool="solo", perform_ping_check=False,
                      shutdown_timeout=10) as worker:
        yield worker


@pytest.fixture
def bookinfo_prometheus(prometheus_with: Any, settings: Any) -> Any:
    """Bookinfo at fixed rates, reviews-v2 -> ratings failing 50 % (see tests/mesh.py)."""
    server = prometheus_with(mesh.bookinfo(ratings_503=1.5), QUERY_TIME)
    settings.PROMETHEUS_URL = server.url
    return server
