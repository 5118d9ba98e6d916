"""Builds in a forked child process (graph/forked.py): the answer and the exceptions come
back, and so do the caches the child filled, so that the next child starts warm.

    ingress -> productpage -> details
                           -> reviews-v1, reviews-v2 (-> ratings, 50 % 503), reviews-v3 (-> ratings)
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from graph import forked, memory, patch
from graph.build import build_graph
from graph.cytoscape import to_config
from graph.cytoscape_json import FACTS, NODE_FACTS, write_graph
from graph.edge_ends import PackedEnds
from graph.edge_json import ENDS
from graph.json_pieces import PIECES
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Prometheus, PrometheusSettings, PrometheusUnavailable
from graph.sources.istio.namespace_maps import LAYOUTS
from graph.sources.istio.plan_tables import DROPPED_ROW, PLANS, WIDTH
from tests import mesh

QUERY_TIME = 1700000000
OPTIONS = GraphOptions(namespaces=("bookinfo",), query_time=QUERY_TIME, duration=60)


@pytest.fixture
def bookinfo(prometheus_with: Any) -> Prometheus:
    server = prometheus_with(mesh.bookinfo(ratings_503=1.5), QUERY_TIME)
    return Prometheus(PrometheusSettings(url=server.url))


@pytest.fixture
def cold_caches() -> Iterator[None]:
    """The kept caches empty for the test, as they were after it."""
    kept = memory.kept_state()
    PLANS.restore(PLANS.empty())
    LAYOUTS.restore({})
    yield
    memory.restore_kept(kept)


def json_of(prom: Prometheus) -> bytes:
    return orjson.dumps(to_config(build_graph(prom, OPTIONS, MeshConfig())))


def test_it_answers_what_the_child_returned() -> None:
    assert forked.run_forked(os.getpid) != os.getpid()


def test_it_raises_the_child_s_exception_here() -> None:
    def fail() -> None:
        raise PrometheusUnavailable("Prometheus at http://x cannot be reached")

    with pytest.raises(PrometheusUnavailable, match="cannot be reached"):
        forked.run_forked(fail)


def test_it_says_so_when_the_child_dies_without_an_answer() -> None:
    with pytest.raises(forked.ChildFailed):
        forked.run_forked(lambda: os.kill(os.getpid(), signal.SIGKILL))


def test_it_answers_without_waiting_for_the_child_to_end() -> None:
    """The answer is taken as soon as the child has written it, not at the pipe's end:
    here a grandchild holds the pipe open until the test lets it go, after the answer."""
    hold, let_go = os.pipe()

    def work() -> str:
        if os.fork() == 0:  # the grandchild: every fd of the child, the answer's pipe too
            os.close(let_go)
            os.read(hold, 1)  # until the test closes let_go
            os._exit(0)
        return "answered"

    try:
        assert forked.run_forked(work) == "answered"
    finally:
        os.close(let_go)
        os.close(hold)
    forked.run_forked(os.getpid)  # reaps the first child (exited by now, or it stays listed)
    assert len(forked.EXITING) <= 2


def test_it_builds_the_same_graph_and_keeps_the_caches_the_child_filled(
        bookinfo: Prometheus, cold_caches: None) -> None:
    made_apart = forked.run_forked(lambda: json_of(bookinfo))
    assert PLANS.size > 0 and len(LAYOUTS.by_scope) == 1
    # The plans came back whole, as rows of numbers: a dropped row's all -1, the others
    # naming their nodes in the string and spec table that came back with them.
    rows = [tuple(t.rows[n * WIDTH:(n + 1) * WIDTH]) for t in PLANS.tables.values()
            for n in t.index.values()]
    assert len(rows) == PLANS.size
    kept = [r for r in rows if r != DROPPED_ROW]
    assert kept and all(r[0] >= 0 and r[2] >= 0 for r in kept)
    node_ids = PLANS.names.spec_lists()[0]
    assert any(node_ids[r[2]].endswith("reviews-v2") for r in kept)
    # Health on arrays starts on a layout's second and third builds (graph/health_arrays.py):
    # those children hand back what they add.
    for _ in range(2):
        assert forked.run_forked(lambda: json_of(bookinfo)) == made_apart
    warm = memory.kept_changes()
    assert forked.run_forked(lambda: json_of(bookinfo)) == made_apart
    assert memory.kept_changes() == warm  # the next child found every plan and layout
    assert json_of(bookinfo) == made_apart  # and so does a build here
    assert memory.kept_changes() == warm


def test_it_keeps_the_json_facts_and_edge_ends_packed_between_builds(
        bookinfo: Prometheus, cold_caches: None) -> None:
    """This process holds them as the child handed them back, bytes; a build here reads
    them, and knows their pieces' CRCs as graph/patch.py prints a field."""
    made_apart = forked.run_forked(lambda: json_of(bookinfo))
    assert isinstance(FACTS.packed, memory.Packed) and isinstance(ENDS.packed, PackedEnds)
    assert not NODE_FACTS and not ENDS.made and ENDS.table is None
    for _ in range(2):  # health on arrays starts on a layout's second and third builds
        assert forked.run_forked(lambda: json_of(bookinfo)) == made_apart
    warm = memory.kept_changes()
    assert forked.run_forked(lambda: json_of(bookinfo)) == made_apart
    assert memory.kept_changes() == warm and isinstance(ENDS.packed, PackedEnds)
    PIECES.crcs.clear()
    written = write_graph(build_graph(bookinfo, OPTIONS, MeshConfig()))
    assert orjson.dumps(written.to_dict()) == made_apart
    assert FACTS.packed is None and NODE_FACTS and ENDS.table is not None and not ENDS.made
    assert memory.kept_changes() == warm
    for element in written.edges:
        for piece in element.pieces[:3]:  # id, source, target
            value = next(iter(orjson.loads(b"{" + piece + b"}").values()))
            assert PIECES.crcs[piece] == patch.crc(value)
