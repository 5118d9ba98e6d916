"""A reused Layout's map leaves the edges' responses out of the mds until a reader of the
dicts needs them (graph/counted_responses.py): made then, they are the dicts a map made
whole has, at the same place among the md's keys; and every reader without a column path
(health on dicts, the service graph, merges of data sources and dialects, the dict writer,
the JSON of a build with a NaN) writes what it wrote from whole maps.

    a1, a2 (ns a); b1-v1, b1-v2 (ns b); c1 (ns c, outside); unknown -> b1-v1
    every pair calls another over HTTP (200/503), gRPC (OK/UNAVAILABLE) or TCP, each
    reporter with values of its own; a1 -> b1 and b1-v2 -> a2 also with flags UF and DC
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from graph import build, ids
from graph.cells import COUNTED, CountedMap, whole
from graph.cytoscape import to_config_dicts
from graph.cytoscape_json import write_graph
from graph.health import HealthConfig
from graph.merge import Sourced, merge_sources
from graph.options import GraphOptions, MeshConfig
from graph.sources.istio import namespace_maps
from tests.test_traffic_columns import awkward, built
from tests.traffic_mesh import TYPES, last_layout, merged, mesh_answers, options_of


def answers_of(options: GraphOptions, seed: int) -> list[list[tuple[str, float]]]:
    rng = random.Random(seed)
    return awkward(mesh_answers(options, rng), rng)


def in_order(value: Any) -> Any:
    """An md with its keys in their order, nested dicts too."""
    return [(k, in_order(v)) for k, v in value.items()] if isinstance(value, dict) else value


def later_keys(tm: CountedMap) -> None:
    """What the finalizers, health and appenders set after the map is made."""
    build.mark_outsiders(tm, ("a", "b"), MeshConfig())
    build.mark_roots(tm)
    for _, _, _, d in tm.edges():
        d["md"]["healthStatus"] = "Healthy"
        d["md"]["isMTLS"] = "100"


@pytest.mark.parametrize("graph_type,inject", TYPES)
def test_it_makes_the_responses_a_whole_map_has_in_their_place(graph_type: str,
                                                               inject: bool) -> None:
    options = options_of(graph_type, inject)
    answers = answers_of(options, 2)
    namespace_maps.LAYOUTS.by_scope.clear()
    first = merged(options, answers)  # a new layout: made whole
    again = merged(options, answers)  # the layout reused: responses left out
    assert isinstance(first, CountedMap) and isinstance(again, CountedMap)
    assert first.counted.pending is None and again.counted.pending is not None
    left_out = [md for md in again.counted.mds if any(k.endswith("Responses") for k in md)]
    assert not left_out
    for tm in (first, again):
        later_keys(tm)
    whole(again)
    whole(again)  # once only
    assert list(map(in_order, again.counted.mds)) == list(map(in_order, first.counted.mds))
    assert any(k.endswith("Responses") for md in again.counted.mds for k in md)


@pytest.mark.parametrize("graph_type,inject", TYPES)
def test_it_writes_what_whole_maps_write_through_every_reader(graph_type: str,
                                                              inject: bool) -> None:
    """build after build of one layout (health on dicts then on numbers, the columns made
    on the second): the API's body, the dict writer's and a merge of two sources, against
    the same build of a layout seen for the first time"""
    options = options_of(graph_type, inject)
    rng = random.Random(4)
    answers = mesh_answers(options, rng)
    for _ in range(4):
        answers = awkward(answers, rng)
        reused = [built(options, answers) for _ in range(2)]
        namespace_maps.LAYOUTS.by_scope.clear()
        fresh = [built(options, answers) for _ in range(2)]
        assert write_graph(reused[0]).body() == write_graph(fresh[0]).body()
        assert to_config_dicts(reused[0]) == to_config_dicts(fresh[0])
        merged_graphs = [merge_sources([Sourced("one", "istio", a), Sourced("two", "istio", b)],
                                       HealthConfig.default()) for a, b in (reused, fresh)]
        assert write_graph(merged_graphs[0]).body() == write_graph(merged_graphs[1]).body()
        counted = reused[0].graph.get(COUNTED)
        assert (counted is None) == (graph_type == ids.SERVICE)


def test_it_writes_a_build_with_a_nan_from_the_dicts_it_makes() -> None:
    """one row's value NaN: the JSON writes every edge from its md dicts"""
    options = options_of(ids.WORKLOAD, True)
    answers = answers_of(options, 6)
    first = next(i for i, rows in enumerate(answers) if rows)
    answers[first][0] = (answers[first][0][0], math.nan)
    built(options, answers)
    built(options, answers)  # health plans and columns made
    reused = built(options, answers)
    assert reused.graph[COUNTED].pending is not None
    last_layout().counted_before = False  # type: ignore[attr-defined]
    whole_map = built(options, answers)  # the same layout, its map made whole
    assert whole_map.graph[COUNTED].pending is None
    assert write_graph(reused).body() == write_graph(whole_map).body()
