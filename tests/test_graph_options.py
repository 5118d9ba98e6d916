"""Parsing request options: clear errors that name the parameter."""

from __future__ import annotations

import pytest

from graph.options import GraphOptions, OptionError, graph_options_from_query


def test_it_reads_the_api_parameters() -> None:
    options = graph_options_from_query({
        "namespaces": "shop,bookinfo", "graph_type": "versioned_app", "duration": "5m",
        "query_time": "1700000000", "inject_service_nodes": "false"})
    assert options.namespaces == ("bookinfo", "shop")
    assert options.graph_type == "versionedApp"
    assert (options.duration, options.query_time, options.inject_service_nodes) == (
        300, 1700000000, False)


@pytest.mark.parametrize(("query", "param"), [
    ({"namespaces": "bookinfo", "graph_type": "nope"}, "graph_type"),
    ({"namespaces": "bookinfo", "duration": "abc"}, "duration"),
    ({"namespaces": "bookinfo", "duration": "0s"}, "duration"),
    ({"namespaces": "bookinfo", "query_time": "yesterday"}, "query_time"),
    ({"namespaces": "'quoted'"}, "namespaces"),
    ({"namespaces": "{braces}"}, "namespaces"),
    ({"namespaces": "with space"}, "namespaces"),
    ({"namespaces": ""}, "namespaces"),
    ({"namespaces": "bookinfo", "inject_service_nodes": "maybe"}, "inject_service_nodes"),
    ({"namespaces": "bookinfo", "colour": "red"}, "colour"),
])
def test_it_names_the_bad_parameter(query: dict[str, str], param: str) -> None:
    with pytest.raises(OptionError) as caught:
        graph_options_from_query(query)
    assert caught.value.param == param
    assert str(caught.value).startswith(f"{param}: ")


def test_it_round_trips_a_scope_key() -> None:
    options = graph_options_from_query({"namespaces": "bookinfo", "duration": "2m"})
    assert GraphOptions.from_scope_key(options.scope_key()) == options
