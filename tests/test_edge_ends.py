"""Edges' ids and first pieces kept as arrays (graph/edge_ends.py): what a build finds
there is what it would have made, however often the kept ends are packed again.

    a -> b (http), a -> c (grpc), then b -> c (http), c -> d (tcp) made by a later build
"""

from __future__ import annotations

import pickle
import zlib

from graph import ids
from graph.edge_ends import EdgeEnds, Ends, Key, PackedEnds, made_ends, pack
from graph.json_pieces import PIECES

NODES = {name: ids.hash_id(name) for name in "abcd"}
FIRST: list[Key] = [(NODES["a"], NODES["b"], "http"), (NODES["a"], NODES["c"], "grpc")]
LATER: list[Key] = [(NODES["b"], NODES["c"], "http"), (NODES["c"], NODES["d"], "tcp")]


def ends_of(ends: EdgeEnds, keys: list[Key]) -> list[Ends]:
    found = ends.ends(*([key[part] for key in keys] for part in range(3)))
    return list(zip(found.ids, zip(found.id_pieces, found.sources, found.targets,
                                   strict=True), strict=True))


def handed_back(ends: EdgeEnds) -> EdgeEnds:
    """`ends` as a process keeping them gets them from a child: pickled and restored."""
    kept = EdgeEnds()
    kept.restore(pickle.loads(pickle.dumps(ends.state())))
    return kept


def test_it_finds_the_kept_ends_as_they_were_made() -> None:
    built = EdgeEnds()
    assert ends_of(built, FIRST) == [made_ends(*key) for key in FIRST]
    kept = handed_back(built)
    assert isinstance(kept.packed, PackedEnds) and kept.changes() == 2 and not kept.made
    unknown: Key = (NODES["d"], NODES["a"], "http")
    assert ends_of(kept, [*FIRST, unknown]) == [made_ends(*key) for key in (*FIRST, unknown)]
    assert list(kept.made) == [unknown]  # only the edge not kept was made


def test_it_finds_no_ends_of_no_edges() -> None:
    """A quiet namespace: no edges, kept ends or not."""
    assert ends_of(EdgeEnds(), []) == []
    kept = EdgeEnds()
    ends_of(kept, FIRST)
    assert ends_of(handed_back(kept), []) == []


def test_it_packs_the_kept_and_the_made_together() -> None:
    """New node ids number after the kept ones: the kept keys are numbered again."""
    kept = handed_back(EdgeEnds())
    ends_of(kept, FIRST)
    kept = handed_back(kept)
    ends_of(kept, LATER)
    assert kept.changes() == 4
    again = handed_back(kept)
    assert again.changes() == 4
    assert ends_of(again, [*LATER, *FIRST]) == [made_ends(*key) for key in (*LATER, *FIRST)]
    assert not again.made


def test_it_knows_the_crcs_of_the_pieces_it_finds() -> None:
    """As graph/patch.py prints a field: a CRC-32 of the id's text."""
    built = EdgeEnds()
    ends_of(built, FIRST)
    kept = handed_back(built)
    PIECES.crcs.clear()
    for edge_id, pieces in ends_of(kept, FIRST):
        assert PIECES.crcs[pieces[0]] == zlib.crc32(edge_id.encode())
        for piece in pieces[1:]:
            assert PIECES.crcs[piece] == zlib.crc32(piece.split(b":")[1].strip(b'"'))


def test_it_leaves_out_what_does_not_fit_and_makes_it_again() -> None:
    """An id that is not a SHA-256's hex (none is made today) is not packed."""
    odd: Key = ("x\x00y", NODES["a"], "http")
    packed = pack(None, {odd: ("short", (b'"id":"short"', b"", b""))})
    assert len(packed.keys) == 0
    kept = EdgeEnds()
    kept.restore(packed)
    assert ends_of(kept, [odd]) == [made_ends(*odd)]
