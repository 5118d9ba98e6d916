"""Giving the memory a build freed back to the operating system.

A 10,000-workload build allocates some 400 MB that is garbage once its graph is dropped.
Python's small-object allocator hands freed arenas back to C's malloc, but glibc keeps
freed pages inside its heap (below the top chunk, or in arenas of other threads) until
asked: without `malloc_trim` a worker's RSS stays near its highest build, about 100 MB
above what is live at 10,000 workloads. Trimming walks the free lists (about 25 ms at
10,000 workloads, a few at 1,000), so it runs once per build, after the build is freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import pickle
import sys
import threading
from collections.abc import Callable, MutableMapping
from typing import Any, Generic, NamedTuple, Protocol, TypeVar


def _trimmer() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where there is none (musl, macOS)."""
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


MALLOC_TRIM = _trimmer()


def give_back() -> bool:
    """Return the C heap's free pages to the system; False where that cannot be done."""
    if MALLOC_TRIM is None:
        return False
    MALLOC_TRIM(0)
    return True


class Kept(Protocol):
    """A cache kept across builds that a build in a child process (graph/forked.py) fills
    and hands back to its parent."""

    def changes(self) -> int:
        """A count that grows whenever the cache gains or drops entries."""

    def state(self) -> object:
        """What the cache holds, to be pickled."""

    def restore(self, state: object) -> None:
        """Hold `state` (from state(), unpickled) instead of what the cache holds."""


KEPT: dict[str, tuple[Kept, Callable[[], object]]] = {}


def keep(name: str, cache: Kept, empty: Callable[[], object]) -> None:
    """Hand `cache` back from builds in child processes (see graph/forked.py); `empty()`:
    the state of an empty cache."""
    KEPT[name] = (cache, empty)


def kept_changes() -> tuple[int, ...]:
    return tuple(cache.changes() for cache, _ in KEPT.values())


def kept_state() -> dict[str, object]:
    """Every kept cache's state, to be pickled in one piece: a cache's entries may refer to
    another's (layouts hold row plans), and one pickle keeps them shared."""
    return {name: cache.state() for name, (cache, _) in KEPT.items()}


def restore_kept(states: dict[str, object]) -> None:
    for name, state in states.items():
        if name in KEPT:
            KEPT[name][0].restore(state)


def drop_kept() -> None:
    """Empty every kept cache (all at once: their entries refer to each other's)."""
    for cache, empty in KEPT.values():
        cache.restore(empty())


E = TypeVar("E")


class ByScope(Generic[E]):
    """One entry per scope, oldest first, kept across builds and handed back as a whole
    (Kept): a subclass's put() says when the oldest go; the dict is replaced, never
    mutated, on restore."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_scope: dict[object, E] = {}
        self.changed = 0  # grows with every entry kept

    def changes(self) -> int:
        return self.changed

    def state(self) -> object:
        return self.by_scope

    def restore(self, state: object) -> None:
        with self.lock:
            self.by_scope = state  # type: ignore[assignment]


class KeptDicts:
    """Plain dicts kept across builds (lookup tables of made pieces), handed back together.
    A change is a change in their sizes: a dict that only replaces values is not handed
    back, and a bounded one that empties and refills to the same size neither; either way
    the parent only makes the entries again."""

    def __init__(self, *dicts: dict[Any, Any]) -> None:
        self.dicts = dicts

    def changes(self) -> int:
        return sum(len(d) for d in self.dicts)

    def state(self) -> object:
        return self.dicts

    def restore(self, state: object) -> None:
        assert isinstance(state, tuple) and len(state) == len(self.dicts)
        for kept, given in zip(self.dicts, state, strict=True):
            kept.clear()
            kept.update(given)

    def empty(self) -> tuple[dict[Any, Any], ...]:
        return tuple({} for _ in self.dicts)


def keep_dicts(name: str, *dicts: dict[Any, Any]) -> None:
    """keep() for plain dicts."""
    kept = KeptDicts(*dicts)
    keep(name, kept, kept.empty)


class LockedDict:
    """A module's dict (or WeakKeyDictionary) of what builds learnt, kept across builds
    under the module's lock: handed back as a copy, restored in place. `count()` (called
    under the lock) grows whenever the dict gains or changes an entry worth handing back."""

    def __init__(self, kept: MutableMapping[Any, Any], lock: threading.Lock,
                 count: Callable[[], int]) -> None:
        self.kept, self.lock, self.count = kept, lock, count

    def changes(self) -> int:
        with self.lock:
            return self.count()

    def state(self) -> object:
        with self.lock:
            return dict(self.kept)

    def restore(self, state: object) -> None:
        assert isinstance(state, dict)
        with self.lock:
            self.kept.clear()
            self.kept.update(state)


def keep_locked(name: str, kept: MutableMapping[Any, Any], lock: threading.Lock,
                count: Callable[[], int]) -> None:
    """keep() for a module's dict guarded by its lock (LockedDict)."""
    keep(name, LockedDict(kept, lock, count), dict)


class Packed(NamedTuple):
    """PackedDicts' state as handed back: its entries' count, and their pickle."""

    count: int
    data: bytes


class PackedDicts(KeptDicts):
    """Dicts kept across builds whose entries cost more to make again than to unpickle
    (JSON facts and edge ends: hundreds of thousands of tuples, strings and bytes), handed
    back from builds apart as one pickle that the process keeping them holds as it came,
    bytes: one object instead of hundreds of thousands, which neither it nor a child
    forked from it touches until a build reads them. That build calls unpack() first (in
    the child, or here for a build in place). `extra()` is pickled with the dicts and given
    to `unpacked(extra)` after an unpack (what the entries hold that is kept elsewhere)."""

    def __init__(self, *dicts: dict[Any, Any],
                 extra: Callable[[], object] = lambda: None,
                 unpacked: Callable[[Any], None] = lambda _: None) -> None:
        super().__init__(*dicts)
        self.lock = threading.Lock()
        self.packed: Packed | None = None
        self.extra, self.unpacked = extra, unpacked

    def changes(self) -> int:
        # Unpacking moves the entries, it does not add any: a child that only read them
        # hands nothing back.
        return (self.packed.count if self.packed is not None else 0) + super().changes()

    def state(self) -> object:
        with self.lock:
            if self.packed is not None:  # not read since it came: as it came
                return self.packed
            return Packed(super().changes(),
                          pickle.dumps((self.dicts, self.extra()), pickle.HIGHEST_PROTOCOL))

    def restore(self, state: object) -> None:
        with self.lock:
            for kept in self.dicts:
                kept.clear()
            self.packed = None
            if isinstance(state, Packed):
                self.packed = state
                return
        super().restore(state)

    def unpack(self) -> None:
        """The dicts filled from what came packed (nothing to do when they are)."""
        if self.packed is None:
            return
        with self.lock:
            if self.packed is None:  # another thread unpacked them meanwhile
                return
            dicts, extra = pickle.loads(self.packed.data)
            for kept, given in zip(self.dicts, dicts, strict=True):
                kept.update(given)
            self.packed = None
            self.unpacked(extra)


def keep_packed(name: str, *dicts: dict[Any, Any], extra: Callable[[], object] = lambda: None,
                unpacked: Callable[[Any], None] = lambda _: None) -> PackedDicts:
    """keep() for dicts handed back packed (PackedDicts)."""
    kept = PackedDicts(*dicts, extra=extra, unpacked=unpacked)
    keep(name, kept, kept.empty)
    return kept
