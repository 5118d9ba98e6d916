"""Viewers joining a live scope: each gets every version once, whatever the timing, and a
crowd joining at once is served whole (channels_redis's pool refuses commands past 100
connections in use, which a crowd's group_add calls would pass).

    worker: save v2 ─ publish delta v1->v2 ─────────────── publish delta v2->v3
    viewer:    group_add ─ read cache (v2) ─ snapshot v2 ─ (delta v2 dropped) ─ delta v3
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from dashboard import layer_calls, live, publish
from graph.options import graph_options_from_query
from tests.support.websocket import opened

VIEW = "namespaces=bookinfo&duration=60s"
SCOPE = graph_options_from_query({"namespaces": "bookinfo", "duration": "60s"}).scope_key()
BODY = b'{"timestamp":1,"duration":60,"graphType":"workload","elements":{"nodes":[],"edges":[]}}'

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def cached_scope(meshlens_redis: str) -> Iterator[None]:
    """The scope's graph cached fresh as version 1, so that no viewer asks for a build."""
    live.client().flushdb()
    live.save(SCOPE, BODY, {})
    yield
    live.client().flushdb()


def delta(base: int, version: int) -> str:
    return orjson.dumps({"type": publish.DELTA, "version": version, "base": base,
                         "timestamp": 1, "added": [], "removed": [], "changed": []}).decode()


def publish_next() -> int:
    """What a refresh does: save the next version, then publish the delta to it."""
    version = live.save(SCOPE, BODY, {}).version
    publish.send(SCOPE, delta(version - 1, version), publish.DELTA, version)
    return version


async def connect() -> WebsocketCommunicator:
    return await opened(f"/ws/graph?{VIEW}", within_s=30)


async def test_it_drops_a_delta_to_the_version_a_joining_viewer_was_sent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A refresh publishes v2 after the viewer joined the group and before it read the cache:
    the snapshot it gets is v2, and the delta to v2 that follows in the group is not sent
    (the page would find it does not apply, and reconnect)."""
    read = live.load

    def read_after_a_refresh(scope_key: str) -> Any:
        publish_next()
        return read(scope_key)

    monkeypatch.setattr(live, "load", read_after_a_refresh)
    viewer = await connect()
    snapshot = await viewer.receive_json_from(timeout=30)
    assert (snapshot["type"], snapshot["version"]) == (publish.SNAPSHOT, 2)
    monkeypatch.setattr(live, "load", read)
    await sync_to_async(publish_next)()
    update = await viewer.receive_json_from(timeout=30)
    assert (update["type"], update["base"], update["version"]) == (publish.DELTA, 2, 3)
    assert update["sent"] > 0  # the time it was published, for clients to measure lag by
    await viewer.disconnect()


async def test_it_serves_a_crowd_joining_at_once() -> None:
    """150 viewers connect together: each gets the snapshot, then the next delta."""
    crowd = 150
    assert crowd > 100 > layer_calls.GROUP_CALLS  # past redis-py's pool, not past the bound
    viewers = await asyncio.gather(*(connect() for _ in range(crowd)))
    firsts = await asyncio.gather(*(v.receive_json_from(timeout=60) for v in viewers))
    assert {(m["type"], m["version"]) for m in firsts} == {(publish.SNAPSHOT, 1)}
    await sync_to_async(publish_next)()
    updates = await asyncio.gather(*(v.receive_json_from(timeout=60) for v in viewers))
    assert {(m["type"], m["version"]) for m in updates} == {(publish.DELTA, 2)}
    await asyncio.gather(*(v.disconnect() for v in viewers))
