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
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graph import ids, memory

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


def plain_rules(config: HealthConfig) -> list[dict[str, Any]]:
    """The rules as JSON for the page, which judges its summed edges (folded namespaces)
    with them as the server judges real ones: the first rule whose namespace, kind and
    name match a node gives its tolerances (Kiali's defaults after the last). A code is
    sent as the regular expression it stands for (`5XX` -> `^5\\d\\d$`)."""
    return [{"namespace": rule.namespace, "kind": rule.kind, "name": rule.name,
             "tolerances": [{"code": code_pattern(t.code).pattern, "protocol": t.protocol,
                             "direction": t.direction, "degraded": t.degraded,
                             "failure": t.failure} for t in rule.tolerances]}
            for rule in config.rules]


Counts = dict[str, float]  # response code -> requests per second

# Statuses by rank, so that the worst of several is a max() of small integers.
STATUSES = (NA, HEALTHY, DEGRADED, FAILURE)
NA_RANK, HEALTHY_RANK, DEGRADED_RANK, FAILURE_RANK = range(4)
RESPONSES_KEY = {protocol: f"{protocol}Responses" for protocol in REQUEST_PROTOCOLS}
OUTBOUND, INBOUND = "outbound", "inbound"
# Bounds on the caches kept across builds (each entry is small; a mesh repeats its nodes
# and its few response codes build after build).
MAX_JUDGES = 8
MAX_NODES = 1 << 18
MAX_PLANS = 1 << 12


def response_counts(responses: dict[str, dict[str, Any]]) -> Counts:
    """{code: {"flags": {flag: rate}, ...}} -> {code: rate} (Kiali counts by flags)."""
    return {code: sum(d["flags"].values()) for code, d in responses.items()}


def responses_status(
    protocol: str, responses: dict[str, dict[str, Any]], direction: str,
    tolerances: Sequence[Tolerance],
) -> str:
    """The status of one protocol's responses {code: {"flags": {flag: rate}}}."""
    applicable = tuple(t for t in tolerances if t.applies(protocol, direction))
    counts = response_counts(responses)
    values = list(counts.values())
    return STATUSES[Scorer(applicable).rank(tuple(counts), values, sum(values))]


def node_name(n: dict[str, Any]) -> tuple[str, str]:
    """The kind and name a health rule matches for a node."""
    node_type = n["node_type"]
    if node_type == ids.NODE_SERVICE:
        return "service", n["service"]
    if node_type == ids.NODE_APP:
        return "app", n["app"]
    return "workload", n["workload"]


Plan = tuple[tuple[float, float, tuple[int, ...]], ...]


class Scorer:
    """The tolerances that apply to one protocol and direction. For each sequence of
    response codes it has seen (a graph repeats a handful: 200, 404, 503 in that order),
    it remembers which codes each tolerance counts as errors, by position, so that scoring
    is a few additions and comparisons."""

    __slots__ = ("applicable", "plans")

    def __init__(self, applicable: tuple[Tolerance, ...]) -> None:
        self.applicable = applicable
        self.plans: dict[tuple[str, ...], Plan] = {}

    def plan(self, codes: tuple[str, ...]) -> Plan:
        """(degraded, failure, positions of the codes it matches) of each tolerance that
        matches any of `codes`."""
        if len(self.plans) >= MAX_PLANS:
            self.plans.clear()
        found = self.plans[codes] = tuple(
            (t.degraded, t.failure, positions) for t in self.applicable
            if (positions := tuple(i for i, c in enumerate(codes) if t.matches_code(c))))
        return found

    def rank(self, codes: tuple[str, ...], values: Sequence[float], total: float) -> int:
        """The status rank of responses: `values[i]` requests per second of `codes[i]`,
        `total` their sum. Each tolerance's error share is added up in code order, as a
        per-code loop would, so that a share on a band's edge falls the same way."""
        if total <= 0:
            return NA_RANK
        plan = self.plans.get(codes)
        if plan is None:
            plan = self.plan(codes)
        rank = HEALTHY_RANK
        for degraded, failure, positions in plan:
            errors = 0.0
            for i in positions:
                errors += values[i]
            pct = errors / total * 100
            if pct <= 0:
                continue
            if pct >= failure:
                return FAILURE_RANK
            if pct >= degraded:
                rank = DEGRADED_RANK
        return rank


class NodeRules:
    """The scorers of one node's inbound and outbound traffic, by protocol."""

    __slots__ = ("inbound", "judge", "outbound", "tolerances")

    def __init__(self, judge: Judge, tolerances: tuple[Tolerance, ...]) -> None:
        self.judge, self.tolerances = judge, tolerances
        self.outbound: dict[str, Scorer] = {}
        self.inbound: dict[str, Scorer] = {}
        for protocol in REQUEST_PROTOCOLS:
            self.scorer(protocol, OUTBOUND)
            self.scorer(protocol, INBOUND)

    def scorer(self, protocol: str, direction: str) -> Scorer:
        found = self.judge.scorer(self.tolerances, protocol, direction)
        (self.outbound if direction == OUTBOUND else self.inbound)[protocol] = found
        return found


