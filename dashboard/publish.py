"""Refreshing a live scope: build its graph once, cache it, and send it to its viewers.

Viewers get a `graph.delta` when little changed and a `graph.snapshot` otherwise; when
Prometheus fails they get `graph.error` and keep the last good graph, marked stale.
Messages are encoded to JSON once here, not once per viewer.

No graph is too big for the socket: a snapshot above INLINE_MAX_BYTES goes by reference
(`href`, fetched over HTTP, gzip-compressed), and a delta above it is replaced by such a
snapshot. Every graph message names the version it brings; a delta also names the version
it applies to (`base`), so a browser can tell when it missed one.
"""

from __future__ import annotations

import gzip
import logging
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from dashboard import live
from dashboard.graphs import graph_payload
from graph.delta import Encoded, Fingerprints, diff_fingerprints, encode_graph, encoded_size
from graph.layout import Positions, positions_of
from graph.options import GraphOptions
from graph.prometheus import PrometheusError

log = logging.getLogger(__name__)

# Above this share of added or removed elements the browser re-lays out anyway, so a
# snapshot says it best. Changed elements alone never need a layout: they go as a delta.
DELTA_MAX_SHARE = 0.5
# Larger messages go by reference: daphne refuses WebSocket messages over 1 MiB, and a
# browser parses a fetched body off the socket's queue.
INLINE_MAX_BYTES = 256 * 1024
SNAPSHOT_PATH = "/api/v1/snapshot"

SNAPSHOT, DELTA, ERROR, PROGRESS = "graph.snapshot", "graph.delta", "graph.error", "graph.progress"


def snapshot_href(scope_key: str, version: int) -> str:
    return f"{SNAPSHOT_PATH}?{scope_key}&version={version}"


def snapshot_message(scope_key: str, cached: live.Cached, body: bytes | None = None) -> str:
    """The snapshot of version `cached.version`: inline when `body` (its JSON) is given and
    small, else by reference."""
    if body is not None and len(body) <= INLINE_MAX_BYTES:
        head = orjson.dumps({"type": SNAPSHOT, "version": cached.version})
        return (head[:-1] + b',"graph":' + body + b"}").decode()
    return orjson.dumps({"type": SNAPSHOT, "version": cached.version,
                         "href": snapshot_href(scope_key, cached.version)}).decode()


def cached_snapshot_message(scope_key: str, cached: live.Cached) -> str:
    """A snapshot message for what is cached: small graphs are read and sent inline."""
    body = None
    if cached.size <= INLINE_MAX_BYTES:
        compressed = live.load_body(scope_key, cached.version)
        body = gzip.decompress(compressed) if compressed is not None else None
    return snapshot_message(scope_key, cached, body)


def error_message(message: str, stale: bool = True) -> str:
    """`stale`: the last graph stays on screen; False for an error that has no graph (bad
    parameters, no sign-in)."""
    return orjson.dumps({"type": ERROR, "message": message, "stale": stale}).decode()


def progress_message(message: str, elapsed_s: float) -> str:
    return orjson.dumps({"type": PROGRESS, "message": message,
                         "elapsed": round(elapsed_s, 1)}).decode()


def delta_message(before: Fingerprints, graph: dict[str, Any], encoded: Encoded, base: int,
                  version: int) -> str | None:
    """A delta from version `base` (fingerprinted as `before`) to `graph`, or None when a
    snapshot says it better: many elements came or went, or the delta is big."""
    delta = diff_fingerprints(before, graph, encoded.fingerprints)
    total = len(encoded.fingerprints)
    if len(delta.added) + len(delta.removed) > DELTA_MAX_SHARE * max(total, 1):
        return None
    # Known too big from the elements' own sizes: at 10,000 workloads every element changes
    # each tick, and encoding tens of megabytes to throw them away cost a tick's time.
    sent = sum(encoded_size(encoded.fingerprints[e["data"]["id"]])
               for e in (*delta.added, *delta.changed))
    if sent > INLINE_MAX_BYTES:
        return None
    text = orjson.dumps({"type": DELTA, "version": version, "base": base,
                         "timestamp": graph["timestamp"], "added": delta.added,
                         "removed": delta.removed, "changed": delta.changed})
    return text.decode() if len(text) <= INLINE_MAX_BYTES else None


def send(scope_key: str, text: str, kind: str) -> None:
    layer = get_channel_layer()
    async_to_sync(layer.group_send)(live.group_name(scope_key),
                                    {"type": "graph.message", "kind": kind, "text": text})


@dataclass
class Carried:
    """What a scope's next build needs of its last graph: its elements' fingerprints (for
    the delta) and its nodes' positions (big graphs: nothing on screen moves)."""

    fingerprints: Fingerprints
    positions: Positions


# What this process's last refresh of each scope carried on, so that the next need not read
# it back from Redis. Bounded: a worker serves many scopes.
LAST: dict[str, tuple[int, Carried]] = {}
LAST_MAX = 16


def carried_from(scope_key: str, cached: live.Cached | None) -> Carried | None:
    if cached is None:
        return None
    kept = LAST.get(scope_key)
    if kept is not None and kept[0] == cached.version:
        return kept[1]
    stored = live.load_carried(scope_key, cached.version)
    return None if stored is None else Carried(stored["fingerprints"], stored["positions"])


def remember(scope_key: str, version: int, carried: Carried) -> None:
    LAST.pop(scope_key, None)
    while len(LAST) >= LAST_MAX:
        LAST.pop(next(iter(LAST)))
    LAST[scope_key] = (version, carried)


def refresh_and_report(scope_key: str) -> None:
    """refresh(), and whatever fails on the way, the scope's viewers hear of it: a viewer of
    a cold scope must not wait for a graph that will not come."""
    try:
        refresh(scope_key)
    except Exception as exc:
        log.exception("scope %s: the build failed", scope_key)
        send(scope_key, error_message(f"the graph could not be built: {exc}"), ERROR)
        raise


def refresh(scope_key: str) -> live.Cached | None:
    """Build, cache and publish one scope; return what is cached now."""
    options = GraphOptions.from_scope_key(scope_key)
    previous = live.load(scope_key)
    before = carried_from(scope_key, previous)
    try:
        graph = graph_payload(options, before.positions if before else None)
    except PrometheusError as exc:
        log.warning("scope %s: %s", scope_key, exc)
        stale = live.mark_stale(scope_key, str(exc))
        send(scope_key, error_message(str(exc)), ERROR)
        return stale
    encoded = encode_graph(graph)
    carried = Carried(encoded.fingerprints, positions_of(graph["elements"]))
    cached = live.save(scope_key, encoded.body, asdict(carried))
    text = None
    # After an outage the browsers get the whole graph again, whatever changed.
    if previous is not None and before is not None and not previous.stale:
        text = delta_message(before.fingerprints, graph, encoded, previous.version,
                             cached.version)
    remember(scope_key, cached.version, carried)
    if text is not None:
        send(scope_key, text, DELTA)
    else:
        send(scope_key, snapshot_message(scope_key, cached, encoded.body), SNAPSHOT)
    return cached
