"""GET /api/v1/exemplars end to end: a real Prometheus with exemplar storage on scrapes
OpenMetrics with exemplars, from a small server of fixed series and from the simulator.

    shop (Istio):    frontend-v1 -> cart -> cart-v1   200: traces 01 (42 ms), 02 (87 ms at
                                                        the destination, 88 ms at the source)
                     cart-v1 -> stock -> stock-v1     503: trace 03 (250 ms)
                     frontend-v1 -> catalog -> catalog-v1  200, no exemplars
    votes (Linkerd): web -> voting-svc -> voting      200: trace 04 (12 ms, with a span id)
                     (unmeshed) -> web                200: trace 05 (30 ms)
    bookinfo (the simulator): reviews-v2 -> ratings, every request a 503
    social (the simulator, trace-derived): post-storage-service -> post-storage-mongodb
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client

from demo.faults import FaultTable
from demo.server import OPENMETRICS_CONTENT_TYPE, MeshServer
from demo.simulator import Simulator
from demo.topologies import select
from tests.support.ports import wait_until
from tests.support.prometheus import PrometheusServer

pytestmark = pytest.mark.django_db

T = int(time.time()) // 60 * 60 - 60  # the fixed exemplars' time
TRACE = {n: f"{n:032x}" for n in range(1, 6)}
SPAN = "00f067aa0ba902b7"
JAEGER = "http://jaeger:16686/trace/{trace_id}"
ISTIO = "istio_request_duration_milliseconds"
LINKERD = "response_latency_ms"


def istio_labels(src: str, dst: str, service: str, code: str, reporter: str) -> str:
    app_of = {"frontend-v1": "frontend", "cart-v1": "cart", "stock-v1": "stock",
              "catalog-v1": "catalog"}
    labels = {
        "reporter": reporter, "source_workload_namespace": "shop", "source_workload": src,
        "source_canonical_service": app_of[src], "source_canonical_revision": "v1",
        "destination_service_namespace": "shop",
        "destination_service": f"{service}.shop.svc.cluster.local",
        "destination_service_name": service, "destination_workload_namespace": "shop",
        "destination_workload": dst, "destination_canonical_service": app_of[dst],
        "destination_canonical_revision": "v1", "request_protocol": "http",
        "response_code": code, "response_flags": "-",
    }
    return ",".join(f'{k}="{v}"' for k, v in labels.items())


def histogram(metric: str, labels: str, buckets: dict[str, str | None]) -> list[str]:
    """`buckets`: le -> the exemplar written on that bucket (None: none); one observation
    per bucket."""
    lines, count = [], 0
    for le, exemplar in buckets.items():
        count += 1
        lines.append(f'{metric}_bucket{{{labels},le="{le}"}} {count}'
                     + (f" # {exemplar}" if exemplar else ""))
    lines.append(f'{metric}_bucket{{{labels},le="+Inf"}} {count}')
    lines += [f"{metric}_count{{{labels}}} {count}", f"{metric}_sum{{{labels}}} {count * 10}"]
    return lines


def fixed_openmetrics() -> bytes:
    trace = TRACE
    lines = [f"# TYPE {ISTIO} histogram"]
    lines += histogram(ISTIO, istio_labels("frontend-v1", "cart-v1", "cart", "200", "destination"),
                       {"50": f'{{trace_id="{trace[1]}"}} 42 {T}',
                        "100": f'{{trace_id="{trace[2]}"}} 87 {T + 1}'})
    lines += histogram(ISTIO, istio_labels("frontend-v1", "cart-v1", "cart", "200", "source"),
                       {"100": f'{{trace_id="{trace[2]}"}} 88 {T + 1}'})
    lines += histogram(ISTIO, istio_labels("cart-v1", "stock-v1", "stock", "503", "destination"),
                       {"500": f'{{trace_id="{trace[3]}"}} 250 {T + 2}'})
    lines += histogram(ISTIO, istio_labels("frontend-v1", "catalog-v1", "catalog", "200",
                                           "destination"), {"50": None})
    web = 'namespace="votes",deployment="web",app="web",version="v1"'
    lines.append(f"# TYPE {LINKERD} histogram")
    lines += histogram(LINKERD, f'direction="outbound",{web},dst_namespace="votes",'
                                f'dst_deployment="voting",dst_service="voting-svc",tls="true",'
                                f'status_code="200"',
                       {"20": f'{{trace_id="{trace[4]}",span_id="{SPAN}"}} 12 {T + 3}'})
    lines += histogram(LINKERD, f'direction="inbound",{web},tls="no_identity",status_code="200"',
                       {"40": f'{{trace_id="{trace[5]}"}} 30 {T + 4}'})
    return ("\n".join(lines) + "\n# EOF\n").encode()


class FixedMetrics(BaseHTTPRequestHandler):
    body = fixed_openmetrics()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", OPENMETRICS_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def exemplar_count(url: str, selector: str, start: float, end: float) -> int:
    params = urllib.parse.urlencode({"query": selector, "start": start, "end": end})
    with urllib.request.urlopen(f"{url}/api/v1/query_exemplars?{params}", timeout=5) as r:
        return sum(len(group["exemplars"]) for group in json.load(r)["data"])


@pytest.fixture(scope="module")
def exemplar_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    fixed = ThreadingHTTPServer(("127.0.0.1", 0), FixedMetrics)
    threading.Thread(target=fixed.serve_forever, daemon=True).start()
    mesh = select("bookinfo,social")
    faults = FaultTable(mesh)
    faults.set("reviews-v2:ratings=1:503")
    simulator = MeshServer(Simulator(mesh, faults, seed=5), "127.0.0.1", 0).start(0.2)
    targets = [f"127.0.0.1:{fixed.server_address[1]}", simulator.url.removeprefix("http://")]
    config = ("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: demo\n"
              "    honor_labels: true\n    static_configs:\n"
              f"      - targets: {json.dumps(targets)}\n")
    workdir = tmp_path_factory.mktemp("exemplar-prometheus")
    try:
        with PrometheusServer(workdir / "tsdb", workdir, config=config,
                              features=("exemplar-storage",)) as prometheus:
            # Scraped when every fixed exemplar (the six of the fixed server's target: the
            # simulator's alone must not satisfy this) and some of the simulator's are stored.
            def scraped() -> bool:
                now = time.time()
                return (exemplar_count(prometheus.url, f'{{__name__=~"{ISTIO}_bucket|'
                                       f'{LINKERD}_bucket",instance="{targets[0]}"}}',
                                       T - 60, now) >= 6
                        and exemplar_count(prometheus.url, f'{ISTIO}_bucket{{response_code="503"'
                                           f',destination_workload="ratings-v1"}}',
                                           now - 60, now) > 0)

            assert wait_until(scraped, timeout=90, interval=0.5), "no exemplars were stored"
            yield prometheus.url
    finally:
        simulator.stop()
        fixed.shutdown()
        fixed.server_close()


@pytest.fixture
def api(exemplar_prometheus: str, settings: Any) -> Client:
    settings.PROMETHEUS_URL = exemplar_prometheus
    settings.MESHLENS_DIALECTS = ["istio", "linkerd", "traces"]
    settings.MESHLENS_QUERY_SCOPE = []
    settings.MESHLENS_TRACE_URL = JAEGER
    return Client()


def listed(client: Client, **params: str) -> list[dict[str, Any]]:
    query = {"duration": "5m", "query_time": str(T + 60)} | params
    response = client.get("/api/v1/exemplars", query)
    assert response.status_code == 200, response.content
    return list(response.json()["exemplars"])


def test_it_lists_an_edges_traces_slowest_first_with_links(api: Client) -> None:
    """frontend-v1 -> cart: trace 02 seen by both proxies is listed once, at its slowest"""
    found = listed(api, namespaces="shop", edge="workload:shop/frontend-v1,service:shop/cart")
    assert found == [
        {"traceId": TRACE[2], "latencyMs": 88.0, "time": T + 1, "status": "200",
         "link": f"http://jaeger:16686/trace/{TRACE[2]}"},
        {"traceId": TRACE[1], "latencyMs": 42.0, "time": T, "status": "200",
         "link": f"http://jaeger:16686/trace/{TRACE[1]}"},
    ]


def test_it_lists_a_nodes_traces_in_and_out(api: Client) -> None:
    """-> cart-v1 (01, 02) and cart-v1 -> stock (03, a 503)"""
    found = listed(api, node="workload:shop/cart-v1")
    assert [(e["traceId"], e["latencyMs"], e["status"]) for e in found] == [
        (TRACE[3], 250.0, "503"), (TRACE[2], 88.0, "200"), (TRACE[1], 42.0, "200")]


def test_it_selects_an_app_node_and_the_service_to_workload_edge(api: Client) -> None:
    assert [e["traceId"] for e in listed(api, node="app:shop/stock/v1")] == [TRACE[3]]
    found = listed(api, edge="service:shop/stock,workload:shop/stock-v1")
    assert [e["traceId"] for e in found] == [TRACE[3]]


def test_it_reads_linkerd_with_span_ids(api: Client) -> None:
    """web -> voting-svc; (unmeshed) -> web"""
    found = listed(api, edge="workload:votes/web,service:votes/voting-svc")
    assert found == [{"traceId": TRACE[4], "spanId": SPAN, "latencyMs": 12.0, "time": T + 3,
                      "status": "200", "link": f"http://jaeger:16686/trace/{TRACE[4]}"}]
    assert [e["traceId"] for e in listed(api, edge="unknown,workload:votes/web")] == [TRACE[5]]
    assert [e["traceId"] for e in listed(api, node="workload:votes/web")] == [TRACE[5], TRACE[4]]


def test_it_gives_an_empty_list_for_a_node_without_exemplars(api: Client) -> None:
    assert listed(api, node="workload:shop/catalog-v1") == []
    assert listed(api, node="workload:shop/catalog-v1", query_time=str(T - 3600)) == []


def test_it_links_only_with_a_template(api: Client, settings: Any) -> None:
    settings.MESHLENS_TRACE_URL = ""
    assert "link" not in listed(api, node="workload:shop/stock-v1")[0]
    settings.MESHLENS_TRACE_URL = ("http://grafana:3000/explore?left=%7B%22queries%22:%5B%7B"
                                   "%22query%22:%22{trace_id}%22%7D%5D%7D")
    assert listed(api, node="workload:shop/stock-v1")[0]["link"] == (
        f"http://grafana:3000/explore?left=%7B%22queries%22:%5B%7B%22query%22:%22{TRACE[3]}"
        "%22%7D%5D%7D")


def test_it_lists_the_simulators_exemplars(api: Client) -> None:
    """The demo: reviews-v2 -> ratings failing, scraped as OpenMetrics"""
    found = listed(api, edge="workload:bookinfo/reviews-v2,service:bookinfo/ratings",
                   duration="5m", query_time=str(int(time.time())), limit="50")
    assert found
    assert {e["status"] for e in found} == {"503"}
    latencies = [e["latencyMs"] for e in found]
    assert latencies == sorted(latencies, reverse=True)
    for e in found:
        assert len(e["traceId"]) == 32 and len(e["spanId"]) == 16
        assert e["link"] == f"http://jaeger:16686/trace/{e['traceId']}"


def test_it_lists_trace_derived_exemplars_in_ms(api: Client) -> None:
    """social: post-storage-service -> post-storage-mongodb (a database); the service's
    calls in and out"""
    now = str(int(time.time()))
    found = listed(api, edge="workload:social/post-storage-service,"
                             "database:social/post-storage-mongodb", query_time=now)
    assert found and {e["status"] for e in found} == {"ok"}
    # The demo's database calls take 1.5 ms on average; the histogram is in seconds.
    assert 0.05 < sorted(e["latencyMs"] for e in found)[len(found) // 2] < 50
    node = listed(api, node="app:social/post-storage-service", query_time=now)
    assert node[0]["latencyMs"] >= found[0]["latencyMs"]  # the edge's calls are the node's


def test_it_reads_every_data_source_and_names_one_that_fails(api: Client) -> None:
    """default (the Prometheus above) and `down` (nothing listens): `down` is named, the
    exemplars are default's"""
    from dashboard.models import DataSource
    from tests.support.ports import free_port

    DataSource.objects.create(name="down", url=f"http://127.0.0.1:{free_port()}",
                              dialects="istio")
    response = api.get("/api/v1/exemplars", {"node": "workload:shop/stock-v1",
                                             "duration": "5m", "query_time": str(T + 60)})
    assert response.status_code == 200, response.content
    body = response.json()
    assert [e["traceId"] for e in body["exemplars"]] == [TRACE[3]]
    assert set(body["failedSources"]) == {"down"}
    narrowed = api.get("/api/v1/exemplars", {"node": "workload:shop/stock-v1", "duration": "5m",
                                             "query_time": str(T + 60), "sources": "down"})
    assert narrowed.status_code == 503 and "down" in narrowed.json()["error"]


