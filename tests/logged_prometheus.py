"""A Prometheus that logs every query it evaluates, with a mesh whose label values are hostile,
and the hostile values the tests send: shared by tests/test_api_hostile_values.py (HTTP) and
tests/test_ws_hostile_input.py (the WebSocket).

    ingress -> productpage -> reviews-v2 -> ratings      (mesh_id=SCOPE)
               productpage -> axb (a service named like "a.b" read as a regex)
    details-v1 -> ratings, othermesh: a -> b             (mesh_id=NEAR, outside the scope)
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import mesh
from tests.mesh import Workload
from tests.support.prometheus import PrometheusPool, PrometheusServer

SCOPE = 'x"} or vector(1) or up{a="\\'
NEAR = SCOPE + "\n"  # what a sloppy escape would confuse with SCOPE
XSS = "<script>alert(1)</script>"
HOSTILE = ['a"b', "a\\b", "{}", 'x"} or vector(1) or up{a="', "a=~.*", "line\nbreak",
           "nul\x00", "tab\t", "café", "\ufffd", ".*", "a|b", "a,b", "a/b", " ", "", "'",
           XSS, "x" * 10_000]
AXB = Workload("bookinfo", "axb-v1", "axb", service="axb")


def series() -> list[dict[str, Any]]:
    ours = mesh.bookinfo(ratings_503=1.5) + mesh.request_edge(mesh.PRODUCTPAGE, AXB, {"200": 1.0})
    ours += mesh.tcp_edge(mesh.REVIEWS_V1, Workload("bookinfo", "mongodb-v1", "mongodb",
                                                    service="mongodb"), 100.0, 50.0)
    theirs = (mesh.request_edge(mesh.DETAILS, mesh.RATINGS, {"200": 1.0})
              + mesh.request_edge(Workload("othermesh", "a", "a"),
                                  Workload("othermesh", "b", "b", service="b"), {"200": 1.0}))
    return mesh.with_labels(ours, mesh_id=SCOPE) + mesh.with_labels(theirs, mesh_id=NEAR)


@dataclass
class LoggedPrometheus:
    server: PrometheusServer
    log: Path
    time: int
    offset: int = 0

    def mark(self) -> None:
        self.offset = self.log.stat().st_size if self.log.exists() else 0

    def queries(self) -> list[str]:
        """The queries evaluated since mark(): Prometheus logs each before it answers."""
        if not self.log.exists():
            return []
        with self.log.open("rb") as f:
            f.seek(self.offset)
            lines = f.read().decode().splitlines()
        return [json.loads(line)["params"]["query"] for line in lines if line]


def logged_prometheus(pool: PrometheusPool,
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoggedPrometheus]:
    """A private Prometheus, data ending now (namespace discovery looks at the last hour),
    writing every query it evaluates to its query log."""
    now = int(time.time()) // 15 * 15
    workdir = tmp_path_factory.mktemp("logged-prometheus")
    shutil.copytree(pool.tsdb(series(), now), workdir / "tsdb")
    log = workdir / "queries.log"
    config = f"global:\n  query_log_file: {log}\nscrape_configs: []\n"
    with PrometheusServer(workdir / "tsdb", workdir, config=config) as server:
        yield LoggedPrometheus(server, log, now)



# The hostile-input modules' fixtures (tests/conftest.py imports them): one logged
# Prometheus per module that uses it.
@pytest.fixture(scope="module")
def hostile_prometheus(prometheus_with: PrometheusPool,
                       tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoggedPrometheus]:
    yield from logged_prometheus(prometheus_with, tmp_path_factory)


@pytest.fixture
def hostile_prom(hostile_prometheus: LoggedPrometheus, meshlens_redis: str,
                 settings: Any) -> LoggedPrometheus:
    """Meshlens on the logged Prometheus, without a query scope, and Redis emptied: no
    worker runs here, and without the heartbeat an earlier test's worker left, a cold scope
    is built at once in this process, not queued for a worker that never takes it."""
    from dashboard import live

    settings.PROMETHEUS_URL = hostile_prometheus.server.url
    settings.MESHLENS_QUERY_SCOPE = []
    live.client().flushdb()
    return hostile_prometheus

LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')
OPERATOR = re.compile(r"(=~|!~|!=|=)S")


def shape(query: str) -> str:
    """The query with its string literals masked, and = / =~ / != / !~ alike (one value or
    several changes the operator, not the shape)."""
    return OPERATOR.sub("~S", LITERAL.sub("S", query))


def literals(query: str) -> list[str]:
    """The values of the query's string literals (PromQL reads its escapes as Python does
    the ones used here: \\\\, \\", \\n, \\t, \\uXXXX)."""
    return [ast.literal_eval(m.group()) for m in LITERAL.finditer(query)]


def api_params(t: int) -> dict[str, str]:
    """/api/v1/graph's parameters, each at a value other than its default."""
    return {"namespaces": "bookinfo", "graph_type": "workload", "duration": "60s",
            "query_time": str(t), "inject_service_nodes": "true", "include_idle_edges": "false",
            "include_idle_nodes": "true", "box_by": "app", "response_time": "95",
            "throughput": "response", "rate_http": "requests", "rate_grpc": "requests",
            "rate_tcp": "total"}
