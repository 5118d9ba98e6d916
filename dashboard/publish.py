"""Refreshing a live scope: build its graph once, cache it, and send it to its viewers.

Viewers get a `graph.delta` when little changed and a `graph.snapshot` otherwise; when
Prometheus fails they get `graph.error` and keep the last good graph, marked stale.
Messages are encoded to JSON once here, not once per viewer.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from dashboard import live
from dashboard.graphs import graph_payload
from graph.delta import diff_elements
from graph.options import GraphOptions
from graph.prometheus import PrometheusError

log = logging.getLogger(__name__)

# Above this share of added or removed elements the browser re-lays out anyway, so a
# snapshot says it best. Changed elements alone never need a layout: they go as a delta.
DELTA_MAX_SHARE = 0.5


def snapshot_message(graph: dict[str, Any]) -> str:
    return orjson.dumps({"type": "graph.snapshot", "graph": graph}).decode()


def error_message(message: str, stale: bool = True) -> str:
    """`stale`: the last graph stays on screen; False for an error that has no graph (bad
    parameters, no sign-in)."""
    return orjson.dumps({"type": "graph.error", "message": message, "stale": stale}).decode()


def update_message(old: dict[str, Any] | None, new: dict[str, Any]) -> str:
    """A delta from old to new when that is small, else a snapshot."""
    if old is None:
        return snapshot_message(new)
    delta = diff_elements(old["elements"], new["elements"])
    total = len(new["elements"]["nodes"]) + len(new["elements"]["edges"])
    moved = len(delta.added) + len(delta.removed)
    if moved > DELTA_MAX_SHARE * max(total, 1) or old["graphType"] != new["graphType"]:
        return snapshot_message(new)
    return orjson.dumps({"type": "graph.delta", "timestamp": new["timestamp"],
                         "added": delta.added, "removed": delta.removed,
                         "changed": delta.changed}).decode()


def send(scope_key: str, text: str) -> None:
    layer = get_channel_layer()
    async_to_sync(layer.group_send)(live.group_name(scope_key),
                                    {"type": "graph.message", "text": text})


def refresh(scope_key: str) -> live.CachedGraph | None:
    """Build, cache and publish one scope; return what is cached now."""
    options = GraphOptions.from_scope_key(scope_key)
    previous = live.load(scope_key)
    try:
        graph = graph_payload(options, previous.graph if previous else None)
    except PrometheusError as exc:
        log.warning("scope %s: %s", scope_key, exc)
        if previous is not None:
            previous.stale, previous.error = True, str(exc)
            live.save(scope_key, previous)
        send(scope_key, error_message(str(exc)))
        return previous
    was_stale = previous is not None and previous.stale
    text = (snapshot_message(graph) if was_stale
            else update_message(previous.graph if previous else None, graph))
    cached = live.CachedGraph(graph=graph, updated=time.time())
    live.save(scope_key, cached)
    send(scope_key, text)
    return cached
