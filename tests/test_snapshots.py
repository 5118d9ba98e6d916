"""Graphs kept by version and fetched by reference: the encoding, the fingerprint deltas,
and GET /api/v1/snapshot over the session's Redis.

    ingress -> productpage -> [reviews] -> reviews-v2 -> [ratings] -> ratings-v1 (50 % 503)
"""

from __future__ import annotations

import gzip
from typing import Any

import orjson
import pytest
from django.test import Client

from dashboard import live, publish
from graph import patch
from graph.delta import diff_elements, diff_fingerprints, encode_graph, encoded_size
from graph.options import graph_options_from_query
from tests.live_env import QUERY_TIME

VIEW = {"namespaces": "bookinfo", "duration": "60s"}
SCOPE = graph_options_from_query(VIEW).scope_key()

pytestmark = pytest.mark.django_db


def graph(rate: str, with_c: bool = True) -> dict[str, Any]:
    """a -> b, and b -> c when `with_c`; the a -> b edge carries `rate`."""
    nodes = [{"data": {"id": "a"}}, {"data": {"id": "b"}, "position": {"x": 1, "y": 2}}]
    edges = [{"data": {"id": "ab", "source": "a", "target": "b", "rate": rate}}]
    if with_c:
        nodes.append({"data": {"id": "c"}})
        edges.append({"data": {"id": "bc", "source": "b", "target": "c"}})
    return {"timestamp": 1, "duration": 60, "graphType": "workload",
            "elements": {"nodes": nodes, "edges": edges}}


def test_it_encodes_a_graph_as_one_dump_would() -> None:
    g = graph("1.00")
    assert encode_graph(g).body == orjson.dumps(g)
    assert encode_graph({"elements": {"nodes": [], "edges": []}}).body == orjson.dumps(
        {"elements": {"nodes": [], "edges": []}})


def test_it_finds_the_same_delta_from_fingerprints_as_from_graphs() -> None:
    """a -> b (rate 1 -> 2), b -> c removed: ab changed; bc, then c, removed."""
    old, new = graph("1.00"), graph("2.00", with_c=False)
    delta = diff_fingerprints(encode_graph(old).fingerprints, new, encode_graph(new).fingerprints)
    assert delta == diff_elements(old["elements"], new["elements"])
    assert [e["data"]["id"] for e in delta.changed] == ["ab"]
    assert delta.removed == ["bc", "c"]
    assert delta.added == []


def test_it_reads_each_elements_size_from_its_fingerprint() -> None:
    g = graph("1.00")
    prints = encode_graph(g).fingerprints
    for group in ("nodes", "edges"):
        for element in g["elements"][group]:
            assert encoded_size(prints[element["data"]["id"]]) == len(orjson.dumps(element))


def test_it_sends_changed_elements_as_patches_of_their_changed_fields() -> None:
    """a -> b (rate 1 -> 2, and a field gone): the delta carries ab's id and rate, and names
    the gone field; b moved: its position and nothing else."""
    old, new = graph("1.00"), graph("2.00")
    old["elements"]["edges"][0]["data"]["idle"] = True
    new["elements"]["nodes"][1]["position"] = {"x": 5, "y": 2}
    before, encoded = encode_graph(old).fingerprints, encode_graph(new)
    delta = diff_fingerprints(before, new, encoded.fingerprints)
    text = publish.delta_message(delta, patch.graph_prints(old), new, 5, 1, 2)
    message = orjson.loads(text or b"null")
    assert (message["base"], message["version"]) == (1, 2)
    assert message["changed"] == [
        {"group": "nodes", "data": {"id": "b"}, "position": {"x": 5, "y": 2}},
        {"group": "edges", "data": {"id": "ab", "rate": "2.00"}, "unset": ["idle"]}]
    assert message["added"] == [] and message["removed"] == []


def test_it_sends_a_snapshot_when_a_changed_elements_fields_are_unknown() -> None:
    old, new = graph("1.00"), graph("2.00")
    before, encoded = encode_graph(old).fingerprints, encode_graph(new)
    delta = diff_fingerprints(before, new, encoded.fingerprints)
    assert publish.delta_message(delta, {}, new, 5, 1, 2) is None


