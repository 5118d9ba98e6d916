"""The live path with real parts: a Celery worker on Redis refreshes a scope, and Channels
WebSocket clients on the Redis channel layer receive snapshots, deltas and errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from prometheus_client.parser import text_string_to_metric_families

from dashboard import live, metrics, publish
from dashboard.tasks import tick
from graph.build import plan
from graph.options import MeshConfig, graph_options_from_query
from tests import mesh
from tests.support.websocket import opened

WS = "/ws/graph?namespaces=bookinfo&duration=60s"

# Refreshes read the health rules from the database, in the worker's and Channels' threads.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_prometheus(prometheus_with: Any, settings: Any) -> Any:
    """Bookinfo data ending now, so the live graph (always at 'now') sees it; a private
    server, since one test stops it."""
    now = int(time.time()) // 15 * 15
    server = prometheus_with(mesh.bookinfo(ratings_503=1.5), now, shared=False)
    settings.PROMETHEUS_URL = server.url
    return server


@pytest.fixture(autouse=True)
def clean_redis(meshlens_redis: str) -> Iterator[None]:
    """Each test starts from an empty Redis, and leaves no worker heartbeat or queued task
    to the tests after it."""
    live.client().flushdb()
    yield
    live.client().flushdb()


async def connect(path: str = WS) -> WebsocketCommunicator:
    return await opened(path)


def labels(graph: dict[str, Any]) -> set[str]:
    return {n["data"]["label"] for n in graph["elements"]["nodes"]}


def query_count(server: Any) -> float:
    """How many instant queries and remote reads (the request shares' queries, by
    MESHLENS_REMOTE_READ=auto) Prometheus says it has answered (its own /metrics)."""
    text = requests.get(f"{server.url}/metrics", timeout=5).text
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples
               if sample.name == "prometheus_http_requests_total"
               and sample.labels.get("handler") in ("/api/v1/query", "/api/v1/read"))


async def next_of(communicator: WebsocketCommunicator, *types: str) -> dict[str, Any]:
    for _ in range(10):
        message: dict[str, Any] = await communicator.receive_json_from(timeout=15)
        if message["type"] in types:
            return message
    raise AssertionError(f"no {types} message")


async def test_it_sends_a_snapshot_at_once_then_the_workers_refresh(
        live_prometheus: Any, celery_worker: Any) -> None:
    """A viewer of a cold scope hears progress, then gets the graph; a tick brings a delta
    from that version; a second viewer gets the cached graph at once."""
    communicator = await connect()
    assert (await communicator.receive_json_from(timeout=5))["type"] == "graph.progress"
    first = await next_of(communicator, "graph.snapshot")
    assert {"reviews-v2", "ratings-v1", "unknown"} <= labels(first["graph"])
    failing = [e for e in first["graph"]["elements"]["edges"]
               if e["data"]["healthStatus"] == "Failure"]
    assert failing

    # The contract is a snapshot within a second; speed is measured, not asserted, here
    # (shared machines are noisy): the wait is only bounded.
    second = await connect()
    cached = await second.receive_json_from(timeout=5)
    assert cached["type"] == "graph.snapshot" and cached["version"] == first["version"]
    assert cached["graph"] == first["graph"]

    assert await sync_to_async(live.live_scopes)() != []
    await sync_to_async(tick.delay)()
    for viewer in (communicator, second):
        update = await next_of(viewer, "graph.delta", "graph.snapshot")
        assert update["type"] == "graph.delta"  # same mesh: only rates may change
        assert update["base"] == first["version"] and update["version"] > first["version"]
        await viewer.disconnect()


async def test_it_keeps_a_viewer_of_a_slow_first_build_waiting(
        live_prometheus: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """No worker is alive, so the server builds the graph itself; the build takes 8 s, longer
    than this client waits for any message (5 s). Progress keeps coming, the socket stays
    open, and the graph comes."""
    build = publish.graph_written

    def slow_build(options: Any, *positions: Any) -> Any:
        time.sleep(8)
        return build(options, *positions)

    monkeypatch.setattr(publish, "graph_written", slow_build)
    communicator = await connect()
    kinds = []
    while not kinds or kinds[-1] != "graph.snapshot":
        kinds.append((await communicator.receive_json_from(timeout=5))["type"])
    assert set(kinds[:-1]) == {"graph.progress"} and len(kinds) >= 4, kinds
    await communicator.disconnect()


async def test_it_queries_prometheus_once_per_tick_whatever_the_viewers(
        live_prometheus: Any, celery_worker: Any) -> None:
    """Three viewers of one scope: one tick costs one set of queries, and all three hear it."""
    viewers = [await connect() for _ in range(3)]
    for viewer in viewers:
        await next_of(viewer, "graph.snapshot")
    before = await sync_to_async(query_count)(live_prometheus)
    await sync_to_async(tick.delay)()
    for viewer in viewers:
        await next_of(viewer, "graph.delta", "graph.snapshot")
    after = await sync_to_async(query_count)(live_prometheus)
    batch = plan(graph_options_from_query({"namespaces": "bookinfo", "duration": "60s"}),
                 MeshConfig()).batch()
    one_set = len({q.answer() for q in batch})  # queries with equal answers: sent once
    assert after - before == one_set
    for viewer in viewers:
        await viewer.disconnect()


async def test_it_keeps_the_last_graph_stale_while_prometheus_is_down(
        live_prometheus: Any, celery_worker: Any, settings: Any) -> None:
    communicator = await connect()
    snapshot = await next_of(communicator, "graph.snapshot")
    live_prometheus.stop()
    await sync_to_async(tick.delay)()
    error = await next_of(communicator, "graph.error")
    assert error["stale"] is True and "cannot be reached" in error["message"]

    late = await connect()  # a viewer arriving during the outage sees the last graph, stale
    assert (await late.receive_json_from(timeout=5))["graph"] == snapshot["graph"]
    assert (await late.receive_json_from(timeout=5))["type"] == "graph.error"

    live_prometheus.start()
    settings.PROMETHEUS_URL = live_prometheus.url
    await sync_to_async(tick.delay)()
    recovered = await next_of(communicator, "graph.snapshot")
    assert labels(recovered["graph"]) == labels(snapshot["graph"])
    for viewer in (communicator, late):
        await viewer.disconnect()


async def test_it_rejects_bad_parameters_with_a_message(meshlens_redis: str) -> None:
    communicator = await connect("/ws/graph?namespaces=bookinfo&graph_type=nope")
    message = await communicator.receive_json_from(timeout=5)
    assert message["type"] == "graph.error"
    assert message["message"].startswith("graph_type: ")
    closed = await communicator.receive_output(timeout=5)
    assert closed["type"] == "websocket.close" and closed["code"] == 4400
    # Closed by the server: no longer counted as a viewer, whether or not its client says
    # goodbye.
    assert await sync_to_async(live.client().zcard)(metrics.VIEWERS_KEY) == 0
    await communicator.disconnect()  # the app ends with the test, nothing left running


async def test_it_turns_away_anonymous_viewers_when_auth_is_login(
        meshlens_redis: str, settings: Any) -> None:
    settings.MESHLENS_AUTH = "login"
    communicator = await connect()
    message = await communicator.receive_json_from(timeout=5)
    assert message["type"] == "graph.error" and "sign in" in message["message"]
    closed = await communicator.receive_output(timeout=5)
    assert closed["type"] == "websocket.close" and closed["code"] == 4401
    await communicator.disconnect()  # the app ends with the test, nothing left running
