"""The order a batch's queries go to Prometheus: the heaviest (Query.weight) first, so that
no big query waits for a connection behind small ones and comes back last, alone.

A real HTTP server in front of a real Prometheus records the queries in the order they
reach it; with one query in flight at a time, that is the order they were sent."""

from __future__ import annotations

import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from graph.build import plan
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import MAX_PARALLEL, Prometheus, PrometheusSettings, Query
from graph.sources.istio import queries as istio
from tests import mesh
from tests.support.ports import LOOPBACK
from tests.support.prometheus import PrometheusPool

QUERY_TIME = 1700000000


class RecordingPrometheus(ThreadingHTTPServer):
    """Forwards every query to `upstream`, noting its PromQL in the order they come."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.sent: list[str] = []
        self.lock = threading.Lock()
        super().__init__((LOOPBACK, 0), Forward)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server_address[1]}"


class Forward(BaseHTTPRequestHandler):
    server: RecordingPrometheus

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.sent.append(urllib.parse.parse_qs(body.decode())["query"][0])
        request = urllib.request.Request(f"{self.server.upstream}{self.path}", data=body,
                                         headers={"Content-Type": self.headers["Content-Type"]})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = response.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def recorder(prometheus_with: PrometheusPool) -> Iterator[RecordingPrometheus]:
    server = RecordingPrometheus(prometheus_with(mesh.bookinfo(), QUERY_TIME).url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def sent(recorder: RecordingPrometheus) -> list[str]:
    recorder.sent.clear()
    return recorder.sent


@pytest.fixture(scope="module")
def prom(recorder: RecordingPrometheus) -> Prometheus:
    return Prometheus(PrometheusSettings(url=recorder.url), max_parallel=1)


def test_it_sends_the_heaviest_query_first(prom: Prometheus, sent: list[str]) -> None:
    batch = [Query("vector(1)", ()), Query("vector(2)", (), weight=40),
             Query("vector(3)", (), weight=4)]
    list(prom.query_each(batch, QUERY_TIME))
    assert sent == ["vector(2)", "vector(3)", "vector(1)"]


def test_it_keeps_batch_order_among_equal_weights(prom: Prometheus, sent: list[str]) -> None:
    list(prom.query_each([Query(f"vector({n})", ()) for n in range(4)], QUERY_TIME))
    assert sent == [f"vector({n})" for n in range(4)]


def test_it_gives_each_answer_its_own_index(prom: Prometheus) -> None:
    batch = [Query("vector(1)", ()), Query("vector(2)", (), weight=9)]
    assert dict(prom.query_each(batch, QUERY_TIME)) == {0: [("", 1.0)], 1: [("", 2.0)]}


def test_it_sends_the_request_shares_of_a_namespace_graph_first(
        prom: Prometheus, sent: list[str]) -> None:
    """Of the Istio plan over ten namespaces (without the response-time histogram, which a
    mesh with histograms pays most for: it would go first), the ten request shares, inbound
    and outbound, go first; the inbound ones the security appender also reads, once."""
    options = GraphOptions(namespaces=tuple(f"ns{i}" for i in range(10)),
                           appenders=frozenset(("securityPolicy", "throughput")))
    queries = plan(options, MeshConfig())
    shares = {q.query.promql for q in queries.traffic if q.metric == istio.REQUESTS
              and q.kind in (istio.INBOUND, istio.OUTBOUND)}
    batch = queries.batch()
    answered = [index for index, _ in prom.query_each(batch, QUERY_TIME)]
    assert len(shares) == 10
    assert set(sent[:10]) == shares
    assert len(set(sent)) == len(sent)
    assert sorted(answered) == list(range(len(batch)))


def test_it_starts_every_heavy_query_of_a_namespace_graph_at_once() -> None:
    """Ten namespaces, every appender: the request shares and the response-time queries
    all fit in the first wave, so none waits for an answer to start."""
    options = GraphOptions(namespaces=tuple(f"ns{i}" for i in range(10)))
    batch = plan(options, MeshConfig()).batch()
    share = istio.weight(istio.REQUESTS, istio.shares(istio.REQUESTS, options.namespaces)[0])
    heavy = {q.answer() for q in batch if q.weight >= share}
    assert len(heavy) == 2 * istio.SHARDS + 2
    assert len(heavy) <= MAX_PARALLEL
