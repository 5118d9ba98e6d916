"""While a worker is alive, the API's builds run in the worker, and the web process only
relays the bytes (dashboard/answers.py): the same answers and the same errors as a build in
the web process, which still answers when no worker is alive.

    GET /api/v1/graph?query_time=T --> web --queue--> worker: build
                                        web <--Redis list-- gzip JSON

Bookinfo at a fixed query time (tests/mesh.py): reviews-v2 -> ratings failing 50 %."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from django.test import Client

from dashboard import graphs, live
from tests.live_env import QUERY_TIME
from tests.support.ports import LOOPBACK, free_port

pytestmark = pytest.mark.django_db(transaction=True)

GRAPH = ("/api/v1/graph", {"namespaces": "bookinfo", "duration": "60s",
                           "query_time": str(QUERY_TIME)})
EDGES = ("/api/v1/edges", {"namespaces": "bookinfo", "duration": "60s",
                           "query_time": str(QUERY_TIME)})
KIALI = ("/api/namespaces/graph", {"namespaces": "bookinfo", "duration": "60s",
                                   "graphType": "workload", "queryTime": str(QUERY_TIME)})


@pytest.fixture
def builders(monkeypatch: pytest.MonkeyPatch, celery_worker: Any,
             bookinfo_prometheus: Any) -> list[str]:
    """The names of the threads that built a graph, in order (the worker's thread is not
    the test's: the test client runs its views in the test's thread)."""
    threads: list[str] = []
    for name in ("graph_payload", "graph_body", "kiali_payload", "kiali_body"):
        real: Callable[..., Any] = getattr(graphs, name)

        def spy(*args: Any, real: Callable[..., Any] = real, **kwargs: Any) -> Any:
            threads.append(threading.current_thread().name)
            return real(*args, **kwargs)

        monkeypatch.setattr(graphs, name, spy)
    live.client().delete(live.WORKER_KEY)
    return threads


def get(route: tuple[str, dict[str, str]]) -> tuple[int, bytes]:
    response = Client().get(*route)
    return response.status_code, response.content


def worker_is_alive() -> None:
    live.worker_beat()


def no_worker_is_alive() -> None:
    live.client().delete(live.WORKER_KEY)


@pytest.mark.parametrize("route", [GRAPH, EDGES, KIALI], ids=["graph", "edges", "kiali"])
def test_it_builds_in_the_worker_while_one_is_alive(builders: list[str],
                                                    route: tuple[str, dict[str, str]]) -> None:
    here = threading.current_thread().name
    worker_is_alive()
    by_worker = get(route)
    assert len(builders) == 1 and builders[0] != here
    no_worker_is_alive()
    by_web = get(route)
    assert builders[1:] == [here]
    assert by_worker[0] == 200
    assert by_worker == by_web


def test_it_answers_the_worker_s_errors_as_its_own(builders: list[str], settings: Any) -> None:
    """Prometheus cannot be reached: 503 with the same message from either process."""
    settings.PROMETHEUS_URL = f"http://{LOOPBACK}:{free_port()}"
    worker_is_alive()
    by_worker = get(GRAPH)
    no_worker_is_alive()
    by_web = get(GRAPH)
    assert by_worker[0] == by_web[0] == 503
    assert orjson.loads(by_worker[1]) == orjson.loads(by_web[1])
    assert "cannot be reached" in orjson.loads(by_worker[1])["error"]
    assert len(builders) == 2 and builders[0] != builders[1]


def test_it_answers_bad_parameters_without_asking_the_worker(builders: list[str]) -> None:
    worker_is_alive()
    status, body = get(("/api/v1/graph", {"namespaces": "bookinfo", "duration": "often"}))
    assert status == 400 and b"duration" in body
    assert builders == []
