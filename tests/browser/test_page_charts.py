"""The side panel's charts (GET /api/v1/series, drawn with uPlot), their links to
Prometheus's graph page, and a node's peer tables, on the page tests' Bookinfo.

    productpage-v1 -> [reviews] -> reviews-v2 (3/s; p50 30 ms, p95 74 ms, p99 78.8 ms)
    reviews-v2 -> [ratings] -> ratings-v1 (3/s, 50 % 503)
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.browser.conftest import GraphPage

CHARTS = """section => [...section.querySelectorAll('.chart')].map(c => ({
    direction: c.dataset.direction, chart: c.dataset.chart, current: c.dataset.current,
    points: Number(c.dataset.points), canvases: c.querySelectorAll('canvas').length,
    links: [...c.querySelectorAll('a.prometheus-link')].map(a => a.href)}))"""
PEERS = """table => [...table.querySelectorAll('thead th, tbody tr')].map(
    r => r.tagName === 'TH' ? r.textContent : [...r.cells].map(c => c.textContent))"""


def select(graph_page: GraphPage, key: str) -> dict[str, Any]:
    """Tap `key`; the series answer the page received for it, once its charts are drawn."""
    page = graph_page.page
    with page.expect_response(lambda r: "/api/v1/series?" in r.url) as answer:
        graph_page.tap(key)
    body: dict[str, Any] = json.loads(answer.value.text())
    page.wait_for_selector("#side-panel .charts[data-state=shown]")
    return body


def charts(graph_page: GraphPage) -> dict[tuple[str, str], dict[str, Any]]:
    found = graph_page.page.eval_on_selector("#side-panel .charts", CHARTS)
    return {(c["direction"], c["chart"]): c for c in found}


def test_it_charts_a_node_with_links_and_peer_tables(graph_page: GraphPage, meshlens_url: str,
                                                      browser_prometheus: Any) -> None:
    graph_page.open(f"{meshlens_url}/?namespaces=bookinfo&duration=5m")
    graph_page.wait_for("cy => cy.nodes().some(n => n.data('label') === 'reviews-v2')")
    body = select(graph_page, "reviews-v2")
    assert (body["step"], len(body["times"])) == (3, 101)
    shown = charts(graph_page)
    assert sorted(shown) == sorted((d, c) for d in ("inbound", "outbound")
                                   for c in ("rate", "errorPercent", "latency"))
    assert shown["inbound", "rate"]["current"] == "3.00 rps"
    assert shown["inbound", "errorPercent"]["current"] == "0.0 %"
    assert shown["inbound", "latency"]["current"] == "p50 30.0 ms · p95 74.0 ms · p99 78.8 ms"
    assert shown["outbound", "errorPercent"]["current"] == "50.0 %"
    for chart in shown.values():
        assert (chart["points"], chart["canvases"]) == (101, 1)
    # Each line links to the same query in Prometheus's graph page (PROMETHEUS_URL here).
    for link in shown["inbound", "latency"]["links"] + shown["outbound", "rate"]["links"]:
        url = urlsplit(link)
        assert f"{url.scheme}://{url.netloc}{url.path}" == f"{browser_prometheus.url}/graph"
        assert parse_qs(url.query)["g0.range_input"] == ["5m"]
    assert [parse_qs(urlsplit(a).query)["g0.expr"][0]
            for a in shown["inbound", "latency"]["links"]] == [
        body["queries"]["inbound"][q] for q in ("p50", "p95", "p99")]

    page = graph_page.page
    inbound = page.eval_on_selector("#side-panel table.peer-table[data-direction=inbound]", PEERS)
    assert inbound[:4] == ["Peer", "Rate", "Error %", "p95"]
    assert inbound[4][:3] == ["reviews", "3.00 rps", "0.0 %"]
    outbound = page.eval_on_selector("#side-panel table.peer-table[data-direction=outbound]",
                                     PEERS)
    assert outbound[4][:3] == ["ratings", "3.00 rps", "50.0 %"]
    graph_page.shot("charts-node")


def test_it_charts_an_edge(graph_page: GraphPage, meshlens_url: str) -> None:
    graph_page.open(f"{meshlens_url}/?namespaces=bookinfo&duration=5m")
    graph_page.wait_for("cy => cy.edges().some(e => e.source().data('label') === 'reviews-v2'"
                        " && e.target().data('label') === 'ratings')")
    body = select(graph_page, "reviews-v2>ratings")
    assert list(body["series"]) == ["requests"]
    shown = charts(graph_page)
    assert shown["requests", "rate"]["current"] == "3.00 rps"
    assert shown["requests", "errorPercent"]["current"] == "50.0 %"
    assert len(shown["requests", "rate"]["links"]) == 1
    graph_page.shot("charts-edge")


def test_it_charts_the_whole_graph(graph_page: GraphPage, meshlens_url: str) -> None:
    """into bookinfo's workloads: productpage 12/s, details 10/s, reviews 10/s, ratings 6/s;
    out of them 26/s (reviews-v2 -> ratings: 1.5/s 503)"""
    graph_page.open(f"{meshlens_url}/?namespaces=bookinfo&duration=5m")
    page = graph_page.page
    with page.expect_response(lambda r: "/api/v1/series?" in r.url) as answer:
        page.click("#graph-charts-button")
    assert parse_qs(urlsplit(answer.value.url).query) == {"namespaces": ["bookinfo"],
                                                          "duration": ["5m"]}
    page.wait_for_selector("#side-panel[data-kind=graph] .charts[data-state=shown]")
    shown = charts(graph_page)
    assert shown["inbound", "rate"]["current"] == "38.0 rps"
    assert shown["outbound", "errorPercent"]["current"] == "5.8 %"  # 1.5 of 26/s


COUNT_FETCHES = """() => {
    window.seriesFetches = 0;
    const fetched = window.fetch;
    window.fetch = (...args) => {
        if (String(args[0]).startsWith('/api/v1/series')) window.seriesFetches += 1;
        return fetched(...args);
    };
}"""


def test_it_fetches_the_charts_again_once_per_refresh_period(graph_page: GraphPage,
                                                            meshlens_url: str) -> None:
    """The panel shows reviews-v2 again within the refresh period (10 s): its charts are
    fetched again at the end of the period, once, on the page's own clock."""
    page = graph_page.page
    page.clock.install()
    graph_page.open(f"{meshlens_url}/?namespaces=bookinfo&duration=5m")
    graph_page.wait_for("cy => cy.nodes().some(n => n.data('label') === 'reviews-v2')")
    select(graph_page, "reviews-v2")
    page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 1)  # in seconds
    page.evaluate(COUNT_FETCHES)
    graph_page.tap("reviews-v2")
    graph_page.tap("reviews-v2")
    assert page.evaluate("window.seriesFetches") == 0
    with page.expect_response(lambda r: "/api/v1/series?" in r.url):
        page.clock.run_for(10_000)
    assert page.evaluate("window.seriesFetches") == 1
    page.wait_for_selector("#side-panel .charts[data-fetched='2'][data-state=shown]")
