"""The demo's trace-derived namespace: DeathStarBench's socialNetwork, served as the
OpenTelemetry Collector's servicegraph connector exports it, with faults set live."""

from __future__ import annotations

import pytest
from prometheus_client.samples import Sample

from demo.topologies import TOPOLOGIES
from tests.support import simulated

MINUTE = 60.0


def scrape(*faults: str) -> list[Sample]:
    return simulated.scrape("social", *faults, seconds=MINUTE)


def total(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(s.value for s in samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


@pytest.fixture(scope="module")
def healthy() -> list[Sample]:
    return scrape()


def test_it_has_services_stores_a_queue_and_users() -> None:
    """user -> nginx-web-server -> compose-post-service -> rabbitmq -> write-home-timeline
    ... -> post-storage-mongodb, home-timeline-redis, user-memcached (databases)"""
    social = TOPOLOGIES["social"]
    kinds = {e.connection_type for e in social.requests}
    assert kinds == {"", "database", "messaging_system", "virtual_node"}
    databases = {e.destination.name for e in social.requests if e.connection_type == "database"}
    assert {"post-storage-mongodb", "home-timeline-redis", "user-memcached"} <= databases
    queue = [e for e in social.requests if e.connection_type == "messaging_system"]
    assert [(e.key, e.broker) for e in queue] == [
        (("compose-post-service", "write-home-timeline-service"), "rabbitmq")]
    # Bookinfo and Online Boutique stay Istio's.
    assert all(e.connection_type is None for t in ("bookinfo", "boutique")
               for e in TOPOLOGIES[t].requests)


def test_it_writes_the_connectors_series(healthy: list[Sample]) -> None:
    """user (virtual) -> nginx-web-server (20 rps); post-storage -> mongodb (database)"""
    requests = "traces_service_graph_request_total"
    front = total(healthy, requests, client="user", server="nginx-web-server",
                  connection_type="virtual_node")
    assert front / MINUTE == pytest.approx(20.0, rel=0.15)
    # No istio_* series for it: the namespace is seen through traces only.
    assert total(healthy, "istio_requests_total", destination_workload="nginx-web-server") == 0
    db = [s for s in healthy if s.name == requests and s.labels["server"] ==
          "post-storage-mongodb"]
    assert db and all(s.labels["connection_type"] == "database" for s in db)
    assert {s.labels.get("server_service_namespace", "") for s in db} == {""}
    assert {s.labels["client_service_namespace"] for s in db} == {"social"}
    user = [s for s in healthy if s.name == requests and s.labels["client"] == "user"]
    assert {s.labels.get("client_service_namespace", "") for s in user} == {""}
    assert total(healthy, "traces_service_graph_request_failed_total") == 0
    assert total(healthy, "traces_service_graph_request_server_seconds_count",
                 server="compose-post-service") > 0


def test_it_fails_requests_under_a_fault() -> None:
    """nginx-web-server -> compose-post-service, 30 % failing"""
    samples = scrape("compose-post-service=0.3")
    edge = {"client": "nginx-web-server", "server": "compose-post-service"}
    failed = total(samples, "traces_service_graph_request_failed_total", **edge)
    requests = total(samples, "traces_service_graph_request_total", **edge)
    assert failed == total(samples, "traces_service_graph_request_total", failed="true", **edge)
    assert failed / requests == pytest.approx(0.3, abs=0.12)
