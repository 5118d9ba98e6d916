"""Redis restarted under a connected browser, every part real: a redis-server of this test's
own (stopped, then started again on the same port, empty, as a Redis without persistence
comes back), daphne, a Celery worker and beat on it, a backfilled Prometheus, and Chromium.

The page says it is reconnecting, comes back with its capped backoff, subscribes again, and
the next update arrives; what it shows is never cleared meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests import mesh
from tests.browser.conftest import GraphPage
from tests.support.meshlens import meshlens
from tests.support.redis import RedisServer

VIEW = "namespaces=bookinfo&duration=60s"
# What the page draws, read at every frame: the fewest nodes and edges it ever drew, so that
# a graph cleared for a moment, even between two checks, is seen.
WATCH = """() => {
    const seen = {nodes: Infinity, edges: Infinity, frames: 0};
    const look = () => {
        const cy = window.meshlens.cy;
        seen.nodes = Math.min(seen.nodes, cy.nodes().length);
        seen.edges = Math.min(seen.edges, cy.edges().length);
        seen.frames += 1;
        requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
    window.fewestDrawn = seen;
}"""


BACKING_OFF = """() => {
    const status = document.querySelector('#status-connection');
    const wait = /next try in (\\d+) s/.exec(status.textContent);
    return status.dataset.state === 'reconnecting' && wait !== null && Number(wait[1]) >= 2;
}"""


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def stack(own_redis: RedisServer, prometheus_with: Any, tmp_path: Path) -> Iterator[str]:
    now = int(time.time()) // 15 * 15
    prometheus = prometheus_with(mesh.bookinfo(ratings_503=1.5), now)
    env = {"PROMETHEUS_URL": prometheus.url, "REDIS_URL": own_redis.url,
           "MESHLENS_REFRESH_SECONDS": "1"}
    with meshlens(tmp_path / "meshlens", env, live=True) as url:
        yield url


def connection(page: Page) -> str:
    return str(page.eval_on_selector("#status-connection", "e => e.dataset.state"))


def test_it_reconnects_resubscribes_and_keeps_the_graph_when_redis_restarts(
        stack: str, own_redis: RedisServer, graph_page: GraphPage) -> None:
    """browser -> daphne -> [Redis stopped, started again empty] <- worker, beat"""
    page = graph_page.page
    graph_page.open(f"{stack}/?{VIEW}")
    # A refresh has come over the socket (not only the first graph): the page is live.
    stamp = page.evaluate("document.body.dataset.graphTimestamp")
    page.wait_for_function(f"document.body.dataset.graphTimestamp !== {stamp!r}",
                           timeout=30000)
    drawn = page.evaluate("({nodes: window.meshlens.cy.nodes().length, "
                          "edges: window.meshlens.cy.edges().length})")
    assert drawn["nodes"] > 5
    page.evaluate(WATCH)
    sockets = len(graph_page.sockets)

    own_redis.stop()
    # The page retries, each wait longer than the last (the server's word on each attempt,
    # "Redis cannot be reached", does not reset the backoff): a wait of 2 s or more is
    # shown once the first tries have failed.
    page.wait_for_function(BACKING_OFF, timeout=30000)
    assert graph_page.page.evaluate("window.meshlens.cy.nodes().length") == drawn["nodes"]
    own_redis.start(same_port=True)

    # A new socket, and an update after the restart, through the group it joined again:
    # two graphs newer than the last before the restart (the snapshot of the new
    # connection, then a refresh pushed to the group).
    last = page.evaluate("document.body.dataset.graphTimestamp")
    page.wait_for_function(
        """last => {
            const now = Number(document.body.dataset.graphTimestamp);
            if (now > Number(last) && window.__afterRestart === undefined) {
                window.__afterRestart = now;
            }
            return window.__afterRestart !== undefined && now > window.__afterRestart;
        }""", arg=last, timeout=60000, polling=50)
    assert len(graph_page.sockets) > sockets
    assert connection(page) == "live"
    fewest = page.evaluate("window.fewestDrawn")
    assert fewest["frames"] > 0
    assert {"nodes": fewest["nodes"], "edges": fewest["edges"]} == drawn
    assert page.evaluate("document.body.dataset.stale") == "false"
