"""Each edge's JSON id and its first pieces (`"id"`, `"source"`, `"target"`), kept across
builds as a few arrays and one string, and looked up for all the edges of a build at once.

An edge's id is a SHA-256 of its ends and protocol (graph/ids.py): making it and its three
pieces again costs about 6 µs an edge, 0.47 s of a build at 10,000 workloads (75,000 edges).
Kept as a dict of tuples (as it was), the same entries held 38 MB and 225,000 objects in the
worker, which keeps them only to hand them to the next build's child (graph/forked.py).
So what is handed back is `PackedEnds`: the ends' node ids and the protocols in one string
table; each edge as one int64 key, (source, target, protocol) numbered in that table, in
one sorted array; the edges' ids and id pieces in one str and one bytes of fixed-width
entries (a SHA-256's hex is 64 characters), and the id pieces' CRCs (graph/patch.py's
prints). A build numbers its edges' ends with the table (one dict of 15,000 node ids),
finds them with one `searchsorted`, and slices the ids and pieces out; only the edges not
found are made (`made`), and handed back with the others when the build ran apart.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from graph import ids
from graph.json_pieces import PIECES, Piece, add_crcs, compiled

Ends = tuple[str, tuple[Piece, Piece, Piece]]  # the edge's id; its id, source, target pieces
Key = tuple[str, str, str]  # source and target JSON ids, protocol

SEPARATOR = "\x00"
WIDTH = 64  # a SHA-256's hex digest
ID_HEAD, ID_TAIL = b'"id":"', b'"'
PIECE_WIDTH = len(ID_HEAD) + WIDTH + len(ID_TAIL)


class PackedEnds(NamedTuple):
    """The kept edges, as handed back: see the module's docstring."""

    names: str  # node ids and protocols joined with SEPARATOR
    keys: np.ndarray  # int64, sorted: (source * len(names) + target) * len(names) + protocol
    ids: str  # the edges' ids, WIDTH characters each, in the keys' order
    pieces: bytes  # the edges' id pieces, PIECE_WIDTH bytes each
    crcs: np.ndarray  # uint32: each id piece's CRC


class Found(NamedTuple):
    """Edges' ends as columns: their ids, and their id, source and target pieces."""

    ids: list[str]
    id_pieces: list[Piece]
    sources: list[Piece]
    targets: list[Piece]


class Table:
    """A PackedEnds as a build reads it: its names numbered, and the node pieces made."""

    def __init__(self, packed: PackedEnds) -> None:
        self.packed = packed
        self.names = packed.names.split(SEPARATOR) if packed.names else []
        self.numbers = dict(zip(self.names, range(len(self.names)), strict=True))
        self.sources = [b'"source":"' + name.encode() + b'"' for name in self.names]
        self.targets = [b'"target":"' + name.encode() + b'"' for name in self.names]
        crcs = list(map(zlib.crc32, map(str.encode, self.names)))
        add_crcs(dict(zip(self.sources, crcs, strict=True)))
        add_crcs(dict(zip(self.targets, crcs, strict=True)))

    def find(self, ends: Sequence[Sequence[str]]) -> tuple[np.ndarray, Found]:
        """Which edges of `ends` (their sources, targets and protocols) are kept: their
        positions, and their ends."""
        n, size = len(ends[0]), len(self.names)
        writer = compiled("column_reads")
        numbered = np.empty((3, n), np.int64)
        for part, names in enumerate(ends):
            writer.numbered(self.numbers, names, numbered[part])
        wanted = (numbered[0] * size + numbered[1]) * size + numbered[2]
        kept = self.packed.keys
        if not len(kept):
            return np.empty(0, np.int64), Found([], [], [], [])
        at = np.minimum(np.searchsorted(kept, wanted), len(kept) - 1)
        found = np.flatnonzero((numbered >= 0).all(axis=0) & (kept[at] == wanted))
        rows = at[found]
        edge_ids = writer.fixed_width(self.packed.ids, rows, WIDTH)
        id_pieces = writer.fixed_width(self.packed.pieces, rows, PIECE_WIDTH)
        add_crcs(zip(id_pieces, self.packed.crcs[rows].tolist(), strict=True))
        sources = writer.picked(self.sources, np.ascontiguousarray(numbered[0, found]))
        targets = writer.picked(self.targets, np.ascontiguousarray(numbered[1, found]))
        return found, Found(edge_ids, id_pieces, sources, targets)


def made_ends(source: str, target: str, protocol: str) -> Ends:
    edge_id = ids.edge_hash(source, target, protocol)
    return edge_id, (PIECES.get("id", edge_id), PIECES.get("source", source),
                     PIECES.get("target", target))


