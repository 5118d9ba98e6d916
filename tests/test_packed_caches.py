"""The kept caches as a worker holds them between builds apart: a Layout packed in arrays
and one pickle (graph/packed_layout.py), row plans as rows of numbers
(graph/sources/istio/plan_tables.py). Unpacked, they make the same maps.

    a1, a2 (ns a); b1-v1, b1-v2 (ns b); c1 (ns c, outside); unknown -> b1-v1; every pair
    calls (HTTP, gRPC or TCP), both reporters (tests/test_traffic_layout.py's mesh)
"""

from __future__ import annotations

import gc
import pickle
import random

import numpy as np
import pytest

from graph import ids, packed_layout
from graph.options import GraphOptions
from graph.sources.istio import namespace_maps
from graph.sources.istio import plan_tables as pt
from tests.traffic_mesh import (
    assert_same_map,
    jitter,
    last_layout,
    merged,
    mesh_answers,
    options_of,
    traffic_queries,
)


@pytest.mark.parametrize("graph_type,inject", [
    (ids.WORKLOAD, True), (ids.APP, False), (ids.SERVICE, True)])
def test_it_unpacks_a_layout_as_it_was_made(graph_type: str, inject: bool) -> None:
    rng = random.Random(3)
    options = options_of(graph_type, inject)
    answers = mesh_answers(options, rng)
    made = merged(options, answers)
    layout = last_layout()
    copy = pickle.loads(pickle.dumps(layout))
    # Held packed: the Python parts are unpacked only when read.
    assert not set(packed_layout.LISTS) & set(vars(copy))
    assert len(gc.get_referents(vars(copy)["packed"])) < 20
    for name in packed_layout.LISTS:
        assert getattr(copy, name) == getattr(layout, name), name
    values = np.concatenate([a[4] for a in namespace_maps_answers(options, answers)])
    assert_same_map(copy.traffic_map(values), made)
    again = jitter(answers, rng)
    assert_same_map(copy.traffic_map(np.concatenate(
        [a[4] for a in namespace_maps_answers(options, again)])), merged(options, again))


def namespace_maps_answers(options: GraphOptions,
                           answers: list[list[tuple[str, float]]]) -> list[namespace_maps.Answer]:
    nt = namespace_maps.NamespaceTraffic(options)
    for query, rows in zip(traffic_queries(options), answers, strict=True):
        nt.apply(query, rows)
    return nt.answers


def test_it_keeps_plans_as_numbers_naming_one_string_table() -> None:
    """a1 -> b1 and the rest of the mesh, planned; the tables, pickled and back, give the
    same plan numbers for the same keys, and a layout made from them the same map"""
    rng = random.Random(5)
    options = GraphOptions(namespaces=("a", "b"), query_time=1000)
    answers = mesh_answers(options, rng)
    expected = merged(options, answers)
    state = pickle.loads(pickle.dumps(pt.PLANS.state()))
    names, tables, size, _ = state
    assert size == sum(len(t) for t in tables.values()) > 0
    assert all(t.names is names for t in tables.values())  # one string table, shared
    for key, table in tables.items():
        mine = pt.PLANS.tables[key]
        assert table.index == mine.index and table.rows == mine.rows
    kept, layouts = pt.PLANS.state(), namespace_maps.LAYOUTS.state()
    try:
        pt.PLANS.restore(state)
        namespace_maps.LAYOUTS.restore({})
        assert_same_map(merged(options, answers), expected)
        assert pt.PLANS.size == size  # every key found: no plan made again
    finally:
        pt.PLANS.restore(kept)
        namespace_maps.LAYOUTS.restore(layouts)