def test_it_keeps_field_prints_through_json() -> None:
    prints = patch.graph_prints(graph("1.00"))
    assert patch.from_json(orjson.loads(orjson.dumps(patch.to_json(prints)))) == prints


def test_it_fingerprints_survive_a_round_trip_through_json() -> None:
    """Fingerprints are cached in Redis as JSON: they must come back equal."""
    prints = encode_graph(graph("1.00")).fingerprints
    assert orjson.loads(orjson.dumps(prints)) == prints
    assert all(0 <= value < 2 ** 63 for value in prints.values())


@pytest.fixture
def cached_bookinfo(bookinfo_prometheus: Any, meshlens_redis: str) -> tuple[live.Cached, bytes]:
    """Bookinfo's graph cached as the live scope of VIEW, as a refresh would leave it."""
    live.client().flushdb()
    body = Client().get("/api/v1/graph", VIEW | {"query_time": QUERY_TIME}).content
    encoded = encode_graph(orjson.loads(body))
    return live.save(SCOPE, encoded.body, encoded.fingerprints), encoded.body


def test_it_serves_a_snapshot_by_its_version(cached_bookinfo: tuple[live.Cached, bytes]) -> None:
    cached, body = cached_bookinfo
    href = publish.snapshot_href(SCOPE, cached.version)
    plain = Client().get(href)
    assert plain.status_code == 200 and plain.content == body
    assert "immutable" in plain["Cache-Control"]
    compressed = Client().get(href, headers={"Accept-Encoding": "gzip, deflate"})
    assert compressed["Content-Encoding"] == "gzip"
    assert gzip.decompress(compressed.content) == body


def test_it_sends_small_snapshots_inline_and_big_ones_by_reference(
        cached_bookinfo: tuple[live.Cached, bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    cached, body = cached_bookinfo
    inline = orjson.loads(publish.cached_snapshot_message(SCOPE, cached))
    assert inline["version"] == cached.version and inline["graph"] == orjson.loads(body)
    monkeypatch.setattr(publish, "INLINE_MAX_BYTES", len(body) - 1)
    by_reference = orjson.loads(publish.cached_snapshot_message(SCOPE, cached))
    assert by_reference == {"type": "graph.snapshot", "version": cached.version,
                            "href": publish.snapshot_href(SCOPE, cached.version)}
    assert Client().get(by_reference["href"]).content == body


def test_it_keeps_a_replaced_version_for_a_while(
        cached_bookinfo: tuple[live.Cached, bytes]) -> None:
    first, body = cached_bookinfo
    second = live.save(SCOPE, body, encode_graph(orjson.loads(body)).fingerprints)
    assert second.version == first.version + 1
    ttl = live.client().ttl(live.body_key(SCOPE, first.version))
    assert 0 < ttl <= live.REPLACED_TTL_S
    assert Client().get(publish.snapshot_href(SCOPE, first.version)).status_code == 200


def test_it_says_which_snapshot_is_gone_or_malformed(
        cached_bookinfo: tuple[live.Cached, bytes]) -> None:
    cached, _ = cached_bookinfo
    gone = Client().get(publish.snapshot_href(SCOPE, cached.version + 5))
    assert gone.status_code == 404 and gone.json()["error"].startswith("version: snapshot")
    for bad in ("abc", "-1", "1e3", ""):
        answer = Client().get("/api/v1/snapshot", VIEW | {"version": bad})
        assert answer.status_code == 400 and answer.json()["error"].startswith("version: ")
    missing = Client().get("/api/v1/snapshot", VIEW)
    assert missing.status_code == 400 and missing.json()["error"].startswith("version: ")
    bad_view = Client().get("/api/v1/snapshot", {"namespaces": "Bad!", "version": "1"})
    assert bad_view.status_code == 400 and bad_view.json()["error"].startswith("namespaces: ")
