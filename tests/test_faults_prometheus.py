"""Prometheus failing, with every other part real: daphne (and for the live path a Celery
worker and beat) on the session's Redis, reading a real Prometheus on backfilled Bookinfo
through a stand-in (tests/support/standin.py) that fails when told to: down (nothing
listens), slow (past MESHLENS_PROMETHEUS_TIMEOUT), HTTP 500, or 200 with something that is
not a query's result.

The API answers each (the worker building its answers, or the web process's own when the
route needs none) with a JSON error that names Prometheus (503 when it cannot be read,
502 when what it answered is not an answer), never a 500 or a stack trace. A viewer keeps
the last good graph, hears `graph.error` (stale), and gets the whole graph again once
Prometheus is back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
import requests

from tests import mesh
from tests.support.meshlens import meshlens
from tests.support.standin import ERROR_500, GARBAGE, NOT_JSON, SLOW, StandIn
from tests.support.websocket import WebSocket

TIMEOUT_S = 1  # MESHLENS_PROMETHEUS_TIMEOUT of the servers started here
DOWN = "down"
FAULTS = (DOWN, SLOW, ERROR_500, GARBAGE, NOT_JSON)
# What each fault is answered with: Prometheus unreadable, 503; answering nonsense, 502 (a
# 503 where the answer names each data source that failed, whatever the reason).
STATUS = {DOWN: {503}, SLOW: {503}, ERROR_500: {503}, GARBAGE: {502, 503},
          NOT_JSON: {502, 503}}
# What the error says, besides naming Prometheus.
SAYS = {DOWN: "cannot be reached", SLOW: f"within {TIMEOUT_S}s", ERROR_500: "HTTP 500",
        GARBAGE: "not a query result", NOT_JSON: "not a query result"}



def routes(now: int) -> dict[str, str]:
    """The routes that read Prometheus, at `now` (where the backfilled data ends)."""
    view = f"namespaces=bookinfo&duration=60s&query_time={now}"
    return {
        "graph": f"/api/v1/graph?{view}",
        "edges": f"/api/v1/edges?{view}",
        "namespaces": "/api/v1/namespaces",
        "diff": f"/api/v1/graph/diff?{view}&compare_to=1h",
        "kiali": f"/api/namespaces/graph?namespaces=bookinfo&duration=60s&queryTime={now}",
        "series": "/api/v1/series?node=workload:bookinfo/reviews-v2&duration=10m",
    }


def redis_db(redis_server: str, db: int) -> str:
    """A database of the session's Redis of its own: these servers' scopes, tasks and
    worker heartbeat stay apart from other tests' servers."""
    return redis_server.rsplit("/", 1)[0] + f"/{db}"


@pytest.fixture(scope="module")
def now() -> int:
    """Where the backfilled data ends: a live graph is always now. Taken when the module's
    first test runs, not when it is imported (the whole suite collects long before)."""
    return int(time.time()) // 15 * 15


@pytest.fixture(scope="module")
def stand_in(prometheus_with: Any, now: int) -> Iterator[StandIn]:
    """Bookinfo ending now, read through the stand-in."""
    upstream = prometheus_with(mesh.bookinfo(ratings_503=1.5), now)
    with StandIn(upstream.url, slow_s=TIMEOUT_S + 3) as server:
        yield server


