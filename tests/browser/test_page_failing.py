"""Failing edges first, in Debian's Chromium: the edge mode, the failing-edges panel, the
count in the title and favicon, focus on a node's neighbourhood and back, hover paths.

The page's Bookinfo (conftest.page_mesh), service nodes on:

    ingress -> [productpage] -> productpage-v1 -> [details] -> details-v1
    unknown -> [productpage]    productpage-v1 -> [reviews] -> reviews-v1, -v2, -v3
    reviews-v2 -> [ratings] -> ratings-v1   (50 % 503: both edges fail)
    reviews-v3 -> [ratings]
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import GraphPage
from tests.browser.test_page_big import NAMESPACES, BigServer

URL = "/?namespaces=bookinfo&duration=60s"

# Labels of what is drawn and visible, and of what is hidden, after the next frame
# (Cytoscape restyles elements whose classes changed when it draws).
VISIBLE = """async ([group, visible]) => {
    await new Promise(resolve => requestAnimationFrame(() => resolve()));
    return window.meshlens.cy.elements(group)
        .filter(e => !e.data('isBox') && e.visible() === visible)
        .map(e => e.isNode() ? e.data('label')
                             : `${e.source().data('label')}>${e.target().data('label')}`).sort();
}"""


def shown(graph_page: GraphPage, group: str, visible: bool = True) -> list[str]:
    return graph_page.page.evaluate(VISIBLE, [group, visible])


def panel_rows(graph_page: GraphPage) -> list[dict[str, Any]]:
    graph_page.page.wait_for_selector("#failing-panel[data-loaded]", timeout=15000)
    return graph_page.page.eval_on_selector_all(".failing-row", """rows => rows.map(r => ({
        id: r.dataset.edgeId, since: Number(r.dataset.since),
        ends: r.querySelector('.failing-ends').textContent,
        text: r.textContent, failure: r.classList.contains('is-failure')}))""")


def test_it_lists_failing_edges_worst_first_and_selects_a_row(graph_page: GraphPage,
                                                                meshlens_url: str) -> None:
    """reviews-v2 -> [ratings] 50 % 503; [ratings] -> ratings-v1 25 %: failing since before
    the 1m window"""
    graph_page.open(meshlens_url + URL)
    rows = panel_rows(graph_page)
    assert [r["ends"] for r in rows] == ["reviews-v2 → ratings", "ratings → ratings-v1"]
    assert all(r["failure"] for r in rows)
    assert "50.0 % err" in rows[0]["text"] and "3.00 rps" in rows[0]["text"]
    assert "25.0 % err" in rows[1]["text"] and "6.00 rps" in rows[1]["text"]
    # The 503s never stopped: unhealthy since the first step of the list's window (the list
    # is of the scope's latest graph, which may be newer than the one on screen).
    since, timestamp = graph_page.page.evaluate("""() => [
        [...document.querySelectorAll('.failing-row')].map(r => Number(r.dataset.since)),
        Number(document.getElementById('failing-panel').dataset.timestamp)]""")
    assert since == [timestamp - 60, timestamp - 60]
    assert "unhealthy whole 1 min window" in rows[0]["text"]

    graph_page.page.click(f'.failing-row[data-edge-id="{rows[1]["id"]}"] button')
    graph_page.page.wait_for_function(
        "id => document.getElementById('side-panel').dataset.id === id", arg=rows[1]["id"])
    selected = graph_page.page.evaluate("window.meshlens.cy.$(':selected').map(e => e.id())")
    assert selected == [rows[1]["id"]]
    graph_page.shot("failing-panel")


# Apply a delta that sets edges' health (by "source label>target label") and read the page
# in the same turn of its event loop: no update of the live server can come in between.
# `edges`: those the edge mode leaves drawn (Cytoscape restyles them later, before a frame).
SET_HEALTH = """async healths => {
    const cy = window.meshlens.cy;
    const key = e => `${e.source().data('label')}>${e.target().data('label')}`;
    const changed = cy.edges().filter(e => key(e) in healths).map(e => ({
        group: 'edges', data: {...e.data(), healthStatus: healths[key(e)]}}));
    const applied = await window.meshlens.applyDelta({
        timestamp: window.meshlens.state.timestamp, added: [], removed: [], changed});
    return {applied, title: document.title,
            icon: document.querySelector('link[rel="icon"]').getAttribute('href'),
            edges: cy.edges().not('.edge-mode-hidden').map(key).sort()};
}"""


def test_it_counts_failing_edges_in_the_title_and_favicon(graph_page: GraphPage,
                                                          meshlens_url: str) -> None:
    """reviews-v2 -> [ratings] -> ratings-v1 fail; healed, the title and icon are plain;
    failing again with reviews -> reviews-v1 degraded (not counted), (2) again"""
    graph_page.open(meshlens_url + URL)
    page = graph_page.page
    assert page.title() == "(2) Meshlens · bookinfo"
    icon = page.get_attribute('link[rel="icon"]', "href")
    assert icon is not None and icon.startswith("data:image/png;base64,")
    healed = page.evaluate(SET_HEALTH, {"reviews-v2>ratings": "Healthy",
                                        "ratings>ratings-v1": "Healthy"})
    assert healed["applied"] is True
    assert (healed["title"], healed["icon"]) == ("Meshlens · bookinfo", "data:,")
    again = page.evaluate(SET_HEALTH, {"reviews-v2>ratings": "Failure",
                                       "ratings>ratings-v1": "Failure",
                                       "reviews>reviews-v1": "Degraded"})
    assert again["title"] == "(2) Meshlens · bookinfo"
    assert again["icon"].startswith("data:image/png;base64,")


def test_it_shows_unhealthy_edges_only(graph_page: GraphPage, meshlens_url: str) -> None:
    """unhealthy only: reviews-v2 -> [ratings] -> ratings-v1, every node stays; none: no
    edge, every node stays"""
    graph_page.open(meshlens_url + URL)
    nodes = shown(graph_page, "node")
    graph_page.page.select_option("#edge-mode", "unhealthy")
    assert shown(graph_page, "edge") == ["ratings>ratings-v1", "reviews-v2>ratings"]
    assert shown(graph_page, "node") == nodes
    assert graph_page.url()["edge_mode"] == "unhealthy"

    graph_page.page.select_option("#edge-mode", "none")
    assert shown(graph_page, "edge") == []
    assert shown(graph_page, "node") == nodes

    # The mode comes back from the URL.
    graph_page.open(meshlens_url + URL + "&edge_mode=unhealthy")
    assert graph_page.page.input_value("#edge-mode") == "unhealthy"
    assert shown(graph_page, "edge") == ["ratings>ratings-v1", "reviews-v2>ratings"]


def test_it_keeps_the_edge_mode_across_live_deltas(graph_page: GraphPage,
                                                   meshlens_url: str) -> None:
    """unhealthy only; reviews-v3 -> [ratings] degrades: it shows; reviews-v2 -> [ratings]
    heals: it goes"""
    graph_page.open(meshlens_url + URL + "&edge_mode=unhealthy")
    page = graph_page.page
    degraded = page.evaluate(SET_HEALTH, {"reviews-v3>ratings": "Degraded"})
    assert degraded["applied"] is True
    assert degraded["edges"] == ["ratings>ratings-v1", "reviews-v2>ratings", "reviews-v3>ratings"]
    healed = page.evaluate(SET_HEALTH, {"reviews-v2>ratings": "Healthy"})
    assert "reviews-v2>ratings" not in healed["edges"]
    assert "reviews-v3>ratings" in healed["edges"]


def double_click(graph_page: GraphPage, label: str) -> None:
    """As Cytoscape hears a double click: a tap (which selects the node), then a dbltap."""
    graph_page.tap(label)
    node_id = graph_page.look(label)["id"]
    graph_page.page.evaluate("id => { window.meshlens.cy.getElementById(id).emit('dbltap'); }",
                             node_id)


# Kiali's node graph of reviews-v2 (the server's node-graph route): the services in front
# of it and after it, and what calls and answers them.
NEAR_REVIEWS_V2 = ["productpage-v1", "ratings", "ratings-v1", "reviews", "reviews-v2"]
# Two node graphs deep: every node of the scope's graph.
TWO_HOPS = ["details", "details-v1", "istio-ingressgateway", "productpage", "productpage-v1",
            "ratings", "ratings-v1", "reviews", "reviews-v1", "reviews-v2", "reviews-v3",
            "unknown"]
# The page's own hop around the unknown caller, which has no node graph.
NEAR_UNKNOWN = ["productpage", "unknown"]


def served(graph_page: GraphPage) -> None:
    """The neighbourhood from the server's node graphs is the one drawn."""
    graph_page.page.wait_for_function("document.body.dataset.focusSource === 'server'",
                                      timeout=20000)


