"""Kiali's finalizers on a reused Layout's map (graph/counted_finalizers.py): the flags set by
number are those mark_outsiders and mark_roots set, in the same order in every md, for
each requested namespaces and accessible namespaces on one layout.

    a1, a2 (ns a); b1-v1, b1-v2 (ns b); c1 (ns c, outside); unknown -> b1-v1
    every pair calls another over HTTP (200/503), gRPC (OK/UNAVAILABLE) or TCP
"""

from __future__ import annotations

import random

import pytest

from graph import build, ids
from graph.cells import CountedMap
from graph.options import GraphOptions, MeshConfig
from tests.test_counted_responses import in_order
from tests.traffic_mesh import TYPES, jitter, merged, mesh_answers, options_of

MESHES = [MeshConfig(), MeshConfig(accessible=frozenset({("Kubernetes", "a")})),
          MeshConfig(accessible=frozenset({("Kubernetes", "b"), ("Kubernetes", "c")}))]


@pytest.mark.parametrize("graph_type,inject", TYPES)
def test_it_sets_the_flags_the_finalizers_set(graph_type: str, inject: bool) -> None:
    rng = random.Random(9)
    options = options_of(graph_type, inject)
    answers = mesh_answers(options, rng)
    for namespaces in (("a", "b"), ("a",), ("b",)):
        for mesh_config in MESHES:
            for _ in range(2):  # the flags set by the finalizers, then by number
                answers = jitter(answers, rng)
                by_number = merged(options, answers)
                on_dicts = merged(options, answers)
                assert isinstance(by_number, CountedMap)
                build.finalize(by_number, namespaces, mesh_config)
                build.mark_outsiders(on_dicts, namespaces, mesh_config)
                build.mark_roots(on_dicts)
                assert [in_order(n) for n in by_number.nodes.values()] == \
                    [in_order(n) for n in on_dicts.nodes.values()]
                flags = {k for n in on_dicts.nodes.values() for k in n["md"]}
                assert {"isRoot", "isOutside"} <= flags
                if mesh_config.accessible:
                    assert "isInaccessible" in flags


def test_it_keeps_flags_of_another_value_to_the_finalizers() -> None:
    """a finalizer that sets a flag other than True: never recorded, run every time"""
    rng = random.Random(2)
    options = GraphOptions(namespaces=("a", "b"), graph_type=ids.WORKLOAD, query_time=1000)
    answers = mesh_answers(options, rng)
    from graph import counted_finalizers

    runs = []

    def finalizers(tm: CountedMap) -> None:
        runs.append(1)
        for n in tm.nodes.values():
            n["md"]["isOutside"] = "maybe"

    for _ in range(3):
        tm = merged(options, answers)
        assert isinstance(tm, CountedMap)
        counted_finalizers.finalize(tm, "odd", lambda tm=tm: finalizers(tm))
        assert all(n["md"]["isOutside"] == "maybe" for n in tm.nodes.values())
    assert len(runs) == 3
