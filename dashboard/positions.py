"""Where the nodes of a scope's last big graph were (graph/layout.py), so that its next
build moves nothing already on screen.

The worker that published the last graph remembers its positions; another process (the
web process built the first graph of a cold scope, or the worker restarted) reads them
once from the cached graph in Redis.
"""

from __future__ import annotations

import gzip
from typing import Any

import orjson

from dashboard import live
from graph.layout import Positions, positions_of

LAST: dict[str, tuple[int, Positions]] = {}
LAST_MAX = 16


def before(scope_key: str, cached: live.Cached | None) -> Positions | None:
    """The positions of version `cached.version` of the scope's graph, if it has any."""
    if cached is None:
        return None
    kept = LAST.get(scope_key)
    if kept is not None and kept[0] == cached.version:
        return kept[1]
    compressed = live.load_body(scope_key, cached.version)
    if compressed is None:
        return None
    return positions_of(orjson.loads(gzip.decompress(compressed))["elements"])


def remember(scope_key: str, version: int, graph: dict[str, Any]) -> None:
    LAST.pop(scope_key, None)
    while len(LAST) >= LAST_MAX:
        LAST.pop(next(iter(LAST)))
    LAST[scope_key] = (version, positions_of(graph["elements"]))
