"""A refresh that outlasts the lock's expiry (three refresh periods) is never joined by a
second build of its scope: the ticks that come meanwhile are skipped, not queued.

Prometheus is made slow by a real HTTP server in front of it that holds every query until
the test lets it through."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker

from dashboard import live
from dashboard.celery import app as celery_app
from dashboard.tasks import lock_seconds, tick
from graph.build import plan
from graph.options import MeshConfig, graph_options_from_query
from tests import mesh
from tests.support.ports import LOOPBACK, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

QUERY = {"namespaces": "bookinfo", "duration": "60s"}


class HeldPrometheus(ThreadingHTTPServer):
    """Forwards queries to `upstream` once `gate` is open; counts the queries it got."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.gate = threading.Event()
        self.queries = 0
        self.lock = threading.Lock()
        super().__init__((LOOPBACK, 0), Handler)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: HeldPrometheus

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.queries += 1
        self.server.gate.wait(60)
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
def celery_worker(meshlens_redis: str) -> Iterator[Any]:
    """A worker for this module only (see tests/test_live.py)."""
    with start_worker(celery_app, pool="solo", perform_ping_check=False,
                      shutdown_timeout=10) as worker:
        yield worker


@pytest.fixture
def held_prometheus(prometheus_with: Any, settings: Any) -> Iterator[HeldPrometheus]:
    now = int(time.time()) // 15 * 15
    upstream = prometheus_with(mesh.bookinfo(ratings_503=1.5), now)
    server = HeldPrometheus(upstream.url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.PROMETHEUS_URL = server.url
    settings.PROMETHEUS_TIMEOUT = 60  # the held queries must not time out
    yield server
    server.gate.set()
    server.shutdown()
    server.server_close()


def skipped() -> float:
    from dashboard import metrics

    raw = live.client().hget(metrics.HASH_KEY, metrics.field(metrics.SKIPPED.name, "", ()))
    return float(raw or 0)


def test_it_skips_ticks_while_a_build_outlasts_the_lock(
        held_prometheus: HeldPrometheus, celery_worker: Any, settings: Any) -> None:
    """tick -> build held at Prometheus past 3 refresh periods; ticks meanwhile: skipped"""
    settings.MESHLENS_REFRESH_SECONDS = 1
    live.client().flushdb()
    scope_key = graph_options_from_query(QUERY).scope_key()
    # Queries with equal answers are sent once.
    one_build = len({q.answer() for q in plan(graph_options_from_query(QUERY),
                                              MeshConfig()).batch()})
    live.mark_live(scope_key)

    assert tick() == 1
    held_since = time.time()
    assert wait_until(lambda: held_prometheus.queries > 0, 30)

    # Tick until well after the lock's first expiry: every tick finds it still held.
    ticks = 0
    while time.time() < held_since + lock_seconds() + 2 or ticks < 3:
        tick()
        ticks += 1
        time.sleep(0.5)
    assert skipped() == ticks
    assert live.client().ttl(live.lock_key(scope_key)) > 0
    assert held_prometheus.queries <= one_build

    held_prometheus.gate.set()
    assert wait_until(lambda: live.load(scope_key) is not None, 30)
    first = live.load(scope_key)
    assert first is not None

    # The lock is free again once the refresh has ended (it is released after the graph is
    # cached, the graph freed: a tick in between is skipped): the next tick builds, and
    # nothing else was queued before it (the worker takes tasks in order, so once this build
    # is cached the queue is empty).
    assert wait_until(lambda: not live.client().exists(live.lock_key(scope_key)), 30)
    assert tick() == 1
    assert wait_until(lambda: live.load(scope_key).updated > first.updated, 30)  # type: ignore[union-attr]
    assert held_prometheus.queries == 2 * one_build
    assert skipped() == ticks
