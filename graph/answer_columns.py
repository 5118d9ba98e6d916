"""A joined answer (graph/prometheus.py's joined_sum) read as two columns: its values, a
float64 array, and its keys, one block of bytes with a digest, decoded into strings only
when someone asks for them.

A live mesh answers the same keys in the same order tick after tick; what a key means is
kept by whoever reads it (the plan tables, the security countings), found again by the
digest of the whole block: an unchanged key set costs no work per key. Reading the body
as orjson dicts made a dict, a list, two strings and a tuple per row (270,000 rows a build
at 10,000 workloads).

The body is scanned with numpy only when it has exactly the shape Prometheus writes for
such a query, each row `{"metric":{"meshlens_key":"K"},"value":[T,"V"]}`, with no escape
in a key but the separator's `\\u001f`; anything else (another escape, a missing key label,
other labels, warnings) returns None, and the caller reads it with orjson as before. A
value is converted by Python's float() of the very bytes, as the orjson path does of the
same string: the same float, bit for bit, NaN and infinities included.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

import numpy as np
import orjson

from graph import memory

PREFIX = b'{"status":"success","data":{"resultType":"vector","result":['
SUFFIX = b"]}}"
KEY = "meshlens_key"
ROW_START = b'{"metric":{"meshlens_key":"'
KEY_END = b'"},"value":['
ROW_END = b'"]},{'
BETWEEN_KEYS = (KEY_END + ROW_START).decode()
LAST_END = b'"]}' + SUFFIX
QUOTE, BACKSLASH = ord('"'), ord("\\")
# The quotes of PREFIX, and of each row: metric (2), meshlens_key (2), the key (2), value
# (2), the value (2).
PREFIX_QUOTES, ROW_QUOTES = PREFIX.count(b'"'), 10
# Where each quote of a row is, after the one before it (the key's end and the value's
# start and end are free): '{"metric":{"meshlens_key":"K"},"value":[T,"V"]}'.
GAPS = ((1, 7), (2, 3), (3, 13), (4, 2), (6, 3), (7, 6))


def digest_of(*parts: bytes) -> bytes:
    """A digest of the parts, each with its length (SHA-256, the fastest of hashlib's on
    CPUs with SHA instructions; 16 bytes of it kept)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.digest()[:16]


class Keys:
    """The key list of an answer (or of the sums of one), decoded when first asked, and
    its digest: equal for two lists exactly when they are equal."""

    __slots__ = ("_list", "_made", "digest")

    def __init__(self, digest: bytes, made: Callable[[], list[str]] | None,
                 keys: list[str] | None = None) -> None:
        self.digest = digest
        self._made = made
        self._list = keys

    def list(self) -> list[str]:
        if self._list is None:
            with DECODING:  # readers of one answer may ask from two threads
                if self._list is None:
                    assert self._made is not None
                    self._list = self._made()
                    self._made = None  # what it was decoded from is freed
        return self._list


class Vector(Sequence[tuple[str, float]]):
    """An answer's rows as columns: `values` (float64) and their keys, `base`'s keys (the
    whole answer's, or the groups' of its sums) picked by `picks` (those of the rows kept,
    in order; None: all of them). A reader of the keys (the plan tables) keeps what it
    makes of `base` by its digest: the rows kept may change tick after tick (an edge's rate
    falls to 0 and comes back) while the answer's keys stay the same. As a sequence it is
    the (key, value) rows graph/prometheus.py's reader gives, made when first iterated."""

    __slots__ = ("_digest", "_keys", "_rows", "base", "picks", "values")

    def __init__(self, values: np.ndarray, base: Keys, picks: np.ndarray | None = None) -> None:
        self.values = values
        self.base = base
        self.picks = picks
        self._digest: bytes | None = None
        self._keys: list[str] | None = None
        self._rows: list[tuple[str, float]] | None = None

    @property
    def digest(self) -> bytes:
        """Equal for two Vectors exactly when their key lists are."""
        if self._digest is None:
            self._digest = self.base.digest if self.picks is None else digest_of(
                self.base.digest, b"picks", self.picks.astype(np.int64).tobytes())
        return self._digest

    @property
    def keys(self) -> list[str]:
        if self._keys is None:
            keys = self.base.list()
            self._keys = keys if self.picks is None else list(
                map(keys.__getitem__, self.picks.tolist()))
        return self._keys

    def rows(self) -> list[tuple[str, float]]:
        if self._rows is None:
            self._rows = list(zip(self.keys, self.values.tolist(), strict=True))
        return self._rows

    def base_rows(self) -> np.ndarray:
        """Which of base's keys each row has."""
        return np.arange(len(self.values)) if self.picks is None else self.picks

    def __len__(self) -> int:
        return len(self.values)

    @overload
    def __getitem__(self, index: int) -> tuple[str, float]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[str, float]]: ...

    def __getitem__(self, index: int | slice) -> Any:
        return self.rows()[index]

    def __iter__(self) -> Iterator[tuple[str, float]]:
        return iter(self.rows())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return self.rows() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Vector({self.rows()!r})"

    def where(self, mask: np.ndarray) -> Vector:
        """The rows where `mask` is true, in order."""
        if mask.all():
            return self
        return Vector(self.values[mask], self.base, self.base_rows()[mask])

    def with_values(self, values: np.ndarray) -> Vector:
        """The same keys with other values."""
        out = Vector(values, self.base, self.picks)
        out._digest, out._keys = self._digest, self._keys
        return out


