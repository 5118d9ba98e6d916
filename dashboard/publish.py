"""Refreshing a live scope: build its graph once, cache it, and send it to its viewers.

Viewers get a `graph.delta` when little changed and a `graph.snapshot` otherwise; when
Prometheus fails they get `graph.error` and keep the last good graph, marked stale.
Messages are encoded to JSON once here, not once per viewer.

No graph is too big for the socket: a snapshot above INLINE_MAX_BYTES goes by reference
(`href`, fetched over HTTP, gzip-compressed), and so does a delta above it. A delta's changed
elements are patches: only the fields that changed (graph/patch.py), so that a refresh that
changes every rate of a big graph sends a fraction of it. A delta that would still be more
than DELTA_MAX_BYTES_SHARE of the graph is replaced by a snapshot. Every graph message names
the version it brings; a delta also names the version it applies to (`base`), so a browser
can tell when it missed one.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson
import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from dashboard import live
from dashboard.graphs import graph_written
from graph import patch
from graph.cytoscape_json import Written
from graph.delta import Delta, Fingerprints, WrittenDelta, diff_written, encode_written
from graph.layout import Positions
from graph.options import GraphOptions
from graph.prometheus import PrometheusError

log = logging.getLogger(__name__)

# Above this share of added or removed elements the browser re-lays out anyway, so a
# snapshot says it best. Changed elements alone never need a layout: they go as a delta.
DELTA_MAX_SHARE = 0.5
# Larger messages go by reference: daphne refuses WebSocket messages over 1 MiB, and a
# browser parses a fetched body off the socket's queue.
INLINE_MAX_BYTES = 256 * 1024
# A delta bigger than this share of its graph's JSON goes as a snapshot: it would save little.
DELTA_MAX_BYTES_SHARE = 0.75
SNAPSHOT_PATH = "/api/v1/snapshot"
DELTA_PATH = "/api/v1/delta"

SNAPSHOT, DELTA, ERROR, PROGRESS = "graph.snapshot", "graph.delta", "graph.error", "graph.progress"


def snapshot_href(scope_key: str, version: int) -> str:
    return f"{SNAPSHOT_PATH}?{scope_key}&version={version}"


def delta_href(scope_key: str, version: int) -> str:
    return f"{DELTA_PATH}?{scope_key}&version={version}"


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


def delta_message(delta: Delta, before: patch.FieldPrints, graph: dict[str, Any], total: int,
                  base: int, version: int,
                  after: patch.FieldPrints | None = None) -> bytes | None:
    """The graph.delta message (JSON) from version `base` (its fields printed as `before`) to
    `graph` (of `total` elements; printed as `after`, when known), or None when a snapshot
    says it better: many elements came or went, or a field of a changed element is not
    known."""
    if len(delta.added) + len(delta.removed) > DELTA_MAX_SHARE * max(total, 1):
        return None
    changed = []
    for element in delta.changed:
        element_id = element["data"]["id"]
        prints = before.get(element_id)
        if prints is None:
            return None
        group = element.pop("group")
        changed.append(patch.patch(prints, group, element,
                                   None if after is None else after.get(element_id)))
    return orjson.dumps({"type": DELTA, "version": version, "base": base,
                         "timestamp": graph["timestamp"], "added": delta.added,
                         "removed": delta.removed, "changed": changed})


def written_delta_message(delta: WrittenDelta, before: patch.FieldPrints, written: Written,
                          total: int, base: int, version: int,
                          after: patch.FieldPrints | None = None) -> bytes | None:
    """delta_message of a written graph: the same JSON, from its elements' pieces."""
    if len(delta.added) + len(delta.removed) > DELTA_MAX_SHARE * max(total, 1):
        return None
    changed = []
    for group, element in delta.changed:
        prints = before.get(element.id)
        if prints is None:
            return None
        changed.append(patch.patch_text(prints, group, element,
                                        None if after is None else after.get(element.id)))
    added = [b'{"group":"' + group.encode() + b'",' + element.text()[1:]
             for group, element in delta.added]
    head = orjson.dumps({"type": DELTA, "version": version, "base": base,
                         "timestamp": written.head["timestamp"]})
    return b"".join([head[:-1], b',"added":[', b",".join(added), b'],"removed":',
                     orjson.dumps(delta.removed), b',"changed":[', b",".join(changed), b"]}"])


