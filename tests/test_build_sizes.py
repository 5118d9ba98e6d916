"""Where a build runs (dashboard/graphs.apart, graph/build_sizes.py): a scope whose last graph
had at most MESHLENS_BUILD_APART_ABOVE edges is built in the worker's own process, a bigger
one, or one not built yet, in a child forked for it.

    ingress -> productpage -> details
                           -> reviews-v1, reviews-v2 (-> ratings, 50 % 503), reviews-v3 (-> ratings)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dashboard import answers, builds, graphs, live, metrics
from graph import build_sizes, forked, memory
from graph.options import GraphOptions
from tests.live_env import QUERY_TIME

pytestmark = pytest.mark.django_db
QUERY = {"namespaces": "bookinfo", "duration": "60s", "query_time": str(QUERY_TIME)}


@pytest.fixture(autouse=True)
def no_sizes() -> Iterator[None]:
    """No scope's size known during the test, the sizes as they were after it."""
    kept = dict(build_sizes.SIZES)
    build_sizes.SIZES.clear()
    yield
    build_sizes.SIZES.clear()
    build_sizes.SIZES.update(kept)


def built_where(query: dict[str, str]) -> tuple[int, bytes]:
    """(the process that built it, the JSON) of the API's graph for `query`."""
    return graphs.apart(lambda: (os.getpid(), builds.graph_json(query, {})),
                        builds.graph_scope(query, {}))


def test_it_builds_a_scope_apart_until_its_size_is_known_then_a_small_one_here(
        bookinfo_prometheus: Any, settings: Any) -> None:
    settings.MESHLENS_BUILD_APART_ABOVE = 100
    first_pid, first = built_where(QUERY)
    assert first_pid != os.getpid()
    # The child's size came back with it.
    edges = build_sizes.last_edges(builds.graph_scope(QUERY, {}))
    assert edges is not None and 0 < edges <= 100
    second_pid, second = built_where(QUERY)
    assert second_pid == os.getpid()
    assert second == first


def test_it_builds_a_scope_bigger_than_the_limit_apart(
        bookinfo_prometheus: Any, settings: Any) -> None:
    settings.MESHLENS_BUILD_APART_ABOVE = 100
    _, first = built_where(QUERY)
    edges = build_sizes.last_edges(builds.graph_scope(QUERY, {}))
    assert edges is not None
    settings.MESHLENS_BUILD_APART_ABOVE = edges - 1
    pid, again = built_where(QUERY)
    assert pid != os.getpid()
    assert again == first
    settings.MESHLENS_BUILD_APART_ABOVE = 0  # every build apart
    assert built_where(QUERY)[0] != os.getpid()


def test_it_builds_here_whatever_the_size_with_building_apart_off(
        bookinfo_prometheus: Any, settings: Any) -> None:
    settings.MESHLENS_BUILD_APART = False
    assert built_where(QUERY)[0] == os.getpid()


def test_it_sizes_each_scope_apart(bookinfo_prometheus: Any, settings: Any) -> None:
    """Another graph type, another duration: another scope, not built yet."""
    settings.MESHLENS_BUILD_APART_ABOVE = 100
    built_where(QUERY)
    assert built_where(QUERY)[0] == os.getpid()
    assert built_where(QUERY | {"graph_type": "app"})[0] != os.getpid()
    assert built_where(QUERY | {"duration": "120s"})[0] != os.getpid()


def test_it_keys_the_api_s_build_and_a_refresh_of_one_scope_alike(
        bookinfo_prometheus: Any, settings: Any) -> None:
    """A refresh is sized by its live scope's key (dashboard/tasks.py), read back into
    options and written again by the build: the same key, a limited viewer's too."""
    key = builds.graph_scope(QUERY, {})
    assert GraphOptions.from_scope_key(key).scope_key() == key
    limited = GraphOptions.from_scope_key(key + "&access=book*")
    assert GraphOptions.from_scope_key(limited.scope_key()).scope_key() == limited.scope_key()
    graphs.graph_written(GraphOptions.from_scope_key(key), record=False)
    assert build_sizes.last_edges(key) is not None


def test_it_sizes_the_workers_answers_by_their_scope(
        bookinfo_prometheus: Any, meshlens_redis: str, settings: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """dashboard/answers.run, as the worker runs it: the first answer of a scope forks, the
    second does not; a query the build rejects is answered by it, apart."""
    settings.MESHLENS_BUILD_APART_ABOVE = 100
    forks = counting(monkeypatch, forked, "run_forked")
    for reply in ("first", "second"):
        answers.run("graph", QUERY, {}, reply + os.urandom(4).hex())
    assert forks == [1]
    reply = "bad" + os.urandom(4).hex()
    answers.run("graph", QUERY | {"graph_type": "nodes"}, {}, reply)
    assert forks == [1, 1]
    stored = live.client().lrange(answers.reply_key(reply), 0, -1)
    assert stored[1] == b'{"status":400}'


def test_it_hands_over_an_answer_built_here_before_its_metrics(
        bookinfo_prometheus: Any, meshlens_redis: str, settings: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A build in the worker's own process: the view has the answer before the build's
    /metrics are written (they are written all the same)."""
    settings.MESHLENS_BUILD_APART = False
    reply = "metrics" + os.urandom(4).hex()
    seen: list[int] = []
    real = metrics.record_build

    def record_build(*args: Any) -> None:
        seen.append(live.client().llen(answers.reply_key(reply)))
        real(*args)

    monkeypatch.setattr(metrics, "record_build", record_build)
    answers.run("graph", QUERY, {}, reply)
    assert seen == [3]  # started, the status, the body
    # A graph above the limit built here (building apart off) goes first: its memory.
    settings.MESHLENS_BUILD_APART_ABOVE = 1
    reply = "big" + os.urandom(4).hex()
    answers.run("graph", QUERY, {}, reply)
    assert seen == [3, 1]  # started only


def counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[int]:
    """Calls of module.name, counted (the real function runs)."""
    calls: list[int] = []
    real: Callable[..., Any] = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_it_hands_a_size_back_from_a_child_when_new_or_moved_by_a_quarter() -> None:
    forked.run_forked(lambda: build_sizes.record("s", 1000))
    assert build_sizes.last_edges("s") == 1000
    kept = memory.kept_changes()
    # A small move: the child hands nothing back (handing back pickles every kept cache).
    forked.run_forked(lambda: build_sizes.record("s", 1200))
    assert memory.kept_changes() == kept
    assert build_sizes.last_edges("s") == 1000
    forked.run_forked(lambda: build_sizes.record("s", 1300))
    assert build_sizes.last_edges("s") == 1300


def test_it_forgets_the_least_recently_built_scope_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build_sizes, "MAX_SCOPES", 2)
    for scope in ("a", "b", "a", "c"):
        build_sizes.record(scope, 10)
    assert list(build_sizes.SIZES) == ["a", "c"]
    assert build_sizes.builds_apart("b", above=100)
    assert not build_sizes.builds_apart("a", above=100)
    assert build_sizes.builds_apart("a", above=9)
    assert build_sizes.builds_apart(None, above=100)
