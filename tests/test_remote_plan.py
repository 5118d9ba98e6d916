"""Remote read on the query plan (graph/remote_servers.py, Query.remote): a graph built with
the request shares by remote read is the graph built with PromQL, byte for byte, on a real
Prometheus holding a mesh whose counters reset, go stale, start inside the window and are
scraped unevenly; a server that refuses remote read gets PromQL (auto) or an error naming
what is wrong (on); the window rule follows the server's version.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pytest
import requests

from graph import remote_servers
from graph.build import build_graph
from graph.counter_rate import CLOSED_2_42, WindowRule, rule_for_version, window_rates
from graph.cytoscape import to_config
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import (
    Prometheus,
    PrometheusBadAnswer,
    PrometheusSettings,
    PrometheusUnavailable,
)
from graph.remote_read import RemoteRead
from tests.mesh import UNKNOWN, Workload, request_edge, tcp_edge, with_labels
from tests.support.standin import StandIn
from tests.test_kiali_fixtures import remote_reads
from tests.test_remote_read import STALE, WritablePrometheus, write_request

STEP_MS = 15_000
NAMESPACES = ("alpha", "beta", "gamma")
GRAPH_TYPES = ("workload", "app", "versioned_app", "service")


def mesh_series() -> list[dict]:
    """alpha/front -> beta/api-v1, api-v2 -> gamma/db (TCP), beta/api-v2 -> gamma/cache;
    unknown -> alpha/front; every request edge with a few codes, mutual TLS on some."""
    def workload(ns: str, name: str, version: str = "v1") -> Workload:
        return Workload(ns, f"{name}-{version}", name, version, service=name)

    front, api1, api2 = workload("alpha", "front"), workload("beta", "api"), workload(
        "beta", "api", "v2")
    cache, db = workload("gamma", "cache"), workload("gamma", "db")
    return [*request_edge(UNKNOWN, front, {"200": 4.0}),
              *with_labels(request_edge(front, api1, {"200": 3.0, "503": 0.5, "404": 0.25}),
                           connection_security_policy="mutual_tls",
                           source_principal="spiffe://cluster.local/ns/alpha/sa/front",
                           destination_principal="spiffe://cluster.local/ns/beta/sa/api"),
              *request_edge(front, api2, {"200": 1.5, "500": 0.1}),
              *request_edge(api2, cache, {"grpc:0": 2.0, "grpc:14": 0.3}, protocol="grpc"),
              *request_edge(api1, cache, {"200": 0.7}),
              *tcp_edge(api1, db, 100.0, 50.0)]


def samples(index: int, rate: float, base: int, end: int) -> list[tuple[int, float]]:
    """Counter samples of one series from `base` to `end` (ms), in a pattern picked by
    `index`: steady, reset once or twice, a stale marker and back, starting late, a gap,
    jittered scrapes."""
    pattern = index % 7
    rng = random.Random(index)
    times = list(range(base, end + 1, STEP_MS))
    if pattern == 6:
        times = [t + rng.randrange(-4000, 4000) for t in times]
    values, value = [], 0.0
    for i, _ in enumerate(times):
        value += rate * STEP_MS / 1000 * (1 + 0.3 * rng.random())
        if (pattern in (1, 2) and i == len(times) - 3) or (pattern == 2 and i == len(times) - 6):
            value = rate * rng.random()  # a restart: the counter starts again near 0
        values.append(value)
    out = list(zip(times, values, strict=True))
    if pattern == 3:
        out[-5] = (out[-5][0], STALE)
    if pattern == 4:
        out = out[-4:]
    if pattern == 5:
        out = out[:-8] + out[-3:]
    return out


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """(url, query time) of a Prometheus holding mesh_series(), written by remote write."""
    workdir = Path(tmp_path_factory.mktemp("remote-plan"))
    server = WritablePrometheus(workdir / "tsdb", workdir)
    server.start()
    try:
        end = (int(time.time()) - 120) * 1000
        base = end - 20 * 60 * 1000
        written = {}
        for index, item in enumerate(mesh_series()):
            labels = (("__name__", item["metric"]), *sorted(item["labels"].items()))
            written[labels] = samples(index, item["rate"], base, end)
        response = requests.post(
            f"{server.url}/api/v1/write", data=write_request(written), timeout=30,
            headers={"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
                     "X-Prometheus-Remote-Write-Version": "0.1.0"})
        assert response.status_code == 204, response.text
        yield server.url, end // 1000 - 7
    finally:
        server.stop()


def graph_json(url: str, remote_read: str, options: GraphOptions) -> bytes:
    prom = Prometheus(PrometheusSettings(url=url, remote_read=remote_read))
    return orjson.dumps(to_config(build_graph(prom, options, MeshConfig())))


@pytest.mark.parametrize("graph_type", GRAPH_TYPES)
def test_it_builds_the_same_json_by_remote_read_as_by_promql(mesh: tuple[str, int],
                                                             graph_type: str) -> None:
    """The whole JSON (every appender on) with remote read on and off, at a query time on
    a sample and between samples, over 60 s and 120 s."""
    url, at = mesh
    for query_time in (at, at + 7):
        for duration in (60, 120):
            options = GraphOptions(namespaces=NAMESPACES, graph_type=graph_type,
                                   duration=duration, query_time=query_time)
            before = remote_reads(url)
            by_remote = graph_json(url, "on", options)
            assert remote_reads(url) > before  # the shares did go by remote read
            assert by_remote == graph_json(url, "off", options)
            assert b'"edges":[{' in by_remote


@pytest.fixture
def stand_in(mesh: tuple[str, int]) -> Iterator[StandIn]:
    remote_servers.forget()
    with StandIn(mesh[0]) as server:
        yield server
    remote_servers.forget()


@pytest.mark.parametrize("status", [404, 405, 503])
def test_it_falls_back_to_promql_where_remote_read_is_refused(
        mesh: tuple[str, int], stand_in: StandIn, status: int,
        caplog: pytest.LogCaptureFixture) -> None:
    """auto: the same graph through a proxy that refuses /api/v1/read, logged once,
    counted, and not asked again on the next build."""
    url, at = mesh
    options = GraphOptions(namespaces=NAMESPACES, duration=60, query_time=at)
    want = graph_json(url, "off", options)
    remote_servers.take_fallbacks()
    stand_in.refuse_reads(status)
    with caplog.at_level(logging.WARNING, logger="graph.remote_servers"):
        assert graph_json(stand_in.url, "auto", options) == want
        reads = stand_in.reads
        assert graph_json(stand_in.url, "auto", options) == want
    assert reads >= 1 and stand_in.reads == reads  # remembered: not asked again
    warnings = [r.getMessage() for r in caplog.records if "remote read" in r.getMessage()]
    assert len(warnings) == 1 and f"HTTP {status}" in warnings[0]
    assert remote_servers.take_fallbacks() == {f"http-{status}": 1}


def test_it_tries_remote_read_again_after_a_while(mesh: tuple[str, int], stand_in: StandIn,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    url, at = mesh
    options = GraphOptions(namespaces=NAMESPACES, duration=60, query_time=at)
    stand_in.refuse_reads(503)
    graph_json(stand_in.url, "auto", options)
    refused = stand_in.reads
    stand_in.read_fault = None
    monkeypatch.setattr(remote_servers, "REFUSED_FOR_S", 0.0)
    for server in remote_servers.SERVERS.values():
        server.refused_until = 0.0  # the while is over
    assert graph_json(stand_in.url, "auto", options) == graph_json(url, "off", options)
    assert stand_in.reads > refused


@pytest.mark.parametrize(("status", "content_type", "body", "error", "said"), [
    (404, "text/plain", b"404 page not found", PrometheusBadAnswer, "HTTP 404"),
    (503, "text/plain", b"too many reads", PrometheusUnavailable, "HTTP 503"),
    (200, "text/html", b"<html>Sign in</html>", PrometheusBadAnswer, "text/html"),
    (200, "application/x-protobuf", b"\xff\x00\x01", PrometheusBadAnswer, "remote read's answer"),
])
def test_it_names_what_is_wrong_when_remote_read_is_on(
        mesh: tuple[str, int], stand_in: StandIn, status: int, content_type: str,
        body: bytes, error: type[Exception], said: str) -> None:
    """on: a refusal or an answer that is not remote read's is the build's error (the
    existing error path: the last good graph stays), naming the setting and the fault."""
    options = GraphOptions(namespaces=NAMESPACES, duration=60, query_time=mesh[1])
    stand_in.refuse_reads(status, content_type, body)
    with pytest.raises(error) as raised:
        graph_json(stand_in.url, "on", options)
    assert "MESHLENS_REMOTE_READ=on" in str(raised.value) and said in str(raised.value)


def test_it_falls_back_on_an_answer_that_is_not_remote_reads(
        mesh: tuple[str, int], stand_in: StandIn) -> None:
    """auto: a truncated or wrongly compressed answer gives the PromQL graph."""
    url, at = mesh
    options = GraphOptions(namespaces=NAMESPACES, duration=60, query_time=at)
    stand_in.refuse_reads(200, "application/x-protobuf", b"\x0a\xff\xff")
    assert graph_json(stand_in.url, "auto", options) == graph_json(url, "off", options)
    assert remote_servers.take_fallbacks().get("answer") == 1


def test_it_falls_back_without_the_compiled_decoder(
        mesh: tuple[str, int], stand_in: StandIn, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    url, at = mesh
    options = GraphOptions(namespaces=NAMESPACES, duration=60, query_time=at)
    monkeypatch.setattr(remote_servers, "_decoder", ["graph/remote_decode.pyx is not compiled"])
    with caplog.at_level(logging.WARNING, logger="graph.remote_servers"):
        assert graph_json(stand_in.url, "auto", options) == graph_json(url, "off", options)
    assert stand_in.reads == 0
    assert any("make setup" in r.getMessage() or "not compiled" in r.getMessage()
               for r in caplog.records)


def test_it_refuses_an_unknown_setting() -> None:
    with pytest.raises(ValueError, match="MESHLENS_REMOTE_READ"):
        Prometheus(PrometheusSettings(url="http://127.0.0.1:9", remote_read="sometimes"))


# --- the window rule, by version -----------------------------------------------------------


@pytest.mark.parametrize(("version", "rule"), [
    ("2.42.0", CLOSED_2_42),
    ("2.45.6", CLOSED_2_42),
    ("2.53.1", WindowRule(left_open=False, threshold_first=True)),
    ("3.0.0", WindowRule(left_open=True, threshold_first=True)),
    ("3.5.0+stringlabels", WindowRule(left_open=True, threshold_first=True)),
    ("1.8.2", None), ("4.0.0", None), ("main", None), ("", None),
])
def test_it_knows_the_rule_of_a_version(version: str, rule: WindowRule | None) -> None:
    assert rule_for_version(version) == rule


def test_it_reads_the_left_open_window_of_prometheus_3() -> None:
    """T - W < t <= T from 3.0: a sample exactly at T - W is not read."""
    query = RemoteRead("m", (), 60)
    assert query.window_ms(1000, CLOSED_2_42) == (940_000, 1_000_000)
    assert query.window_ms(1000, WindowRule(True, True)) == (940_001, 1_000_000)


def rate(times_s: list[float], values: list[float], at_s: int, range_s: int,
         threshold_first: bool) -> float:
    rates, present = window_rates(np.array([0, len(times_s)]),
                                  np.array([int(t * 1000) for t in times_s]),
                                  np.array(values, dtype=np.float64), at_ms=at_s * 1000,
                                  range_ms=range_s * 1000, threshold_first=threshold_first)
    assert present[0]
    return float(rates[0])


def test_it_applies_the_zero_floor_in_the_versions_order() -> None:
    """A counter that starts near 0 late in the window: samples at 40, 55 s of a 60 s
    window ending at 60 s, values 1 and 16 (15 per 15 s).

    2.42 floors first: to_zero = 15 * 1/15 = 1 s < to_start 40 s, then 1 s is under the
    threshold (16.5 s): extrapolated 15 + 1 + 5 = 21 s. Newer: 40 s is past the threshold,
    so 7.5 s, then the floor: 1 s; the same here. With value 10 at 40 s (to_zero 10 s):
    2.42 floors to 10 s (under 16.5): 15 + 10 + 5; newer: 7.5 s first, 10 s is not
    shorter: 15 + 7.5 + 5."""
    assert rate([40, 55], [1, 16], 60, 60, False) == rate([40, 55], [1, 16], 60, 60, True)
    assert rate([40, 55], [1, 16], 60, 60, False) == 15 * (21 / 15) / 60
    assert rate([40, 55], [10, 25], 60, 60, False) == 15 * (30 / 15) / 60
    assert rate([40, 55], [10, 25], 60, 60, True) == 15 * (27.5 / 15) / 60
