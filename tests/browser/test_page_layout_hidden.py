"""Re-layout with hidden elements (Hide's, or outside a focus), in Chromium over a stand-in
/ws/graph: the layout places only what is drawn, so hidden nodes take no space and keep
their positions; a hidden node the user dragged keeps its pin through Re-layout; hidden
nodes that come back are placed beside their neighbours, clear of the others.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

from playwright.sync_api import Route

from tests.browser.conftest import GraphPage
from tests.browser.test_page_crafted import edge, node
from tests.browser.test_page_updates import Server

TARGETS = [f"t{i}" for i in range(1, 7)]
HIDE = "wl = t1 or wl = t2 or wl = t3"


def fan_graph() -> dict[str, Any]:
    """
    hub -> t1, t2, t3, t4, t5, t6   (one rank of six under dagre)
    """
    nodes = [node("hub", "workload", "hub", workload="hub")]
    nodes += [node(t, "workload", t, workload=t) for t in TARGETS]
    edges = [edge("hub", t, 1.0, 100 / len(TARGETS), {}) for t in TARGETS]
    return {"timestamp": int(time.time()), "duration": 60, "graphType": "workload",
            "elements": {"nodes": nodes, "edges": edges}}


POSITIONS = """ids => Object.fromEntries(ids.map(id => {
    const p = window.meshlens.cy.getElementById(id).position();
    return [id, {x: p.x, y: p.y}];
}))"""

# The stop of the layout that Re-layout starts (stopping the one before emits a layoutstop
# of its own first).
RELAYOUT = """() => new Promise(resolve => {
    const cy = window.meshlens.cy;
    cy.one('layoutstart', () => cy.one('layoutstop', () => resolve(true)));
    document.getElementById('relayout-button').click();
})"""

OVERLAPS = """ids => {
    const cy = window.meshlens.cy;
    const box = id => cy.getElementById(id).boundingBox({includeLabels: false});
    const hit = (a, b) => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
    const out = [];
    for (const id of ids) {
        cy.nodes(':visible').forEach(other => {
            if (other.id() !== id && hit(box(id), box(other.id()))) out.push([id, other.id()]);
        });
    }
    return out;
}"""


def span(positions: dict[str, dict[str, float]], ids: list[str]) -> float:
    ys = [positions[i]["y"] for i in ids]
    return max(ys) - min(ys)


def test_it_lays_out_without_hidden_nodes_and_keeps_their_pins(graph_page: GraphPage,
                                                               meshlens_url: str) -> None:
    Server(graph_page.page, fan_graph())
    graph_page.open(f"{meshlens_url}/?namespaces=bookinfo")
    page = graph_page.page
    page.wait_for_function("window.meshlens.state.shown.snapshots >= 1")
    before = page.evaluate(POSITIONS, ["hub", *TARGETS])
    # t1 dragged away by the user, t4 too: both pinned.
    page.evaluate("""() => { for (const [id, x] of [['t1', -500], ['t4', 900]]) {
        const n = window.meshlens.cy.getElementById(id);
        n.position({x, y: -500}); n.emit('dragfree'); } }""")
    assert set(page.evaluate("window.meshlens.pins.pinned()")) == {"t1", "t4"}

    page.fill("#graph-hide", HIDE)
    page.press("#graph-hide", "Enter")
    graph_page.wait_for("cy => cy.nodes('.find-hidden').length === 3")
    hidden_at = page.evaluate(POSITIONS, ["t1", "t2", "t3"])
    assert page.evaluate(RELAYOUT)
    after = page.evaluate(POSITIONS, ["hub", *TARGETS])

    # Hidden nodes did not move, and took no room: t4..t6 stand as three in a rank would.
    assert {t: after[t] for t in ("t1", "t2", "t3")} == hidden_at
    assert span(after, ["t4", "t5", "t6"]) < 0.6 * span(before, TARGETS)
    # Re-layout forgot the pin of what it laid out (t4), not the hidden t1's.
    assert page.evaluate("window.meshlens.pins.pinned()") == {"t1": {"x": -500, "y": -500}}
    assert after["t4"] != {"x": 900, "y": -500}
    graph_page.shot("layout-hidden")

    # Back from hiding: t2 and t3, displaced by the layout, are placed clear of the others;
    # t1, pinned, stays where the user put it.
    page.click(".find-field-hide .find-clear")
    page.wait_for_function("""old => { const p = window.meshlens.cy.getElementById('t2').position();
        return p.x !== old.x || p.y !== old.y; }""", arg=hidden_at["t2"])
    back = page.evaluate(POSITIONS, ["t1", "t2", "t3"])
    assert back["t1"] == {"x": -500, "y": -500}
    assert page.evaluate(OVERLAPS, ["t2", "t3"]) == []


def node_graph_of_t5(route: Route) -> None:
    """Kiali's node graph of t5, as the server would give it: hub -> t5."""
    graph = fan_graph()
    elements = graph["elements"]
    elements["nodes"] = [n for n in elements["nodes"] if n["data"]["id"] in ("hub", "t5")]
    elements["edges"] = [e for e in elements["edges"] if e["data"]["id"] == "hub>t5"]
    route.fulfill(status=200, content_type="application/json", body=json.dumps(graph))


def test_it_lays_out_only_the_focused_neighbourhood(graph_page: GraphPage,
                                                    meshlens_url: str) -> None:
    """Focus on t5, its node graph hub -> t5: hub and t5 are laid out; the other five keep
    their places."""
    Server(graph_page.page, fan_graph())
    graph_page.page.route("**/api/namespaces/bookinfo/workloads/t5/graph?*", node_graph_of_t5)
    graph_page.open(f"{meshlens_url}/?namespaces=bookinfo&hide={quote('wl = t6')}")
    page = graph_page.page
    page.wait_for_function("window.meshlens.state.shown.snapshots >= 1")
    graph_page.wait_for("cy => cy.nodes('.find-hidden').length === 1")
    page.evaluate("() => window.meshlens.cy.getElementById('t5').emit('dbltap')")
    page.wait_for_function("document.body.dataset.focusSource === 'server'")
    graph_page.wait_for("cy => cy.nodes('.focus-hidden').length === 5")
    others = ["t1", "t2", "t3", "t4", "t6"]
    held = page.evaluate(POSITIONS, others)
    assert page.evaluate(RELAYOUT)
    assert page.evaluate(POSITIONS, others) == held
    after = page.evaluate(POSITIONS, ["hub", "t5"])
    # Two nodes in a row, left to right: dagre on the neighbourhood alone.
    assert after["hub"]["y"] == after["t5"]["y"] and after["hub"]["x"] < after["t5"]["x"]
