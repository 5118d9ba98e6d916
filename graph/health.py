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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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


Counts = dict[str, float]  # response code -> requests per second


def response_counts(responses: dict[str, dict[str, Any]]) -> Counts:
    """{code: {"flags": {flag: rate}, ...}} -> {code: rate} (Kiali counts by flags)."""
    return {code: sum(d["flags"].values()) for code, d in responses.items()}


def responses_status(
    protocol: str, responses: dict[str, dict[str, Any]], direction: str,
    tolerances: Sequence[Tolerance],
) -> str:
    """The status of one protocol's responses {code: {"flags": {flag: rate}}}."""
    return Judge(HealthConfig()).status(protocol, response_counts(responses), direction,
                                        tuple(tolerances))


def node_name(n: dict[str, Any]) -> tuple[str, str]:
    """The kind and name a health rule matches for a node."""
    node_type = n["node_type"]
    if node_type == ids.NODE_SERVICE:
        return "service", n["service"]
    if node_type == ids.NODE_APP:
        return "app", n["app"]
    return "workload", n["workload"]


class Scorer:
    """The tolerances that apply to one protocol and direction, and which of them each
    response code matches (remembered: a graph repeats a handful of codes)."""

    __slots__ = ("applicable", "hits")

    def __init__(self, applicable: tuple[Tolerance, ...]) -> None:
        self.applicable = applicable
        self.hits: dict[str, tuple[int, ...]] = {}

    def status(self, counts: Counts, total: float) -> str:
        if total <= 0:
            return NA
        hits = self.hits
        errors: list[float] | None = None
        for code, n in counts.items():
            matched = hits.get(code)
            if matched is None:
                matched = hits[code] = tuple(
                    i for i, t in enumerate(self.applicable) if t.matches_code(code))
            if matched:
                if errors is None:
                    errors = [0.0] * len(self.applicable)
                for i in matched:
                    errors[i] += n
        if errors is None:
            return HEALTHY  # no response code is an error by any tolerance
        status = HEALTHY
        for t, e in zip(self.applicable, errors, strict=True):
            found = t.status(e / total * 100)
            if PRIORITY[found] > PRIORITY[status]:
                status = found
        return status


class Judge:
    """Applies a HealthConfig, remembering what repeats across a graph: the tolerances of
    each (namespace, kind, name) and the Scorer of each (tolerances, protocol, direction).
    Equal sets of applicable tolerances share one Scorer, so an edge whose two ends follow
    the same rules is scored once."""

    def __init__(self, config: HealthConfig) -> None:
        self.config = config
        self.by_node: dict[tuple[str, str, str], tuple[Tolerance, ...]] = {}
        self.scorers: dict[tuple[int, str, str], Scorer] = {}
        self.shared: dict[tuple[Tolerance, ...], Scorer] = {}

    def tolerances(self, n: dict[str, Any]) -> tuple[Tolerance, ...]:
        key = (n["namespace"], *node_name(n))
        found = self.by_node.get(key)
        if found is None:
            found = self.by_node[key] = tuple(self.config.tolerances(*key))
        return found

    def scorer(self, tolerances: tuple[Tolerance, ...], protocol: str, direction: str) -> Scorer:
        key = (id(tolerances), protocol, direction)
        found = self.scorers.get(key)
        if found is None:
            applicable = tuple(t for t in tolerances if t.applies(protocol, direction))
            found = self.shared.get(applicable)
            if found is None:
                found = self.shared[applicable] = Scorer(applicable)
            self.scorers[key] = found
        return found

    def status(self, protocol: str, counts: Counts, direction: str,
               tolerances: tuple[Tolerance, ...]) -> str:
        return self.scorer(tolerances, protocol, direction).status(counts, sum(counts.values()))


def add_counts(into: Counts, counts: Counts) -> None:
    for code, n in counts.items():
        into[code] = into.get(code, 0.0) + n


def annotate_health(nodes: Mapping[str, dict[str, Any]],
                    edges: Iterable[tuple[str, str, str, dict[str, Any]]],
                    config: HealthConfig) -> None:
    """Set `healthStatus` in the metadata of every node and edge, in one pass over the
    edges (source, target, protocol, data): an edge is judged with its source's outbound
    and its destination's inbound tolerances; a node by all its inbound and outbound
    traffic. Works on a TrafficMap (`tm.nodes, tm.edges()`) or a NetworkX graph
    (`g.nodes, g.edges(keys=True, data=True)`)."""
    judge = Judge(config)
    tolerances = {node_id: judge.tolerances(n) for node_id, n in nodes.items()}
    # node id -> (direction, protocol) -> counts; "tcp" marks TCP traffic.
    seen: dict[str, dict[tuple[str, str], Counts]] = {node_id: {} for node_id in tolerances}
    scorer = judge.scorer
    for u, v, protocol, d in edges:
        md = d["md"]
        if protocol == "tcp":
            has_traffic = md.get("tcp", 0) > 0
            md["healthStatus"] = HEALTHY if has_traffic else NA
            if has_traffic:
                seen[u][("outbound", "tcp")] = seen[v][("inbound", "tcp")] = {"-": 1.0}
            continue
        counts = response_counts(md.get(f"{protocol}Responses", {}))
        total = sum(counts.values())
        outbound = scorer(tolerances[u], protocol, "outbound")
        inbound = scorer(tolerances[v], protocol, "inbound")
        status = outbound.status(counts, total)
        if inbound is not outbound:
            other = inbound.status(counts, total)
            if PRIORITY[other] > PRIORITY[status]:
                status = other
        md["healthStatus"] = status
        if total > 0:
            add_counts(seen[u].setdefault(("outbound", protocol), {}), counts)
            add_counts(seen[v].setdefault(("inbound", protocol), {}), counts)
        else:
            seen[u].setdefault(("outbound", protocol), {})
            seen[v].setdefault(("inbound", protocol), {})
    for node_id, by_kind in seen.items():
        nodes[node_id]["md"]["healthStatus"] = worst(
            HEALTHY if protocol == "tcp"
            else judge.status(protocol, counts, direction, tolerances[node_id])
            for (direction, protocol), counts in by_kind.items())
