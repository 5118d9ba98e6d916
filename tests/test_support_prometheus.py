"""The test support itself: backfilled counters give Prometheus exactly the configured rates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.prometheus import (
    PrometheusPool,
    counter_values,
    openmetrics_text,
    sample_times,
    write_openmetrics,
)

QUERY_TIME = 1523364075
KIALI_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "kiali-fixtures"

TRICKY = 'say "hi"\\ then\nnewline'

SERIES: list[dict[str, Any]] = [
    {"metric": "req_total", "labels": {"app": "a", "code": "200"}, "rate": 2.5},
    {"metric": "bytes_total", "labels": {"app": "a"}, "rate": 100.0},
    {"metric": "req_total", "labels": {"app": "b", "code": "503"}, "rate": 0.3},
    {"metric": "req_total", "labels": {"app": "c", "note": TRICKY}, "rate": 1.0},
    {"metric": "req_total", "labels": {"app": "idle", "empty": ""}, "rate": 0.0},
]

PIECEWISE: list[dict[str, Any]] = [
    # busy until half an hour ago, idle since
    {
        "metric": "req_total",
        "labels": {"app": "gone"},
        "rate": 5,
        "rates": [[QUERY_TIME - 1800, 0]],
    },
    # a step up exactly at the start of the last 10 minutes
    {"metric": "req_total", "labels": {"app": "up"}, "rate": 1, "rates": [[QUERY_TIME - 600, 3]]},
]


def rate_at(prometheus: Any, selector: str, time: int, window: str = "600s") -> float:
    result = prometheus.query(f"rate({selector}[{window}])", time)
    assert len(result) == 1, result
    return float(result[0]["value"][1])


def test_it_samples_every_15s_from_2h_before_to_10m_after() -> None:
    times = list(sample_times(QUERY_TIME))
    assert (times[0], times[-1], len(times)) == (QUERY_TIME - 7200, QUERY_TIME + 600, 521)
    assert QUERY_TIME in times


def test_it_writes_one_group_per_metric_with_escaped_labels(tmp_path: Path) -> None:
    path = write_openmetrics(SERIES, QUERY_TIME, tmp_path / "series.txt")
    lines = path.read_text().splitlines()

    assert lines[-1] == "# EOF"
    names = [line.split("{")[0] for line in lines[:-1]]
    assert names == ["req_total"] * (4 * 521) + ["bytes_total"] * 521
    assert 'note="say \\"hi\\"\\\\ then\\nnewline"' in lines[2 * 521]
    assert lines[4 * 521 - 1].startswith('req_total{app="idle"} 0.0 ')  # empty label dropped
    assert lines[0] == f'req_total{{app="a",code="200"}} 0.0 {QUERY_TIME - 7200}'
    assert lines[520] == f'req_total{{app="a",code="200"}} 19500.0 {QUERY_TIME + 600}'


def test_it_keeps_a_piecewise_counter_continuous() -> None:
    times = [QUERY_TIME - 7200, QUERY_TIME - 1800, QUERY_TIME - 900, QUERY_TIME]
    assert counter_values(PIECEWISE[0], times) == [0.0, 27000.0, 27000.0, 27000.0]
    assert counter_values(PIECEWISE[1], times) == [0.0, 5400.0, 6300.0, 8400.0]


def test_it_refuses_bad_names_and_duplicates() -> None:
    with pytest.raises(ValueError, match="label name"):
        openmetrics_text([{"metric": "m", "labels": {"bad-name": "x"}, "rate": 1}], QUERY_TIME)
    with pytest.raises(ValueError, match="metric name"):
        openmetrics_text([{"metric": "1m", "labels": {}, "rate": 1}], QUERY_TIME)
    with pytest.raises(ValueError, match="duplicate"):
        openmetrics_text([{"metric": "m", "rate": 1}, {"metric": "m", "rate": 2}], QUERY_TIME)


def test_it_gives_rate_exactly_at_query_time(prometheus_with: PrometheusPool) -> None:
    prometheus = prometheus_with(SERIES, QUERY_TIME)

    assert rate_at(prometheus, 'req_total{app="a"}', QUERY_TIME) == 2.5
    assert rate_at(prometheus, "bytes_total", QUERY_TIME) == 100.0
    assert rate_at(prometheus, 'req_total{app="b"}', QUERY_TIME) == pytest.approx(0.3, rel=1e-12)
    assert rate_at(prometheus, 'req_total{app="idle"}', QUERY_TIME) == 0.0
    assert rate_at(prometheus, 'req_total{app="a"}', QUERY_TIME, "60s") == 2.5


def test_it_round_trips_escaped_label_values(prometheus_with: PrometheusPool) -> None:
    prometheus = prometheus_with(SERIES, QUERY_TIME)

    [sample] = prometheus.query('req_total{app="c"}', QUERY_TIME)
    assert sample["metric"]["note"] == TRICKY
    [idle] = prometheus.query('req_total{app="idle"}', QUERY_TIME)
    assert "empty" not in idle["metric"]


def test_it_serves_piecewise_rates(prometheus_with: PrometheusPool) -> None:
    prometheus = prometheus_with(PIECEWISE, QUERY_TIME)

    assert rate_at(prometheus, 'req_total{app="gone"}', QUERY_TIME) == 0.0
    assert rate_at(prometheus, 'req_total{app="gone"}', QUERY_TIME - 3600) == 5.0
    assert rate_at(prometheus, 'req_total{app="up"}', QUERY_TIME) == 3.0
    assert rate_at(prometheus, 'req_total{app="up"}', QUERY_TIME - 600) == 1.0
    [resets] = prometheus.query("sum(resets(req_total[2h]))", QUERY_TIME)
    assert resets["value"][1] == "0"


def test_it_shares_one_server_per_data_set(prometheus_with: PrometheusPool) -> None:
    shared = prometheus_with(SERIES, QUERY_TIME)
    again = prometheus_with([dict(item, mocked_by=["q0#0"]) for item in SERIES], QUERY_TIME)
    private = prometheus_with(SERIES, QUERY_TIME, shared=False)

    assert again is shared
    assert private is not shared and private.url != shared.url
    assert prometheus_with.tsdb(SERIES, QUERY_TIME) == prometheus_with.tsdb(SERIES, QUERY_TIME)
    private.stop()
    assert shared.ready() and not private.ready()


@pytest.mark.skipif(not KIALI_FIXTURES.is_dir(), reason=f"no Kiali fixtures at {KIALI_FIXTURES}")
def test_it_reproduces_kialis_mocked_vectors(prometheus_with: PrometheusPool) -> None:
    """All 15 mocked queries of TestWorkloadGraph, evaluated by a real Prometheus."""
    fixture = KIALI_FIXTURES / "test_workload_graph"
    series = json.loads((fixture / "series.json").read_text())
    queries = json.loads((fixture / "queries.json").read_text())
    prometheus = prometheus_with(series, QUERY_TIME)

    for entry in queries:
        got = {
            frozenset(s["metric"].items()): float(s["value"][1])
            for s in prometheus.query(entry["query"], entry["eval_time"])
        }
        want = {
            frozenset((k, v) for k, v in s["metric"].items() if v != ""): float(s["value"])
            for s in entry["mocked_result"]
        }
        assert got.keys() == want.keys(), entry["query"]
        for labels, value in want.items():
            assert got[labels] == pytest.approx(value, abs=1e-3), entry["query"]
