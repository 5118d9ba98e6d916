"""The page on a big graph (over the 300-node threshold), laid out by the server's own
graph/layout.py and sent through a stand-in /ws/graph: drawn at the server's positions
(no dagre), by WebGL or with the reason it fell back to canvas, with its namespaces folded
into one node each (count, worst health) that unfold on a tap.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest
from playwright.sync_api import Page, WebSocketRoute

from graph.layout import add_positions, positions_of
from tests.browser.conftest import GraphPage

NAMESPACES = ("ns0", "ns1", "ns2", "ns3")
PER_NAMESPACE = 90
FAILING = "ns2-w017"


def workload(ns: str, i: int) -> dict[str, Any]:
    name = f"{ns}-w{i:03d}"
    return {"data": {"id": name, "nodeType": "workload", "cluster": "Kubernetes",
                     "namespace": ns, "workload": name, "label": name,
                     "healthStatus": "Failure" if name == FAILING else "Healthy"}}


def call(source: str, target: str, health: str = "Healthy") -> dict[str, Any]:
    return {"data": {"id": f"{source}>{target}", "source": source, "target": target,
                     "healthStatus": health,
                     "traffic": {"protocol": "http", "rates": {"http": "1.00"}}}}


def big_graph(extra: int = 0, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """
    ns0-w000 -> ns0-w001 .. ns0-w009 -> ns1-w0xx -> ns2-w0xx -> ns3-w0xx   (360 workloads)
    in each namespace, w(i) -> w(i+10); ns2-w017 failing, and the edges into it;
    `extra` more workloads in ns3 called by ns3-w000.
    """
    nodes = [workload(ns, i) for ns in NAMESPACES for i in range(PER_NAMESPACE)]
    nodes += [workload("ns3", PER_NAMESPACE + i) for i in range(extra)]
    edges = []
    for k, ns in enumerate(NAMESPACES):
        for i in range(PER_NAMESPACE - 10):
            edges.append(call(f"{ns}-w{i:03d}", f"{ns}-w{i + 10:03d}"))
        if k + 1 < len(NAMESPACES):
            nxt = NAMESPACES[k + 1]
            for i in range(10):
                target = f"{nxt}-w{i * 7:03d}"
                edges.append(call(f"{ns}-w{80 + i:03d}", target))
    edges = [call(e["data"]["source"], e["data"]["target"], "Failure")
             if e["data"]["target"] == FAILING else e for e in edges]
    edges += [call("ns3-w000", f"ns3-w{PER_NAMESPACE + i:03d}") for i in range(extra)]
    elements = {"nodes": nodes, "edges": edges}
    add_positions(elements, positions_of(previous["elements"]) if previous else None)
    return {"timestamp": int(time.time()), "duration": 60, "graphType": "workload",
            "elements": elements}


class BigServer:
    """Stands in for /ws/graph: sends a big graph on connecting, and more on demand."""

    def __init__(self, page: Page) -> None:
        self.sockets: list[WebSocketRoute] = []
        self.graph = big_graph()
        page.route_web_socket("**/ws/graph?*", self.accept)

    def accept(self, ws: WebSocketRoute) -> None:
        self.sockets.append(ws)
        self.send(self.graph)

    def send(self, graph: dict[str, Any]) -> None:
        self.sockets[-1].send(json.dumps({"type": "graph.snapshot", "graph": graph}))


@pytest.fixture
def big_server(page: Page) -> BigServer:
    return BigServer(page)


POSITIONS = """ids => ids.map(id => {
    const p = window.meshlens.cy.getElementById(id).position();
    return {x: p.x, y: p.y};
})"""

SUMMARIES = """() => window.meshlens.cy.nodes('.summary').map(n => ({
    namespace: n.data('namespace'), label: n.style('label'), health: n.data('worstHealth'),
    border: n.style('border-color'), visible: n.visible()}))"""


def test_it_draws_a_big_graph_at_the_servers_positions(graph_page: GraphPage,
                                                        big_server: BigServer,
                                                        meshlens_url: str) -> None:
    """Over the threshold: preset positions from graph/layout.py, not dagre's; a renderer
    chosen, WebGL or the reason for canvas."""
    graph_page.open(f"{meshlens_url}/?namespaces={','.join(NAMESPACES)}")
    page = graph_page.page
    assert page.inner_text("#fold-button") == "Unfold all"
    page.click("#fold-button")
    graph_page.wait_for("cy => cy.nodes('.summary').empty()")
    nodes = big_server.graph["elements"]["nodes"]
    ids = [n["data"]["id"] for n in nodes]
    assert page.evaluate(POSITIONS, ids) == [n["position"] for n in nodes]
    renderer = page.evaluate("document.body.dataset.renderer")
    reason = page.evaluate("document.body.dataset.rendererReason")
    assert renderer == "webgl" or ("WebGL" in reason and "canvas" in reason), (renderer, reason)
    graph_page.shot("big-graph-folded")


def test_it_folds_namespaces_with_counts_and_worst_health(graph_page: GraphPage,
                                                          big_server: BigServer,
                                                          meshlens_url: str) -> None:
    """[ns0: 90] -> [ns1: 90] -> [ns2: 90, one failing] -> [ns3: 90]"""
    graph_page.open(f"{meshlens_url}/?namespaces={','.join(NAMESPACES)}")
    page = graph_page.page
    summaries = {s["namespace"]: s for s in page.evaluate(SUMMARIES)}
    assert sorted(summaries) == list(NAMESPACES)
    assert summaries["ns1"]["label"] == "ns1\n90 nodes"
    assert summaries["ns2"]["health"] == "Failure" and summaries["ns1"]["health"] == "Healthy"
    assert summaries["ns2"]["border"] != summaries["ns1"]["border"]
    assert all(s["visible"] for s in summaries.values())
    # Only the folded namespaces are drawn, with the edges between them added up.
    assert page.evaluate("window.meshlens.cy.nodes().not('.summary').length") == 0
    aggregates = page.evaluate("""() => window.meshlens.cy.edges('.aggregate').map(e =>
        [e.source().data('namespace'), e.target().data('namespace'),
         window.meshlens.graph.dataOf(e).edgeCount,
         window.meshlens.graph.dataOf(e).worstHealth]).sort()""")
    assert aggregates == [["ns0", "ns1", 10, "Healthy"], ["ns1", "ns2", 10, "Healthy"],
                          ["ns2", "ns3", 10, "Healthy"]]
    # The status bar still counts the real graph.
    assert page.inner_text("#status-counts").startswith("360 nodes")

    graph_page.tap(f"{'ml-ns:'}ns2")
    graph_page.wait_for("cy => cy.getElementById('ml-ns:ns2').empty()")
    assert page.evaluate("window.meshlens.graph.folded()") == ["ns0", "ns1", "ns3"]
    shown = page.evaluate("""() => window.meshlens.cy.nodes().not('.summary')
        .map(n => n.data('namespace'))""")
    assert len(shown) == PER_NAMESPACE and set(shown) == {"ns2"}
    # Edges from a folded namespace into an unfolded one end at the real nodes.
    into = page.evaluate("""() => window.meshlens.cy.edges('.aggregate')
        .filter(e => e.source().id() === 'ml-ns:ns1').map(e => e.target().id()).sort()""")
    assert into == sorted(f"ns2-w{i * 7:03d}" for i in range(10))
    graph_page.shot("big-graph-unfolded")

    page.click("#fold-button")  # some unfolded: fold them all again
    graph_page.wait_for("cy => cy.getElementById('ml-ns:ns2').nonempty()")


def test_it_keeps_positions_across_snapshots(graph_page: GraphPage, big_server: BigServer,
                                             meshlens_url: str) -> None:
    """The second snapshot of the scope adds 5 workloads to ns3: every node that was there
    stays where it was, the new ones come in ns3's band."""
    graph_page.open(f"{meshlens_url}/?namespaces={','.join(NAMESPACES)}")
    page = graph_page.page
    first = big_server.graph
    ids = [n["data"]["id"] for n in first["elements"]["nodes"]]
    page.click("#fold-button")  # unfold all: every node in Cytoscape
    graph_page.wait_for("cy => cy.nodes('.summary').empty()")
    before = page.evaluate(POSITIONS, ids)
    second = big_graph(extra=5, previous=copy.deepcopy(first))
    second["timestamp"] = first["timestamp"] + 10
    big_server.send(second)
    graph_page.page.wait_for_function("t => document.body.dataset.graphTimestamp === String(t)",
                                      arg=second["timestamp"])
    assert page.evaluate(POSITIONS, ids) == before
    new = [n for n in second["elements"]["nodes"] if n["data"]["id"] not in set(ids)]
    assert len(new) == 5
    assert page.evaluate(POSITIONS, [n["data"]["id"] for n in new]) == [n["position"] for n in new]
    assert page.inner_text("#status-counts").startswith("365 nodes")
    page.click("#fold-button")
    graph_page.wait_for("cy => cy.nodes('.summary').length === 4")
    assert "ns3\n95 nodes" in [s["label"] for s in page.evaluate(SUMMARIES)]