def delta_reference(scope_key: str, base: int, version: int) -> str:
    return orjson.dumps({"type": DELTA, "version": version, "base": base,
                         "href": delta_href(scope_key, version)}).decode()


def send(scope_key: str, text: str, kind: str, version: int | None = None) -> None:
    """Publish a message to the scope's viewers. `version`: the graph version a snapshot or
    delta brings, so that a consumer drops one it already sent and a web process can tell
    that its viewers are getting them (consumers.GraphConsumer.keep_live); a graph message
    gets `sent`, the time it is published (unix seconds), for a client to measure its
    update lag by."""
    if kind in (SNAPSHOT, DELTA):
        text = f'{text[:-1]},"sent":{time.time():.3f}}}'
    event: dict[str, object] = {"type": "graph.message", "kind": kind, "text": text}
    if version is not None:
        event["version"] = version
    async_to_sync(get_channel_layer().group_send)(live.group_name(scope_key), event)


@dataclass
class Carried:
    """What a scope's next build needs of its last graph: its elements' fingerprints (for
    the delta), their fields' prints (for patches) and its nodes' positions (big graphs:
    nothing on screen moves)."""

    fingerprints: Fingerprints
    positions: Positions
    fields: patch.FieldPrints

    def stored(self) -> dict[str, Any]:
        return {"fingerprints": self.fingerprints, "positions": self.positions,
                "fields": patch.to_json(self.fields)}


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
    if stored is None or "fields" not in stored:
        return None
    return Carried(stored["fingerprints"], stored["positions"], patch.from_json(stored["fields"]))


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
        message = f"the graph could not be built: {exc}"
        # The last good graph stays, marked stale for the viewers who come meanwhile too;
        # when Redis is what failed, neither can be done.
        with contextlib.suppress(redis.RedisError):
            live.mark_stale(scope_key, message)
            send(scope_key, error_message(message), ERROR)
        raise


def refresh(scope_key: str) -> live.Cached | None:
    """Build, cache and publish one scope; return what is cached now."""
    options = GraphOptions.from_scope_key(scope_key)
    previous = live.load(scope_key)
    before = carried_from(scope_key, previous)
    try:
        written, positions = graph_written(options, before.positions if before else None)
    except PrometheusError as exc:
        log.warning("scope %s: %s", scope_key, exc)
        stale = live.mark_stale(scope_key, str(exc))
        send(scope_key, error_message(str(exc)), ERROR)
        return stale
    encoded = encode_written(written)
    # After an outage the browsers get the whole graph again, whatever changed.
    delta = None
    if previous is not None and before is not None and not previous.stale:
        delta = diff_written(before.fingerprints, written, encoded.fingerprints)
    changed = None if delta is None else {e.id for _, e in delta.changed}
    carried = Carried(encoded.fingerprints, positions,
                      patch.written_prints(written, changed, before.fields if before else None))
    cached = live.save(scope_key, encoded.body, carried.stored())
    remember(scope_key, cached.version, carried)
    text = None
    if delta is not None and previous is not None and before is not None:
        text = written_delta_message(delta, before.fields, written, len(encoded.fingerprints),
                                     previous.version, cached.version, carried.fields)
    if text is not None and len(text) > DELTA_MAX_BYTES_SHARE * len(encoded.body):
        text = None
    if text is None:
        send(scope_key, snapshot_message(scope_key, cached, encoded.body), SNAPSHOT,
             cached.version)
    elif len(text) <= INLINE_MAX_BYTES:
        send(scope_key, text.decode(), DELTA, cached.version)
    else:
        live.save_delta(scope_key, cached.version, text)
        send(scope_key, delta_reference(scope_key, previous_version(previous), cached.version),
             DELTA, cached.version)
    return cached


def previous_version(previous: live.Cached | None) -> int:
    return 0 if previous is None else previous.version
