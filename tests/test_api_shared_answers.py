"""Answers shared by every viewer (dashboard/shared_answers.py), on the session's Redis:
GET /api/v1/series asked by several viewers within a refresh period is one set of range
queries; GET /api/v1/graph/diff builds the earlier graph once for every viewer of the same
scope, window and earlier time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from dashboard import graphs, impact_views, live
from graph import series
from graph.options import graph_options_from_query
from tests.live_env import QUERY_TIME
from tests.test_api_diff import SCOPE, two_period_prometheus
from tests.test_api_series import WINDOW, shop_prometheus

__all__ = ["shop_prometheus", "two_period_prometheus"]  # fixtures, for pytest

pytestmark = pytest.mark.django_db
REVIEWS_V2 = "node=workload:bookinfo/reviews-v2"
CART = "node=workload:shop/cart-v1"


@pytest.fixture
def shared_redis(meshlens_redis: str, settings: Any) -> Iterator[None]:
    settings.MESHLENS_REFRESH_SECONDS = 10
    live.client().flushdb()
    yield
    live.client().flushdb()


def counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[int]:
    """Calls of module.name, counted (the real function runs)."""
    calls: list[int] = []
    real: Callable[..., Any] = getattr(module, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


def get(url: str) -> bytes:
    response = Client().get(url)
    assert response.status_code == 200, response.content
    return response.content


def test_it_reads_an_elements_series_once_for_every_viewer(
        shared_redis: None, shop_prometheus: Any, monkeypatch: pytest.MonkeyPatch,
        settings: Any) -> None:
    """frontend-v1 -> [cart] -> cart-v1: three viewers of cart-v1's charts of now, one set of
    range queries (one per source and dialect with charts for it); another element, or
    another window, its own; a window naming its end, its own each time."""
    reads = counting(monkeypatch, series, "read_series")
    first = get(f"/api/v1/series?{CART}&duration=10m")
    sets = len(reads)
    assert sets >= 1
    assert get(f"/api/v1/series?{CART}&duration=10m") == first
    assert get(f"/api/v1/series?{CART}&duration=10m") == first
    assert len(reads) == sets

    get("/api/v1/series?node=workload:shop/frontend-v1&duration=10m")
    assert len(reads) == 2 * sets
    get(f"/api/v1/series?{CART}&duration=5m")
    assert len(reads) == 3 * sets

    # Kept for one refresh period, under a key like the other shared answers'.
    keys = [k.decode() for k in live.client().keys("meshlens:shared:*")]
    assert len(keys) == 3 and all(len(k.rsplit(":", 1)[1]) == 32 for k in keys)
    assert all(0 < live.client().pttl(k) <= 10_000 for k in keys)
    # Expired: read again.
    live.client().delete(*keys)
    get(f"/api/v1/series?{CART}&duration=10m")
    assert len(reads) == 4 * sets
    # A past window: not shared.
    get(f"/api/v1/series?{CART}&{WINDOW}")
    get(f"/api/v1/series?{CART}&{WINDOW}")
    assert len(reads) == 6 * sets


def test_it_shares_a_live_window_within_a_period(shared_redis: None, shop_prometheus: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Without query_time the window ends now: viewers a few seconds apart in the same
    period get the answer of the first."""
    reads = counting(monkeypatch, series, "read_series")
    first = get(f"/api/v1/series?{CART}&duration=10m")
    sets = len(reads)
    assert get(f"/api/v1/series?{CART}&duration=10m") == first
    assert len(reads) == sets


def test_it_builds_the_earlier_graph_once_for_every_viewer(
        shared_redis: None, two_period_prometheus: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The live graph of bookinfo is cached (as its refresh leaves it, timestamp T): three
    viewers comparing it with an hour ago get the graph of T - 1h built once; a day ago is
    another; a comparison naming its own time builds its own each time."""
    view = {"namespaces": "bookinfo", "duration": "60s"}
    now = graphs.graph_body(graphs.options_from_query(view | {"query_time": str(QUERY_TIME)}))
    live.save(graph_options_from_query(view).scope_key(), now, {})
    builds = counting(monkeypatch, impact_views, "graph_body")
    live_scope = "namespaces=bookinfo&duration=60s"
    first = Client().get(f"/api/v1/graph/diff?{live_scope}&compare_to=1h").json()
    assert (first["timestamp"], first["compareTo"]) == (QUERY_TIME, QUERY_TIME - 3600)
    assert first["nodes"]["added"][0]["label"] == "reviews-v4"
    assert builds == [1]
    for _ in range(2):
        assert Client().get(f"/api/v1/graph/diff?{live_scope}&compare_to=1h").json() == first
    # The marked graph of the same comparison reuses it too.
    marked = Client().get(f"/api/v1/graph?{live_scope}&compare_to=1h").json()
    assert marked["compareTo"] == QUERY_TIME - 3600
    assert builds == [1]
    Client().get(f"/api/v1/graph/diff?{live_scope}&compare_to=1d")
    assert builds == [1, 1]
    Client().get(f"/api/v1/graph/diff?{SCOPE}&compare_to=1h")
    Client().get(f"/api/v1/graph/diff?{SCOPE}&compare_to=1h")
    assert builds == [1, 1, 1, 1]
