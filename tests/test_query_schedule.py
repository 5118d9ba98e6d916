"""The order a batch's queries go to Prometheus: the heaviest (Query.weight) first, so that
no big query waits for a connection behind small ones and comes back last, alone.

The fault tests' stand-in (tests/support/standin.py), in front of a real Prometheus,
records the queries in the order they reach it; with one query in flight at a time, that
is the order they were sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from graph.build import plan
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import MAX_PARALLEL, Prometheus, PrometheusSettings, Query
from graph.sources.istio import queries as istio
from tests import mesh
from tests.support.prometheus import PrometheusPool
from tests.support.standin import REMOTE_READ, StandIn

QUERY_TIME = 1700000000


@pytest.fixture(scope="module")
def recorder(prometheus_with: PrometheusPool) -> Iterator[StandIn]:
    with StandIn(prometheus_with(mesh.bookinfo(), QUERY_TIME).url) as server:
        yield server


@pytest.fixture
def sent(recorder: StandIn) -> list[str]:
    recorder.arrivals.clear()
    return recorder.arrivals


@pytest.fixture(scope="module")
def prom(recorder: StandIn) -> Prometheus:
    # PromQL only: the order of the queries' texts (remote reads: see below).
    return Prometheus(PrometheusSettings(url=recorder.url, remote_read="off"), max_parallel=1)


def test_it_sends_the_heaviest_query_first(prom: Prometheus, sent: list[str]) -> None:
    batch = [Query("vector(1)", ()), Query("vector(2)", (), weight=40),
             Query("vector(3)", (), weight=4)]
    list(prom.query_each(batch, QUERY_TIME))
    assert sent == ["vector(2)", "vector(3)", "vector(1)"]


def test_it_keeps_batch_order_among_equal_weights(prom: Prometheus, sent: list[str]) -> None:
    list(prom.query_each([Query(f"vector({n})", ()) for n in range(4)], QUERY_TIME))
    assert sent == [f"vector({n})" for n in range(4)]


def test_it_gives_each_answer_its_own_index(prom: Prometheus) -> None:
    batch = [Query("vector(1)", ()), Query("vector(2)", (), weight=9)]
    assert dict(prom.query_each(batch, QUERY_TIME)) == {0: [("", 1.0)], 1: [("", 2.0)]}


def test_it_sends_the_request_shares_of_a_namespace_graph_first(
        prom: Prometheus, sent: list[str]) -> None:
    """Of the Istio plan over ten namespaces (without the response-time histogram, which a
    mesh with histograms pays most for: it would go first), the ten request shares, inbound
    and outbound, go first; the inbound ones the security appender also reads, once."""
    options = GraphOptions(namespaces=tuple(f"ns{i}" for i in range(10)),
                           appenders=frozenset(("securityPolicy", "throughput")))
    queries = plan(options, MeshConfig())
    shares = {q.query.promql for q in queries.traffic if q.metric == istio.REQUESTS
              and q.kind in (istio.INBOUND, istio.OUTBOUND)}
    batch = queries.batch()
    answered = [index for index, _ in prom.query_each(batch, QUERY_TIME)]
    assert len(shares) == 10
    assert set(sent[:10]) == shares
    assert len(set(sent)) == len(sent)
    assert sorted(answered) == list(range(len(batch)))


def test_it_sends_the_request_shares_first_by_remote_read_too(recorder: StandIn,
                                                              sent: list[str]) -> None:
    """The same plan with MESHLENS_REMOTE_READ=auto: the ten shares, first, as remote
    reads; the rest as PromQL, each once."""
    prom = Prometheus(PrometheusSettings(url=recorder.url, remote_read="auto"), max_parallel=1)
    options = GraphOptions(namespaces=tuple(f"ns{i}" for i in range(10)),
                           appenders=frozenset(("securityPolicy", "throughput")))
    batch = plan(options, MeshConfig()).batch()
    answered = [index for index, _ in prom.query_each(batch, QUERY_TIME)]
    assert sent[:10] == [REMOTE_READ] * 10
    assert REMOTE_READ not in sent[10:] and len(set(sent[10:])) == len(sent[10:])
    assert sorted(answered) == list(range(len(batch)))


def test_it_starts_every_heavy_query_of_a_namespace_graph_at_once() -> None:
    """Ten namespaces, every appender: the request shares and the response-time queries
    all fit in the first wave, so none waits for an answer to start."""
    options = GraphOptions(namespaces=tuple(f"ns{i}" for i in range(10)))
    batch = plan(options, MeshConfig()).batch()
    share = istio.weight(istio.REQUESTS, istio.shares(istio.REQUESTS, options.namespaces)[0])
    heavy = {q.answer() for q in batch if q.weight >= share}
    assert len(heavy) == 2 * istio.SHARDS + 2
    assert len(heavy) <= MAX_PARALLEL
