"""Telemetry dialects by name: what MESHLENS_DIALECTS and MeshConfig.dialects choose from.

Each dialect is a package beside this file, behind the protocol in dialect.py.
"""

from __future__ import annotations

from graph.sources.dialect import Dialect
from graph.sources.istio.dialect import ISTIO
from graph.sources.linkerd.dialect import LINKERD
from graph.sources.traces.dialect import TRACES

DIALECTS: dict[str, Dialect] = {ISTIO.name: ISTIO, LINKERD.name: LINKERD, TRACES.name: TRACES}


class UnknownDialect(ValueError):
    pass


def dialect_named(name: str) -> Dialect:
    try:
        return DIALECTS[name]
    except KeyError:
        known = ", ".join(sorted(DIALECTS))
        raise UnknownDialect(f"no telemetry dialect {name!r}, use one of {known}") from None
