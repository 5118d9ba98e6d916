"""A worker in a process of its own, as `make run` starts it, builds apart: each build the
API asks of it (and each refresh) runs in a child process forked for it (graph/forked.py),
with the answer a build in place gives.

    GET /api/v1/graph?query_time=T --> daphne --queue--> worker --fork--> child: build

Bookinfo (tests/mesh.py), reviews-v2 -> ratings failing 50 %, ending now."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from dashboard import builds
from tests import mesh
from tests.support.meshlens import meshlens
from tests.support.ports import wait_until
from tests.support.redis import RedisServer

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def stack(prometheus_with: Any, tmp_path_factory: pytest.TempPathFactory,
          ) -> Iterator[tuple[str, Path, str, int]]:
    """(web URL, log directory, Prometheus URL, a query time inside its data): its own
    Redis, so that its worker takes no task of the in-process workers of other tests."""
    now = int(time.time()) // 15 * 15
    prometheus = prometheus_with(mesh.bookinfo(ratings_503=1.5), now)
    tmp_path = tmp_path_factory.mktemp("apart")
    with RedisServer(tmp_path / "redis") as redis_server:
        # Every build apart, however small (tests/test_build_sizes.py: which builds go apart).
        env = {"PROMETHEUS_URL": prometheus.url, "REDIS_URL": redis_server.url,
               "MESHLENS_REFRESH_SECONDS": "1", "MESHLENS_BUILD_APART_ABOVE": "0"}
        with meshlens(tmp_path / "meshlens", env, live=True) as url:
            yield url, tmp_path / "meshlens", prometheus.url, now


def worker_alive(url: str) -> bool:
    body = requests.get(f"{url}/healthz", timeout=10).json()
    return bool(body["checks"]["worker"]["ok"])


def test_it_builds_the_api_s_graph_in_a_child_of_the_worker(
        stack: tuple[str, Path, str, int], settings: Any) -> None:
    url, logs, prometheus_url, at = stack
    assert wait_until(lambda: worker_alive(url), 60)
    query = {"namespaces": "bookinfo", "duration": "60s", "query_time": str(at)}
    response = requests.get(f"{url}/api/v1/graph", params=query, timeout=60)
    assert response.status_code == 200
    settings.PROMETHEUS_URL = prometheus_url
    assert response.content == builds.graph_json(query, {})  # as built in place
    pairs = re.findall(r"building apart in process (\d+), forked from (\d+)",
                       (logs / "worker.log").read_text())
    assert pairs and all(child != parent for child, parent in pairs)
    assert "building here" not in (logs / "daphne.log").read_text()
