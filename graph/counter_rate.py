"""PromQL's `rate(metric[W])` and `sum by (key)` computed from raw samples, with the same
floats Prometheus 2.42 gives: for remote read (graph/remote_read.py), where Prometheus
hands over the stored samples and computes nothing.

The rule is Prometheus's extrapolatedRate (promql/functions.go), per series, over the
samples with T - W <= t <= T (2.42's range is closed at both ends), stale markers left
out as its range selection leaves them out:

    result = last - first, plus each value before a drop (a counter reset), in order
    to_start, to_end = (first_t - (T - W)) / 1000, (T - last_t) / 1000
    interval = (last_t - first_t) / 1000; average = interval / (n - 1)
    if result > 0 and first >= 0: to_start = min(to_start, interval * (first / result))
    extrapolated = interval + (to_start if to_start < 1.1 * average else average / 2)
                            + (to_end if to_end < 1.1 * average else average / 2)
    rate = result * (extrapolated / interval / W)

A series with fewer than two samples has no rate (PromQL drops it). Every operation is
written in the order Go evaluates it, so each IEEE rounding is the same.

Later Prometheus changed two things (WindowRule, by the server's version): 3.0 made the
range left-open, T - W < t <= T; and newer engines apply the threshold to the start
before the zero floor instead of after it (`threshold_first`: to_start becomes
average / 2 when past the threshold, then min(to_start, to_zero)), which differs for a
counter that starts near 0 inside the window.

    rates, present = window_rates(offsets, times, values, at_ms=T, range_ms=W)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Prometheus's stale marker: a NaN with this exact bit pattern (pkg/value.StaleNaN).
STALE_NAN_BITS = 0x7FF0000000000002
# How far past the average interval a first or last sample may be and still be
# extrapolated to the window's end (extrapolatedRate's threshold).
EXTRAPOLATION_THRESHOLD = 1.1


@dataclass(frozen=True)
class WindowRule:
    """How a Prometheus version selects a range and extrapolates a rate."""

    left_open: bool  # T - W < t <= T (3.0 on), else T - W <= t <= T
    threshold_first: bool  # the start's threshold before the zero floor (newer engines)


CLOSED_2_42 = WindowRule(left_open=False, threshold_first=False)
# The first version with the threshold applied before the zero floor (Prometheus's fix of
# the limiting of extrapolation to negative values): read from the engine's source, not
# tested against that release (the Debian package here is 2.42).
THRESHOLD_FIRST_SINCE = (2, 52)
VERSION = re.compile(r"v?(\d+)\.(\d+)")


def rule_for_version(version: str) -> WindowRule | None:
    """The rule of a Prometheus version string ("2.42.0", "3.1.0+stringlabels", ...);
    None for one this module does not know (not 2.x or 3.x, or not a version)."""
    found = VERSION.match(version.strip())
    if found is None:
        return None
    major, minor = int(found.group(1)), int(found.group(2))
    if major not in (2, 3):
        return None
    return WindowRule(left_open=major >= 3,
                      threshold_first=(major, minor) >= THRESHOLD_FIRST_SINCE)


Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


def without_stale(offsets: Ints, times: Ints, values: Floats) -> tuple[Ints, Ints, Floats]:
    """The samples without stale markers (a series ended, a target gone): the range
    selection skips them, so they count neither as samples nor as values."""
    keep = values.view(np.uint64) != STALE_NAN_BITS
    if keep.all():
        return offsets, times, values
    kept_before = np.zeros(len(keep) + 1, dtype=np.int64)
    np.cumsum(keep, out=kept_before[1:])
    return kept_before[offsets], times[keep], values[keep]


def counter_increase(offsets: Ints, values: Floats, present: Bools) -> Floats:
    """last - first per series, plus the value before every drop, added in sample order
    (extrapolatedRate's loop): resets are rare, so a series with two or more of them is
    added up one by one."""
    firsts, lasts = offsets[:-1], offsets[1:] - 1
    result = np.zeros(len(present), dtype=np.float64)
    result[present] = values[lasts[present]] - values[firsts[present]]
    if len(values) < 2:
        return result
    drops = np.flatnonzero(values[1:] < values[:-1]) + 1
    starts = np.zeros(len(values), dtype=np.bool_)
    starts[offsets[:-1][offsets[:-1] < len(values)]] = True
    drops = drops[~starts[drops]]  # a drop from the previous series' last value is none
    if not len(drops):
        return result
    series = np.searchsorted(offsets, drops, side="right") - 1
    counts = np.bincount(series, minlength=len(present))
    once = counts[series] == 1
    result[series[once]] += values[drops[once] - 1]
    for index in np.flatnonzero(counts > 1):
        value = float(result[index])
        for drop in drops[series == index]:
            value += float(values[drop - 1])
        result[index] = value
    return result


def window_rates(offsets: Ints, times: Ints, values: Floats, *, at_ms: int,
                 range_ms: int, threshold_first: bool = False) -> tuple[Floats, Bools]:
    """`rate(metric[range])` at `at_ms` for each series (samples of series i at
    offsets[i]:offsets[i + 1], already limited to the window, in time order): the rates,
    and which series have one (two samples or more). `threshold_first`: WindowRule's."""
    offsets, times, values = without_stale(offsets, times, values)
    counts = np.diff(offsets)
    present = counts >= 2
    result = counter_increase(offsets, values, present)
    firsts, lasts = offsets[:-1][present], offsets[1:][present] - 1
    result = result[present]
    first_value = values[firsts]
    to_start = (times[firsts] - (at_ms - range_ms)).astype(np.float64) / 1000
    to_end = (at_ms - times[lasts]).astype(np.float64) / 1000
    interval = (times[lasts] - times[firsts]).astype(np.float64) / 1000
    average = interval / (counts[present] - 1).astype(np.float64)
    threshold = average * EXTRAPOLATION_THRESHOLD
    if threshold_first:
        to_start = np.where(to_start < threshold, to_start, average / 2)
    # Counters cannot go below zero: extrapolate no further back than where this one
    # would have been 0.
    to_zero = interval * (first_value / np.where(result > 0, result, 1.0))
    floor = (result > 0) & (first_value >= 0) & (to_zero < to_start)
    to_start = np.where(floor, to_zero, to_start)
    if not threshold_first:
        to_start = np.where(to_start < threshold, to_start, average / 2)
    extrapolated = interval + to_start
    extrapolated = extrapolated + np.where(to_end < threshold, to_end, average / 2)
    factor = extrapolated / interval
    factor /= range_seconds(range_ms)
    rates = np.zeros(len(present), dtype=np.float64)
    rates[present] = result * factor
    return rates, present


def range_seconds(range_ms: int) -> float:
    """The range in seconds as Go's Duration.Seconds() gives it (whole seconds plus the
    nanoseconds / 1e9)."""
    return float(range_ms // 1000) + float((range_ms % 1000) * 1_000_000) / 1e9


def sums_by(groups: Ints, rates: Floats, count: int) -> Floats:
    """`sum by (key)` of rates, rates[i] into group groups[i] (0..count-1), added in
    order, the first value as it is (PromQL's aggregation starts a group at its first
    value and `+=` the others; bincount adds to 0.0 in input order, which gives the same
    floats)."""
    return np.bincount(groups, weights=rates, minlength=count)
