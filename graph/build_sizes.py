"""How big each scope's last graph was: what a process that builds knows of a build before
it starts, to choose where it runs.

A build in a child forked for it (graph/forked.py) keeps its memory out of the process that
lives on, which matters for a big scope (at 10,000 workloads a build's peak is some 900 MB);
for a small one the fork, the child's copied pages and its exit cost more than the memory
saved (at 1,000 workloads about 70 ms of a 0.27 s answer, and the child holds 167 MB, most of
it shared). The size of a scope's graph changes little from one build to the next, so the
last build's edge count says which kind of build the next one is. A scope never built here
counts as big: its first build runs apart.

    record("namespaces=ns1&graph_type=workload&...", edges=7468)
    builds_apart("namespaces=ns1&graph_type=workload&...", above=10_000)  # False

A build in a child records its size there; the sizes are kept like graph/memory.py's other
caches, handed back to the parent, but only when a scope is new or its size moved by more
than a quarter: handing back is a pickle of every kept cache (at 10,000 workloads 160 MB).
"""

from __future__ import annotations

import threading

from graph import memory

# Scopes remembered, the least recently built dropped first: a process builds for the scopes
# being watched and the API's requests, a few dozen.
MAX_SCOPES = 1000
# A size that moved by more than this share since it was last handed back is handed back.
MOVED = 0.25

SIZES: dict[str, int] = {}  # scope key -> edges of its last graph, oldest first
_lock = threading.Lock()
# Grows when a scope's size is worth handing back from a child: a child compares with the
# size its parent had (what it was forked with), so a size creeping by a little on every
# build is handed back once it has moved by MOVED in all.
_changes = [0]


def record(scope: str, edges: int) -> None:
    """A graph of `scope` with `edges` edges was just built."""
    with _lock:
        last = SIZES.pop(scope, None)
        if last is None or abs(edges - last) > MOVED * max(last, 1):
            _changes[0] += 1
        SIZES[scope] = edges
        while len(SIZES) > MAX_SCOPES:
            del SIZES[next(iter(SIZES))]


def last_edges(scope: str) -> int | None:
    """The edge count of `scope`'s last graph built here (or by a child of this process);
    None when there is none."""
    with _lock:
        return SIZES.get(scope)


def builds_apart(scope: str | None, above: int) -> bool:
    """Whether a build of `scope` is a big one, to run apart: its last graph had more than
    `above` edges, or none is known (`scope` None: a build that names none)."""
    edges = None if scope is None else last_edges(scope)
    return edges is None or edges > above


memory.keep_locked("build sizes", SIZES, _lock, lambda: _changes[0])
