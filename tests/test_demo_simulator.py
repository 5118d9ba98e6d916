"""The traffic model: Istio's metrics, counted the way both proxies count them."""

from __future__ import annotations

import math
import time

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from demo.faults import FaultTable
from demo.simulator import Simulator
from demo.telemetry import DURATION_BUCKETS, MESSAGE_LABELS, REQUEST_LABELS, TCP_LABELS
from demo.topologies import select

MINUTE = 60.0


def simulator(*faults: str, topology: str = "bookinfo,boutique", cluster: str = "Kubernetes",
              seconds: float = MINUTE) -> Simulator:
    mesh = select(topology)
    table = FaultTable(mesh)
    for spec in faults:
        table.set(spec)
    sim = Simulator(mesh, table, cluster=cluster, seed=7)
    sim.advance(seconds)
    return sim


def scrape(sim: Simulator) -> list[Sample]:
    text = sim.store.render().decode()
    return [s for f in text_string_to_metric_families(text) for s in f.samples]


def total(samples: list[Sample], name: str = "istio_requests_total", **labels: str) -> float:
    return sum(
        s.value for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def edge(src: str, dst: str, reporter: str = "destination") -> dict[str, str]:
    return {"source_workload": src, "destination_workload": dst, "reporter": reporter}


@pytest.fixture(scope="module")
def healthy() -> list[Sample]:
    return scrape(simulator())


def test_it_serves_about_the_configured_rate(healthy: list[Sample]) -> None:
    """ingress -> productpage (10 rps); reviews-v2|v3 -> ratings (3.5 rps each)"""
    ratings = total(healthy, reporter="destination", destination_workload="ratings-v1")
    assert ratings / MINUTE == pytest.approx(7.0, rel=0.15)
    page = total(healthy, **edge("istio-ingressgateway", "productpage-v1"))
    assert page / MINUTE == pytest.approx(10.0, rel=0.15)
    frontend = total(healthy, **edge("loadgenerator", "frontend"))
    assert frontend / MINUTE == pytest.approx(20.0, rel=0.15)


def test_it_counts_each_request_in_both_proxies(healthy: list[Sample]) -> None:
    for sim_edge in select("bookinfo,boutique").requests:
        src, dst = sim_edge.key
        if src == "unknown":
            continue
        source = total(healthy, **edge(src, dst, "source"))
        assert (source > 0) == (sim_edge.rate > 0), sim_edge.key  # idle edges count nothing
        assert source == total(healthy, **edge(src, dst, "destination")), sim_edge.key


def test_it_exports_idle_edges_at_zero() -> None:
    """reviews-v2 -> ratings-v2: the series exist, and stay at 0 (an idle edge)"""
    sim = simulator(topology="bookinfo")
    sim.advance(5.0)
    idle = [s for s in scrape(sim) if s.name == "istio_requests_total"
            and s.labels["destination_workload"] == "ratings-v2"]
    assert {s.labels["reporter"] for s in idle} == {"source", "destination"}
    assert all(s.value == 0 for s in idle)


def test_it_reports_the_sidecarless_client_at_the_destination_only(
    healthy: list[Sample],
) -> None:
    """unknown -> productpage-v1"""
    unknown = [s for s in healthy
               if s.name == "istio_requests_total" and s.labels["source_workload"] == "unknown"]
    assert unknown
    for sample in unknown:
        assert sample.labels["reporter"] == "destination"
        assert sample.labels["connection_security_policy"] == "none"
        assert sample.labels["destination_workload"] == "productpage-v1"
        source = {k: v for k, v in sample.labels.items() if k.startswith("source_")}
        assert set(source.values()) == {"unknown"}
        assert len(source) == 8


def test_it_is_healthy_by_default(healthy: list[Sample]) -> None:
    requests = [s for s in healthy if s.name == "istio_requests_total"]
    assert {s.labels["grpc_response_status"] for s in requests} == {"", "0"}
    assert {s.labels["response_flags"] for s in requests} == {"-"}
    assert {s.labels["response_code"] for s in requests} <= {"200", "404"}
    not_found = [s for s in requests if s.labels["response_code"] == "404"]
    assert not_found, "a little background 404 on productpage"
    for sample in not_found:
        src, dst = sample.labels["source_workload"], sample.labels["destination_workload"]
        assert sample.value < 0.1 * total(healthy, **edge(src, dst, sample.labels["reporter"]))


def test_it_uses_istios_label_names(healthy: list[Sample]) -> None:
    expected = {
        "istio_requests_total": REQUEST_LABELS,
        "istio_request_duration_milliseconds_count": REQUEST_LABELS,
        "istio_request_bytes_count": REQUEST_LABELS,
        "istio_response_bytes_count": REQUEST_LABELS,
        "istio_request_messages_total": MESSAGE_LABELS,
        "istio_response_messages_total": MESSAGE_LABELS,
        "istio_tcp_sent_bytes_total": TCP_LABELS,
        "istio_tcp_received_bytes_total": TCP_LABELS,
        "istio_tcp_connections_opened_total": TCP_LABELS,
        "istio_tcp_connections_closed_total": TCP_LABELS,
    }
    for name, labels in expected.items():
        found = [s for s in healthy if s.name == name]
        assert found, name
        assert all(set(s.labels) == set(labels) for s in found), name
    assert "request_protocol" not in TCP_LABELS
    assert "response_flags" in TCP_LABELS
    assert "response_code" not in MESSAGE_LABELS


def test_it_labels_a_request_like_istio(healthy: list[Sample]) -> None:
    """reviews-v2 -> ratings-v1, reported by ratings' proxy"""
    sample = next(s for s in healthy if s.name == "istio_requests_total"
                  and s.labels.items() >= edge("reviews-v2", "ratings-v1").items())
    assert sample.labels == {
        "reporter": "destination",
        "source_workload": "reviews-v2",
        "source_workload_namespace": "bookinfo",
        "source_principal": "spiffe://cluster.local/ns/bookinfo/sa/reviews",
        "source_app": "reviews",
        "source_version": "v2",
        "source_canonical_service": "reviews",
        "source_canonical_revision": "v2",
        "source_cluster": "Kubernetes",
        "destination_workload": "ratings-v1",
        "destination_workload_namespace": "bookinfo",
        "destination_principal": "spiffe://cluster.local/ns/bookinfo/sa/ratings",
        "destination_app": "ratings",
        "destination_version": "v1",
        "destination_service": "ratings.bookinfo.svc.cluster.local",
        "destination_service_name": "ratings",
        "destination_service_namespace": "bookinfo",
        "destination_canonical_service": "ratings",
        "destination_canonical_revision": "v1",
        "destination_cluster": "Kubernetes",
        "request_protocol": "http",
        "response_code": "200",
        "grpc_response_status": "",
        "response_flags": "-",
        "connection_security_policy": "mutual_tls",
    }


def test_it_shows_mtls_only_where_the_server_proxy_saw_it(healthy: list[Sample]) -> None:
    """loadgenerator -> frontend is plain text; the client proxy never knows"""
    policies: dict[tuple[str, str, str], set[str]] = {}
    for s in healthy:
        if s.name in ("istio_requests_total", "istio_tcp_sent_bytes_total"):
            key = (s.labels["source_workload"], s.labels["destination_workload"],
                   s.labels["reporter"])
            policies.setdefault(key, set()).add(s.labels["connection_security_policy"])
    assert policies[("loadgenerator", "frontend", "destination")] == {"none"}
    assert policies[("loadgenerator", "frontend", "source")] == {"unknown"}
    assert policies[("frontend", "cartservice", "destination")] == {"mutual_tls"}
    assert policies[("cartservice", "redis-cart", "destination")] == {"mutual_tls"}
    assert all(p == {"unknown"} for (_, _, r), p in policies.items() if r == "source")
    plain = [s for s in healthy if s.labels.get("source_workload") == "loadgenerator"]
    assert {s.labels["source_principal"] for s in plain} == {"unknown"}


def test_it_speaks_grpc_on_the_boutique_backends(healthy: list[Sample]) -> None:
    calls = total(healthy, **edge("frontend", "currencyservice"))
    grpc = [s for s in healthy if s.name == "istio_requests_total"
            and s.labels["destination_workload"] == "currencyservice"]
    assert {(s.labels["request_protocol"], s.labels["response_code"],
             s.labels["grpc_response_status"]) for s in grpc} == {("grpc", "200", "0")}
    labels = edge("frontend", "currencyservice")
    assert total(healthy, "istio_request_messages_total", **labels) == calls
    assert total(healthy, "istio_response_messages_total", **labels) == calls
    assert not [s for s in healthy if s.name == "istio_request_messages_total"
                and s.labels["destination_workload"] == "ratings-v1"]


def test_it_streams_tcp_to_redis_from_both_proxies(healthy: list[Sample]) -> None:
    """cartservice -> redis-cart (TCP, ~4.2 kB/s sent back, ~2.6 kB/s received)"""
    for reporter in ("source", "destination"):
        labels = edge("cartservice", "redis-cart", reporter)
        sent = total(healthy, "istio_tcp_sent_bytes_total", **labels)
        assert sent / MINUTE == pytest.approx(4200, rel=0.25)
        assert total(healthy, "istio_tcp_received_bytes_total", **labels) > 0
        opened = total(healthy, "istio_tcp_connections_opened_total", **labels)
        assert opened >= total(healthy, "istio_tcp_connections_closed_total", **labels)


def test_it_observes_latency_in_istios_buckets(healthy: list[Sample]) -> None:
    labels = edge("productpage-v1", "details-v1")
    name = "istio_request_duration_milliseconds"
    buckets = [s for s in healthy if s.name == f"{name}_bucket"
               and s.labels.items() >= labels.items() and s.labels["response_code"] == "200"]
    assert [float(b.labels["le"]) for b in buckets] == [*DURATION_BUCKETS, math.inf]
    count = total(healthy, f"{name}_count", **labels)
    assert count == total(healthy, **labels)
    assert total(healthy, f"{name}_sum", **labels) / count == pytest.approx(3.0, rel=0.2)
    assert total(healthy, "istio_response_bytes_count", **labels) == count


def test_it_fails_the_faulty_share_of_an_edge() -> None:
    """reviews-v2 -> ratings-v1 (30% 503); reviews-v3 -> ratings-v1 stays healthy"""
    samples = scrape(simulator("reviews-v2:ratings=0.3:503", topology="bookinfo"))
    for reporter in ("source", "destination"):
        labels = edge("reviews-v2", "ratings-v1", reporter)
        failed = total(samples, response_code="503", response_flags="-", **labels)
        assert failed / total(samples, **labels) == pytest.approx(0.3, abs=0.06)
    assert total(samples, response_code="503", **edge("reviews-v3", "ratings-v1")) == 0


def test_it_fails_grpc_calls_with_unavailable() -> None:
    """frontend|checkoutservice -> cartservice (20% UNAVAILABLE)"""
    samples = scrape(simulator("cartservice=0.2", topology="boutique"))
    labels = edge("frontend", "cartservice")
    failed = total(samples, grpc_response_status="14", response_code="200", **labels)
    calls = total(samples, **labels)
    assert failed / calls == pytest.approx(0.2, abs=0.05)
    answered = total(samples, "istio_response_messages_total", **labels)
    assert answered == calls - failed


def test_it_reports_connection_failures_at_the_client_only() -> None:
    """reviews-v2 -> ratings (50% UF): the server never saw them; the client saw no workload"""
    samples = scrape(simulator("reviews-v2:ratings=0.5:503:UF", topology="bookinfo"))
    failed = [s for s in samples if s.name == "istio_requests_total"
              and s.labels["response_flags"] == "UF"]
    assert failed
    assert {s.labels["reporter"] for s in failed} == {"source"}
    sample = failed[0]
    assert sample.labels["destination_workload"] == "unknown"
    assert sample.labels["destination_workload_namespace"] == "unknown"
    assert sample.labels["destination_service"] == "ratings.bookinfo.svc.cluster.local"
    assert sample.labels["response_code"] == "503"


def test_it_stops_failing_as_soon_as_the_fault_is_cleared() -> None:
    sim = simulator("reviews-v2:ratings=0.5:503", topology="bookinfo")
    sim.faults.clear("reviews-v2:ratings")
    before = scrape(sim)
    sim.advance(MINUTE)
    after = scrape(sim)
    labels = edge("reviews-v2", "ratings-v1")
    assert total(before, response_code="503", **labels) > 0
    assert total(after, response_code="503", **labels) == total(
        before, response_code="503", **labels)
    assert total(after, response_code="200", **labels) > total(
        before, response_code="200", **labels)


def test_it_names_the_cluster() -> None:
    samples = scrape(simulator(topology="boutique", cluster="east", seconds=1))
    assert {s.labels["source_cluster"] for s in samples} == {"east"}
    assert {s.labels["destination_cluster"] for s in samples} == {"east"}


def test_it_shows_every_edge_from_the_first_scrape() -> None:
    samples = scrape(simulator(seconds=0))
    requests = {(s.labels["source_workload"], s.labels["destination_workload"])
                for s in samples if s.name == "istio_requests_total"}
    assert requests == {e.key for e in select("bookinfo,boutique").requests}


def test_it_renders_what_prometheus_client_renders() -> None:
    sim = simulator("ratings=0.5:503:UF", "cartservice=0.2")
    registry = CollectorRegistry()
    registry.register(sim.store)
    ours = list(text_string_to_metric_families(sim.store.render().decode()))
    theirs = list(text_string_to_metric_families(generate_latest(registry).decode()))
    assert ours == theirs


def test_it_advances_by_the_time_that_passes() -> None:
    """frontend -> currencyservice (40 rps) for half a second or so"""
    sim = simulator(topology="boutique", seconds=0)
    started = time.monotonic()
    sim.start(interval=0.05)
    try:
        time.sleep(0.5)
    finally:
        sim.stop()
    expected = 40 * (time.monotonic() - started)
    calls = total(scrape(sim), **edge("frontend", "currencyservice"))
    assert 0.25 * expected <= calls <= 2 * expected + 10
