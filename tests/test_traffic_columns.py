"""Edges' rates written from the Layout's sums (graph/traffic_columns.py) against the same
graph written from its md dicts (json_pieces.edge_traffic_text): the same bytes, build
after build of one layout, with rates on every decimal's edge. And the nodes' rates
written as columns (json_pieces.node_traffic_texts) against node_traffic_text.

    a1, a2 (ns a); b1-v1, b1-v2 (ns b); c1 (ns c, outside); unknown -> b1-v1
    every pair calls another over HTTP (200/503), gRPC (OK/UNAVAILABLE) or TCP, each
    reporter with values of its own; a1 -> b1 and b1-v2 -> a2 also with flags UF and DC
"""

from __future__ import annotations

import math
import random
from typing import Any

import orjson
import pytest

from graph import build, ids
from graph.build import Assembly, QueryPlan, assemble
from graph.cells import COUNTED, whole
from graph.cytoscape import to_config_dicts
from graph.cytoscape_json import write_graph
from graph.json_pieces import NODE_KEYS, node_traffic_text, node_traffic_texts
from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Row
from graph.sources.istio.dialect import ISTIO
from graph.traffic_columns import traffic_texts
from tests.test_cytoscape_json import random_graph
from tests.traffic_mesh import TYPES, mesh_answers, options_of

# Values on the edges of json_pieces.rate_precision's decimals and of "%.2f"'s rounding.
AWKWARD = (1e-7, 4e-6, 5e-6, 4.4e-5, 3e-4, 0.0015, 0.005, 0.0449, 0.125, 0.5, 0.999996,
           0.995, 1.0, 1.005, 2.675, 1 / 3, 1e9)


def awkward(answers: list[list[Row]], rng: random.Random) -> list[list[Row]]:
    """The same keys, new values: an awkward one exactly, or scaled a little."""
    return [[(key, rng.choice(AWKWARD) * rng.choice((1.0, 1.0, rng.uniform(0.5, 2.0))))
             for key, _ in rows] for rows in answers]


def built(options: GraphOptions, answers: list[list[Row]]):  # type: ignore[no-untyped-def]
    queries = build.plan(options, MeshConfig(), with_appenders=False)
    plan = QueryPlan(queries.traffic, [], ISTIO)
    return assemble(Assembly(plan, options, MeshConfig(), None), enumerate(answers))


@pytest.mark.parametrize("graph_type,inject", TYPES)
def test_it_writes_the_rates_the_md_dicts_give(graph_type: str, inject: bool) -> None:
    rng = random.Random(11)
    options = options_of(graph_type, inject)
    answers = mesh_answers(options, rng)
    for round_no in range(6):
        answers = awkward(answers, rng)
        g = built(options, answers)
        counted = g.graph.get(COUNTED)
        for kwargs in ({}, {"extras": False, "edge_health": True}):
            on_columns = write_graph(g, **kwargs).body()
            whole(g)  # the mds get the responses the columns wrote
            g.graph.pop(COUNTED, None)
            assert on_columns == write_graph(g, **kwargs).body()
            if counted is not None:
                g.graph[COUNTED] = counted
        # The service graph is reduced from the map: its edges are not the layout's.
        assert (counted is None) == (graph_type == ids.SERVICE)
        if counted is not None and round_no > 0:  # the columns are made on a layout's 2nd map
            texts = traffic_texts(counted)
            assert texts is not None and len(texts) == g.number_of_edges()


def test_it_leaves_a_build_with_a_nan_to_the_md_dicts() -> None:
    """as above, one row's value NaN (Prometheus can answer NaN; Kiali adds it)"""
    rng = random.Random(5)
    options = GraphOptions(namespaces=("a", "b"), query_time=1000)
    answers = awkward(mesh_answers(options, rng), rng)
    built(options, answers)  # the layout's first map
    first = next(i for i, rows in enumerate(answers) if rows)
    answers[first][0] = (answers[first][0][0], math.nan)
    g = built(options, answers)
    assert traffic_texts(g.graph[COUNTED]) is None
    with_nan = write_graph(g).body()
    whole(g)
    g.graph.pop(COUNTED)
    assert with_nan == write_graph(g).body()


def test_it_writes_the_nodes_rates_the_md_dicts_give() -> None:
    """nodes with every rate key at awkward values, some missing, zero, NaN, infinite or
    an int; and nodes with no rate at all"""
    rng = random.Random(3)
    keys = [key for _, key in NODE_KEYS]
    mds: list[dict[str, Any]] = [{}, {"isRoot": True}]
    for _ in range(300):
        md: dict[str, Any] = {"healthStatus": "Healthy"}
        for key in rng.sample(keys, rng.randint(1, len(keys))):
            md[key] = rng.choice((*AWKWARD, 0.0, -1.0, math.nan, math.inf, 3, rng.random()))
        mds.append(md)
    assert node_traffic_texts(mds) == [node_traffic_text(md) for md in mds]


@pytest.mark.parametrize("seed", range(4))
def test_it_writes_edges_of_every_shape_as_the_dict_writer(seed: int) -> None:
    """tests/test_cytoscape_json.py's random graphs without `sources` (a graph merged from
    several data sources): edges with every mix of the appenders' fields and health, their
    traffic from their md dicts, against the dict writer"""
    g = random_graph(seed)
    for _, _, md in g.edges(data="md"):
        md.pop("sources", None)
    for extras, edge_health in ((True, False), (False, True), (False, False)):
        expected = orjson.dumps(to_config_dicts(g, extras=extras, edge_health=edge_health))
        assert write_graph(g, extras=extras, edge_health=edge_health).body() == expected
