"""graph/element_writer.pyx, rate_text.pyx and column_reads.pyx, the compiled loops of the
JSON written per build, against what Python writes: its %-formatting of rates
(`fmt % values`) and networkx's edge view. The elements themselves are checked byte for
byte by tests/test_cytoscape_json.py, tests/test_traffic_columns.py and the Kiali fixtures
(write_graph against the dict writer).
"""

from __future__ import annotations

import math
import random

import networkx as nx
import numpy as np
import pytest

from graph.json_pieces import compiled

writer = compiled("element_writer")
rates = compiled("rate_text")
columns = compiled("column_reads")

AWKWARD = (0.0, -0.0, math.nan, math.inf, -math.inf, -1.5, -1e-9, 5e-324, 2.5e-308, 0.5,
           1.5, 2.5, 0.125, 0.375, 0.005, 0.015, 1.005, 2.675, 1e9, 999999999.9999999,
           1e300, 123456789.125, 0.9999999999, 9.995, 99.995)


def awkward_values(rng: random.Random, n: int) -> list[float]:
    values: list[float] = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.3:  # rates over twenty orders of magnitude
            values.append(rng.random() * 10 ** rng.randint(-12, 9))
        elif kind < 0.5:  # exact ties at every decimal
            values.append(rng.randint(0, 10**6) / 2 ** rng.randint(0, 12))
        elif kind < 0.6:  # already rounded
            values.append(round(rng.random() * 1000, rng.randint(0, 6)))
        elif kind < 0.7:
            values.append(rng.choice(AWKWARD))
        else:
            values.append(rng.randint(0, 10**9 - 1) + rng.random())
    return values


@pytest.mark.parametrize("seed", range(3))
def test_it_formats_rows_as_python_formats_them(seed: int) -> None:
    """every value at 0-9 decimals, in formats with literal text and %% around them"""
    rng = random.Random(seed)
    values = awkward_values(rng, 30_000)
    formats, start = [], [0]
    while start[-1] < len(values):
        count = min(rng.randint(0, 6), len(values) - start[-1])
        formats.append(b'{"a%%":[' + b",".join(
            b'"%%.%df"' % rng.randint(0, 9) for _ in range(count)) + b"]}")
        start.append(start[-1] + count)
    got = rates.format_rows(formats, np.array(values), np.array(start, np.int64), b'"t":')
    assert got == [b'"t":' + f % tuple(values[a:b])
                   for f, a, b in zip(formats, start[:-1], start[1:], strict=True)]


def test_it_refuses_formats_and_offsets_it_cannot_apply() -> None:
    values = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="unsupported"):
        rates.format_rows([b"%s"], values, np.array([0, 1], np.int64))
    with pytest.raises(TypeError, match="not all arguments"):
        rates.format_rows([b"%.1f"], values, np.array([0, 2], np.int64))
    with pytest.raises(TypeError, match="not enough"):
        rates.format_rows([b"%.1f %.1f"], values, np.array([0, 1], np.int64))
    with pytest.raises(ValueError, match="past values"):
        rates.format_rows([b"%.1f"], values, np.array([2, 3], np.int64))
    with pytest.raises(ValueError, match="one more entry"):
        rates.format_rows([b"%.1f"], values, np.array([0], np.int64))


def test_it_reads_md_values_as_floats() -> None:
    """ints, bools, missing keys; a value that is not a number is refused"""
    mds = [{"a": 1, "b": 2.5}, {}, {"b": True, "c": -0.0}]
    out = np.empty((3, 3))
    rates.md_values(mds, ("a", "b", "c"), out)
    assert out.tolist() == [[1.0, 2.5, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, -0.0]]
    with pytest.raises(TypeError):
        rates.md_values([{"a": "x"}], ("a",), np.empty((1, 1)))


def test_it_lists_edges_in_networkx_order() -> None:
    """
    a --http--> b, a --tcp--> b, b --http--> a, c --grpc--> a (added out of order)
    """
    g = nx.MultiDiGraph()
    g.add_node("c")
    g.add_edge("b", "a", key="http", md={"n": 1})
    g.add_edge("a", "b", key="tcp", md={"n": 2})
    g.add_edge("c", "a", key="grpc", md={"n": 3})
    g.add_edge("a", "b", key="http", md={"n": 4})
    hashed = {node: node.upper() for node in g}
    sources, targets, protocols, datas = columns.edge_columns(g._succ, hashed)
    edges = list(g.edges(keys=True, data=True))
    assert sources == [hashed[u] for u, _, _, _ in edges]
    assert targets == [hashed[v] for _, v, _, _ in edges]
    assert protocols == [k for _, _, k, _ in edges]
    assert all(a is b for a, (_, _, _, b) in zip(datas, edges, strict=True))


def test_it_finds_pieces_by_md_identity() -> None:
    """equal mds are different entries; an md given twice keeps its last entry"""
    mds = [{"a": 1} for _ in range(1000)]
    twice = [*mds, mds[5]]
    pieces = [b"p%d" % i for i in range(len(twice))]
    found = writer.MdPieces(twice, pieces, twice)
    assert len(found) == 1000
    with pytest.raises(ValueError, match="one entry per md"):
        writer.MdPieces(mds, pieces, mds)
    assert found.piece(mds[5], mds[5]) == b"p1000"
    assert found.piece(mds[7], mds[7]) == b"p7"
    assert found.piece(mds[7], mds[8]) is None  # written with another source md
    assert found.piece({"a": 1}, mds[7]) is None
    assert len(writer.MdPieces([], [], [])) == 0


def test_it_numbers_slices_and_picks_as_python_does() -> None:
    """graph/edge_ends.py's table reads: names numbered (-1: unknown), fixed-width entries
    of a str or bytes, items picked by position; positions past the end refused"""
    out = np.empty(3, np.int64)
    columns.numbered({"a": 0, "b": 7}, ["b", "x", "a"], out)
    assert out.tolist() == [7, -1, 0]
    rows = np.array([2, 0, 2], np.int64)
    assert columns.fixed_width("aabbcc", rows, 2) == ["cc", "aa", "cc"]
    assert columns.fixed_width(b"aabbcc", rows, 2) == [b"cc", b"aa", b"cc"]
    assert columns.picked(["x", "y", "z"], rows) == ["z", "x", "z"]
    with pytest.raises(ValueError, match="past the text"):
        columns.fixed_width("aabbcc", np.array([3], np.int64), 2)
    with pytest.raises(ValueError, match="ASCII"):
        columns.fixed_width("ééé", rows, 1)
    with pytest.raises(IndexError):
        columns.picked(["x"], np.array([1], np.int64))
