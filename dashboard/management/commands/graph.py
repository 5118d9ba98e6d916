"""`manage.py graph`: print the graph of /api/v1/graph, as JSON or in another of its formats;
needs Prometheus only (and Graphviz for svg)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError

from dashboard.graphs import graph_payload, options_from_query
from graph.edges import failing_edges
from graph.export import DEFAULT_FORMAT, FORMAT_NAMES, export
from graph.export_svg import GraphvizError
from graph.options import OptionError
from graph.prometheus import PrometheusError


class Command(BaseCommand):
    help = "Print the service graph of namespaces as JSON (the body of GET /api/v1/graph)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--namespaces", required=True, help="comma list, e.g. bookinfo,shop")
        parser.add_argument("--graph-type", default="workload",
                            help="workload, app, versioned_app or service")
        parser.add_argument("--duration", default="60s", help="rate window, e.g. 60s, 5m")
        parser.add_argument("--query-time", default=None, help="Unix time in seconds (now)")
        parser.add_argument("--inject-service-nodes", default="true", help="true or false")
        parser.add_argument("--box-by", default=None,
                            help="boxes: a comma list of cluster, namespace, app")
        parser.add_argument("--format", choices=("json", "edges", *FORMAT_NAMES),
                            default="json",
                            help="json (or cytoscape): the API body; edges: failing edges, one "
                                 "per line; the others as format= of /api/v1/graph")

    def handle(self, *args: Any, **opts: Any) -> None:
        query = {"namespaces": opts["namespaces"], "graph_type": opts["graph_type"],
                 "duration": opts["duration"],
                 "inject_service_nodes": opts["inject_service_nodes"]}
        if opts["query_time"]:
            query["query_time"] = opts["query_time"]
        if opts["box_by"]:
            query["box_by"] = opts["box_by"]
        try:
            graph = graph_payload(options_from_query(query), record=False)
        except OptionError as exc:
            raise CommandError(f"--{exc.param.replace('_', '-')}: {exc.message}") from None
        except PrometheusError as exc:
            raise CommandError(str(exc)) from None
        if opts["format"] in ("json", DEFAULT_FORMAT):
            sys.stdout.write(orjson.dumps(graph, option=orjson.OPT_INDENT_2).decode() + "\n")
            return
        if opts["format"] != "edges":
            try:
                sys.stdout.write(export(graph, opts["format"]).content.decode())
            except GraphvizError as exc:
                raise CommandError(str(exc)) from None
            return
        for edge in failing_edges(graph, frozenset({"Failure", "Degraded"})):
            sys.stdout.write(f"{edge['healthStatus']:<9} {edge['source']['label']} -> "
                             f"{edge['target']['label']} {edge['protocol']} "
                             f"{edge['rate']:g}/s {edge['errorPercent']:.1f}% err\n")
