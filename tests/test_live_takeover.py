"""A viewer's build queued for a worker that is gone: the worker's heartbeat still looks
fresh (it died a moment ago), so the web server queues the build, waits PICKUP_S for a
worker to begin it, then takes the lock over and builds it itself. No worker runs in this
module."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from dashboard import live, locks, tasks
from graph.options import graph_options_from_query
from tests import mesh
from tests.support.websocket import opened

WS = "/ws/graph?namespaces=bookinfo&duration=60s"
SCOPE = graph_options_from_query({"namespaces": "bookinfo", "duration": "60s"}).scope_key()

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def bookinfo(prometheus_with: Any, settings: Any, meshlens_redis: str) -> Iterator[None]:
    now = int(time.time()) // 15 * 15
    settings.PROMETHEUS_URL = prometheus_with(mesh.bookinfo(), now).url
    live.client().flushdb()
    yield
    live.client().flushdb()


async def test_it_builds_here_a_queued_build_no_worker_begins(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """heartbeat fresh, no worker: queued -> PICKUP_S -> taken over -> snapshot"""
    monkeypatch.setattr(tasks, "PICKUP_S", 1.0)
    await sync_to_async(live.worker_beat)()
    handed: list[tuple[str, str | None]] = []
    take_over = tasks.take_over

    def recorded(scope_key: str, token: str) -> str | None:
        new = take_over(scope_key, token)
        handed.append((token, new))
        return new

    monkeypatch.setattr(tasks, "take_over", recorded)
    communicator = await opened(WS)
    message = await communicator.receive_json_from(timeout=5)
    while message["type"] == "graph.progress":
        message = await communicator.receive_json_from(timeout=10)
    assert message["type"] == "graph.snapshot"
    assert len(handed) == 1 and handed[0][1] is not None
    await communicator.disconnect()

    # The queued task, taken from the queue late by a worker, does not build again, even
    # once the lock is free.
    queued_token = handed[0][0]
    version = (await sync_to_async(live.load)(SCOPE)).version  # type: ignore[union-attr]
    await sync_to_async(live.client().delete)(live.lock_key(SCOPE))
    await sync_to_async(tasks.refresh_holding)(SCOPE, queued_token)
    assert (await sync_to_async(live.load)(SCOPE)).version == version  # type: ignore[union-attr]


def test_it_leaves_a_begun_build_to_its_worker(meshlens_redis: str) -> None:
    """queued -> the worker begins it -> the viewer's server does not take it over"""
    token = locks.new_token()
    assert live.acquire(SCOPE, 60, token)
    locks.mark_started(token)
    assert tasks.take_over(SCOPE, token) is None
    assert live.client().get(live.lock_key(SCOPE)) == token.encode()


def test_it_hands_the_lock_over_only_from_its_own_token(meshlens_redis: str) -> None:
    """queued with token A; the lock expired and a tick took it with B: A's holder cannot
    hand it over"""
    a, b = locks.new_token(), locks.new_token()
    assert live.acquire(SCOPE, 60, b)
    assert tasks.take_over(SCOPE, a) is None
    assert live.client().get(live.lock_key(SCOPE)) == b.encode()
