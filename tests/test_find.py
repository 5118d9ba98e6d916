"""The Find/Hide language (graph/find.py) against the case file the page's parser
(static/js/find.js) is checked against too: the same expressions, ids and errors.

The elements of tests/find_cases.json:

    ingress (outside, root) -> [productpage] -> (reviews) -> [reviews-v2] -> [ratings-v1]
    unknown (root) --------/                \\-> cart (gRPC) -> redis (TCP, sidecar-less)
                                             \\-> old (idle)
    [...]: in the bookinfo namespace box; cart and redis in the shop box.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from graph import find

CASES_FILE = Path(__file__).with_name("find_cases.json")
CASES = json.loads(CASES_FILE.read_text())
ELEMENTS = CASES["elements"]


def outcome(case: dict[str, Any]) -> dict[str, Any]:
    """What graph/find.py makes of a case, in the case file's terms."""
    param = case.get("param", "find")
    try:
        expression = find.parse(case["expr"], param)
    except find.FindError as exc:
        return {"error": str(exc)}
    if "hide" in case:
        return {"hide": sorted(find.hidden(expression, ELEMENTS))}
    return {"find": sorted(find.found(expression, ELEMENTS))}


def expected(case: dict[str, Any]) -> dict[str, Any]:
    return {key: case[key] for key in ("find", "hide", "error") if key in case}


@pytest.mark.parametrize("case", CASES["cases"], ids=lambda c: c["expr"] or "(empty)")
def test_it_reads_each_case_as_the_case_file_says(case: dict[str, Any]) -> None:
    assert outcome(case) == expected(case)


@pytest.mark.skipif(shutil.which("node") is None, reason="no node on this machine")
def test_it_reads_each_case_the_same_in_the_page() -> None:
    """static/js/find.js, run by Node on the same file, gives the same answers."""
    runner = Path(__file__).with_name("find_cases.mjs")
    done = subprocess.run(["node", str(runner), str(CASES_FILE)], capture_output=True,
                          text=True, timeout=60, check=True)
    answers = json.loads(done.stdout)
    assert len(answers) == len(CASES["cases"])
    for case, answer in zip(CASES["cases"], answers, strict=True):
        assert (case["expr"], answer) == (case["expr"], expected(case))


def test_it_covers_every_operand_and_operator() -> None:
    """Each operand name, alias and operator of the language appears in some case."""
    words = " ".join(c["expr"].lower() for c in CASES["cases"])
    names = {*find.NODE_TEXT, *find.NODE_NUMBERS, *find.EDGE_TEXT, *find.EDGE_NUMBERS, "name",
             *find.UNARY, "failed", "trafficsource", "label:", "is ", "has ", " not ", "!",
             *find.SYMBOLS, *find.WORD_OPS, " and ", " or ", "nan"} - {"%grpcerror", "deg"}
    missing = sorted(name for name in names if name not in words)
    assert missing == []


def test_it_marks_found_and_takes_out_hidden_elements() -> None:
    """reviews -> reviews-v2 (10 % errors) -> ratings-v1 (50 % errors): the failing edge is
    hidden, and ratings-v1 with it (no edge left); reviews-v2 keeps its other edge. Found:
    productpage"""
    body = {"elements": json.loads(json.dumps(ELEMENTS))}
    find.apply(body, find.parse("app = productpage"), find.parse("%httperr > 20", "hide"))
    ids = {e["data"]["id"] for group in body["elements"].values() for e in group}
    assert {"ratings-v1", "reviews-v2>ratings-v1"} & ids == set()
    assert {"reviews-v2", "reviews>reviews-v2"} <= ids
    assert [e["data"]["id"] for e in body["elements"]["nodes"] if e["data"].get("isFind")] \
        == ["productpage"]


def test_it_points_at_the_problem() -> None:
    with pytest.raises(find.FindError) as raised:
        find.parse("healthy or rt > 1000 and foo", "hide")
    assert (str(raised.value), raised.value.param, raised.value.position) == \
        ("hide: unknown operand 'foo' at 26", "hide", 26)
