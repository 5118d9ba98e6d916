"""Replay frames built ahead by a real Celery worker (dashboard/frames.py): the page names
the frames it will show next (GET /api/v1/graph/frames), the worker builds them, and
GET /api/v1/graph?query_time= answers them from Redis without a build of its own.

Bookinfo at fixed rates (tests/mesh.py): reviews-v2 -> ratings failing 50 %."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from django.test import Client

from dashboard import frames, graphs, live
from tests.live_env import QUERY_TIME
from tests.support.ports import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

VIEW = {"namespaces": "bookinfo", "duration": "60s"}
TIMES = [QUERY_TIME - 60, QUERY_TIME - 30]


@pytest.fixture
def builds_here(monkeypatch: pytest.MonkeyPatch, celery_worker: Any,
                bookinfo_prometheus: Any) -> list[str]:
    """The threads that built a graph (the worker's is not the test's)."""
    threads: list[str] = []
    real: Callable[..., Any] = graphs.graph_body

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(graphs, "graph_body", spy)
    live.client().flushdb()
    live.worker_beat()
    return threads


def ask(times: str, **more: str) -> tuple[int, dict[str, Any]]:
    response = Client().get("/api/v1/graph/frames", VIEW | {"times": times} | more)
    return response.status_code, response.json()


def kept(t: int) -> bool:
    options = graphs.options_from_query(VIEW | {"query_time": str(t)})
    return bool(live.client().exists(frames.frame_key(options)))


def test_it_builds_frames_ahead_in_the_worker(builds_here: list[str]) -> None:
    here = threading.current_thread().name
    status, body = ask(",".join(map(str, TIMES)))
    assert status == 200
    assert body == {"queued": TIMES, "kept": [], "building": [], "unsettled": [],
                    "worker": True}
    assert wait_until(lambda: all(kept(t) for t in TIMES), 60)
    assert here not in builds_here and len(builds_here) == 2

    # The API answers them from what the worker kept: no build, here or in the worker.
    response = Client().get("/api/v1/graph", VIEW | {"query_time": str(TIMES[0])})
    assert response.status_code == 200
    assert len(builds_here) == 2
    frame = orjson.loads(response.content)
    assert frame["timestamp"] == TIMES[0]
    assert frame == orjson.loads(graphs.graph_body(
        graphs.options_from_query(VIEW | {"query_time": str(TIMES[0])})))

    # Asked again: kept, nothing queued.
    assert ask(str(TIMES[1]))[1]["kept"] == [TIMES[1]]


def test_it_queues_only_settled_frames_and_names_bad_times(builds_here: list[str]) -> None:
    now = int(time.time())
    assert ask(str(now))[1] == {"queued": [], "kept": [], "building": [], "unsettled": [now],
                                "worker": True}
    status, body = ask("soon")
    assert status == 400 and body["error"].startswith("times: ")
    status, body = ask(",".join(str(QUERY_TIME - i) for i in range(9)))
    assert status == 400 and "at most 8" in body["error"]
    status, body = ask(str(QUERY_TIME), graph_type="nope")
    assert status == 400 and body["error"].startswith("graph_type")


def test_it_queues_nothing_without_a_worker(builds_here: list[str]) -> None:
    live.client().delete(live.WORKER_KEY)
    assert ask(str(TIMES[0]))[1] == {"queued": [], "kept": [], "building": [], "unsettled": [],
                                     "worker": False}


def test_it_waits_for_a_frame_being_built(builds_here: list[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A frame the workers are building is waited for, not built a second time."""
    options = graphs.options_from_query(VIEW | {"query_time": str(TIMES[0])})
    key = frames.frame_key(options)
    live.client().set(f"{key}:building", "1", ex=60)
    polling = threading.Event()
    real_sleep = frames.time.sleep

    class Clock:
        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        def sleep(self, seconds: float) -> None:
            polling.set()
            real_sleep(seconds)

    monkeypatch.setattr(frames, "time", Clock())
    answers: list[Any] = []
    waiter = threading.Thread(target=lambda: answers.append(Client().get(
        "/api/v1/graph", VIEW | {"query_time": str(TIMES[0])})))
    waiter.start()
    assert polling.wait(30)
    body = b'{"timestamp": %d, "builtBy": "the worker"}' % TIMES[0]
    live.client().set(key, gzip.compress(body), ex=60)
    waiter.join(30)
    assert orjson.loads(answers[0].content) == {"timestamp": TIMES[0], "builtBy": "the worker"}
    assert builds_here == []
