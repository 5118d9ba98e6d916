"""Kiali's finalizers (graph/build.py's mark_outsiders and mark_roots) on a map that a reused
Layout counted (graph/cells.py).

Which nodes they flag (isInaccessible, isOutside, isRoot) depends on the nodes' identity
fields, their initial flags (isEgressCluster), the merged map's edges, the requested
namespaces and the accessible ones: on the layout and the options, never on the values.
So the flags the finalizers set on a layout's first map, for one (namespaces, accessible
namespaces), are recorded as (md number, key) in the order they were set, and set again by
number on its later maps: the same keys, in the same order, in every md.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

from graph import memory

if TYPE_CHECKING:
    from graph.cells import CountedMap, Layout

MAX_MARKS_PER_LAYOUT = 4  # options judged per layout (one, or a few, per scope)

Marks = list[tuple[int, str]]  # (md number, flag) in the order the finalizers set them


def finalize(tm: CountedMap, key: Hashable, finalizers: Callable[[], None]) -> None:
    """Run `finalizers` on the map (the layout's first map under `key`, or a map whose
    flags are not all True), else set the flags they set then."""
    layout, mds = tm.counted.layout, tm.counted.mds
    with _lock:
        found = _marks.setdefault(layout, {}).get(key)
    if found is not None:
        for i, flag in found:
            mds[i][flag] = True
        return
    nodes = [i for _, _, i in layout.nodes]
    before = [len(mds[i]) for i in nodes]
    finalizers()
    marks: Marks = []
    for i, length in zip(nodes, before, strict=True):
        md = mds[i]
        added = list(md)[length:] if len(md) > length else ()
        if any(md[flag] is not True for flag in added):
            return  # a flag of another value: kept to the finalizers themselves
        marks += [(i, flag) for flag in added]
    with _lock:
        by_key = _marks.setdefault(layout, {})
        while len(by_key) >= MAX_MARKS_PER_LAYOUT and key not in by_key:
            del by_key[next(iter(by_key))]
        by_key[key] = marks


_marks: weakref.WeakKeyDictionary[Layout, dict[Hashable, Marks]] = \
    weakref.WeakKeyDictionary()
_lock = threading.Lock()


# Handed back from builds in a child process (graph/forked.py), in one pickle with the
# layouts (graph/memory.py kept_state).
memory.keep_locked("finalizer marks", _marks, _lock,
                   lambda: sum(len(by_key) for by_key in _marks.values()))
