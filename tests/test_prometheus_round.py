"""Rounding on reading (Query.round_to) gives bit for bit what PromQL's round(v, 0.001) gave.

Traffic queries no longer ask Prometheus to round; Meshlens rounds the rows it reads with
Prometheus's own formula. Each value is checked against a real Prometheus: the ties at
half a thousandth (where a formula that differs in one float step rounds the other way),
rates as a 60 s window makes them, negatives, huge and tiny values, NaN and infinities.
"""

from __future__ import annotations

import math
import random
import struct

import pytest

from graph.prometheus import Prometheus, PrometheusSettings, Query, prometheus_round
from tests.support.prometheus import PrometheusPool

QUERY_TIME = 1700000000
ROUND_TO = 0.001


def values() -> list[float]:
    rng = random.Random(7)
    ties = [(k + 0.5) / 1000 for k in range(0, 40)] + [(k + 0.5) / 1000 for k in (
        125, 999, 1000, 12345, 999999)]
    rates = [k / 60 for k in range(1, 60)] + [k / 240 for k in range(1, 40)] + [
        k / 8000 for k in range(1, 40)]
    odd = [0.0, -0.0, 0.0004999999, 0.0005, -0.0005, -0.0125, -1.2345, 1e-12, 123456.7895,
           2.0 ** 53, 1e300, 5e-324, 0.1 + 0.2]
    spread = [rng.uniform(0, 50) for _ in range(60)] + [rng.uniform(0, 0.01) for _ in range(40)]
    return ties + rates + odd + spread


def bits(value: float) -> bytes:
    return struct.pack("<d", value)


@pytest.fixture(scope="module")
def prom(prometheus_with: PrometheusPool) -> Prometheus:
    server = prometheus_with([{"metric": "up_total", "labels": {"a": "b"}, "rate": 1.0}],
                             QUERY_TIME)
    return Prometheus(PrometheusSettings(url=server.url))


def literal(value: float) -> str:
    """A PromQL number literal that parses to exactly `value` (repr round-trips)."""
    return repr(value)


def test_it_rounds_every_value_as_prometheus_does(prom: Prometheus) -> None:
    checked = 0
    for value in values():
        [(_, by_prometheus)] = prom.query(
            Query(f"round(vector({literal(value)}), {ROUND_TO})", ()), QUERY_TIME)
        [(_, by_reading)] = prom.query(
            Query(f"vector({literal(value)})", (), round_to=ROUND_TO), QUERY_TIME)
        assert bits(by_reading) == bits(by_prometheus), value
        assert bits(prometheus_round(value, ROUND_TO)) == bits(by_prometheus), value
        checked += 1
    assert checked > 250


@pytest.mark.parametrize("special", ["NaN", "+Inf", "-Inf"])
def test_it_leaves_nan_and_infinities_as_prometheus_does(prom: Prometheus,
                                                         special: str) -> None:
    [(_, by_prometheus)] = prom.query(Query(f"round(vector({special}), {ROUND_TO})", ()),
                                      QUERY_TIME)
    [(_, by_reading)] = prom.query(Query(f"vector({special})", (), round_to=ROUND_TO),
                                   QUERY_TIME)
    if math.isnan(by_prometheus):
        assert math.isnan(by_reading)
    else:
        assert by_reading == by_prometheus


def test_it_keeps_values_as_sent_without_round_to(prom: Prometheus) -> None:
    [(_, value)] = prom.query(Query("vector(0.0125)", ()), QUERY_TIME)
    assert value == 0.0125