def packable(key: Key, ends: Ends) -> bool:
    """Whether an entry fits the packed form: an id of a SHA-256's hex (every edge made
    today), names without the separator. Other entries are made again when met."""
    return (len(ends[0]) == WIDTH and ends[0].isascii() and SEPARATOR not in key[0]
            and SEPARATOR not in key[1] and SEPARATOR not in key[2])


def pack(packed: PackedEnds | None, made: dict[Key, Ends]) -> PackedEnds:
    """The `packed` edges and those `made` since, as one PackedEnds: the names table grows,
    the kept keys are numbered again by its new size, and all are sorted."""
    names = packed.names.split(SEPARATOR) if packed is not None and packed.names else []
    numbers = dict(zip(names, range(len(names)), strict=True))
    old = len(names)
    entries = [(key, ends) for key, ends in made.items() if packable(key, ends)]
    for (source, target, protocol), _ in entries:
        for name in (source, target, protocol):
            if name not in numbers:
                numbers[name] = len(numbers)
    size = len(numbers)
    kept = packed.keys if packed is not None else np.empty(0, np.int64)
    if old:
        kept = (kept // (old * old) * size + kept // old % old) * size + kept % old
    keys = np.concatenate([kept, np.array(
        [(numbers[s] * size + numbers[t]) * size + numbers[p] for (s, t, p), _ in entries],
        np.int64)])
    edge_ids = [ends[0] for _, ends in entries]
    order = np.argsort(keys, kind="stable")
    ids_of = np.frombuffer(((packed.ids if packed is not None else "") + "".join(edge_ids))
                           .encode(), f"S{WIDTH}")
    pieces = np.frombuffer((packed.pieces if packed is not None else b"") + b"".join(
        [ID_HEAD + edge_id.encode() + ID_TAIL for edge_id in edge_ids]), f"S{PIECE_WIDTH}")
    crcs = np.concatenate([packed.crcs if packed is not None else np.empty(0, np.uint32),
                           np.array([zlib.crc32(e.encode()) for e in edge_ids], np.uint32)])
    return PackedEnds(SEPARATOR.join(numbers), keys[order], ids_of[order].tobytes().decode(),
                      pieces[order].tobytes(), crcs[order])


class EdgeEnds:
    """The kept ends: those handed back (`packed`, read through a Table made the first time
    a build reads them) and those made since (`made`). Bounded: past `size` edges the
    kept ones are dropped (a mesh whose edges keep changing). A Kept (graph/memory.py)."""

    def __init__(self, size: int = 1 << 18) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.packed: PackedEnds | None = None
        self.table: Table | None = None
        self.made: dict[Key, Ends] = {}

    def ends(self, sources: list[str], targets: list[str], protocols: list[str]) -> Found:
        """The ends of every edge (by its source and target JSON ids and its protocol)."""
        with self.lock:
            packed, table = self.packed, self.table
            if packed is not None and table is None:
                table = self.table = Table(packed)
        n = len(sources)
        if not n:
            return Found([], [], [], [])
        if table is None:
            found, kept = np.empty(0, np.int64), Found([], [], [], [])
        else:
            found, kept = table.find((sources, targets, protocols))
            if len(found) == n:  # every edge kept
                return kept
        out: list[Ends | None] = [None] * n
        for i, *e in zip(found.tolist(), kept.ids,
                         zip(kept.id_pieces, kept.sources, kept.targets, strict=True),
                         strict=True):
            out[i] = e  # type: ignore[call-overload]
        made = self.made
        for i, e in enumerate(out):
            if e is None:
                key = (sources[i], targets[i], protocols[i])
                out[i] = made.get(key) or self.make(key)
        edge_ids, pieces = zip(*out, strict=True)  # type: ignore[misc]
        return Found(list(edge_ids), *map(list, zip(*pieces, strict=True)))  # type: ignore[arg-type]

    def make(self, key: Key) -> Ends:
        e = made_ends(*key)
        with self.lock:
            if len(self.made) + self.kept_count() >= self.size:
                self.made.clear()
                self.packed = self.table = None
            self.made[key] = e
        return e

    def kept_count(self) -> int:
        return len(self.packed.keys) if self.packed is not None else 0

    def changes(self) -> int:
        return self.kept_count() + len(self.made)

    def state(self) -> object:
        with self.lock:
            return pack(self.packed, self.made) if self.made else self.packed

    def restore(self, state: object) -> None:
        assert state is None or isinstance(state, PackedEnds)
        with self.lock:
            self.packed, self.table = state, None
            self.made = {}
