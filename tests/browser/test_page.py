"""The page in Debian's Chromium: the live graph of backfilled Bookinfo, coloured by health."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

SHOTS = Path(__file__).resolve().parents[2] / "test-results"


def open_graph(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("document.body.dataset.graphTimestamp !== undefined", timeout=15000)


def elements(page: Page) -> dict[str, Any]:
    return page.evaluate("""() => {
        const cy = window.meshlens.cy;
        const label = id => cy.getElementById(id).data('label');
        return {
          nodes: cy.nodes().map(n => ({label: n.data('label'), health: n.data('healthStatus'),
                                       colour: n.style('border-color')})),
          edges: cy.edges().map(e => ({source: label(e.data('source')),
                                       target: label(e.data('target')),
                                       health: e.data('healthStatus'),
                                       colour: e.style('line-color')})),
        };
    }""")


def test_it_draws_the_live_graph_with_a_red_failing_edge(page: Page, meshlens_url: str) -> None:
    """productpage -> reviews-v2 -> [ratings] -> ratings-v1, reviews-v2 -> ratings 50 % 503"""
    open_graph(page, f"{meshlens_url}/?namespaces=bookinfo&duration=60s")
    drawn = elements(page)
    labels = {n["label"] for n in drawn["nodes"]}
    assert {"productpage-v1", "reviews-v2", "ratings-v1", "details-v1", "unknown"} <= labels
    failing = [e for e in drawn["edges"] if (e["source"], e["target"]) == ("reviews-v2", "ratings")]
    assert len(failing) == 1 and failing[0]["health"] == "Failure"
    healthy = [e for e in drawn["edges"] if (e["source"], e["target"]) == ("reviews-v3", "ratings")]
    assert healthy[0]["health"] == "Healthy"
    assert failing[0]["colour"] != healthy[0]["colour"]
    red, green, blue = (int(c) for c in failing[0]["colour"][4:-1].split(","))
    assert red > 150 and green < 100 and blue < 100, failing[0]["colour"]
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "bookinfo.png"))


def test_it_keeps_the_view_in_the_url(page: Page, meshlens_url: str) -> None:
    open_graph(page, f"{meshlens_url}/?namespaces=bookinfo&inject_service_nodes=false")
    labels = {n["label"] for n in elements(page)["nodes"]}
    assert "ratings" not in labels and "ratings-v1" in labels
    assert "inject_service_nodes=false" in page.url
    assert "graph_type=workload" in page.url
