"""A Prometheus on this machine is asked for plain answers: over loopback, compressing
them only costs both ends CPU. Elsewhere the client keeps asking for gzip."""

from __future__ import annotations

import pytest

from graph.prometheus import Prometheus, PrometheusSettings, is_loopback
from tests.support.prometheus import PrometheusPool

QUERY_TIME = 1700000000


@pytest.mark.parametrize("url", ["http://127.0.0.1:9090", "http://127.8.9.1:9090/prom",
                                 "http://localhost:9090", "https://[::1]:9090"])
def test_it_knows_loopback_urls(url: str) -> None:
    assert is_loopback(url)


@pytest.mark.parametrize("url", ["http://10.0.0.1:9090", "http://prometheus:9090",
                                 "https://prometheus.example.com", "http://[fe80::1]:9090",
                                 "not a url"])
def test_it_knows_other_urls(url: str) -> None:
    assert not is_loopback(url)


def test_it_asks_a_loopback_prometheus_for_plain_answers(
        prometheus_with: PrometheusPool) -> None:
    server = prometheus_with([{"metric": "up_total", "labels": {"a": "b"}, "rate": 1.0}],
                             QUERY_TIME)
    prom = Prometheus(PrometheusSettings(url=server.url))
    response = prom.session.post(f"{server.url}/api/v1/query",
                                 data={"query": "rate(up_total[5m])", "time": QUERY_TIME})
    assert response.status_code == 200
    assert response.request.headers["Accept-Encoding"] == "identity"
    assert "Content-Encoding" not in response.headers


def test_it_keeps_gzip_for_a_remote_prometheus() -> None:
    prom = Prometheus(PrometheusSettings(url="http://prometheus.example.com:9090"))
    assert "gzip" in prom.session.headers["Accept-Encoding"]