def test_it_reads_only_the_dialects_asked_for(api: Client) -> None:
    """votes/web: Linkerd's exemplars, none in Istio's series"""
    assert listed(api, node="workload:votes/web", dialects="istio") == []
    assert len(listed(api, node="workload:votes/web", dialects="linkerd")) == 2


@pytest.mark.parametrize(("params", "named"), [
    ({"node": 'workload:shop/a"} or vector(1)'}, "node"),
    ({"node": "workload:shop"}, "node"),
    ({"node": "pod:shop/a"}, "node"),
    ({"node": "workload:Shop/a"}, "node"),
    ({"node": "workload:shop/a", "edge": "unknown,workload:shop/a"}, "node"),
    ({}, "edge"),
    ({"edge": "workload:shop/a"}, "edge"),
    ({"edge": "workload:shop/a,unknown"}, "edge"),
    ({"edge": "workload:shop/a,service:shop/.*"}, "edge"),
    ({"node": "workload:shop/a", "limit": "0"}, "limit"),
    ({"node": "workload:shop/a", "duration": "forever"}, "duration"),
    ({"node": "workload:shop/a", "query_time": "nan"}, "query_time"),
    ({"node": "workload:shop/a", "namespaces": "a b"}, "namespaces"),
    ({"node": "workload:shop/a", "trace": "x"}, "trace"),
    ({"node": "workload:shop/a", "dialects": "zipkin"}, "dialects"),
    ({"node": "workload:shop/a", "sources": "nowhere"}, "sources"),
    ({"node": "database:shop/a,b"}, "node"),
    ({"node": "database:shop/"}, "node"),
])
def test_it_refuses_bad_values_naming_the_parameter(api: Client, params: dict[str, str],
                                                     named: str) -> None:
    response = api.get("/api/v1/exemplars", params)
    assert response.status_code == 400, response.content
    assert response.json()["error"].startswith(f"{named}: ")


def test_it_serves_exemplars_in_openmetrics_only_when_asked() -> None:
    """The simulator: OpenMetrics (with exemplars) to Prometheus, the 0.0.4 text otherwise"""
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    mesh = select("bookinfo,emojivoto")
    server = MeshServer(Simulator(mesh, FaultTable(mesh), seed=9), "127.0.0.1", 0).start(0.2)
    try:
        server.simulator.advance(10.0)
        asked = urllib.request.Request(f"{server.url}/metrics", headers={
            "Accept": "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"})
        with urllib.request.urlopen(asked, timeout=5) as r:
            content_type, text = r.headers["Content-Type"], r.read().decode()
        with urllib.request.urlopen(f"{server.url}/metrics", timeout=5) as r:
            plain = r.read().decode()
    finally:
        server.stop()
    assert content_type.startswith("application/openmetrics-text; version=1.0.0")
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    marked = [s for s in samples if s.exemplar]
    assert {s.name for s in marked} == {f"{ISTIO}_bucket", f"{LINKERD}_bucket"}
    for s in marked:
        assert set(s.exemplar.labels) == {"trace_id", "span_id"}
        assert float(s.labels["le"]) >= s.exemplar.value  # in its bucket
    assert " # {" not in plain and "# EOF" not in plain
