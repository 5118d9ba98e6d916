"""Prometheus's retention bounds the graph's window: parsed from runtimeinfo, offered to
the page, and a window beyond it refused by the API with a 400 naming the parameter."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from dashboard import retention
from graph.options import OptionError
from graph.retention import check_window, describe, parse_retention
from tests.support.prometheus import PrometheusServer
from tests.support.websocket import opened

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("text", "seconds"), [
    ("15d", 15 * 86400), ("100y", 100 * 31536000), ("1w2d", 9 * 86400), ("6h30m", 23400),
    ("15d or 10GiB", 15 * 86400), ("10GiB", None), ("", None), (None, None), ("0s", None),
])
def test_it_parses_prometheus_storage_retention(text: str | None, seconds: int | None) -> None:
    assert parse_retention(text) == seconds


def test_it_refuses_windows_beyond_retention_naming_the_parameter() -> None:
    now = 1_800_000_000
    check_window(3600, None, now, 7200)
    check_window(3600, now - 3600, now, 7200)
    check_window(10**6, None, now, None)  # unknown retention: no bound
    longer = r"^duration: 10800s is longer than Prometheus keeps data \(2h\)"
    with pytest.raises(OptionError, match=longer):
        check_window(3 * 3600, None, now, 7200)
    with pytest.raises(OptionError, match=r"^query_time: .* before the oldest data"):
        check_window(3600, now - 3601, now, 7200)
    assert (describe(86400), describe(5400), describe(61)) == ("1d", "90m", "61s")


@pytest.fixture
def short_prometheus(tmp_path: Path, settings: Any) -> Iterator[str]:
    """An empty Prometheus that keeps two hours of data."""
    with PrometheusServer(tmp_path / "tsdb", tmp_path, retention="2h") as server:
        settings.PROMETHEUS_URL = server.url
        retention._cache.clear()
        yield server.url
    retention._cache.clear()


def test_it_reads_the_retention_of_the_configured_prometheus(short_prometheus: str) -> None:
    assert retention.retention_seconds() == 7200
    page = Client().get("/?namespaces=bookinfo")
    assert page.status_code == 200
    assert b'"retentionSeconds": 7200' in page.content


def test_it_answers_400_for_a_window_beyond_retention(short_prometheus: str) -> None:
    too_long = Client().get("/api/v1/graph?namespaces=bookinfo&duration=3h")
    assert too_long.status_code == 400
    assert too_long.json()["error"].startswith("duration: 10800s is longer than Prometheus")
    past = int(time.time()) - 3 * 3600
    too_old = Client().get(f"/api/v1/graph?namespaces=bookinfo&duration=1h&query_time={past}")
    assert too_old.status_code == 400
    assert too_old.json()["error"].startswith("query_time: the window 3600s before")
    inside = Client().get(
        f"/api/v1/graph?namespaces=bookinfo&duration=10m&query_time={past + 7200}")
    assert inside.status_code == 200, inside.content


@pytest.mark.django_db(transaction=True)
async def test_it_refuses_a_live_window_beyond_retention(short_prometheus: str,
                                                         meshlens_redis: str) -> None:
    """The page read the retention first; the socket checks what is known, naming duration."""
    assert await sync_to_async(retention.retention_seconds)() == 7200
    communicator = await opened("/ws/graph?namespaces=bookinfo&duration=3h")
    message = await communicator.receive_json_from(timeout=5)
    assert message["type"] == "graph.error"
    assert message["message"].startswith("duration: 10800s is longer than Prometheus keeps")
    closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4400}
    await communicator.disconnect()