def scan(body: bytes) -> Vector | None:
    """The answer's rows as a Vector, None when the body is not of the one shape read
    here (the caller then reads it with orjson)."""
    if not body.startswith(PREFIX) or not body.endswith(SUFFIX):
        return None
    if len(body) == len(PREFIX) + len(SUFFIX):
        return Vector(np.zeros(0), Keys(digest_of(b"empty"), list))
    data = np.frombuffer(body, np.uint8)
    quotes = np.flatnonzero(data == QUOTE)
    # A quote after a backslash may be inside a string (or end one that ends with an
    # escaped backslash): left to orjson.
    if (len(quotes) - PREFIX_QUOTES) % ROW_QUOTES or len(quotes) <= PREFIX_QUOTES or (
            data[quotes - 1] == BACKSLASH).any():
        return None
    q = quotes[PREFIX_QUOTES:].reshape(-1, ROW_QUOTES)
    n = len(q)
    if not placed(q, len(body)) or not between(data, q):
        return None
    # Each row's text up to its value, `{"metric":{"meshlens_key":"K"},"value":[`, as one
    # block: what stays the same while the keys do.
    bounds = np.empty(2 * n + 2, np.int64)
    bounds[0], bounds[-1] = 0, len(body)
    bounds[1:-1:2] = q[:, 0] - 1
    bounds[2:-1:2] = q[:, 7] + 3
    keep = np.zeros(2 * n + 1, np.bool_)
    keep[1::2] = True
    block = data[np.repeat(keep, np.diff(bounds))].tobytes()
    digest = digest_of(b"rows", block)
    keys = None
    if digest not in SEEN:
        # Its fixed text, checked once per set of keys: found n times, and (the quotes
        # being where they are) found only where a row's is; and its keys decoded (they
        # are new: whoever reads them will ask).
        if block.count(ROW_START) != n or block.count(KEY_END) != n:
            return None
        try:
            keys = decoded(block)
        except ValueError:
            return None  # not UTF-8, a bad escape: the orjson path says so
        remember(SEEN, digest, n)
    # The values (each with its closing quote, which no value holds).
    starts, ends = q[:, 8] + 1, q[:, 9] + 1
    sizes = ends - starts
    at = np.repeat(starts - (np.cumsum(sizes) - sizes), sizes) + np.arange(int(sizes.sum()))
    texts = data[at].tobytes().split(b'"')
    try:
        values = np.fromiter(map(float, texts[:n]), np.float64, n)
    except ValueError:
        return None  # the orjson path says what is wrong with it
    return Vector(values, Keys(digest, None, keys) if keys is not None
                  else Keys(digest, lambda: decoded(block)))


def between(data: np.ndarray, q: np.ndarray) -> bool:
    """Whether the bytes between a row's value and the next row (or SUFFIX) are the
    shape's, and a comma ends each row's time."""
    ends = q[:, 9]
    return bool((data[q[:, 8] - 1] == ord(",")).all() and (data[ends + 1] == ord("]")).all()
                and (data[ends + 2] == ord("}")).all()
                and (data[ends[:-1] + 3] == ord(",")).all()
                and (data[ends[:-1] + 4] == ord("{")).all())


def placed(q: np.ndarray, size: int) -> bool:
    """Whether the rows' quotes (one row of ROW_QUOTES positions each) are where the
    shape puts them: each row right after the one before (or PREFIX), the last one's end
    right before SUFFIX."""
    for at, gap in GAPS:
        if not (q[:, at] - q[:, at - 1] == gap).all():
            return False
    return bool(q[0, 0] == len(PREFIX) + 1 and (q[1:, 0] == q[:-1, 9] + len(ROW_END)).all()
                and q[-1, 9] == size - len(LAST_END))


