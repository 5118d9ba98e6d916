"""What graph to build: parsed, validated request options and the mesh-wide settings.

Parsing raises OptionError naming the parameter, so that every front door (HTTP API,
WebSocket, command line) can turn bad input into a clear message.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from graph import ids
from graph.promql import Scope

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# Kubernetes object names (workloads, services): dot-separated DNS-1123 labels, 253 at most.
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
# Kubernetes label values (app, version), 63 at most; cluster names as Istio spells them.
LABEL_VALUE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
NAME_RULES = {
    "namespace": (DNS1123_LABEL, 63, "a namespace name (DNS-1123 label)"),
    "workload": (DNS1123_SUBDOMAIN, 253, "a workload name (DNS-1123 subdomain)"),
    "service": (DNS1123_SUBDOMAIN, 253, "a service name (DNS-1123 subdomain)"),
    "app": (LABEL_VALUE, 63, "an app name (Kubernetes label value)"),
    "version": (LABEL_VALUE, 63, "a version (Kubernetes label value)"),
    "cluster": (LABEL_VALUE, 253, "a cluster name (letters, digits, '-', '_', '.')"),
}
DURATION = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w|y))+$|^\d+$")
DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)?")
UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800,
                "y": 31536000}
MAX_DURATION_S = 30 * 86400
MAX_UNIX_TIME = 253402300799  # 9999-12-31T23:59:59Z

# The API's names for graph types, mapped to Kiali's.
GRAPH_TYPE_NAMES = {
    "workload": ids.WORKLOAD,
    "app": ids.APP,
    "versioned_app": ids.VERSIONED_APP,
    "versionedApp": ids.VERSIONED_APP,
    "service": ids.SERVICE,
}
API_GRAPH_TYPE = {ids.WORKLOAD: "workload", ids.APP: "app", ids.VERSIONED_APP: "versioned_app",
                  ids.SERVICE: "service"}

RATES_HTTP = ("requests", "none")
RATES_GRPC = ("requests", "sent", "received", "total", "none")
RATES_TCP = ("sent", "received", "total", "none")
BOX_BY = ("app", "namespace", "cluster")
RESPONSE_TIMES = ("avg", "50", "95", "99")
THROUGHPUTS = ("request", "response")


class OptionError(ValueError):
    """A request parameter is invalid; `param` names it."""

    def __init__(self, param: str, message: str) -> None:
        # A parameter's name is the client's too (an unknown one is named in the error).
        super().__init__(f"{param if len(param) <= 80 else param[:80] + '...'}: {message}")
        self.param = param
        self.message = message


@dataclass(frozen=True)
class Rates:
    http: str = "requests"
    grpc: str = "requests"
    tcp: str = "sent"
    # Ambient (ztunnel/waypoint) telemetry: "none" reads sidecar reporters only.
    ambient: str = "none"


@dataclass(frozen=True)
class MeshConfig:
    """Settings of the mesh rather than of one request (Kiali's configuration)."""

    cluster_name: str = "Kubernetes"
    # (cluster, namespace) pairs the user may see; None means every namespace.
    accessible: frozenset[tuple[str, str]] | None = None
    # label=value matchers added to every query (Kiali's query_scope).
    query_scope: tuple[tuple[str, str], ...] = ()
    # The telemetry dialects to read, by name (graph/sources/__init__.py), in the order
    # their graphs are merged: the first one's copy of a node or edge wins.
    dialects: tuple[str, ...] = ("istio",)
    # The namespace of telemetry that names none (trace-derived metrics without a
    # service.namespace dimension).
    default_namespace: str = "default"

    def is_accessible(self, cluster: str, namespace: str) -> bool:
        return self.accessible is None or (cluster, namespace) in self.accessible

    def scope(self) -> Scope:
        """The query scope's matchers, which every selector starts with."""
        return Scope.of(self.query_scope)


@dataclass(frozen=True)
class GraphOptions:
    namespaces: tuple[str, ...]
    graph_type: str = ids.WORKLOAD
    duration: int = 60
    query_time: int | None = None  # None: now
    inject_service_nodes: bool = True
    include_idle_edges: bool = False
    include_idle_nodes: bool = False
    rates: Rates = field(default_factory=Rates)
    box_by: tuple[str, ...] = ()  # "app", "namespace", "cluster": compound boxes
    response_time: str = "95"  # avg, 50, 95, 99
    throughput: str = "response"  # request or response bytes
    # Appenders to run by Kiali's names (responseTime, throughput, securityPolicy,
    # idleNode); None runs every one Meshlens has.
    appenders: frozenset[str] | None = None
    # Data sources and dialects to read, by name; empty: every one configured (the
    # dashboard checks the names against its configuration).
    sources: tuple[str, ...] = ()
    dialects: tuple[str, ...] = ()
    # The namespace patterns the viewer may see (graph/access.py); empty: no limit. The
    # dashboard sets it from the user, never from the query: a limited user's graph is a
    # scope of its own, redacted when built.
    access: tuple[str, ...] = ()

    def at(self, query_time: int) -> GraphOptions:
        return replace(self, query_time=query_time)

    def resolved_time(self) -> int:
        return int(time.time()) if self.query_time is None else self.query_time

    def scope_key(self) -> str:
        """A canonical string for these options without the time: one live scope per key.
        sources and dialects are only in it when narrowed (older keys stay as they were)."""
        narrowed = [f"{name}={','.join(value)}" for name, value in
                    (("sources", self.sources), ("dialects", self.dialects),
                     ("access", self.access)) if value]
        return "&".join([
            "namespaces=" + ",".join(self.namespaces),
            "graph_type=" + API_GRAPH_TYPE[self.graph_type],
            f"duration={self.duration}s",
            f"inject_service_nodes={str(self.inject_service_nodes).lower()}",
            f"include_idle_edges={str(self.include_idle_edges).lower()}",
            f"include_idle_nodes={str(self.include_idle_nodes).lower()}",
            "box_by=" + ",".join(self.box_by),
            f"response_time={self.response_time}",
            f"throughput={self.throughput}",
            f"rate_http={self.rates.http}",
            f"rate_grpc={self.rates.grpc}",
            f"rate_tcp={self.rates.tcp}",
            *narrowed,
        ])

    @classmethod
    def from_scope_key(cls, key: str) -> GraphOptions:
        return graph_options_from_query(dict(part.split("=", 1) for part in key.split("&")))


def parse_namespaces(value: str | None, param: str = "namespaces") -> tuple[str, ...]:
    names = [n.strip() for n in (value or "").split(",") if n.strip()]
    if not names:
        raise OptionError(param, "give at least one namespace, e.g. namespaces=bookinfo")
    for name in names:
        if len(name) > 63 or not DNS1123_LABEL.fullmatch(name):
            raise OptionError(param, f"{shown(name)} is not a valid namespace name "
                                     "(DNS-1123 label)")
    return tuple(sorted(set(names)))


def parse_name(value: str, param: str, kind: str) -> str:
    """One Kubernetes name of `kind` (a key of NAME_RULES): what the node-graph routes'
    path segments and cluster names must be."""
    pattern, longest, what = NAME_RULES[kind]
    if len(value) > longest or not pattern.fullmatch(value):
        raise OptionError(param, f"{shown(value)} is not {what}")
    return value


def shown(value: str, limit: int = 80) -> str:
    """A value as an error message quotes it: repr, cut short."""
    return repr(value) if len(value) <= limit else f"{value[:limit]!r}... ({len(value)} chars)"


def parse_graph_type(value: str | None, param: str = "graph_type") -> str:
    if value is None or value == "":
        return ids.WORKLOAD
    if value not in GRAPH_TYPE_NAMES:
        raise OptionError(param,
                          f"{shown(value)} is not one of workload, app, versioned_app, service")
    return GRAPH_TYPE_NAMES[value]


def parse_duration(value: str | None, param: str = "duration", default: int = 60) -> int:
    """Seconds from `60s`, `5m`, `1h30m`, `2d` or a plain number of seconds."""
    if value is None or value == "":
        return default
    text = value.strip()
    if not DURATION.match(text):
        raise OptionError(param, f"{shown(value)} is not a duration such as 60s, 5m or 1h")
    seconds = int(sum(int(n) * UNIT_SECONDS[unit or "s"]
                      for n, unit in DURATION_PART.findall(text)))
    if seconds < 1 or seconds > MAX_DURATION_S:
        raise OptionError(param, f"{shown(value)} must be between 1s and 30d")
    return seconds


def parse_query_time(value: str | None, param: str = "query_time") -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(float(value))
    except (ValueError, OverflowError):  # OverflowError: inf
        raise OptionError(param, f"{shown(value)} is not a Unix time in seconds") from None
    if number <= 0 or number > MAX_UNIX_TIME:
        raise OptionError(param, f"{shown(value)} is not a Unix time in seconds")
    return number


def parse_bool(value: str | None, param: str, default: bool) -> bool:
    if value is None or value == "":
        return default
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise OptionError(param, f"{shown(value)} is not true or false")


def parse_choice(value: str | None, param: str, choices: tuple[str, ...], default: str) -> str:
    if value is None or value == "":
        return default
    if value not in choices:
        raise OptionError(param, f"{shown(value)} is not one of {', '.join(choices)}")
    return value


def parse_box_by(value: str | None, param: str = "box_by") -> tuple[str, ...]:
    names = [v.strip() for v in (value or "").split(",") if v.strip() and v.strip() != "none"]
    for name in names:
        if name not in BOX_BY:
            raise OptionError(param, f"{shown(name)} is not one of {', '.join(BOX_BY)}")
    return tuple(b for b in BOX_BY if b in names)


def parse_names(value: str | None, param: str) -> tuple[str, ...]:
    """A comma list of data source or dialect names (checked against the configuration
    by the dashboard): distinct, sorted; empty means every one."""
    names = sorted({n.strip() for n in (value or "").split(",") if n.strip()})
    for name in names:
        if len(name) > 63 or not LABEL_VALUE.fullmatch(name):
            raise OptionError(param, f"{shown(name)} is not a name (letters, digits, '-', "
                                     "'_', '.')")
    return tuple(names)


def graph_options_from_query(query: Mapping[str, str]) -> GraphOptions:
    """Options from the query parameters of /api/v1/graph and /ws/graph."""
    known = {"namespaces", "graph_type", "duration", "query_time", "inject_service_nodes",
             "include_idle_edges", "include_idle_nodes", "rate_http", "rate_grpc", "rate_tcp",
             "box_by", "response_time", "throughput", "sources", "dialects"}
    for name in query:
        if name not in known and name != "access":  # access: a scope key's, not a client's
            raise OptionError(name, f"unknown parameter; use {', '.join(sorted(known))}")
    return GraphOptions(
        namespaces=parse_namespaces(query.get("namespaces")),
        graph_type=parse_graph_type(query.get("graph_type")),
        duration=parse_duration(query.get("duration")),
        query_time=parse_query_time(query.get("query_time")),
        inject_service_nodes=parse_bool(query.get("inject_service_nodes"),
                                        "inject_service_nodes", True),
        include_idle_edges=parse_bool(query.get("include_idle_edges"), "include_idle_edges", False),
        include_idle_nodes=parse_bool(query.get("include_idle_nodes"), "include_idle_nodes", False),
        box_by=parse_box_by(query.get("box_by")),
        response_time=parse_choice(query.get("response_time"), "response_time", RESPONSE_TIMES,
                                   "95"),
        throughput=parse_choice(query.get("throughput"), "throughput", THROUGHPUTS, "response"),
        rates=Rates(
            http=parse_choice(query.get("rate_http"), "rate_http", RATES_HTTP, "requests"),
            grpc=parse_choice(query.get("rate_grpc"), "rate_grpc", RATES_GRPC, "requests"),
            tcp=parse_choice(query.get("rate_tcp"), "rate_tcp", RATES_TCP, "sent"),
        ),
        sources=parse_names(query.get("sources"), "sources"),
        dialects=parse_names(query.get("dialects"), "dialects"),
        access=parse_access(query.get("access")),
    )


def parse_access(value: str | None) -> tuple[str, ...]:
    from graph.access import parse_patterns  # graph.access builds on this module

    try:
        return parse_patterns(value or "", "access", joined=True)
    except ValueError as exc:
        raise OptionError("access", str(exc).partition(": ")[2]) from None
