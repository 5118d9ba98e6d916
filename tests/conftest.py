"""Shared fixtures: real Prometheus and Redis processes on free loopback ports.

def test_it_reads_rates(prometheus_with):
    prometheus = prometheus_with(series, query_time=1523364075)
    prometheus.url  # http://127.0.0.1:<port>, shared by tests with the same data

def test_it_caches(redis_server):
    redis_server  # "redis://127.0.0.1:<port>/0", one redis-server per session
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.prometheus import PrometheusPool
from tests.support.redis import RedisServer


@pytest.fixture(scope="session")
def prometheus_with(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusPool]:
    """`prometheus_with(series, query_time, shared=True, history=None)` -> a started
    PrometheusServer (`history`: seconds of samples before `query_time`, 7200 unless told)."""
    pool = PrometheusPool(tmp_path_factory.mktemp("prometheus"))
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a redis-server for the whole session: `redis://127.0.0.1:<port>/0`."""
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server.url
from tests.live_env import (  # noqa: E402,F401
    bookinfo_prometheus,
    celery_worker,
    meshlens_redis,
)
from tests.logged_prometheus import hostile_prom, hostile_prometheus  # noqa: E402,F401
