"""Appenders: extra telemetry laid onto a built graph (response time, throughput, mTLS, idle
nodes). Each asks Prometheus its own queries, sent in the same parallel batch as the traffic
queries, and annotates the graph's edges and nodes from the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import networkx as nx

from graph.options import GraphOptions, MeshConfig
from graph.prometheus import Query, Row


class Appender(Protocol):
    def queries(self, options: GraphOptions, mesh: MeshConfig) -> list[Query]: ...

    def apply(self, g: nx.MultiDiGraph, results: Sequence[list[Row]],
              options: GraphOptions) -> None: ...


def appenders_for(options: GraphOptions) -> list[Appender]:
    """The appenders every /api/v1/graph answer includes."""
    return []