def test_it_draws_with_webgl_when_asked(graph_page: GraphPage, big_server: BigServer,
                                        meshlens_url: str) -> None:
    """renderer=webgl: WebGL even where it is emulated (SwiftShader here), without errors."""
    graph_page.open(f"{meshlens_url}/?namespaces={','.join(NAMESPACES)}&renderer=webgl")
    page = graph_page.page
    assert page.evaluate("document.body.dataset.renderer") == "webgl"
    assert graph_page.url()["renderer"] == "webgl"
    assert page.evaluate("window.meshlens.cy.nodes('.summary').length") == len(NAMESPACES)
    assert page.locator("#graph canvas[data-id='layer3-webgl']").count() == 1
    graph_page.shot("big-graph-webgl")


def test_it_shows_details_of_an_unfolded_node_and_goes_back_to_dagre_when_small(
        graph_page: GraphPage, big_server: BigServer, meshlens_url: str) -> None:
    """A node of an unfolded namespace opens the side panel as on any graph; a small graph
    after a big one is laid out by the page again, without folds."""
    from tests.browser.test_page_crafted import crafted_graph

    graph_page.open(f"{meshlens_url}/?namespaces={','.join(NAMESPACES)}")
    page = graph_page.page
    graph_page.tap("ml-ns:ns2")
    graph_page.wait_for("cy => cy.getElementById(arg).nonempty()", FAILING)
    graph_page.tap(FAILING)
    page.wait_for_selector("#side-panel:not([hidden])")
    assert FAILING in page.inner_text("#side-panel")

    small = crafted_graph({})
    small["timestamp"] = big_server.graph["timestamp"] + 10
    big_server.send(small)
    graph_page.wait_for("cy => cy.nodes('.summary').empty() && cy.$id('vault').nonempty()")
    assert page.evaluate("document.body.dataset.renderer") == "canvas"
    assert "small graph" in page.evaluate("document.body.dataset.rendererReason")
    assert page.locator("#fold-button").is_hidden()
    # The small graph's own stylesheet: labels name the namespace (4 are viewed).
    assert graph_page.look("productpage-v1")["label"] == "productpage-v1\nbookinfo"
    assert not graph_page.has(FAILING)
    # dagre, left to right: ingress before productpage before its workload.
    xs = page.evaluate("""() => ['ingress', 'productpage', 'productpage-v1']
        .map(id => window.meshlens.cy.getElementById(id).position('x'))""")
    assert xs == sorted(xs) and len(set(xs)) == 3