def test_it_focuses_on_a_nodes_neighbourhood_and_goes_back(graph_page: GraphPage,
                                                            meshlens_url: str) -> None:
    """productpage-v1 -> [reviews] -> reviews-v2 -> [ratings] -> ratings-v1: Kiali's node
    graph of reviews-v2, asked of the server; two hops ask the node graphs of those too."""
    asked: list[str] = []
    graph_page.page.on("request", lambda r: asked.append(r.url) if "/api/namespaces/" in r.url
                       else None)
    graph_page.open(meshlens_url + URL)
    everything = shown(graph_page, "node")
    double_click(graph_page, "reviews-v2")
    served(graph_page)
    assert shown(graph_page, "node") == NEAR_REVIEWS_V2
    assert [urlsplit(u).path for u in asked] == [
        "/api/namespaces/bookinfo/workloads/reviews-v2/graph"]
    assert parse_qs(urlsplit(asked[0]).query) == {
        "graphType": ["workload"], "duration": ["60s"], "injectServiceNodes": ["true"],
        "includeIdleEdges": ["false"], "responseTime": ["95"], "appenders": ["health"],
        "clusterName": ["Kubernetes"]}
    assert graph_page.url()["focus"] == graph_page.look("reviews-v2")["id"]
    assert graph_page.page.is_visible("#focus-bar")
    assert graph_page.page.inner_text(".focus-label") == "Focus on reviews-v2"
    # Every hop at full strength: no selection fades the second one.
    assert graph_page.page.evaluate("window.meshlens.cy.elements('.faded').length") == 0

    graph_page.page.select_option(".focus-hops", "2")
    graph_page.page.wait_for_function("() => document.body.dataset.focusSource === 'server' && "
                                      "window.meshlens.cy.nodes(':visible').length === 12")
    assert shown(graph_page, "node") == TWO_HOPS
    assert graph_page.url()["hops"] == "2"
    assert "/api/namespaces/bookinfo/services/ratings/graph" in [urlsplit(u).path for u in asked]
    graph_page.shot("focus-two-hops")

    # The button, Esc and the browser's Back each show the full graph again.
    graph_page.page.click(".focus-back")
    graph_page.page.wait_for_function("document.body.dataset.focus === ''")
    assert shown(graph_page, "node") == everything and "focus" not in graph_page.url()

    double_click(graph_page, "reviews-v2")
    graph_page.page.keyboard.press("Escape")
    graph_page.page.wait_for_function("document.body.dataset.focus === ''")
    assert shown(graph_page, "node") == everything

    double_click(graph_page, "reviews-v2")
    served(graph_page)
    graph_page.page.go_back()
    graph_page.page.wait_for_function("document.body.dataset.focus === ''")
    assert shown(graph_page, "node") == everything and "focus" not in graph_page.url()
    assert graph_page.page.is_hidden("#focus-bar")


