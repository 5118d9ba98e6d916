"""Answers of now that many clients ask alike are built once and shared
(dashboard/shared_answers.py): the failing edges of a live graph once per version of it,
Kiali's graph of now once per refresh period, however many requests come meanwhile.

    GET /api/v1/edges x N  ──▶ one build per version of the live graph
    GET /api/namespaces/graph (no queryTime) x N at once ──▶ one build, N equal answers

Bookinfo at a fixed query time (tests/mesh.py): reviews-v2 -> ratings failing 50 %."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.test import Client

from dashboard import answers, graphs, live, shared_answers
from graph.options import graph_options_from_query
from tests.live_env import QUERY_TIME
from tests.support.ports import LOOPBACK, free_port

pytestmark = pytest.mark.django_db(transaction=True)

VIEW = {"namespaces": "bookinfo", "duration": "60s"}
SCOPE = graph_options_from_query(VIEW).scope_key()
KIALI = ("/api/namespaces/graph", {"namespaces": "bookinfo", "duration": "60s",
                                   "graphType": "workload"})


@pytest.fixture(autouse=True)
def empty_redis(meshlens_redis: str, settings: Any) -> Iterator[None]:
    """No answer kept and no worker alive (the views build here) before or after."""
    settings.MESHLENS_REFRESH_SECONDS = 10
    live.client().flushdb()
    yield
    live.client().flushdb()


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The builds each route ran, by name."""
    done: dict[str, list[str]] = {"edges": [], "kiali": []}
    for name in done:
        real = answers.BUILDERS[name]

        def spy(query: Any, path: Any, name: str = name, real: Any = real) -> bytes:
            done[name].append(threading.current_thread().name)
            return real(query, path)

        monkeypatch.setitem(answers.BUILDERS, name, spy)
    return done


def cache_bookinfo() -> live.Cached:
    """Bookinfo at QUERY_TIME saved as the next version of the live scope's graph."""
    body = graphs.graph_body(graphs.options_from_query(VIEW | {"query_time": str(QUERY_TIME)}))
    return live.save(SCOPE, body, {})


def test_it_lists_the_failing_edges_of_a_live_graph_once_per_version(
        bookinfo_prometheus: Any, builds: dict[str, list[str]]) -> None:
    """Three requests of one version: one build; the next version: one more."""
    cache_bookinfo()
    first = [Client().get("/api/v1/edges", VIEW) for _ in range(3)]
    assert [r.status_code for r in first] == [200] * 3
    assert len({r.content for r in first}) == 1
    assert any(e["healthStatus"] == "Failure" for e in first[0].json()["edges"])
    assert len(builds["edges"]) == 1
    cache_bookinfo()
    assert Client().get("/api/v1/edges", VIEW).status_code == 200
    assert len(builds["edges"]) == 2


def test_it_builds_kialis_graph_of_now_once_for_requests_that_come_together(
        bookinfo_prometheus: Any, builds: dict[str, list[str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Six requests at once: the first builds, and its build ends only once the five others
    are waiting for it; all six get its answer."""
    others = 5
    waiting = threading.Semaphore(0)
    wait_for = shared_answers.wait_for

    def counted_wait(key: str, wait_s: float) -> bytes | None:
        waiting.release()
        return wait_for(key, wait_s)

    monkeypatch.setattr(shared_answers, "wait_for", counted_wait)
    build = answers.BUILDERS["kiali"]

    def build_once_all_wait(query: Any, path: Any) -> bytes:
        for _ in range(others):  # bounded only so that a failure does not hang the suite
            assert waiting.acquire(timeout=120)
        return build(query, path)

    monkeypatch.setitem(answers.BUILDERS, "kiali", build_once_all_wait)
    with ThreadPoolExecutor(others + 1) as pool:
        responses = list(pool.map(lambda _: Client().get(*KIALI), range(others + 1)))
    assert [r.status_code for r in responses] == [200] * (others + 1)
    assert len({r.content for r in responses}) == 1
    assert len(builds["kiali"]) == 1
    assert Client().get(*KIALI).content == responses[0].content  # kept
    assert len(builds["kiali"]) == 1


def test_it_builds_every_request_of_a_set_time_and_every_failed_one(
        bookinfo_prometheus: Any, builds: dict[str, list[str]], settings: Any) -> None:
    """queryTime names a moment, not now: not shared. An error is answered afresh."""
    path, query = KIALI
    at = query | {"queryTime": str(QUERY_TIME)}
    assert [Client().get(path, at).status_code for _ in range(2)] == [200, 200]
    assert len(builds["kiali"]) == 2
    settings.PROMETHEUS_URL = f"http://{LOOPBACK}:{free_port()}"  # nothing listens there
    assert [Client().get(*KIALI).status_code for _ in range(2)] == [503, 503]
    assert len(builds["kiali"]) == 4


def test_it_builds_when_redis_cannot_keep_answers(
        bookinfo_prometheus: Any, builds: dict[str, list[str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: Any, **kwargs: Any) -> Any:
        raise shared_answers.redis.ConnectionError("Redis is down")

    monkeypatch.setattr(shared_answers, "get", down)
    got: Callable[[], Any] = lambda: Client().get(*KIALI)  # noqa: E731
    assert [got().status_code for _ in range(2)] == [200, 200]
    assert len(builds["kiali"]) == 2


def test_it_keys_answers_by_route_parameters_version_and_what_the_asker_may_see() -> None:
    _, query = KIALI
    key = shared_answers.key_of("kiali", query, {})
    assert key == shared_answers.key_of("kiali", dict(reversed(query.items())), {})
    others = {shared_answers.key_of("edges", query, {}),
              shared_answers.key_of("kiali", query | {"duration": "5m"}, {}),
              shared_answers.key_of("kiali", query, {"namespace": "bookinfo"}),
              shared_answers.key_of("kiali", query, {}, version=3),
              shared_answers.key_of("kiali", query, {}, limit=("bookinfo",))}
    assert key not in others and len(others) == 5
