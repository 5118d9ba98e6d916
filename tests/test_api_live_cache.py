"""GET /api/v1/graph for a scope watched live: answered from the cached graph while it is
fresh enough, built otherwise; with a worker alive, up to three refresh periods old (a
big scope's refresh outlasts a period, and a build in the web process doubles its memory)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, replace
from typing import Any

import orjson
import pytest
from django.test import Client

from dashboard import answers, live
from graph.options import graph_options_from_query

VIEW = {"namespaces": "bookinfo", "duration": "60s"}
SCOPE = graph_options_from_query(VIEW).scope_key()
CACHED = b'{"cachedMarker":1,"elements":{"nodes":[],"edges":[]}}'

pytestmark = pytest.mark.django_db


@pytest.fixture
def cached_aged(bookinfo_prometheus: Any, meshlens_redis: str,
                settings: Any) -> Iterator[Any]:
    """A function that caches CACHED as the scope's graph, `age_s` old."""
    settings.MESHLENS_REFRESH_SECONDS = 10
    live.client().flushdb()

    def cache(age_s: float) -> None:
        cached = live.save(SCOPE, CACHED, {})
        aged = replace(cached, updated=time.time() - age_s)
        live.client().set(live.meta_key(SCOPE), orjson.dumps(asdict(aged)))

    yield cache
    live.client().flushdb()


def answer() -> bytes:
    response = Client().get("/api/v1/graph", VIEW)
    assert response.status_code == 200
    return response.content


def test_it_builds_when_the_cache_is_a_period_old_and_no_worker_is_alive(
        cached_aged: Any) -> None:
    cached_aged(5)
    assert answer() == CACHED
    cached_aged(15)
    assert b"cachedMarker" not in answer()


def test_it_serves_a_graph_up_to_three_periods_old_while_a_worker_is_alive(
        cached_aged: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """No worker runs here (its heartbeat alone is fresh): the build asked of it is not
    begun within PICKUP_S, and the web process builds it itself."""
    monkeypatch.setattr(answers, "PICKUP_S", 0.5)
    live.worker_beat()
    cached_aged(25)
    assert answer() == CACHED
    cached_aged(35)
    assert b"cachedMarker" not in answer()
