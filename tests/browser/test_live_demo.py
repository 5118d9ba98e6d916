"""The user's story end to end, every part real: the simulator serves Istio metrics, a
Prometheus scrapes it every second, a Celery worker and beat refresh the graph, daphne
pushes it, and Chromium shows it. A fault turns the edge red without a reload; Prometheus
going down leaves the last graph on screen, marked stale, until it comes back.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.support.meshlens import ROOT, meshlens
from tests.support.ports import free_port, wait_until
from tests.support.process import spawn, stop, tail
from tests.support.prometheus import PrometheusServer

SHOTS = ROOT / "test-results"
EDGE_HEALTH = """([s, t]) => {
    const cy = window.meshlens && window.meshlens.cy;
    if (!cy) return null;
    const label = id => cy.getElementById(id).data('label');
    const e = cy.edges().filter(e => label(e.data('source')) === s
                                   && label(e.data('target')) === t);
    return e.length ? e[0].data('healthStatus') : null;
}"""


def scrape_config(port: int) -> str:
    return ("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: simulator\n    honor_labels: true\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")


def metrics_served(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def simulator_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    log = tmp_path_factory.mktemp("simulator") / "simulator.log"
    process = spawn([sys.executable, "-m", "demo", "--topology", "bookinfo", "--port",
                     str(port)], log, cwd=ROOT)
    if not wait_until(lambda: metrics_served(port), 20, abort=lambda: process.poll() is not None):
        stop(process)
        raise RuntimeError(f"the simulator did not start:\n{tail(log)}")
    yield port
    stop(process)


@pytest.fixture(scope="module")
def scraping_prometheus(simulator_port: int,
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    workdir = tmp_path_factory.mktemp("scraping-prometheus")
    server = PrometheusServer(workdir / "tsdb", workdir, retention="1d",
                              config=scrape_config(simulator_port))
    with server:
        yield server


@pytest.fixture(scope="module")
def live_meshlens(scraping_prometheus: PrometheusServer, redis_server: str,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # Database 1 of the session's Redis: these processes' scopes and tasks stay apart.
    env = {"PROMETHEUS_URL": scraping_prometheus.url,
           "REDIS_URL": redis_server.rsplit("/", 1)[0] + "/1",
           "MESHLENS_REFRESH_SECONDS": "1"}
    with meshlens(tmp_path_factory.mktemp("live-meshlens"), env, live=True) as url:
        yield url


def fault(port: int, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "demo.fault", "--port", str(port), *args],
                   cwd=ROOT, check=True, capture_output=True)


def wait_health(page: Page, edge: tuple[str, str], status: str, timeout_s: float) -> None:
    page.wait_for_function(f"({EDGE_HEALTH})({list(edge)!r}) === {status!r}",
                           timeout=timeout_s * 1000)


def test_it_turns_a_faulty_edge_red_live_and_survives_a_prometheus_outage(
        page: Page, live_meshlens: str, simulator_port: int,
        scraping_prometheus: PrometheusServer) -> None:
    """reviews-v2 -> [ratings] -> ratings-v1, 50 % 503 injected in the running simulator"""
    edge = ("reviews-v2", "ratings")
    page.goto(f"{live_meshlens}/?namespaces=bookinfo&duration=10s")
    wait_health(page, edge, "Healthy", 40)

    fault(simulator_port, "set", "reviews-v2:ratings=0.5:503")
    wait_health(page, edge, "Failure", 40)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "live-fault.png"))

    nodes_before = page.evaluate("window.meshlens.cy.nodes().length")
    scraping_prometheus.stop()
    page.wait_for_function("document.body.dataset.stale === 'true'", timeout=30000)
    assert page.evaluate("window.meshlens.cy.nodes().length") == nodes_before
    assert "stale" in page.inner_text("#status-connection")
    page.screenshot(path=str(SHOTS / "live-stale.png"))

    scraping_prometheus.start(same_port=True)
    page.wait_for_function("document.body.dataset.stale === 'false'", timeout=40000)

    fault(simulator_port, "clear")
    wait_health(page, edge, "Healthy", 60)


def test_it_keeps_nodes_in_place_across_live_updates(page: Page, live_meshlens: str) -> None:
    page.goto(f"{live_meshlens}/?namespaces=bookinfo&duration=10s")
    page.wait_for_function("window.meshlens && window.meshlens.cy.nodes().length > 5",
                           timeout=40000)
    positions = "Object.fromEntries(window.meshlens.cy.nodes().map(n => [n.id(), n.position()]))"
    before: dict[str, Any] = page.evaluate(positions)
    stamp = page.evaluate("document.body.dataset.graphTimestamp")
    page.wait_for_function(f"document.body.dataset.graphTimestamp !== {stamp!r}",
                           timeout=20000)
    after: dict[str, Any] = page.evaluate(positions)
    assert {k: after[k] for k in before if k in after} == {
        k: v for k, v in before.items() if k in after}
