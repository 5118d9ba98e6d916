"""GET /metrics: counts from every Meshlens process, read from Redis at scrape time.

The first test runs Meshlens as users do, as separate processes (daphne, a Celery worker
and beat) on a Redis of its own, so that counts made in the worker and in daphne must
travel through Redis to reach /metrics."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests import mesh
from tests.support.meshlens import meshlens
from tests.support.ports import wait_until
from tests.support.redis import RedisServer
from tests.support.websocket import WebSocket

ROOT = Path(__file__).resolve().parents[1]
WS = "/ws/graph?namespaces=bookinfo&duration=60s"


def scrape(url: str) -> dict[str, Any]:
    """{family name: family} of GET /metrics."""
    response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(response.text)}


def value(families: dict[str, Any], sample_name: str, **labels: str) -> float:
    """The sample's value; 0 when the series does not exist yet."""
    return sum(s.value for f in families.values() for s in f.samples
               if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items()))


def next_graph(ws: WebSocket) -> dict[str, Any]:
    """The next snapshot or delta (progress reports of a cold scope skipped)."""
    for _ in range(100):
        message: dict[str, Any] = orjson.loads(ws.receive())
        if message["type"] in ("graph.snapshot", "graph.delta"):
            return message
        assert message["type"] == "graph.progress", message
    raise AssertionError("no graph")


def documented() -> dict[str, tuple[str, tuple[str, ...]]]:
    """{family name: (type, label names)} from the README's table of metrics."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### `GET /metrics`", 1)[1].split("\n### ", 1)[0]
    out = {}
    for name, kind, labels in re.findall(r"^\| `(\w+)` \| (\w+) \|([^|]*)\|", section, re.M):
        family = name.removesuffix("_total") if kind == "counter" else name
        out[family] = (kind, tuple(re.findall(r"`(\w+)`", labels)))
    return out


@pytest.fixture(scope="module")
def stack(prometheus_with: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Meshlens on Bookinfo data ending now, refreshing every second: its own Redis, so
    that its worker takes no task of the in-process worker other tests share."""
    now = int(time.time()) // 15 * 15
    prometheus = prometheus_with(mesh.bookinfo(ratings_503=1.5), now)
    tmp_path = tmp_path_factory.mktemp("metrics")
    with RedisServer(tmp_path / "redis") as redis_server:
        env = {"PROMETHEUS_URL": prometheus.url, "REDIS_URL": redis_server.url,
               "MESHLENS_REFRESH_SECONDS": "1"}
        with meshlens(tmp_path / "meshlens", env, live=True) as url:
            yield url


def test_it_counts_builds_queries_and_viewers_of_every_process(stack: str) -> None:
    url = stack
    families = scrape(url)
    before = {stage: value(families, "meshlens_build_seconds_count", stage=stage)
              for stage in ("query", "traffic", "merge", "appenders", "serialise", "total")}
    assert value(families, "meshlens_viewers") == 0
    assert value(families, "meshlens_metrics_redis_up") == 1

    # A build in daphne, through the API.
    response = requests.get(f"{url}/api/v1/graph?namespaces=bookinfo&duration=60s", timeout=30)
    assert response.status_code == 200
    families = scrape(url)
    for stage in ("query", "traffic", "merge", "appenders", "serialise", "total"):
        assert value(families, "meshlens_build_seconds_count", stage=stage) == before[stage] + 1
        assert value(families, "meshlens_build_seconds_sum", stage=stage) > 0, stage
    assert value(families, "meshlens_prometheus_rows_total", kind="inbound") > 0
    for kind in ("unserviced", "inbound", "outbound", "responseTime"):
        assert value(families, "meshlens_prometheus_query_seconds_count", kind=kind) >= 1, kind
    assert value(families, "meshlens_prometheus_query_seconds_sum") > 0

    port = int(url.rsplit(":", 1)[1])
    with WebSocket(port, WS) as ws:
        first = next_graph(ws)
        assert first["type"] == "graph.snapshot"
        # A message is counted once it has gone out: the count may trail its arrival here.
        assert wait_until(lambda: value(scrape(url), "meshlens_messages_sent_total",
                                        type="graph.snapshot") >= 1, 30, interval=0.2)
        families = scrape(url)
        assert value(families, "meshlens_viewers") == 1
        assert value(families, "meshlens_live_scopes") == 1
        assert value(families, "meshlens_sent_bytes_total", type="graph.snapshot") > 0

        # The worker's next refresh (beat ticks every second) comes as the next graph, from
        # a build counted before it was sent: three builds since the start of the test, the
        # API's, the first graph's and this one's.
        update = next_graph(ws)
        assert (value(scrape(url), "meshlens_build_seconds_count", stage="total")
                >= before["total"] + 3)
        assert wait_until(lambda: value(scrape(url), "meshlens_messages_sent_total",
                                        type=update["type"]) >= 1, 30, interval=0.2)
    assert wait_until(lambda: value(scrape(url), "meshlens_viewers") == 0, 30, interval=0.2)


def test_it_names_the_metrics_as_the_readme_documents_them(stack: str) -> None:
    families = scrape(stack)
    ours = {name: (f.type, f) for name, f in families.items() if name.startswith("meshlens_")}
    expected = documented()
    assert set(ours) == set(expected)
    requests.get(f"{stack}/api/v1/graph?namespaces=bookinfo&duration=60s", timeout=30)
    families = scrape(stack)
    for name, (kind, labels) in expected.items():
        family = families[name]
        assert family.type == kind, name
        for sample in family.samples:
            assert set(sample.labels) - {"le"} == set(labels), (name, sample)


def test_it_adds_messages_to_redis_in_one_flush_per_interval(redis_server: str,
                                                             settings: Any) -> None:
    """Three messages of two types, tallied in memory, reach Redis as one flush; a message
    sent after the flush waits for the next one."""
    from dashboard import metrics

    settings.REDIS_URL = redis_server
    r = metrics.live.client()
    r.delete(metrics.HASH_KEY)
    tally = metrics.MessageTally(interval=3600)  # its thread never flushes during the test
    tally.add("graph.snapshot", 100)
    tally.add("graph.snapshot", 50)
    tally.add("graph.delta", 7)
    assert r.hgetall(metrics.HASH_KEY) == {}  # nothing sent yet: no round trip per message

    tally.flush()
    stored = {k.decode(): float(v) for k, v in r.hgetall(metrics.HASH_KEY).items()}
    sep = metrics.SEP
    assert stored == {f"meshlens_messages_sent{sep}{sep}graph.snapshot": 2,
                      f"meshlens_sent_bytes{sep}{sep}graph.snapshot": 150,
                      f"meshlens_messages_sent{sep}{sep}graph.delta": 1,
                      f"meshlens_sent_bytes{sep}{sep}graph.delta": 7}
    tally.add("graph.delta", 3)
    tally.flush()
    assert float(r.hget(metrics.HASH_KEY, f"meshlens_sent_bytes{sep}{sep}graph.delta")) == 10
    tally.flush()  # nothing pending: nothing sent
    assert float(r.hget(metrics.HASH_KEY, f"meshlens_sent_bytes{sep}{sep}graph.delta")) == 10
    r.delete(metrics.HASH_KEY)