@pytest.fixture(scope="module")
def meshlens_url(stand_in: StandIn, redis_server: str,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """daphne, a Celery worker (the API's builds are its while it is alive) and beat,
    refreshing every second."""
    env = {"PROMETHEUS_URL": stand_in.url, "REDIS_URL": redis_db(redis_server, 12),
           "MESHLENS_PROMETHEUS_TIMEOUT": str(TIMEOUT_S), "MESHLENS_REFRESH_SECONDS": "1"}
    with meshlens(tmp_path_factory.mktemp("faults-prometheus"), env, live=True) as url:
        yield url


def fail(stand_in: StandIn, fault: str) -> None:
    if fault == DOWN:
        stand_in.down()
    else:
        stand_in.fail(fault)


def assert_named_error(response: requests.Response, fault: str, route: str) -> None:
    """A JSON error naming Prometheus and what went wrong, with the fault's status."""
    assert response.headers["Content-Type"].startswith("application/json"), (
        route, response.status_code, response.text[:300])
    error = response.json()["error"]
    assert "Prometheus" in error and SAYS[fault] in error, (route, error)
    assert "Traceback" not in response.text
    assert response.status_code in STATUS[fault], (route, response.status_code, error)


@pytest.mark.parametrize("fault", FAULTS)
def test_it_answers_every_route_with_an_error_naming_prometheus(
        meshlens_url: str, stand_in: StandIn, now: int, fault: str) -> None:
    """the API -> (worker) -> [stand-in: down | slow | 500 | garbage | HTML] -> Prometheus"""
    fail(stand_in, fault)
    try:
        for name, route in routes(now).items():
            response = requests.get(f"{meshlens_url}{route}", timeout=60)
            assert_named_error(response, fault, name)
        health = requests.get(f"{meshlens_url}/healthz", timeout=60)
        assert health.status_code == 503
        assert health.json()["checks"]["prometheus"]["ok"] is False
    finally:
        stand_in.heal()
    # Prometheus back: the same routes answer again, without a restart.
    assert requests.get(f"{meshlens_url}{routes(now)['graph']}", timeout=60).status_code == 200


# --- the live path ------------------------------------------------------------------------


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def next_message(ws: WebSocket, wanted: Callable[[dict[str, Any]], bool],
                 seen: list[dict[str, Any]], limit: int = 200) -> dict[str, Any]:
    """The next message `wanted` accepts; those before it are added to `seen`. Bounded by
    a count, not a time: the socket's own timeout ends a wait for a message that never
    comes."""
    for _ in range(limit):
        message = orjson.loads(ws.receive())
        if wanted(message):
            return message
        seen.append(message)
    raise AssertionError(f"none of {limit} messages was the one awaited: {seen[-5:]}")


def labels(graph: dict[str, Any]) -> set[str]:
    return {n["data"]["label"] for n in graph["elements"]["nodes"]}


def is_graph(message: dict[str, Any]) -> bool:
    return message["type"] in ("graph.snapshot", "graph.delta")


@pytest.mark.parametrize("fault", FAULTS)
def test_it_keeps_the_last_graph_stale_then_recovers(
        meshlens_url: str, stand_in: StandIn, fault: str) -> None:
    """worker -> [stand-in failing] -> Prometheus; a viewer keeps its graph, then gets it
    whole again"""
    with WebSocket(port_of(meshlens_url), "/ws/graph?namespaces=bookinfo&duration=60s",
                   timeout=60) as ws:
        seen: list[dict[str, Any]] = []
        # The cached graph (or progress, then the first one), then a refresh: what comes
        # from here on is this test's doing, not an error cached by the test before.
        cached = next_message(ws, lambda m: m["type"] == "graph.snapshot", seen)
        first = next_message(ws, is_graph, seen)
        if first["type"] == "graph.delta":
            first = {**first, "graph": cached["graph"]}
        assert {"reviews-v2", "ratings-v1"} <= labels(first["graph"])
        seen.clear()

        fail(stand_in, fault)
        try:
            error = next_message(ws, lambda m: m["type"] == "graph.error", seen)
        finally:
            stand_in.heal()
        assert error["stale"] is True
        assert "Prometheus" in error["message"] and SAYS[fault] in error["message"], error
        # Nothing told the viewer to drop its graph: only updates and errors came.
        assert {m["type"] for m in seen} <= {"graph.snapshot", "graph.delta", "graph.error"}

        # Back: the next good refresh sends the whole graph again (not a delta: a viewer
        # that arrived during the outage has no base to apply one to).
        back = next_message(ws, is_graph, seen)
        assert back["type"] == "graph.snapshot" and back["version"] > first["version"]
        assert labels(back["graph"]) == labels(first["graph"])


def unhealthy_ids(graph: dict[str, Any]) -> set[str]:
    return {e["data"]["id"] for e in graph["elements"]["edges"]
            if e["data"]["healthStatus"] in ("Failure", "Degraded")}


def test_it_lists_the_last_graphs_failing_edges_while_prometheus_is_down(
        meshlens_url: str, stand_in: StandIn) -> None:
    """viewer -> live scope -> worker -> [stand-in down]; GET /api/v1/edges of that scope:
    the last graph's list, marked stale (the page asks for it after each update, and one
    may come just before the outage), not a 503"""
    with WebSocket(port_of(meshlens_url), "/ws/graph?namespaces=bookinfo&duration=60s",
                   timeout=60) as ws:
        seen: list[dict[str, Any]] = []
        cached = next_message(ws, lambda m: m["type"] == "graph.snapshot", seen)
        fail(stand_in, DOWN)
        try:
            # The worker's refresh met the outage: the scope's graph is marked stale.
            next_message(ws, lambda m: m["type"] == "graph.error", seen)
            response = requests.get(f"{meshlens_url}/api/v1/edges?namespaces=bookinfo"
                                    "&duration=60s", timeout=60)
        finally:
            stand_in.heal()
    assert response.status_code == 200, response.text[:300]
    body = response.json()
    assert "Prometheus" in body["staleError"] and SAYS[DOWN] in body["staleError"], body
    # Backfilled rates do not change: every graph of the scope fails the same edges.
    assert {e["id"] for e in body["edges"]} == unhealthy_ids(cached["graph"]) != set()
    assert [e["since"] for e in body["edges"]] == [None] * len(body["edges"])
