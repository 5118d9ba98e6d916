"""Prometheus's retention, read once and kept: the page offers only the durations that fit,
and the API refuses a window that reaches back beyond it."""

from __future__ import annotations

import time

import requests

from dashboard.graphs import prometheus
from graph.retention import check_window, parse_retention

# Retention changes only when Prometheus restarts with other flags: ask again now and then.
KEEP_SECONDS = 600
_cache: dict[str, tuple[float, int | None]] = {}


def retention_seconds() -> int | None:
    """Seconds of data Prometheus keeps; None when unknown (not readable, or a size bound
    only). A failed read is kept for a minute only."""
    prom = prometheus(timeout=2.0)
    url = prom.settings.url
    kept = _cache.get(url)
    if kept is not None and kept[0] > time.monotonic():
        return kept[1]
    try:
        response = prom.session.get(f"{url}/api/v1/status/runtimeinfo", headers=prom.headers,
                                    timeout=prom.settings.timeout)
        response.raise_for_status()
        retention = parse_retention(response.json()["data"].get("storageRetention"))
        keep = KEEP_SECONDS
    except (requests.RequestException, ValueError, KeyError, TypeError):
        retention, keep = None, 60
    _cache[url] = (time.monotonic() + keep, retention)
    return retention


def known_retention() -> int | None:
    """The retention read before, without asking Prometheus (None: not known yet)."""
    kept = _cache.get(prometheus().settings.url)
    return None if kept is None else kept[1]


def check(duration: int, query_time: int | None, ask: bool = True) -> None:
    """OptionError when the window is beyond Prometheus's retention. Without `ask`, only a
    retention already known counts (the WebSocket does not wait on Prometheus to accept a
    viewer: the page that opens it has read the retention)."""
    known = retention_seconds() if ask else known_retention()
    check_window(duration, query_time, int(time.time()), known)
