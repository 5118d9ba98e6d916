"""The page's overlays in Chromium, on a real Meshlens and a Prometheus holding Bookinfo in
two periods (tests/diff_mesh.py): the blast radius of a failing node, and what changed
since an hour ago."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import GraphPage
from tests.diff_mesh import changed_bookinfo
from tests.support.meshlens import meshlens


@pytest.fixture(scope="module")
def changed_url(prometheus_with: Any, redis_server: str,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Meshlens over Bookinfo ending now, changed half an hour ago."""
    now = int(time.time()) // 15 * 15
    server = prometheus_with(changed_bookinfo(now - 1800), now)
    env = {"PROMETHEUS_URL": server.url, "REDIS_URL": redis_server}
    with meshlens(tmp_path_factory.mktemp("daphne-impact"), env) as url:
        yield url


def page_url(base: str, extra: str = "") -> str:
    return f"{base}/?namespaces=bookinfo&graph_type=workload&duration=60s{extra}"


def marked(graph_page: GraphPage, cls: str) -> list[str]:
    """Labels of the elements with class `cls`: a node's label, an edge's "a>b"."""
    return sorted(graph_page.page.evaluate("""cls => window.meshlens.cy.elements('.' + cls)
        .map(e => e.isNode() ? e.data('label')
                             : e.source().data('label') + '>' + e.target().data('label'))""", cls))


AFFECTED = ["istio-ingressgateway", "istio-ingressgateway>productpage", "productpage",
            "productpage-v1", "productpage-v1>reviews", "productpage>productpage-v1",
            "ratings", "ratings>ratings-v1", "reviews", "reviews-v2", "reviews-v2>ratings",
            "reviews-v3", "reviews-v3>ratings", "reviews>reviews-v2", "reviews>reviews-v3",
            "unknown", "unknown>productpage"]


def test_it_marks_the_blast_radius_of_a_failing_node(graph_page: GraphPage,
                                                     changed_url: str) -> None:
    """istio-ingressgateway, unknown -> [productpage] -> productpage-v1 -50%-> [reviews]
    -60%-> reviews-v2, reviews-v3 -> [ratings] -> ratings-v1 (the failing node)"""
    graph_page.open(page_url(changed_url))
    target = graph_page.look("ratings-v1")["id"]
    graph_page.tap("ratings-v1")
    graph_page.page.click("#blast-radius-button")
    graph_page.page.wait_for_function("id => document.body.dataset.blastRadius === id",
                                      arg=target)
    assert marked(graph_page, "impact") == AFFECTED
    assert marked(graph_page, "impact-target") == ["ratings-v1"]
    assert graph_page.look("reviews")["label"] == "reviews\n60 %"
    assert graph_page.look("productpage-v1>reviews")["label"] == "60 %"
    assert graph_page.url()["blast"] == target
    rows = graph_page.page.eval_on_selector_all(
        "#blast-panel .blast-entries tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
    assert rows == [["istio-ingressgateway", "30 %", "3.00 rps", "7.5 %"],
                    ["unknown", "30 %", "0.60 rps", "7.5 %"]]
    assert "Blast radius of ratings-v1" in graph_page.page.inner_text("#blast-panel h3")
    graph_page.shot("blast-radius")

    # The URL brings it back; Clear takes it all away.
    graph_page.open(graph_page.page.url)
    graph_page.page.wait_for_function("id => document.body.dataset.blastRadius === id",
                                      arg=target)
    assert marked(graph_page, "impact") == AFFECTED
    graph_page.page.click("#blast-panel .overlay-clear")
    assert marked(graph_page, "impact") == [] and marked(graph_page, "impact-target") == []
    assert "blast" not in graph_page.url()
    assert graph_page.page.locator("#blast-panel").is_hidden()


def test_it_marks_the_blast_radius_of_a_failing_edge(graph_page: GraphPage,
                                                     changed_url: str) -> None:
    """reviews-v2 -> [ratings] (50 % 503): all of reviews-v2's traffic, 30 % of [reviews]'s,
    15 % of each entry point's"""
    graph_page.open(page_url(changed_url))
    target = graph_page.look("reviews-v2>ratings")["id"]
    graph_page.tap("reviews-v2>ratings")
    assert graph_page.page.inner_text("#blast-radius-button").endswith("this edge hits")
    graph_page.page.click("#blast-radius-button")
    graph_page.page.wait_for_function("id => document.body.dataset.blastRadius === id",
                                      arg=target)
    assert marked(graph_page, "impact-target") == ["reviews-v2>ratings"]
    assert graph_page.look("reviews-v2")["label"] == "reviews-v2\n100 %"
    assert graph_page.look("reviews")["label"] == "reviews\n30 %"
    assert "ratings" not in marked(graph_page, "impact")
    rows = graph_page.page.eval_on_selector_all(
        "#blast-panel .blast-entries tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
    assert rows == [["istio-ingressgateway", "15 %", "1.50 rps", "7.5 %"],
                    ["unknown", "15 %", "0.30 rps", "7.5 %"]]


def test_it_draws_what_changed_since_an_hour_ago(graph_page: GraphPage,
                                                 changed_url: str) -> None:
    """an hour ago: [reviews] -> reviews-v1, no errors, [details] -> details-v1 fast;
    now: [reviews] -> reviews-v4, reviews-v2 -> [ratings] -> ratings-v1 failing, slow details"""
    graph_page.open(page_url(changed_url))
    graph_page.page.select_option("#compare-to", "1h")
    graph_page.page.wait_for_function("() => (document.body.dataset.compareTo || '')"
                                      ".startsWith('1h@')")
    assert marked(graph_page, "diff-added") == ["reviews-v4", "reviews>reviews-v4"]
    assert marked(graph_page, "diff-ghost") == ["reviews-v1", "reviews>reviews-v1"]
    assert marked(graph_page, "diff-changed") == ["details>details-v1", "ratings>ratings-v1",
                                                  "reviews-v2>ratings"]
    ghost = graph_page.look("reviews-v1")
    assert ghost["id"].startswith("ghost:") and ghost["label"] == "reviews-v1\n(vanished)"
    assert graph_page.look("reviews-v2>ratings")["label"] == "err 0.0 → 50.0 %"
    assert graph_page.look("reviews-v4")["border"] == "dashed"
    # Ghosts are drawn, not counted.
    assert graph_page.page.evaluate("""() => [window.meshlens.cy.nodes().length,
        window.meshlens.graph.counted().nodes.total]""") == [13, 12]
    lists = graph_page.page.eval_on_selector_all(
        "#diff-panel .diff-group",
        "groups => groups.map(g => [g.querySelector('h4').textContent,"
        " [...g.querySelectorAll('li button')].map(b => b.textContent)])")
    assert lists == [["New (2)", ["reviews-v4", "reviews → reviews-v4"]],
                     ["Vanished (2)", ["reviews-v1", "reviews → reviews-v1"]],
                     ["Changed (3)", ["details → details-v1", "ratings → ratings-v1",
                                      "reviews-v2 → ratings"]]]
    assert graph_page.url()["compare_to"] == "1h"
    graph_page.shot("compare-to")

    graph_page.page.select_option("#compare-to", "")
    assert marked(graph_page, "diff-ghost") == [] and marked(graph_page, "diff-added") == []
    assert marked(graph_page, "diff-changed") == []
    assert not graph_page.has("reviews-v1")
    assert "compare_to" not in graph_page.url()
    assert graph_page.page.locator("#diff-panel").is_hidden()