def test_it_names_a_folded_namespace_among_a_nodes_peers(graph_page: GraphPage,
                                                         big_server: BigServer,
                                                         meshlens_url: str) -> None:
    """[ns0] -> ns1-w000 -> ns1-w010, ns1 unfolded and ns0 folded: ns1-w000's inbound peer
    is the folded ns0, by an edge summing one edge, named by its namespace, with that
    edge's rate (2.5 rps, 20 % 5xx) and response time (12.5 ms)."""
    for edge in big_server.graph["elements"]["edges"]:
        if edge["data"]["target"] == "ns1-w000":
            edge["data"]["traffic"]["rates"] = {"http": "2.50", "http5xx": "0.50",
                                                "httpPercentErr": "20.0"}
            edge["data"]["responseTime"] = "12.5"
    graph_page.open(f"{meshlens_url}/?namespaces={','.join(NAMESPACES)}")
    page = graph_page.page
    graph_page.tap("ml-ns:ns1")
    graph_page.wait_for("cy => cy.getElementById('ns1-w000').nonempty()")
    graph_page.tap("ns1-w000")
    page.wait_for_selector("#side-panel:not([hidden]) table.peer-table[data-direction=inbound]")
    inbound = page.inner_text("#side-panel table.peer-table[data-direction=inbound] tbody")
    outbound = page.inner_text("#side-panel table.peer-table[data-direction=outbound] tbody")
    assert [cell.strip() for cell in inbound.split("\t")] == \
        ["ns0 (folded, 1 edge)", "2.50 rps", "20.0 %", "12.5 ms"]
    assert outbound.split("\t")[0].strip() == "ns1-w010"


def test_it_draws_the_worst_rows_of_a_long_failing_list(graph_page: GraphPage,
                                                        big_server: BigServer,
                                                        meshlens_url: str) -> None:
    """ns1-w0xx -> ns2-w017 failing; /api/v1/edges stood in for with 250 unhealthy edges:
    the panel counts 250 and draws the worst 200, saying so."""
    edges = [{"id": f"e{i:03d}", "source": {"label": f"ns1-w{i:03d}"},
              "target": {"label": FAILING}, "protocol": "http", "rate": 1.0,
              "errorPercent": 50.0 - i / 10, "healthStatus": "Failure", "responses": {},
              "responseTime": None, "since": None} for i in range(250)]
    body = json.dumps({"timestamp": big_server.graph["timestamp"], "duration": 60,
                       "edges": edges})
    page = graph_page.page
    page.route("**/api/v1/edges?*", lambda route: route.fulfill(
        status=200, content_type="application/json", body=body))
    graph_page.open(f"{meshlens_url}/?namespaces={','.join(NAMESPACES)}")
    page.wait_for_selector("#failing-panel[data-count='250']")
    rows = page.eval_on_selector_all(".failing-row", "rows => rows.map(r => r.dataset.edgeId)")
    assert rows == [f"e{i:03d}" for i in range(200)]
    assert page.inner_text(".failing-count") == "250"
    assert page.inner_text(".failing-status") == "The worst 200 of 250 shown."
