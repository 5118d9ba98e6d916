"""Health from error rates, with Kiali's tolerance model.

A tolerance says: for these response codes of this protocol, in this direction, an error
share at or above `degraded` % is Degraded and at or above `failure` % is Failure (only
when there are errors at all). Rules pick the tolerances for a node by namespace, kind and
name (regular expressions; the first rule that matches wins, as in Kiali).

An edge is judged with the source's outbound and the destination's inbound tolerances and
takes the worse; a node takes the worst of its inbound and outbound traffic.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from graph import ids

HEALTHY, DEGRADED, FAILURE, NA = "Healthy", "Degraded", "Failure", "NA"
PRIORITY = {NA: 0, HEALTHY: 1, DEGRADED: 2, FAILURE: 3}
REQUEST_PROTOCOLS = ("http", "grpc")


def worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=PRIORITY.__getitem__, default=NA)


def code_pattern(code: str) -> re.Pattern[str]:
    """Kiali's shorthand: `5XX` means any 5xx code."""
    if re.fullmatch(r"[0-9xX]+", code):
        return re.compile("^" + code.replace("X", r"\d").replace("x", r"\d") + "$")
    return re.compile(code)


@dataclass(frozen=True)
class Tolerance:
    code: str
    protocol: str
    direction: str = ".*"
    degraded: float = 0.0
    failure: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "_code", code_pattern(self.code))
        object.__setattr__(self, "_protocol", re.compile(f"^(?:{self.protocol})$"))
        object.__setattr__(self, "_direction", re.compile(f"^(?:{self.direction})$"))

    def applies(self, protocol: str, direction: str) -> bool:
        return bool(self._protocol.match(protocol)  # type: ignore[attr-defined]
                    and self._direction.match(direction))  # type: ignore[attr-defined]

    def matches_code(self, code: str) -> bool:
        return bool(self._code.search(code))  # type: ignore[attr-defined]

    def status(self, error_pct: float) -> str:
        if error_pct <= 0:
            return HEALTHY
        if error_pct >= self.failure:
            return FAILURE
        if error_pct >= self.degraded:
            return DEGRADED
        return HEALTHY


DEFAULT_TOLERANCES = (
    Tolerance(code="5XX", protocol="http", degraded=0, failure=10),
    Tolerance(code="4XX", protocol="http", degraded=10, failure=20),
    Tolerance(code=r"^[1-9]$|^1[0-6]$", protocol="grpc", degraded=0, failure=10),
    Tolerance(code="^-$", protocol="http|grpc", degraded=0, failure=10),
)


@dataclass(frozen=True)
class Rule:
    tolerances: tuple[Tolerance, ...]
    namespace: str = ".*"
    kind: str = ".*"
    name: str = ".*"

    def matches(self, namespace: str, kind: str, name: str) -> bool:
        return all(re.fullmatch(p, v) for p, v in
                   ((self.namespace, namespace), (self.kind, kind), (self.name, name)))


@dataclass(frozen=True)
class HealthConfig:
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    @classmethod
    def default(cls) -> HealthConfig:
        return cls((Rule(DEFAULT_TOLERANCES),))

    def tolerances(self, namespace: str, kind: str, name: str) -> Sequence[Tolerance]:
        for rule in self.rules:
            if rule.matches(namespace, kind, name):
                return rule.tolerances
        return DEFAULT_TOLERANCES


def responses_status(
    protocol: str, responses: dict[str, dict[str, Any]], direction: str,
    tolerances: Sequence[Tolerance],
) -> str:
    """The status of one protocol's responses {code: {"flags": {flag: rate}}}."""
    counts = {code: sum(d["flags"].values()) for code, d in responses.items()}
    total = sum(counts.values())
    if total <= 0:
        return NA
    statuses = [HEALTHY]
    for tol in tolerances:
        if tol.applies(protocol, direction):
            errors = sum(n for code, n in counts.items() if tol.matches_code(code))
            statuses.append(tol.status(errors / total * 100))
    return worst(statuses)


def node_name(n: dict[str, Any]) -> tuple[str, str]:
    """The kind and name a health rule matches for a node."""
    node_type = n["node_type"]
    if node_type == ids.NODE_SERVICE:
        return "service", n["service"]
    if node_type == ids.NODE_APP:
        return "app", n["app"]
    return "workload", n["workload"]


def edge_status(g: nx.MultiDiGraph, u: str, v: str, protocol: str, md: dict[str, Any],
                config: HealthConfig) -> str:
    if protocol == "tcp":
        return HEALTHY if md.get("tcp", 0) > 0 else NA
    responses = md.get(f"{protocol}Responses", {})
    source, dest = g.nodes[u], g.nodes[v]
    out_tol = config.tolerances(source["namespace"], *node_name(source))
    in_tol = config.tolerances(dest["namespace"], *node_name(dest))
    return worst([responses_status(protocol, responses, "outbound", out_tol),
                  responses_status(protocol, responses, "inbound", in_tol)])


def merged_responses(edges: Iterable[dict[str, Any]], protocol: str) -> dict[str, dict]:
    merged: dict[str, dict[str, Any]] = {}
    for md in edges:
        for code, detail in md.get(f"{protocol}Responses", {}).items():
            flags = merged.setdefault(code, {"flags": {}})["flags"]
            for flag, value in detail["flags"].items():
                flags[flag] = flags.get(flag, 0.0) + value
    return merged


def node_status(g: nx.MultiDiGraph, node_id: str, config: HealthConfig) -> str:
    n = g.nodes[node_id]
    tolerances = config.tolerances(n["namespace"], *node_name(n))
    statuses = []
    for direction, edges in (("inbound", g.in_edges(node_id, data=True)),
                             ("outbound", g.out_edges(node_id, data=True))):
        mds = [d["md"] for *_, d in edges]
        for protocol in REQUEST_PROTOCOLS:
            statuses.append(responses_status(
                protocol, merged_responses(mds, protocol), direction, tolerances))
        if any(md.get("tcp", 0) > 0 for md in mds):
            statuses.append(HEALTHY)
    return worst(statuses)


def annotate_health(g: nx.MultiDiGraph, config: HealthConfig) -> None:
    """Set `healthStatus` in the metadata of every node and edge."""
    for u, v, protocol, d in g.edges(keys=True, data=True):
        d["md"]["healthStatus"] = edge_status(g, u, v, protocol, d["md"], config)
    for node_id in g.nodes:
        g.nodes[node_id]["md"]["healthStatus"] = node_status(g, node_id, config)