def decoded(block: bytes) -> list[str]:
    """The keys of a scanned block. Escaped, a key holds only the separator (the usual
    case): the block unescaped and split at the text between two keys; else its rows
    made the JSON objects they were and read by orjson (as the orjson path reads them)."""
    plain = block.replace(b"\\u001f", b"\x1f")
    # (A raw control character is not JSON: orjson refuses it, as the orjson path does.)
    if b"\\" not in plain and not (np.frombuffer(block, np.uint8) < 0x20).any():
        text = plain.decode("utf-8")
        return text[len(ROW_START):-len(KEY_END)].split(BETWEEN_KEYS)
    rows = orjson.loads(b"[" + block[:-len(KEY_END)].replace(KEY_END, b'"}},') + b'"}}]')
    return [row["metric"][KEY] for row in rows]


def read(vector: Vector, positive: bool, summed_away: int, round_to: float | None,
         separator: str) -> Vector | None:
    """graph/prometheus.py's Query.read on columns (the same floats): the rows above 0
    when `positive`, the last `summed_away` values of each key summed away, the values
    rounded to `round_to`; None where only the rows can say."""
    if positive:
        vector = vector.where(vector.values > 0)
    if summed_away:
        found = summed(vector, summed_away, separator)
        if found is None:
            return None
        vector = found
    if round_to is not None:
        vector = vector.with_values(rounded(vector.values, round_to))
    return vector


def summed(vector: Vector, count: int, separator: str) -> Vector | None:
    """graph/prometheus.py's `summed` on columns: the rows with the last `count` values of
    each key dropped, those that then share a key added up in row order, the sums in the
    order each key first comes (np.bincount adds each row in order into 0.0: the same
    floats as the `+` of the row path, except for a first value of -0.0, left to the row
    path: None). Which group each of the answer's keys falls in is kept by their digest."""
    values = vector.values
    if (np.signbit(values) & (values == 0)).any():
        return None
    base = vector.base
    key = (base.digest, count)
    found = GROUPS.get(key)
    if found is None:
        numbers: dict[str, int] = {}
        shorts = [k.rsplit(separator, count)[0] for k in base.list()]
        first = np.fromiter(map(numbers.setdefault, shorts, range(len(shorts))), np.int64,
                            len(shorts))
        # Numbered by where each key first comes; the numbers made 0, 1, 2... in that order.
        _, inverse = np.unique(first, return_inverse=True)
        found = (inverse.reshape(-1).astype(np.int64), len(numbers))
        remember(GROUPS, key, found)
    inverse, groups = found
    group = inverse[vector.base_rows()]
    # The groups of the rows kept, in the order each first comes among them.
    present, first_row = np.unique(group, return_index=True)
    order = present[np.argsort(first_row, kind="stable")]
    renumber = np.empty(groups, np.int64)
    renumber[order] = np.arange(len(order))
    sums = np.bincount(renumber[group], weights=values, minlength=len(order))

    def keys() -> list[str]:
        return list(dict.fromkeys(k.rsplit(separator, count)[0] for k in base.list()))

    grouped = Keys(digest_of(base.digest, b"summed", str(count).encode()), keys)
    whole = len(order) == groups and bool((order == np.arange(groups)).all())
    return Vector(sums, grouped, None if whole else order)


def rounded(values: np.ndarray, to: float) -> np.ndarray:
    """graph/prometheus.py's `_round` on an array, the same floats: multiply, add 0.5 (two
    operations, as Go and Python do them: no fused multiply-add), floor (NaN and infinities
    through as they are) and divide. `+ 0.0`: math.floor gives an int, so the row path
    never makes a -0.0."""
    inverse = 1.0 / to
    scaled = values * inverse
    scaled += 0.5
    out = np.floor(scaled)
    out += 0.0
    out /= inverse
    return out


# The groupings of summed() by (keys' digest, count): which sum each row goes into, and
# how many sums. A few per scope, the oldest dropped first; handed back from builds apart.
GROUPS: dict[tuple[bytes, int], tuple[np.ndarray, int]] = {}
# The digests of the key blocks whose fixed text was checked (and their rows' count).
SEEN: dict[bytes, int] = {}
KEPT = 64
LOCK = threading.Lock()  # answers are read in the query threads
DECODING = threading.RLock()  # a grouping's keys are made of its answer's
memory.keep_dicts("answer columns", GROUPS, SEEN)


def remember(kept: dict[Any, Any], key: Any, value: Any) -> None:
    with LOCK:
        while len(kept) >= KEPT:
            kept.pop(next(iter(kept)))
        kept[key] = value
