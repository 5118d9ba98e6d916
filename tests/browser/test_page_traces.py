"""The page on a trace-derived graph: a Meshlens reading only the `traces` dialect, over a
Prometheus backfilled with service-graph series that end now, draws databases, brokers
and uninstrumented peers in shapes of their own, and the legend names them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import GraphPage
from tests.support.meshlens import meshlens
from tests.traces_mesh import social_network


@pytest.fixture(scope="module")
def traces_url(prometheus_with: Any, redis_server: str,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    now = int(time.time()) // 15 * 15
    prometheus = prometheus_with(social_network(), now)
    env = {"PROMETHEUS_URL": prometheus.url, "REDIS_URL": redis_server,
           "MESHLENS_DIALECTS": "traces"}
    with meshlens(tmp_path_factory.mktemp("daphne-traces"), env) as url:
        yield url


def test_it_draws_databases_brokers_and_uninstrumented_peers(
        graph_page: GraphPage, traces_url: str) -> None:
    """user (virtual) -> nginx -> compose-post (20 % failed) -> post-storage-mongodb (database)
    compose-post -> rabbitmq (broker) -> write-home-timeline; home-timeline -> media-cdn"""
    graph_page.open(f"{traces_url}/?namespaces=social&duration=60s&inject_service_nodes=false")
    graph_page.wait_for("cy => cy.nodes().length === 9")
    assert graph_page.look("post-storage-mongodb")["shape"] == "barrel"
    assert graph_page.look("home-timeline-redis")["shape"] == "barrel"
    assert graph_page.look("rabbitmq")["shape"] == "rhomboid"
    assert graph_page.look("media-cdn")["shape"] == "octagon"
    assert graph_page.look("user")["shape"] == "octagon"
    assert graph_page.look("compose-post-service")["shape"] == "ellipse"
    assert graph_page.look("nginx-web-server>compose-post-service")["data"]["healthStatus"] == \
        "Failure"
    assert {"database", "messaging", "virtual"} <= set(graph_page.legend())
    legend = graph_page.page.inner_text("#legend")
    assert "Database" in legend and "Messaging system" in legend
    assert "Uninstrumented peer" in legend
    graph_page.shot("traces-social-network")
