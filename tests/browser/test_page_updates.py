"""Live updates through the page's model worker, over a stand-in /ws/graph: deltas whose
changed elements are patches (only the fields that changed, `unset` for gone ones), inline
and by reference, on a small graph and on a big one folded by namespace; a delta that does
not fit, or whose reference is gone, makes the page reconnect for a fresh snapshot.

Each test waits for the page's own counters (`state.shown`: snapshots and deltas applied,
the version on screen), never for a state that also held before the update.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page, Route, WebSocketRoute

from tests.browser.conftest import GraphPage
from tests.browser.test_page_big import FAILING, NAMESPACES, big_graph
from tests.browser.test_page_crafted import crafted_graph


class Server:
    """Stands in for /ws/graph: version 1 of `graph` on each connection; deltas on demand,
    inline or by reference (GET /api/v1/delta, answered from `deltas`)."""

    def __init__(self, page: Page, graph: dict[str, Any]) -> None:
        self.sockets: list[WebSocketRoute] = []
        self.graph = graph
        self.deltas: dict[str, dict[str, Any]] = {}
        page.route_web_socket("**/ws/graph?*", self.accept)
        page.context.route("**/api/v1/delta?*", self.delta_body)

    def accept(self, ws: WebSocketRoute) -> None:
        self.sockets.append(ws)
        ws.send(json.dumps({"type": "graph.snapshot", "version": 1, "graph": self.graph}))

    def delta_body(self, route: Route) -> None:
        version = route.request.url.rsplit("version=", 1)[1]
        if version in self.deltas:
            route.fulfill(status=200, content_type="application/json",
                          body=json.dumps(self.deltas[version]))
        else:
            route.fulfill(status=404, content_type="application/json",
                          body=json.dumps({"error": f"version: delta {version} is gone"}))

    def send(self, message: dict[str, Any]) -> None:
        self.sockets[-1].send(json.dumps(message))

    def send_by_reference(self, delta: dict[str, Any]) -> None:
        self.deltas[str(delta["version"])] = delta
        self.send({"type": "graph.delta", "version": delta["version"], "base": delta["base"],
                   "href": f"/api/v1/delta?namespaces=x&version={delta['version']}"})


def delta(version: int, changed: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    return {"type": "graph.delta", "version": version, "base": version - 1,
            "timestamp": 1_700_000_000 + version, "added": [], "removed": [],
            "changed": changed} | more


def wait_for_deltas(graph_page: GraphPage, count: int) -> None:
    graph_page.page.wait_for_function("n => window.meshlens.state.shown.deltas >= n", arg=count)


def test_it_applies_the_changed_fields_of_a_small_graph(graph_page: GraphPage,
                                                        meshlens_url: str) -> None:
    """productpage-v1 -> (reviews): its rate 3 -> 9 and Failure; isMTLS gone. The fields the
    patch does not name (response time, ends) stay as they were."""
    graph = crafted_graph({})
    server = Server(graph_page.page, graph)
    graph_page.open(f"{meshlens_url}/?namespaces=bookinfo")
    before = graph_page.look("productpage-v1>reviews")["data"]
    assert before["isMTLS"] == "100"
    rates = {"http": "9.00", "httpPercentReq": "100.0"}
    server.send(delta(2, [{"group": "edges", "data": {
        "id": before["id"], "healthStatus": "Failure",
        "traffic": {"protocol": "http", "rates": rates}}, "unset": ["isMTLS"]}]))
    wait_for_deltas(graph_page, 1)
    look = graph_page.look("productpage-v1>reviews")
    after = look["data"]
    assert after["traffic"]["rates"] == rates and after["healthStatus"] == "Failure"
    # Cytoscape keeps a removed key, undefined; the lock's class goes with it.
    assert after.get("isMTLS") is None and "mtls" not in look["classes"]
    assert {k: after[k] for k in ("source", "target", "responseTime")} == \
        {k: before[k] for k in ("source", "target", "responseTime")}
    assert graph_page.page.evaluate("window.meshlens.version") == 2
    assert graph_page.page.evaluate("document.body.dataset.graphTimestamp") == "1700000002"


SUMMARY = """ns => { const n = window.meshlens.cy.getElementById('ml-ns:' + ns);
                     return n.nonempty() ? n.data('worstHealth') : null; }"""


def test_it_patches_a_big_graph_folded_by_namespace(graph_page: GraphPage,
                                                    meshlens_url: str) -> None:
    """[ns0: 90] -> [ns1: 90] -> [ns2: 90, ns2-w017 failing] -> [ns3: 90], over the fold
    threshold, so the worker folds it: ns1-w005 turns Failure (ns1's box with it), ns2-w017
    heals (ns2's box too), by a delta fetched by reference; then, unfolded, a node's data."""
    server = Server(graph_page.page, big_graph())
    graph_page.open(f"{meshlens_url}/?namespaces={','.join(NAMESPACES)}")
    page = graph_page.page
    assert page.evaluate(SUMMARY, "ns1") == "Healthy" and page.evaluate(SUMMARY, "ns2") == "Failure"
    assert page.evaluate("window.meshlens.cy.nodes().not('.summary').length") == 0
    server.send_by_reference(delta(2, [
        {"group": "nodes", "data": {"id": "ns1-w005", "healthStatus": "Failure"}},
        {"group": "nodes", "data": {"id": FAILING, "healthStatus": "Healthy"}}]))
    wait_for_deltas(graph_page, 1)
    assert page.evaluate(SUMMARY, "ns1") == "Failure" and page.evaluate(SUMMARY, "ns2") == "Healthy"
    assert page.inner_text("#status-counts").startswith("360 nodes (1 failing)")
    # Still only the folded namespaces in Cytoscape: the model stays in the worker.
    assert page.evaluate("window.meshlens.cy.nodes().not('.summary').length") == 0

    page.click("#fold-button")  # unfold all
    graph_page.wait_for("cy => cy.nodes('.summary').empty()")
    assert graph_page.look("ns1-w005")["data"]["healthStatus"] == "Failure"
    assert graph_page.look("ns1-w005")["data"]["workload"] == "ns1-w005"
    degraded = {"id": "ns1-w005", "healthStatus": "Degraded"}
    server.send(delta(3, [{"group": "nodes", "data": degraded}]))
    wait_for_deltas(graph_page, 2)
    assert graph_page.look("ns1-w005")["data"]["healthStatus"] == "Degraded"


@pytest.mark.parametrize("fault", ["unknown element", "reference gone"])
def test_it_reconnects_when_a_delta_cannot_be_applied(graph_page: GraphPage, meshlens_url: str,
                                                      fault: str) -> None:
    """A patch of an element the page does not have, or a delta whose reference is gone:
    the page opens a new socket and shows the snapshot it brings."""
    server = Server(graph_page.page, big_graph())
    graph_page.open(f"{meshlens_url}/?namespaces={','.join(NAMESPACES)}")
    page = graph_page.page
    page.on("console", lambda _: None)
    if fault == "unknown element":
        server.send(delta(2, [{"group": "nodes", "data": {"id": "nowhere", "label": "x"}}]))
    else:
        server.send({"type": "graph.delta", "version": 2, "base": 1,
                     "href": "/api/v1/delta?namespaces=x&version=2"})
    page.wait_for_function("() => window.meshlens.state.shown.snapshots >= 2", timeout=15000)
    assert len(server.sockets) == 2
    assert page.evaluate("window.meshlens.state.shown.deltas") == 0
    assert page.evaluate("window.meshlens.version") == 1
    assert page.evaluate(SUMMARY, "ns2") == "Failure"