class Judge:
    """Applies a HealthConfig, remembering across builds what does not depend on the rates:
    the rules of each (namespace, kind, name) (regular expressions) and the Scorer of each
    set of applicable tolerances. Equal sets share one Scorer, so an edge whose two ends
    follow the same rules is scored once. One Judge per distinct config (`judge_for`):
    a changed rule is a different config, judged afresh."""

    def __init__(self, config: HealthConfig) -> None:
        self.config = config
        self.by_node: dict[tuple[str, str, str], NodeRules] = {}
        # By the id of a rule's tolerances (the same tuple for every node the rule
        # matches; NodeRules keeps it alive): nodes of one rule share their NodeRules.
        self.by_rule: dict[int, NodeRules] = {}
        self.shared: dict[tuple[Tolerance, ...], Scorer] = {}

    def rules(self, n: dict[str, Any]) -> NodeRules:
        key = (n["namespace"], *node_name(n))
        found = self.by_node.get(key)
        if found is None:
            if len(self.by_node) >= MAX_NODES:
                self.by_node.clear()
                self.by_rule.clear()
            tolerances = tuple(self.config.tolerances(*key))
            found = self.by_rule.get(id(tolerances))
            if found is None or found.tolerances is not tolerances:
                found = self.by_rule[id(tolerances)] = NodeRules(self, tolerances)
            self.by_node[key] = found
        return found

    def scorer(self, tolerances: tuple[Tolerance, ...], protocol: str, direction: str) -> Scorer:
        applicable = tuple(t for t in tolerances if t.applies(protocol, direction))
        found = self.shared.get(applicable)
        if found is None:
            found = self.shared[applicable] = Scorer(applicable)
        return found


_judges: dict[HealthConfig, Judge] = {}
_judges_lock = threading.Lock()  # builds may run in several threads of one process
# Handed back from builds in a child process (graph/forked.py), with the plans keyed by them
# (graph/health_arrays.py).
memory.keep_dicts("health judges", _judges)


def judge_for(config: HealthConfig) -> Judge:
    """The Judge of this config (by value: the dashboard reads its rules anew each build);
    a config that cannot be hashed (tolerances in a list) gets a Judge of its own."""
    try:
        hash(config)
    except TypeError:
        return Judge(config)
    with _judges_lock:
        found = _judges.get(config)
        if found is None:
            if len(_judges) >= MAX_JUDGES:
                del _judges[next(iter(_judges))]
            found = _judges[config] = Judge(config)
        return found


def annotate_health(nodes: Mapping[str, dict[str, Any]],
                    edges: Iterable[tuple[str, str, str, dict[str, Any]]],
                    config: HealthConfig) -> None:
    """Set `healthStatus` in the metadata of every node and edge, in one pass over the
    edges (source, target, protocol, data): an edge is judged with its source's outbound
    and its destination's inbound tolerances; a node by all its inbound and outbound
    traffic. Works on a TrafficMap (`tm.nodes, tm.edges()`) or a NetworkX graph
    (`g.nodes, g.edges(keys=True, data=True)`)."""
    judge = judge_for(config)
    rules = {node_id: judge.rules(n) for node_id, n in nodes.items()}
    node_rank = dict.fromkeys(rules, NA_RANK)
    # (node id, direction, protocol) -> requests per second by code, over its edges in
    # edge order; only traffic with a total above 0 (an idle direction is NA anyway).
    seen: dict[tuple[str, str, str], Counts] = {}
    responses_key = RESPONSES_KEY
    for u, v, protocol, d in edges:
        md = d["md"]
        if protocol == "tcp":
            if md.get("tcp", 0) > 0:
                md["healthStatus"] = HEALTHY
                node_rank[u] = node_rank[u] or HEALTHY_RANK
                node_rank[v] = node_rank[v] or HEALTHY_RANK
            else:
                md["healthStatus"] = NA
            continue
        responses = md.get(responses_key.get(protocol) or f"{protocol}Responses")
        if not responses:
            md["healthStatus"] = NA
            continue
        codes = tuple(responses)
        values = [sum(detail["flags"].values()) for detail in responses.values()]
        total = sum(values)
        outbound = rules[u].outbound.get(protocol) or rules[u].scorer(protocol, OUTBOUND)
        inbound = rules[v].inbound.get(protocol) or rules[v].scorer(protocol, INBOUND)
        rank = outbound.rank(codes, values, total)
        if inbound is not outbound and rank != FAILURE_RANK:
            rank = max(rank, inbound.rank(codes, values, total))
        md["healthStatus"] = STATUSES[rank]
        if total > 0:
            for key in ((u, OUTBOUND, protocol), (v, INBOUND, protocol)):
                into = seen.get(key)
                if into is None:
                    seen[key] = dict(zip(codes, values, strict=True))
                else:
                    for code, n in zip(codes, values, strict=True):
                        into[code] = into.get(code, 0.0) + n
    for (node_id, direction, protocol), counts in seen.items():
        if node_rank[node_id] == FAILURE_RANK:
            continue
        node = rules[node_id]
        scorer = (node.outbound if direction == OUTBOUND else node.inbound).get(protocol) \
            or node.scorer(protocol, direction)
        values = list(counts.values())
        node_rank[node_id] = max(node_rank[node_id],
                                 scorer.rank(tuple(counts), values, sum(values)))
    for node_id, n in nodes.items():
        n["md"]["healthStatus"] = STATUSES[node_rank[node_id]]
