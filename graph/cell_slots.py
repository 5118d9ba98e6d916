"""The numbering a build's cells are made of (graph/cells.py): slots (one value of an md:
a rate, a response code, a response flag or host) and templates (a row's contributions, as
terms), numbered once for the life of the process and shared by every Layout.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

from graph import memory

# What a slot of an md is: a rate (md[key]), a response code (md[responses][code]), a
# response flag or host of a code (md[responses][code]["flags" or "hosts"][name]).
RATE, CODE, FLAG, HOST = 0, 1, 2, 3
Slot = tuple[Any, ...]  # (RATE, key) | (CODE, responses, code) | (FLAG|HOST, responses, code, name)
# One contribution of a row: (index in the row's copies, slot); slot OWN: the row's own
# slot (a slot of many values, the host of a response, say: one template serves them all).
OWN = None
Term = tuple[int, Slot | None]


class Registry:
    """Slots and templates (a row's contributions, as terms), numbered for good: there are
    as many as the mesh has distinct rate keys, codes, flags and hosts, and row plans made
    at any time, by any build, share one numbering. Kept in flat int arrays (a
    few dozen templates, and 100,000 slots: its hosts)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.slots: dict[Slot, int] = {}
        self.slot_list: list[Slot] = []
        self.names: list[str] = []  # a slot's name: its rate key, code, flag or host
        self.kinds = array("b")  # each slot's kind
        self.parents = array("l")  # a FLAG or HOST slot's CODE slot (else itself)
        self.templates: dict[Hashable, int] = {}
        self.roles = array("b")
        self.slot_ids = array("l")
        self.starts = array("l")
        self.lengths = array("l")
        self.cached: tuple[np.ndarray, ...] | None = None

    def slot(self, slot: Slot) -> int:
        number = self.slots.get(slot)
        if number is not None:
            return number
        with self.lock:
            number = self.slots.get(slot)
            if number is None:
                parent = self.slot((CODE, *slot[1:3])) if slot[0] in (FLAG, HOST) else None
                self.slot_list.append(slot)
                self.names.append(slot[-1])
                self.kinds.append(slot[0])
                self.parents.append(len(self.parents) if parent is None else parent)
                number = self.slots[slot] = len(self.slot_list) - 1
                self.cached = None
        return number

    def template(self, key: Hashable, terms: Callable[[], tuple[Term, ...]]) -> int:
        """The number of the template named `key`, whose terms `terms()` gives."""
        number = self.templates.get(key)
        if number is not None:
            return number
        with self.lock:
            number = self.templates.get(key)
            if number is None:
                made = terms()
                self.starts.append(len(self.roles))
                self.lengths.append(len(made))
                for role, slot in made:
                    self.roles.append(role)
                    self.slot_ids.append(-1 if slot is OWN else self.slot(slot))
                number = self.templates[key] = len(self.starts) - 1
                self.cached = None
        return number

    def changes(self) -> int:
        return len(self.slot_list) + len(self.starts)

    def state(self) -> object:
        """memory.Kept: row plans name slots and templates by number, so the numbering
        travels with them."""
        with self.lock:
            return {name: value for name, value in vars(self).items()
                    if name not in ("lock", "cached")}

    def restore(self, state: object) -> None:
        with self.lock:
            vars(self).update(state)  # type: ignore[call-overload]
            self.cached = None

    def arrays(self) -> tuple[np.ndarray, ...]:
        """(roles, slots, starts, lengths, parents, kinds) as numpy arrays, for the
        templates so far."""
        with self.lock:
            if self.cached is None:
                self.cached = tuple(np.array(a, np.int64) for a in (
                    self.roles, self.slot_ids, self.starts, self.lengths, self.parents,
                    self.kinds))
            return self.cached


REGISTRY = Registry()
memory.keep("slot registry", REGISTRY, lambda: Registry().state())
