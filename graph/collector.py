"""Python's cyclic garbage collector, kept off what lives for good.

A Meshlens process keeps, between builds, what makes the next build cheap: row plans,
layouts, health plans, JSON pieces, besides Django's own modules and settings; at 1,000
workloads well over 100,000 containers. Every full collection walks all of them and frees
nothing among them; the allocations of a request or a refresh set such collections off,
and on the API's path they cost more than the JSON does (bench/README.md).

`settle()`, called when a build's objects are dropped (graph/build.py's gc_paused), moves
the survivors into the collector's permanent generation (`gc.freeze`), which collections
skip. Frozen objects are not lost to it for good: every `THAW_EVERY` settles they are
thawed and collected once, so a cycle that became garbage while frozen waits at most that
many builds to be freed, and what lives on is frozen again.
"""

from __future__ import annotations

import gc
import threading

THAW_EVERY = 16  # settles between two full collections of what was frozen

_lock = threading.Lock()
_settles = 0


def settle() -> None:
    """Freeze what survives a build (every THAW_EVERY-th call: collect everything first)."""
    global _settles
    with _lock:
        thaw = _settles % THAW_EVERY == 0
        _settles += 1
    if thaw:
        gc.unfreeze()
        gc.collect()
    else:
        gc.collect(0)  # the build's own short-lived cycles: a walk of its survivors only
    gc.freeze()
