"""Updates that stop reaching a viewer, on the real channel layer and Redis (the browser's
side of a Redis restart: tests/browser/test_faults_redis.py). A consumer whose scope's
cached graph moved on while no update reached it for a whole renewal period closes its
socket (4503), so that the page reconnects and subscribes afresh."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from asgiref.sync import sync_to_async

from dashboard import live
from dashboard.consumers import RESUBSCRIBE
from graph.options import graph_options_from_query
from tests.support.websocket import opened

pytestmark = pytest.mark.django_db(transaction=True)

QUERY = {"namespaces": "bookinfo", "duration": "60s"}
EMPTY = orjson.dumps({"timestamp": 1, "duration": 60, "graphType": "workload",
                      "elements": {"nodes": [], "edges": []}})


@pytest.fixture(autouse=True)
def clean_redis(meshlens_redis: str) -> Iterator[None]:
    live.client().flushdb()
    yield
    live.client().flushdb()


async def test_it_closes_a_viewer_that_updates_no_longer_reach(settings: Any) -> None:
    """cached v1 -> viewer; v2 cached, its message lost -> the viewer is closed, 4503"""
    settings.MESHLENS_LIVE_TTL_SECONDS = 15  # renewals every 5 s, the shortest
    scope_key = graph_options_from_query(QUERY).scope_key()
    await sync_to_async(live.save)(scope_key, EMPTY, {})  # fresh: no build is asked for
    communicator = await opened("/ws/graph?namespaces=bookinfo&duration=60s")
    first = await communicator.receive_json_from(timeout=5)
    assert first["type"] == "graph.snapshot" and first["version"] == 1

    await sync_to_async(live.save)(scope_key, EMPTY, {})  # version 2, never sent
    closed = await communicator.receive_output(timeout=30)
    assert closed == {"type": "websocket.close", "code": RESUBSCRIBE}
    await communicator.disconnect()
