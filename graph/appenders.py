"""Appenders: extra telemetry laid onto a built graph (response time, throughput, mTLS, idle
nodes). Each asks Prometheus its own queries, sent in the same parallel batch as the traffic
queries, and annotates the graph's edges and nodes from the rows.

An appender is the dialect's (it reads the dialect's metrics): a dialect says which ones a
request gets (graph/sources/dialect.py). This module says what the engine asks of one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import networkx as nx

from graph.appender_context import AppenderContext
from graph.prometheus import Query, Row


class Appender(Protocol):
    """Each call gets the build's context; an appender keeps no state between calls."""

    def queries(self, ctx: AppenderContext) -> list[Query]: ...

    def apply(self, g: nx.MultiDiGraph, results: Sequence[list[Row]],
              ctx: AppenderContext) -> None: ...


class PreparedAppender(Appender, Protocol):
    """An appender that reads its rows apart from the graph: the build calls prepare() as
    soon as the appender's own answers are in, while Prometheus still computes the others
    and before the traffic is merged, and annotate() once the graph is there. apply() is
    the two in one."""

    def prepare(self, results: Sequence[list[Row]], ctx: AppenderContext) -> Any: ...

    def annotate(self, g: nx.MultiDiGraph, prepared: Any, ctx: AppenderContext) -> None: ...
