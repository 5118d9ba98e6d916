"""How far back Prometheus keeps data, and whether a graph's window fits in it.

Prometheus reports its retention in /api/v1/status/runtimeinfo as `storageRetention`:
"15d", "100y", "10GiB" (a size only: no time bound known) or "15d or 10GiB".
"""

from __future__ import annotations

import re

from graph.options import OptionError

UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800,
                "y": 31536000}
# Prometheus's duration syntax: 1y2w3d4h5m6s7ms, each unit at most once, largest first.
DURATION = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")


def parse_retention(text: str | None) -> int | None:
    """Seconds of retention from `storageRetention`; None when it bounds no time.

    >>> parse_retention("15d or 10GiB")
    1296000
    >>> parse_retention("10GiB") is None
    True
    """
    for part in (text or "").split(" or "):
        match = DURATION.match(part.strip())
        if match and part.strip():
            numbers = match.groups()[1::2]
            units = ("y", "w", "d", "h", "m", "s", "ms")
            seconds = sum(int(n) * UNIT_SECONDS[u] for n, u in zip(numbers, units, strict=True)
                          if n)
            return int(seconds) or None
    return None


def check_window(duration: int, query_time: int | None, now: int,
                 retention: int | None) -> None:
    """OptionError naming the parameter when the graph's window, `duration` seconds up to
    `query_time` (None: now), reaches back beyond what Prometheus keeps."""
    if retention is None:
        return
    if duration > retention:
        raise OptionError("duration", f"{duration}s is longer than Prometheus keeps data "
                                      f"({describe(retention)})")
    end = now if query_time is None else query_time
    if end - duration < now - retention:
        raise OptionError("query_time", f"the window {duration}s before {end} starts before "
                                        f"the oldest data Prometheus keeps "
                                        f"({describe(retention)} back)")


def describe(seconds: int) -> str:
    """"15d", "6h", "90m": the largest unit that divides `seconds`."""
    for unit in ("y", "w", "d", "h", "m"):
        size = int(UNIT_SECONDS[unit])
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
