"""The responses dicts of the mds a Layout counted (graph/cells.py), made only when read.

An edge md's responses (`httpResponses`: {code: {"flags": {...}, "hosts": {...}}}) are most
of what a counted map allocates: at 1,000 workloads 23,500 dicts of a build's 36,000, and
a third of its freeing. While a Layout is reused, nothing of a build reads them from the
dicts: health is judged on the flag sums (graph/health_arrays.py) and the JSON writes the
edges' responses from the cells' sums (graph/traffic_columns.py). So a map counted by a
layout seen before leaves them out, and keeps what makes them (`Pending`); a reader
without a column path (health on dicts, the service graph's reduction, a merge of data
sources or dialects, the dict writer, the JSON of a build whose columns are not made or
whose sums hold a NaN) calls `make` first, and finds the dicts it would have found: the
same contents, at the same place among the md's keys (after its rates and initial flags,
before whatever was set since), counted from the same sums.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

_lock = threading.Lock()

# Per md: (responses key, code, flag names, host names) for each code, in fill order.
Shape = tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...]


def fill(md: dict[str, Any], shape: Shape, flag: Callable[[], float],
         host: Callable[[], float]) -> None:
    """Add one md's responses, taking each flag's and host's sum from `flag` and `host`
    in order."""
    for responses, code, flag_names, host_names in shape:
        by_code = md.get(responses)
        if by_code is None:
            by_code = md[responses] = {}
        # Mostly one flag and one host: a literal is 3 times faster.
        by_code[code] = {
            "flags": {flag_names[0]: flag()} if len(flag_names) == 1
            else {name: flag() for name in flag_names},
            "hosts": {host_names[0]: host()} if len(host_names) == 1
            else {name: host() for name in host_names}}


class Pending:
    """The responses a counted map left out of its mds: `make` puts them in, once."""

    __slots__ = ("flag_sums", "host_sums", "initial", "mds", "rate_keys", "shapes")

    def __init__(self, mds: list[dict[str, Any]], rate_keys: Sequence[tuple[str, ...]],
                 initial: Sequence[dict[str, Any] | None], shapes: Sequence[Shape | None],
                 flag_sums: np.ndarray, host_sums: np.ndarray) -> None:
        self.mds: list[dict[str, Any]] | None = mds
        self.rate_keys, self.initial, self.shapes = rate_keys, initial, shapes
        self.flag_sums, self.host_sums = flag_sums, host_sums

    def make(self) -> None:
        if self.mds is None:
            return
        # One graph may be read by two threads: the second waits for the dicts to be whole.
        with _lock:
            mds = self.mds
            if mds is not None:
                self.fill_all(mds)
                self.mds = None

    def fill_all(self, mds: list[dict[str, Any]]) -> None:
        flag = iter(self.flag_sums.tolist()).__next__
        host = iter(self.host_sums.tolist()).__next__
        for md, keys, initial, shape in zip(mds, self.rate_keys, self.initial, self.shapes,
                                            strict=True):
            if shape is None:
                continue
            # Where a map made whole has them: after the rates and the initial flags.
            at = len(keys) + (len(initial) if initial else 0)
            later = list(md.items())[at:] if len(md) > at else None
            if later:
                for key, _ in later:
                    del md[key]
            fill(md, shape, flag, host)
            if later:
                md.update(later)
