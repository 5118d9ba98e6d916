"""A refresh that outlasts the lock's expiry (three refresh periods) is never joined by a
second build of its scope: the ticks that come meanwhile are skipped, not queued.

Prometheus is made slow by the fault tests' stand-in (tests/support/standin.py) in front
of it, which holds every query until the test lets it through."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from dashboard import live
from dashboard.tasks import lock_seconds, tick
from graph.build import plan
from graph.options import MeshConfig, graph_options_from_query
from tests import mesh
from tests.support.ports import wait_until
from tests.support.standin import HELD, StandIn

pytestmark = pytest.mark.django_db(transaction=True)

QUERY = {"namespaces": "bookinfo", "duration": "60s"}

@pytest.fixture
def held_prometheus(prometheus_with: Any, settings: Any) -> Iterator[StandIn]:
    now = int(time.time()) // 15 * 15
    upstream = prometheus_with(mesh.bookinfo(ratings_503=1.5), now)
    with StandIn(upstream.url) as server:
        server.fail(HELD)
        settings.PROMETHEUS_URL = server.url
        settings.PROMETHEUS_TIMEOUT = 60  # the held queries must not time out
        yield server


def skipped() -> float:
    from dashboard import metrics

    raw = live.client().hget(metrics.HASH_KEY, metrics.field(metrics.SKIPPED.name, "", ()))
    return float(raw or 0)


def test_it_skips_ticks_while_a_build_outlasts_the_lock(
        held_prometheus: StandIn, celery_worker: Any, settings: Any) -> None:
    """tick -> build held at Prometheus past 3 refresh periods; ticks meanwhile: skipped"""
    settings.MESHLENS_REFRESH_SECONDS = 1
    live.client().flushdb()
    scope_key = graph_options_from_query(QUERY).scope_key()
    # Queries with equal answers are sent once.
    one_build = len({q.answer() for q in plan(graph_options_from_query(QUERY),
                                              MeshConfig()).batch()})
    live.mark_live(scope_key)

    assert tick() == 1
    held_since = time.time()
    assert wait_until(lambda: len(held_prometheus.arrivals) > 0, 30)

    # Tick until well after the lock's first expiry: every tick finds it still held.
    ticks = 0
    while time.time() < held_since + lock_seconds() + 2 or ticks < 3:
        tick()
        ticks += 1
        time.sleep(0.5)
    assert skipped() == ticks
    assert live.client().ttl(live.lock_key(scope_key)) > 0
    assert len(held_prometheus.arrivals) <= one_build

    held_prometheus.heal()
    assert wait_until(lambda: live.load(scope_key) is not None, 30)
    first = live.load(scope_key)
    assert first is not None

    # The lock is free again once the refresh has ended (it is released after the graph is
    # cached, the graph freed: a tick in between is skipped): the next tick builds, and
    # nothing else was queued before it (the worker takes tasks in order, so once this build
    # is cached the queue is empty).
    assert wait_until(lambda: not live.client().exists(live.lock_key(scope_key)), 30)
    assert tick() == 1
    assert wait_until(lambda: live.load(scope_key).updated > first.updated, 30)  # type: ignore[union-attr]
    # Queries and remote reads (the request shares, MESHLENS_REMOTE_READ=auto).
    assert len(held_prometheus.arrivals) == 2 * one_build
    assert skipped() == ticks