def test_it_draws_the_neighbourhood_itself_without_a_node_graph(graph_page: GraphPage,
                                                                meshlens_url: str) -> None:
    """The unknown caller has no node-graph route: the page's own hop, and the bar says so."""
    graph_page.open(meshlens_url + URL)
    double_click(graph_page, "unknown")
    graph_page.page.wait_for_function("document.body.dataset.focusSource === 'page'")
    assert shown(graph_page, "node") == NEAR_UNKNOWN
    assert "neighbourhood drawn here" in graph_page.page.inner_text(".focus-label")


def test_it_opens_focused_from_a_shared_link(graph_page: GraphPage, meshlens_url: str) -> None:
    graph_page.open(meshlens_url + URL)
    node_id = graph_page.look("reviews-v2")["id"]
    graph_page.open(f"{meshlens_url}{URL}&focus={node_id}&hops=2")
    graph_page.page.wait_for_function("() => document.body.dataset.focusSource === 'server' && "
                                      "window.meshlens.cy.nodes(':visible').length === 12")
    assert shown(graph_page, "node") == TWO_HOPS
    assert graph_page.page.input_value(".focus-hops") == "2"


def test_it_highlights_the_paths_through_a_hovered_node(graph_page: GraphPage,
                                                        meshlens_url: str) -> None:
    """upstream of reviews-v2: [reviews], productpage-v1, [productpage], ingress, unknown;
    downstream: [ratings], ratings-v1; the rest faded"""
    graph_page.open(meshlens_url + URL)
    node_id = graph_page.look("reviews-v2")["id"]
    graph_page.page.evaluate("id => { window.meshlens.cy.getElementById(id).emit('mouseover'); }",
                             node_id)
    faded = graph_page.page.evaluate(
        "window.meshlens.cy.nodes('.hover-faded').map(n => n.data('label')).sort()")
    assert faded == ["details", "details-v1", "reviews-v1", "reviews-v3"]
    assert graph_page.look("reviews-v2>ratings")["opacity"] == 1
    assert graph_page.look("productpage-v1>details")["opacity"] < 0.5
    graph_page.page.evaluate("id => { window.meshlens.cy.getElementById(id).emit('mouseout'); }",
                             node_id)
    assert graph_page.page.evaluate("window.meshlens.cy.elements('.hover-faded').length") == 0


@pytest.fixture
def big_server(page: Page) -> BigServer:
    return BigServer(page)


def test_it_keeps_the_edge_mode_across_folds(graph_page: GraphPage, big_server: BigServer,
                                             meshlens_url: str) -> None:
    """[ns0] -> [ns1] -> [ns2] -> [ns3], folded: summed edges, all healthy; unfolded ns2:
    ns2-w007 -> ns2-w017 (failing) the one edge drawn"""
    graph_page.open(f"{meshlens_url}/?namespaces={','.join(NAMESPACES)}&edge_mode=unhealthy")
    page = graph_page.page
    assert page.evaluate("window.meshlens.cy.edges('.aggregate').length") == 3
    assert shown(graph_page, "edge") == []
    graph_page.tap("ml-ns:ns2")
    graph_page.wait_for("cy => cy.getElementById('ml-ns:ns2').empty()")
    assert shown(graph_page, "edge") == ["ns2-w007>ns2-w017"]
    assert len(shown(graph_page, "node")) == 90 + 3
