"""Element fingerprints cut from one encoding of each group, against each element encoded
on its own."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from graph.delta import fingerprint, group_fingerprints


def one_by_one(elements: list[dict[str, Any]], group: str) -> dict[str, int]:
    return {e["data"]["id"]: fingerprint(orjson.dumps(e), group) for e in elements}


def cut(elements: list[dict[str, Any]], group: str) -> dict[str, int]:
    found: dict[str, int] = {}
    group_fingerprints(elements, orjson.dumps(elements), group, found)
    return found


ELEMENTS = {
    "none": [],
    "one": [{"data": {"id": "a"}}],
    "two": [{"data": {"id": "a", "x": "1.00"}}, {"data": {"id": "b"}}],
    "positions": [{"data": {"id": "a"}, "position": {"x": 1, "y": 2}},
                  {"data": {"id": "b"}, "position": {"x": 3, "y": 4}}, {"data": {"id": "c"}}],
    # A name that spells the separator is escaped in JSON: nothing to confuse.
    "a tricky name": [{"data": {"id": "a", "name": '},{"data":{'}}, {"data": {"id": "b"}}],
    # Structures that do break the cut: encoded one by one instead.
    "data not first": [{"position": {"x": 1}, "data": {"id": "a"}}, {"data": {"id": "b"}}],
    "nested data": [{"data": {"id": "a", "list": [{"k": 1}, {"data": {"v": 2}}]}},
                    {"data": {"id": "b"}}],
}


@pytest.mark.parametrize("name", ELEMENTS)
@pytest.mark.parametrize("group", ["nodes", "edges"])
def test_it_fingerprints_each_element_as_its_own_encoding_would(name: str, group: str) -> None:
    """a, b, c: one, two or three elements, with positions, odd names or odd shapes."""
    elements = ELEMENTS[name]
    assert cut(elements, group) == one_by_one(elements, group)
