"""A big graph folded by namespace, readable: the folded boxes spread out (a ring when every
namespace calls every other, layers when the namespaces form a hierarchy), a folded edge
coloured by its members' summed error rate (not by its worst member) and listing its worst
members, and an unfolded namespace drawn as a compact block rather than one long row.
The graphs are laid out by the server's own graph/layout.py and sent through a stand-in
/ws/graph, as in test_page_big.py.
"""

from __future__ import annotations

import json
import time
from typing import Any

from playwright.sync_api import Page

from graph.layout import add_positions
from tests.browser.conftest import GraphPage
from tests.browser.test_page_big import NAMESPACES as CHAIN
from tests.browser.test_page_big import big_graph as chain_graph

DENSE = tuple(f"ns{i}" for i in range(6))
PER_NAMESPACE = 60
CLEAN = {"http": "10.00"}
FAILING = {"http": "10.00", "http5xx": "3.50", "httpPercentErr": "35.0"}


def workload(ns: str, i: int) -> dict[str, Any]:
    name = f"{ns}-w{i:03d}"
    return {"data": {"id": name, "nodeType": "workload", "cluster": "Kubernetes",
                     "namespace": ns, "workload": name, "label": name,
                     "healthStatus": "Healthy"}}


def call(source: str, target: str, rates: dict[str, str]) -> dict[str, Any]:
    health = "Failure" if "http5xx" in rates else "Healthy"
    return {"data": {"id": f"{source}>{target}", "source": source, "target": target,
                     "healthStatus": health, "traffic": {"protocol": "http", "rates": rates}}}


def dense_graph() -> dict[str, Any]:
    """
    ns0 .. ns5, 60 workloads each; in each, a chain w000 -> w001 -> ... -> w059;
    every namespace calls every other: ns(p)-w01k -> ns(q)-w02k, k = 0..3, 10 rps, clean;
    but ns0 -> ns1: 20 edges, one of them failing (35 % 5xx): 1.75 % of the pair's requests;
    and ns2 -> ns3: all 4 edges failing (35 %).
    """
    nodes = [workload(ns, i) for ns in DENSE for i in range(PER_NAMESPACE)]
    edges = [call(f"{ns}-w{i:03d}", f"{ns}-w{i + 1:03d}", CLEAN)
             for ns in DENSE for i in range(PER_NAMESPACE - 1)]
    for p in DENSE:
        for q in DENSE:
            if p == q:
                continue
            count = 20 if (p, q) == ("ns0", "ns1") else 4
            for k in range(count):
                failing = (p, q) == ("ns2", "ns3") or ((p, q) == ("ns0", "ns1") and k == 7)
                edges.append(call(f"{p}-w{10 + k:03d}", f"{q}-w{30 + k:03d}",
                                  FAILING if failing else CLEAN))
    elements = {"nodes": nodes, "edges": edges}
    add_positions(elements)
    return {"timestamp": int(time.time()), "duration": 60, "graphType": "workload",
            "elements": elements}


def serve(page: Page, graph: dict[str, Any]) -> None:
    """Stands in for /ws/graph: `graph` as the snapshot of every socket."""
    message = json.dumps({"type": "graph.snapshot", "graph": graph})
    page.route_web_socket("**/ws/graph?*", lambda ws: ws.send(message))


def opened(graph_page: GraphPage, url: str, folded: int) -> None:
    """Open the page and wait for its first snapshot, drawn folded."""
    graph_page.open(url)
    graph_page.page.wait_for_function("window.meshlens.state.shown.snapshots >= 1")
    graph_page.wait_for("(cy, n) => cy.nodes('.summary').length === n", folded)


BOXES = """() => window.meshlens.cy.nodes('.summary').map(n => {
    const b = n.boundingBox({includeLabels: false});
    return {namespace: n.data('namespace'), x: n.position('x'), y: n.position('y'),
            x1: b.x1, x2: b.x2, y1: b.y1, y2: b.y2};
})"""


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["x1"] < b["x2"] and b["x1"] < a["x2"] and a["y1"] < b["y2"] and b["y1"] < a["y2"]


def assert_spread(boxes: list[dict[str, Any]]) -> None:
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not overlap(a, b), (a, b)
    assert len({round(b["x"]) for b in boxes}) > 1, "all in one column"
    assert len({round(b["y"]) for b in boxes}) > 1, "all in one row"


def test_it_spreads_the_folded_namespaces_of_a_dense_mesh(graph_page: GraphPage,
                                                          meshlens_url: str) -> None:
    """Every namespace calls every other (30 ordered pairs of 6): the boxes on a ring, none
    over another, one edge per ordered pair."""
    serve(graph_page.page, dense_graph())
    opened(graph_page, f"{meshlens_url}/?namespaces={','.join(DENSE)}", len(DENSE))
    boxes = graph_page.page.evaluate(BOXES)
    assert_spread(boxes)
    arrangement = graph_page.page.evaluate(
        "window.meshlens.cy.nodes('.summary').map(n => n.data('arrangement'))")
    assert set(arrangement) == {"ring"}
    pairs = graph_page.page.evaluate("""() => window.meshlens.cy.edges('.aggregate').map(e =>
        e.source().data('namespace') + '>' + e.target().data('namespace'))""")
    assert len(pairs) == len(set(pairs)) == 30
    graph_page.shot("folded-ring")


