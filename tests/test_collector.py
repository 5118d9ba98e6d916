"""What survives a build is frozen out of later collections, and still freed in the end."""

from __future__ import annotations

import gc
import weakref

from graph import collector
from graph.build import gc_paused


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_it_freezes_what_survives_a_build() -> None:
    kept = [Cycle() for _ in range(1000)]
    with gc_paused():
        kept += [Cycle() for _ in range(1000)]
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_count()[0] < len(kept)  # the next collection has not these to walk


def test_it_frees_a_cycle_that_was_frozen_within_thaw_every_builds() -> None:
    """A cycle alive when a build ends, dropped after: a later build's thaw frees it."""
    cycle = Cycle()
    freed = weakref.ref(cycle)
    collector.settle()
    del cycle
    for _ in range(collector.THAW_EVERY):
        with gc_paused():
            pass
    assert freed() is None


def test_it_frees_the_cycles_a_build_dropped() -> None:
    with gc_paused():
        cycle = Cycle()
        freed = weakref.ref(cycle)
        del cycle
    assert freed() is None
