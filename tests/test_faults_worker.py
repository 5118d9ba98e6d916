"""A Celery worker killed in mid-refresh, every part real: daphne and Celery workers (real
processes) on the session's Redis, reading a real Prometheus on backfilled Bookinfo through
a stand-in that holds the refresh's queries, so that the build is under way, its lock held,
when the worker is killed. This test ticks as beat would, so that each tick is known.

The next tick recovers (the dead worker's lock expires; a build killed alone frees it at
once), and from then on each tick brings one update: no storm of pushes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from dashboard import live
from dashboard.tasks import tick
from graph.options import graph_options_from_query
from tests import mesh
from tests.support.meshlens import meshlens, start_worker
from tests.support.ports import wait_until
from tests.support.process import stop, tail
from tests.support.standin import HELD, StandIn
from tests.support.websocket import Listener, WebSocket

pytestmark = pytest.mark.django_db(transaction=True)

QUERY = {"namespaces": "bookinfo", "duration": "60s"}
WS = "/ws/graph?namespaces=bookinfo&duration=60s"
# A bound on a wait for a message that never comes (progress comes every 2 s).
MESSAGE_WAIT_S = 60


@pytest.fixture(scope="module")
def stand_in(prometheus_with: Any) -> Iterator[StandIn]:
    now = int(time.time()) // 15 * 15
    upstream = prometheus_with(mesh.bookinfo(ratings_503=1.5), now)
    with StandIn(upstream.url) as server:
        yield server


@pytest.fixture(scope="module")
def env(stand_in: StandIn, meshlens_redis: str) -> dict[str, str]:
    # The session's Redis, as this process's tick: the workers take the refreshes it queues.
    return {"PROMETHEUS_URL": stand_in.url, "REDIS_URL": meshlens_redis,
            "MESHLENS_REFRESH_SECONDS": "1", "MESHLENS_PROMETHEUS_TIMEOUT": "60"}


@pytest.fixture(scope="module")
def web(env: dict[str, str],
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """daphne alone (the workers come and go in the tests); its URL and directory."""
    workdir = tmp_path_factory.mktemp("faults-worker")
    live.client().flushdb()
    with meshlens(workdir, env) as url:
        yield url, workdir
    live.client().flushdb()


@pytest.fixture
def refresh_seconds(settings: Any) -> int:
    """This process ticks as beat would, on the refresh period of the servers."""
    settings.MESHLENS_REFRESH_SECONDS = 1
    return 1


class Viewer:
    """A WebSocket viewer of the scope, reading its messages as they come (in a thread of
    its own: while the test waits on a worker, daphne's pings are answered)."""

    def __init__(self, url: str) -> None:
        self.ws = Listener(WebSocket(int(url.rsplit(":", 1)[1]), WS, timeout=60))
        self.messages: list[dict[str, Any]] = []

    def next_graph(self, within_s: float | None = None) -> dict[str, Any] | None:
        """The next snapshot or delta; with `within_s`, None if no message has come by then
        (a poll between two ticks, not a timed assertion)."""
        while True:
            text = self.ws.receive(within_s if within_s is not None else MESSAGE_WAIT_S)
            if text is None:
                assert within_s is not None, f"no message in {MESSAGE_WAIT_S} s"
                return None
            message = orjson.loads(text)
            self.messages.append(message)
            if message["type"] in ("graph.snapshot", "graph.delta"):
                return message

    def close(self) -> None:
        self.ws.close()


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not yet reaped by its new parent, does not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def building(stand_in: StandIn, worker: subprocess.Popen[bytes]) -> int:
    """Wait until the worker's build holds the scope's lock and waits on Prometheus; return
    the pid of the child it builds in."""
    scope_key = graph_options_from_query(QUERY).scope_key()
    assert wait_until(lambda: stand_in.held > 0, 60), "the refresh never reached Prometheus"
    assert live.client().exists(live.lock_key(scope_key))
    kids = children(worker.pid)
    assert len(kids) == 1, kids  # the build runs in a child forked for it
    return kids[0]


def recovered(viewer: Viewer) -> dict[str, Any]:
    """Tick as beat would (a tick while the lock is held skips the scope) until a refresh
    reaches the viewer; that update."""
    for _ in range(120):
        tick()
        update = viewer.next_graph(within_s=1.0)
        if update is not None:
            return update
    raise AssertionError("no update after 120 ticks")


def one_update_per_tick(viewer: Viewer, scope_key: str, last: dict[str, Any],
                        ticks: int = 3) -> dict[str, Any]:
    """Each tick brings one update, the version after the last: any other build between
    them (a storm) would have taken a version of its own. The last update."""
    for _ in range(ticks):
        # The previous refresh has released its lock (after its graph was cached and sent):
        # a tick now is not skipped.
        assert wait_until(lambda: not live.client().exists(live.lock_key(scope_key)), 60)
        tick()
        update = viewer.next_graph()
        assert update is not None
        assert update["version"] == last["version"] + 1, (last, update)
        if update["type"] == "graph.delta":
            assert update["base"] == last["version"]
        last = update
    return last


def held_build(stand_in: StandIn, worker: subprocess.Popen[bytes], scope_key: str) -> int:
    """Hold Prometheus's answers and tick: the worker's refresh begins, takes the lock and
    waits; the pid of the child it builds in."""
    assert wait_until(lambda: not live.client().exists(live.lock_key(scope_key)), 60)
    stand_in.fail(HELD)
    tick()
    return building(stand_in, worker)


def test_it_recovers_at_the_next_tick_when_a_build_or_its_worker_is_killed(
        web: tuple[str, Path], env: dict[str, str], stand_in: StandIn,
        refresh_seconds: int) -> None:
    """tick -> worker -> [build held at Prometheus] -> the build SIGKILLed, then (a second
    time) its worker SIGKILLed and another started; ticks after each.

    One test, one viewer: it knows every update it was sent since its first."""
    url, workdir = web
    scope_key = graph_options_from_query(QUERY).scope_key()
    viewer = Viewer(url)
    worker = start_worker(workdir, env, "worker-killed")
    replacement = None
    try:
        # Built for the viewer, who hears progress meanwhile: no worker had ticked yet.
        first = viewer.next_graph()
        assert first is not None and first["type"] == "graph.snapshot"
        viewer.messages.clear()

        # The build alone is killed (the kernel's out-of-memory killer picks the biggest
        # process): the worker sees it die and releases the lock, no expiry to wait for.
        os.kill(held_build(stand_in, worker, scope_key), signal.SIGKILL)
        assert wait_until(lambda: not live.client().exists(live.lock_key(scope_key)), 30)
        stand_in.heal()
        update = recovered(viewer)
        assert update["version"] == first["version"] + 1, (first, update)
        last = one_update_per_tick(viewer, scope_key, update)
        assert worker.poll() is None

        # The worker is killed (SIGKILL) in mid-build.
        child = held_build(stand_in, worker, scope_key)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        # The build dies with its worker: it would otherwise publish a graph after the
        # next worker's.
        assert wait_until(lambda: not alive(child), 30), f"build {child} outlived its worker"
        stand_in.heal()
        replacement = start_worker(workdir, env, "worker-replacement")
        # The dead worker's lock holds the scope until it expires (three refresh periods):
        # the ticks meanwhile skip it, queueing nothing; the one after builds.
        update = recovered(viewer)
        assert update["version"] == last["version"] + 1, (last, update)
        one_update_per_tick(viewer, scope_key, update)
        # Since the first graph, only graphs came, no error: the viewer never had reason to
        # drop its graph.
        assert {m["type"] for m in viewer.messages} <= {"graph.snapshot", "graph.delta"}
    finally:
        viewer.close()
        stand_in.heal()
        for process in (worker, replacement):
            if process is not None:
                stop(process)
    assert "Traceback" not in tail(workdir / "worker-replacement.log", 200)