def test_it_lays_a_hierarchy_of_namespaces_out_in_layers(graph_page: GraphPage,
                                                          meshlens_url: str) -> None:
    """[ns0] -> [ns1] -> [ns2] -> [ns3]: left to right, none over another."""
    serve(graph_page.page, chain_graph())
    opened(graph_page, f"{meshlens_url}/?namespaces={','.join(CHAIN)}", len(CHAIN))
    boxes = sorted(graph_page.page.evaluate(BOXES), key=lambda b: b["namespace"])
    for a, b in zip(boxes, boxes[1:], strict=False):
        assert a["x2"] < b["x1"], (a, b)
    assert not any(overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


# What a summed edge draws (its data) and tells (graph.dataOf: summed-details.js).
EDGE = """([s, t]) => { const e = window.meshlens.cy.getElementById(`ml-agg:ml-ns:${s}>ml-ns:${t}`);
    const told = window.meshlens.graph.dataOf(e);
    return {health: e.data('health'), worst: told.worstHealth, count: told.edgeCount,
            failing: told.failing, label: e.data('summaryLabel'),
            color: e.style('line-color')}; }"""


def test_it_colours_a_folded_edge_by_its_summed_error_rate(graph_page: GraphPage,
                                                           meshlens_url: str) -> None:
    """ns0 -> ns1: 1 failing edge of 20 (1.75 % 5xx in all): Degraded, orange, not red;
    ns2 -> ns3: all failing: Failure, red; ns1 -> ns0: clean: Healthy. Selecting ns0 -> ns1
    lists its failing member first."""
    serve(graph_page.page, dense_graph())
    opened(graph_page, f"{meshlens_url}/?namespaces={','.join(DENSE)}", len(DENSE))
    page = graph_page.page
    mixed = page.evaluate(EDGE, ["ns0", "ns1"])
    failing = page.evaluate(EDGE, ["ns2", "ns3"])
    clean = page.evaluate(EDGE, ["ns1", "ns0"])
    assert (mixed["health"], mixed["worst"], mixed["count"], mixed["failing"]) == \
        ("Degraded", "Failure", 20, 1)
    assert mixed["label"] == "200 rps · 1.8 % err"
    assert failing["health"] == "Failure" and clean["health"] == "Healthy"
    assert mixed["color"] != failing["color"] and mixed["color"] != clean["color"]

    page.evaluate("window.meshlens.cy.getElementById('ml-agg:ml-ns:ns0>ml-ns:ns1').select()")
    page.wait_for_function("!document.getElementById('fold-tip').hidden")
    tip = page.inner_text("#fold-tip")
    assert "ns0 → ns1" in tip and "20 edges · 1 failing" in tip
    lines = page.evaluate("[...document.querySelectorAll('.fold-tip-members li')]"
                          ".map(li => li.textContent)")
    assert lines[0] == "ns0-w017 → ns1-w037: Failure, 35 % err"
    graph_page.shot("folded-edge-selected")


# Where an edge's midpoint is on the page (its rendered midpoint is the graph's own).
MIDPOINT = """id => { const cy = window.meshlens.cy;
    const mid = cy.getElementById(id).renderedMidpoint();
    const box = cy.container().getBoundingClientRect();
    return [box.x + mid.x, box.y + mid.y]; }"""


def test_it_tells_a_folded_edge_on_hover(graph_page: GraphPage, meshlens_url: str) -> None:
    """The mouse over ns0 -> ns1's midpoint: the tip names the pair, its totals and its
    failing member; the mouse away: the tip goes."""
    serve(graph_page.page, dense_graph())
    opened(graph_page, f"{meshlens_url}/?namespaces={','.join(DENSE)}", len(DENSE))
    page = graph_page.page
    x, y = page.evaluate(MIDPOINT, "ml-agg:ml-ns:ns0>ml-ns:ns1")
    page.mouse.move(x - 20, y - 20)
    page.mouse.move(x, y, steps=5)
    page.wait_for_function("!document.getElementById('fold-tip').hidden")
    tip = page.inner_text("#fold-tip")
    assert "ns0 → ns1" in tip and "20 edges · 1 failing" in tip
    assert "ns0-w017 → ns1-w037: Failure, 35 % err" in tip
    graph_page.shot("folded-edge-hovered")
    page.mouse.move(2, 2, steps=5)
    page.wait_for_function("document.getElementById('fold-tip').hidden")


BLOCK = """ns => window.meshlens.cy.nodes().filter(n => n.data('namespace') === ns
    && !n.hasClass('summary')).map(n => [n.position('x'), n.position('y')])"""


def test_it_draws_an_unfolded_namespace_as_a_block(graph_page: GraphPage,
                                                   meshlens_url: str) -> None:
    """ns0 unfolded (its chain of 60 is 60 layers, one long row in the server's layout):
    several rows, about as wide as a screen, clear of the folded boxes."""
    graph = dense_graph()
    serve(graph_page.page, graph)
    server_rows = {n["position"]["y"] for n in graph["elements"]["nodes"]
                   if n["data"]["namespace"] == "ns0"}
    opened(graph_page, f"{meshlens_url}/?namespaces={','.join(DENSE)}", len(DENSE))
    page = graph_page.page
    page.evaluate("window.meshlens.graph.unfold('ns0')")
    graph_page.wait_for("cy => cy.getElementById('ml-ns:ns0').empty()"
                        " && cy.nodes('.summary').length === 5")
    cells = page.evaluate(BLOCK, "ns0")
    assert len(cells) == PER_NAMESPACE
    xs = [x for x, _ in cells]
    ys = [y for _, y in cells]
    rows = len(set(ys))
    assert rows > len(server_rows) and rows >= 3, (rows, len(server_rows))
    width, height = max(xs) - min(xs), max(ys) - min(ys)
    assert width < 4 * height, (width, height)
    block = {"x1": min(xs) - 20, "x2": max(xs) + 20, "y1": min(ys) - 20, "y2": max(ys) + 20}
    assert not any(overlap(block, box) for box in page.evaluate(BOXES))
    # Its nodes' edges to the folded namespaces: one per (node, namespace), not per edge.
    ends = page.evaluate("""() => window.meshlens.cy.edges('.aggregate')
        .filter(e => e.source().data('namespace') === 'ns0' && !e.source().hasClass('summary'))
        .map(e => e.source().id() + '>' + e.target().id())""")
    assert len(ends) == len(set(ends)) == 4 * 4 + 20
    graph_page.shot("unfolded-block")


def busy_graph() -> dict[str, Any]:
    """
    dense_graph(), and every workload of ns0 calls ns(q)-w05k of each other namespace q:
    over 300 (node, folded namespace) pairs once ns0 is unfolded.
    """
    graph = dense_graph()
    elements = graph["elements"]
    for n in elements["nodes"]:
        n.pop("position", None)
    for i in range(PER_NAMESPACE):
        for q in DENSE[1:]:
            elements["edges"].append(call(f"ns0-w{i:03d}", f"{q}-w05{i % 10}", CLEAN))
    add_positions(elements)
    return graph


def test_it_bundles_a_big_namespaces_edges_at_its_border(graph_page: GraphPage,
                                                         meshlens_url: str) -> None:
    """ns0 unfolded, its nodes calling every other namespace: one port on its block's border
    per folded namespace, one summed edge each way between port and box; the per-node edges
    tucked away until their node is selected."""
    serve(graph_page.page, busy_graph())
    opened(graph_page, f"{meshlens_url}/?namespaces={','.join(DENSE)}", len(DENSE))
    page = graph_page.page
    page.evaluate("window.meshlens.graph.unfold('ns0')")
    graph_page.wait_for("cy => cy.getElementById('ml-ns:ns0').empty()"
                        " && cy.nodes('.port').length === 5")
    ported = page.evaluate("""() => window.meshlens.cy.edges('.ported').map(e =>
        [e.source().id(), e.target().id(), e.visible()]).sort()""")
    assert [p[:2] for p in ported] == sorted(
        [[f"ml-ns:{q}", f"ml-port:ns0>{q}"] for q in DENSE[1:]]
        + [[f"ml-port:ns0>{q}", f"ml-ns:{q}"] for q in DENSE[1:]])
    assert all(visible for *_, visible in ported)
    tucked = page.evaluate("""() => { const t = window.meshlens.cy.edges('.tucked');
        return [t.length, t.filter(e => e.visible()).length]; }""")
    assert tucked[0] > 300 and tucked[1] == 0, tucked
    cells = page.evaluate(BLOCK, "ns0")
    xs = [x for x, _ in cells]
    ys = [y for _, y in cells]
    for x, y in page.evaluate("() => window.meshlens.cy.nodes('.port').map(n => "
                              "[n.position('x'), n.position('y')])"):
        # On the block's border (its padding around the nodes), not inside among them.
        assert not (min(xs) < x < max(xs) and min(ys) < y < max(ys)), (x, y)

    page.evaluate("window.meshlens.cy.getElementById('ns0-w005').select()")
    graph_page.wait_for("cy => cy.getElementById('ns0-w005').connectedEdges('.tucked')"
                        ".filter(e => e.visible()).length === 5")
    graph_page.shot("unfolded-ports")
