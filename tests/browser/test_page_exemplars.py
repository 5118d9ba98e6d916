"""Example traces in the side panel: the simulator's exemplars, scraped as OpenMetrics by a
real Prometheus with exemplar storage on, listed for the edge a user clicks, linked to the
trace UI of MESHLENS_TRACE_URL.

    productpage-v1 -> reviews -> reviews-v2 -> ratings -> ratings-v1   (every request a 503)
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from demo.faults import FaultTable
from demo.server import MeshServer
from demo.simulator import Simulator
from demo.topologies import select
from tests.browser.conftest import GraphPage
from tests.support.meshlens import meshlens
from tests.support.ports import wait_until
from tests.support.prometheus import PrometheusServer

JAEGER = "http://jaeger.example:16686/trace/"


def stored(url: str, selector: str) -> bool:
    """Prometheus holds an exemplar of `selector` and a rate of its requests."""
    now = time.time()
    params = urllib.parse.urlencode({"query": selector, "start": now - 60, "end": now})
    with urllib.request.urlopen(f"{url}/api/v1/query_exemplars?{params}", timeout=5) as r:
        exemplars = json.load(r)["data"]
    rate = urllib.parse.urlencode({"query": "rate(istio_requests_total[20s]) > 0"})
    with urllib.request.urlopen(f"{url}/api/v1/query?{rate}", timeout=5) as r:
        return bool(exemplars) and bool(json.load(r)["data"]["result"])


@pytest.fixture(scope="module")
def exemplar_meshlens(redis_server: str,
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    mesh = select("bookinfo")
    faults = FaultTable(mesh)
    faults.set("reviews-v2:ratings=1:503")
    simulator = MeshServer(Simulator(mesh, faults, seed=11), "127.0.0.1", 0).start(0.2)
    target = simulator.url.removeprefix("http://")
    config = ("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: demo\n"
              f"    honor_labels: true\n    static_configs:\n      - targets: ['{target}']\n")
    workdir = tmp_path_factory.mktemp("exemplar-page")
    try:
        with PrometheusServer(workdir / "tsdb", workdir, config=config,
                              features=("exemplar-storage",)) as prometheus:
            selector = ('istio_request_duration_milliseconds_bucket{source_workload="reviews-v2",'
                        'destination_workload="ratings-v1"}')
            assert wait_until(lambda: stored(prometheus.url, selector), 90, interval=0.5)
            env = {"PROMETHEUS_URL": prometheus.url,
                   "REDIS_URL": redis_server.rsplit("/", 1)[0] + "/2",
                   "MESHLENS_TRACE_URL": JAEGER + "{trace_id}"}
            with meshlens(workdir / "meshlens", env) as url:
                yield url
    finally:
        simulator.stop()


def test_it_lists_example_traces_of_a_clicked_edge_with_links(
        graph_page: GraphPage, exemplar_meshlens: str) -> None:
    graph_page.open(f"{exemplar_meshlens}/?namespaces=bookinfo&duration=20s")
    graph_page.wait_for("cy => cy.edges().some(e => e.target().data('label') === 'ratings'"
                        " && e.source().data('label') === 'reviews-v2')", timeout=30000)
    graph_page.tap("reviews-v2>ratings")
    page = graph_page.page
    page.wait_for_selector("#side-panel .exemplars[data-state=listed] a.trace-link",
                           timeout=20000)
    rows: list[dict[str, Any]] = page.eval_on_selector_all(
        "#side-panel .exemplars tbody tr", """rows => rows.map(r => ({
            href: r.querySelector('a').href, trace: r.querySelector('a').title,
            cells: [...r.cells].map(c => c.textContent)}))""")
    assert rows
    for row in rows:
        assert row["href"] == JAEGER + row["trace"]
        assert len(row["trace"]) == 32
        assert row["cells"][3] == "503"
    graph_page.shot("exemplars-edge")


def test_it_says_why_a_node_may_have_no_example_traces(
        graph_page: GraphPage, exemplar_meshlens: str) -> None:
    """details-v1, as if Prometheus stored no exemplars (the fault simulated at the route)"""
    graph_page.open(f"{exemplar_meshlens}/?namespaces=bookinfo&duration=20s")
    graph_page.wait_for("cy => cy.nodes().some(n => n.data('label') === 'details-v1')",
                        timeout=30000)
    page = graph_page.page
    # Every latency histogram of the simulator carries exemplars: a Prometheus without
    # exemplar storage is simulated at one point, the route's answer.
    page.route("**/api/v1/exemplars?*", lambda route: route.fulfill(
        status=200, content_type="application/json",
        body=json.dumps({"start": 0, "end": 0, "exemplars": []})))
    graph_page.tap("details-v1")
    page.wait_for_selector("#side-panel .exemplars[data-state=empty]", timeout=20000)
    text = page.inner_text("#side-panel .exemplars")
    assert "--enable-feature=exemplar-storage" in text and "trace ids" in text
    graph_page.shot("exemplars-empty")
