"""How graphs reach the page, over the real stack: a graph bigger than the WebSocket's
1 MiB message limit comes by reference and is fetched over HTTP; a restarted server is
found again within the capped backoff; the backoff has a ceiling and jitter.

The big mesh, big in bytes rather than in nodes (so that drawing it stays quick): 80
workloads in 2 namespaces, each calling the services of the next 10 workloads in its
namespace, every call answered with 10 different codes (one workload in 6 failing):

    ns-0/w-00 -> [svc-01] -> w-01, ..., [svc-10] -> w-10;  ns-0/w-01 -> [svc-02] ...
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, ConsoleMessage, Page

from tests import mesh
from tests.browser.conftest import GraphPage
from tests.support.meshlens import meshlens
from tests.support.ports import free_port

NAMESPACES = ("ns-0", "ns-1")
PER_NAMESPACE = 40
CALLS = 10
CODES = ("200", "201", "202", "204", "301", "302", "304", "400", "404", "429")
BIG_VIEW = f"namespaces={','.join(NAMESPACES)}&duration=60s"
HISTORY_S = 300


def big_mesh() -> list[dict[str, Any]]:
    series = []
    for namespace in NAMESPACES:
        workloads = [mesh.Workload(namespace, f"w-{i:02}", f"app-{i:02}", service=f"svc-{i:02}")
                     for i in range(PER_NAMESPACE)]
        for i, source in enumerate(workloads):
            for hop in range(1, CALLS + 1):
                codes = {code: 0.5 for code in CODES}
                if i % 6 == 0:
                    codes["503"] = 2.0
                series += mesh.request_edge(source, workloads[(i + hop) % PER_NAMESPACE], codes)
    return series


@pytest.fixture(scope="module")
def big_meshlens(prometheus_with: Any, redis_server: str,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The whole live stack (daphne, Celery worker and beat) over the big mesh, ending now."""
    now = int(time.time()) // 15 * 15
    # Five minutes of history, not the default two hours: the page reads 60 s windows,
    # and promtool's time grows with the samples (16,280 series: about 50 s with two hours
    # on a quiet machine, several times that under load, all inside the test's timeout).
    server = prometheus_with(big_mesh(), now, history=HISTORY_S)
    # A database of its own: this stack's worker must not build the scopes of the other
    # tests' servers (against this Prometheus), nor theirs see it as their worker.
    env = {"PROMETHEUS_URL": server.url, "REDIS_URL": redis_server.rsplit("/", 1)[0] + "/2",
           "MESHLENS_REFRESH_SECONDS": "5"}
    with meshlens(tmp_path_factory.mktemp("big"), env, live=True) as url:
        yield url


def test_it_brings_a_graph_over_a_megabyte_to_the_page(big_meshlens: str, page: Page) -> None:
    body = requests.get(f"{big_meshlens}/api/v1/graph?{BIG_VIEW}", timeout=60)
    assert body.status_code == 200 and len(body.content) > 1 << 20, len(body.content)
    expected = body.json()["elements"]
    fetched: list[str] = []
    page.on("requestfinished", lambda r: fetched.append(r.url) if "/api/v1/snapshot" in r.url
            else None)

    page.goto(f"{big_meshlens}/?{BIG_VIEW}")
    page.wait_for_function("window.meshlens.state.shown.snapshots > 0", timeout=90000)
    assert fetched, "the page did not fetch the snapshot it was told of"
    drawn = page.evaluate("""() => ({
        nodes: window.meshlens.cy.nodes('[^isBox]').length,
        edges: window.meshlens.cy.edges().length})""")
    assert drawn == {"nodes": len(expected["nodes"]), "edges": len(expected["edges"])}
    failing = page.evaluate("window.meshlens.cy.edges('[healthStatus = \"Failure\"]').length")
    assert failing > 0


def cut_short(message: ConsoleMessage) -> bool:
    """The failing-edges list the page asks for after each update, in flight when the
    server stopped (the restart's doing, as the refused attempts are)."""
    return "/api/v1/edges" in message.location.get("url", "")


def test_it_finds_a_restarted_server_again(browser_prometheus: Any, redis_server: str,
                                           browser: Browser, tmp_path: Path) -> None:
    """The page stays up while the server restarts, says it is reconnecting, and shows the
    graph of a new connection once the server is back."""
    env = {"PROMETHEUS_URL": browser_prometheus.url, "REDIS_URL": redis_server}
    port = free_port()
    # bypass_csp: Playwright's wait_for_function uses eval() (see conftest.py's `page`).
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    graph_page = GraphPage(context.new_page())
    errors: list[str] = []
    graph_page.page.on("pageerror", lambda exc: errors.append(str(exc)))
    graph_page.page.on("console", lambda m: errors.append(m.text)
                       if m.type == "error" and not cut_short(m) else None)
    with meshlens(tmp_path / "before", env, port=port) as url:
        graph_page.open(f"{url}/?namespaces=bookinfo")
        assert graph_page.has("reviews-v2")
    graph_page.page.wait_for_function(
        "document.querySelector('#status-connection').dataset.state === 'reconnecting'")
    with meshlens(tmp_path / "after", env, port=port):
        # A snapshot from a socket opened after the restart: the page found the server again.
        graph_page.page.wait_for_function("window.meshlens.state.shown.snapshots >= 2",
                                          timeout=30000)
        assert graph_page.has("reviews-v2")
    context.close()
    assert len(graph_page.sockets) >= 2
    # Chromium logs each refused attempt while the server is down; nothing else may fail.
    assert [e for e in errors if "ERR_CONNECTION_REFUSED" not in e] == []


def test_it_caps_the_reconnect_backoff_with_jitter(page: Page, meshlens_url: str) -> None:
    page.goto(f"{meshlens_url}/?namespaces=bookinfo")
    delays = page.evaluate("""async () => {
        const { backoffDelay } = await import('/static/js/live.js');
        const low = () => 0, high = () => 0.999999;
        return [0, 1, 2, 3, 4, 5, 10, 50].map((n) => [backoffDelay(n, low), backoffDelay(n, high)]);
    }""")
    assert delays[0] == [250, 500]
    assert delays[1] == [500, 1000]
    assert all(low >= 2500 and high <= 5000 for low, high in delays[4:]), delays
