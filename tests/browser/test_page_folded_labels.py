"""A folded graph that can be read: the labels of summed edges never cover one another
(on a ring, most chords cross its middle; a port's two edges run side by side), a label
with no room of its own shows while its edge is selected, and Fit keeps the whole graph
clear of the buttons floating over its bottom. Graphs laid out by the server's own
graph/layout.py, sent through a stand-in /ws/graph, as in test_page_folded.py.
"""

from __future__ import annotations

import time
from typing import Any

from graph.layout import add_positions
from tests.browser.conftest import GraphPage
from tests.browser.test_page_folded import (
    CLEAN,
    FAILING,
    busy_graph,
    call,
    opened,
    overlap,
    serve,
    workload,
)

RING = tuple(f"ns{i}" for i in range(10))
PER_NAMESPACE = 30


def ring_graph() -> dict[str, Any]:
    """
    ns0 .. ns9, 30 workloads each, every namespace calling every other:
    ns(p)-w00k -> ns(q)-w01k, k = 0..2, 10 rps, one of the three failing (35 % 5xx):
    90 summed edges, every one degraded, so every one labelled, most crossing the middle.
    """
    nodes = [workload(ns, i) for ns in RING for i in range(PER_NAMESPACE)]
    edges = []
    for p in RING:
        for q in RING:
            if p != q:
                edges += [call(f"{p}-w{k:03d}", f"{q}-w{10 + k:03d}", FAILING if k == 0 else CLEAN)
                          for k in range(3)]
    elements = {"nodes": nodes, "edges": edges}
    add_positions(elements)
    return {"timestamp": int(time.time()), "duration": 60, "graphType": "workload",
            "elements": elements}


# The labels of summed edges drawn now (a "quiet" one, with no room, has none), as boxes on
# the page.
LABELS = """() => { const cy = window.meshlens.cy;
    const at = cy.container().getBoundingClientRect();
    return cy.edges('.aggregate').filter(e => e.visible() && e.style('label'))
      .map(e => { const b = e.renderedBoundingBox({includeNodes: false, includeEdges: false,
                                                  includeLabels: true});
        return {id: e.id(), x1: at.x + b.x1, x2: at.x + b.x2, y1: at.y + b.y1, y2: at.y + b.y2}; });
}"""

LABELLED = "() => window.meshlens.cy.edges('.aggregate').filter(e => e.data('summaryLabel')).length"


def assert_apart(labels: list[dict[str, Any]]) -> None:
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            assert not overlap(a, b), (a, b)


def test_it_draws_only_the_ring_labels_that_fit(graph_page: GraphPage, meshlens_url: str) -> None:
    """90 labelled chords on a ring of 10: the labels drawn cover none other, a good share
    of them is drawn, and a quiet one shows its label while selected."""
    serve(graph_page.page, ring_graph())
    opened(graph_page, f"{meshlens_url}/?namespaces={','.join(RING)}", len(RING))
    page = graph_page.page
    assert page.evaluate(LABELLED) == 90
    labels = page.evaluate(LABELS)
    assert_apart(labels)
    assert len(labels) >= 30, len(labels)
    quiet = page.evaluate("window.meshlens.cy.edges('.aggregate.quiet').map(e => e.id())")
    assert len(quiet) == 90 - len(labels)
    graph_page.shot("folded-ring-labels")
    page.evaluate("id => window.meshlens.cy.getElementById(id).select()", quiet[0])
    graph_page.wait_for("(cy, id) => cy.getElementById(id).style('label') !== ''", quiet[0])


def test_it_parts_the_labels_of_a_ports_two_edges(graph_page: GraphPage,
                                                  meshlens_url: str) -> None:
    """ns0 unfolded, its edges bundled at ports on its border: each port's edge in and edge
    out are both labelled, apart."""
    serve(graph_page.page, busy_graph())
    namespaces = [f"ns{i}" for i in range(6)]
    opened(graph_page, f"{meshlens_url}/?namespaces={','.join(namespaces)}", len(namespaces))
    page = graph_page.page
    drawn = page.evaluate("window.meshlens.graph.finished()")
    page.evaluate("window.meshlens.graph.unfold('ns0')")
    page.wait_for_function("n => window.meshlens.graph.finished() > n", arg=drawn)
    assert page.evaluate("window.meshlens.cy.nodes('.port').length") == 5
    labels = page.evaluate(LABELS)
    assert_apart(labels)
    ported = {label["id"] for label in labels if "ml-port:" in label["id"]}
    assert len(ported) == 10, sorted(ported)
    graph_page.shot("unfolded-ports-labels")


# Where every drawn node is on the page, and where the floating buttons begin.
PLACES = """() => { const cy = window.meshlens.cy;
    const at = cy.container().getBoundingClientRect();
    const tools = document.querySelector('.graph-tools').getBoundingClientRect();
    const nodes = cy.nodes().filter(n => n.visible()).map(n => {
        const b = n.renderedBoundingBox({includeLabels: true});
        return {id: n.id(), y1: at.y + b.y1, y2: at.y + b.y2, x1: at.x + b.x1, x2: at.x + b.x2}; });
    return {nodes, toolsTop: tools.top, top: at.top, left: at.left, right: at.right}; }"""


def test_it_fits_the_graph_clear_of_the_buttons_below(graph_page: GraphPage,
                                                      meshlens_url: str) -> None:
    """The ring zoomed far out, then Fit: every folded box, the bottom one too, ends above
    the top of Fit's own row of buttons, and inside the graph."""
    serve(graph_page.page, ring_graph())
    opened(graph_page, f"{meshlens_url}/?namespaces={','.join(RING)}", len(RING))
    page = graph_page.page
    page.evaluate("() => { const cy = window.meshlens.cy; cy.zoom(cy.minZoom()); }")
    far = page.evaluate("window.meshlens.cy.zoom()")
    page.click("#fit-button")
    graph_page.wait_for("(cy, far) => cy.zoom() !== far && !cy.animated()", far)
    places = page.evaluate(PLACES)
    assert len(places["nodes"]) == len(RING)
    for node in places["nodes"]:
        assert node["y2"] <= places["toolsTop"], (node, places["toolsTop"])
        assert node["y1"] >= places["top"] and places["left"] <= node["x1"], node
        assert node["x2"] <= places["right"], node
    graph_page.shot("folded-ring-fitted")
