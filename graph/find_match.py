"""What a Find/Hide test reads from an element's data, and how it compares (graph/find.py
parses the expressions; static/js/find.js is the same for the page)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

NODE_RATES = frozenset(("httpIn", "httpOut", "grpcIn", "grpcOut", "tcpIn", "tcpOut"))
EDGE_RATES = frozenset(("http", "grpc", "tcp", "httpPercentErr", "grpcPercentErr",
                        "httpPercentReq", "grpcPercentReq"))
NAME_FIELDS = ("app", "service", "workload")
# An edge with traffic reads 0 for the rates of its own protocol that are not written.
PROTOCOL_FIELDS = {"http": ("http", "httpPercentErr", "httpPercentReq"),
                   "grpc": ("grpc", "grpcPercentErr", "grpcPercentReq"), "tcp": ("tcp",)}


@dataclass(frozen=True)
class Test:
    field: str  # an element field as value() reads it; "name" tests app, service, workload
    op: str  # an operator, "truthy" or "falsy"
    value: Any = None


def number(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def value(field: str, data: Mapping[str, Any]) -> Any:
    """What a test reads from an element's data (Kiali's page decorates its data alike:
    rates as numbers, missing ones NaN, but 0 for the rates of an edge's own protocol)."""
    if field in NODE_RATES and "source" not in data:
        for protocol in data.get("traffic") or ():
            if field in protocol.get("rates", {}):
                return number(protocol["rates"][field])
        return math.nan
    if "source" in data:
        traffic = data.get("traffic") or {}
        rates = traffic.get("rates")
        if field == "protocol":
            return traffic.get("protocol")
        if field == "hasTraffic":
            return rates is not None
        if field in ("responseTime", "throughput"):
            return number(data.get(field))
        if field == "isMTLS":
            return number(data["isMTLS"]) if "isMTLS" in data else -1.0
        if field in EDGE_RATES:
            if rates is not None and field in rates:
                return number(rates[field])
            own = rates is not None and field in PROTOCOL_FIELDS.get(traffic.get("protocol"), ())
            return 0.0 if own else math.nan
    if field == "sidecarLess":
        return bool(data.get("hasMissingSC") or data.get("isOutOfMesh"))
    if field.startswith("label:"):
        return (data.get("labels") or {}).get(field[6:])
    return data.get(field)


def compare(op: str, have: Any, want: Any) -> bool:
    if op == "truthy":
        return bool(have) and not (isinstance(have, float) and math.isnan(have))
    if op == "falsy":
        return not compare("truthy", have, want)
    if isinstance(want, float):
        return NUMERIC_COMPARE[op](have, want)
    text = "" if have is None else str(have)
    return STRING_COMPARE[op](text, want)


NUMERIC_COMPARE = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b,
                   ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
                   "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}
STRING_COMPARE = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b,
                  "*=": lambda a, b: b in a, "!*=": lambda a, b: b not in a,
                  "^=": lambda a, b: a.startswith(b), "!^=": lambda a, b: not a.startswith(b),
                  "$=": lambda a, b: a.endswith(b), "!$=": lambda a, b: not a.endswith(b)}


def passes(test: Test, data: Mapping[str, Any]) -> bool:
    if test.field == "name":
        # Kiali expands name to app OR service OR workload; negated, to AND.
        results = (compare(test.op, data.get(f), test.value) for f in NAME_FIELDS)
        return all(results) if test.op.startswith("!") else any(results)
    return compare(test.op, value(test.field, data), test.value)
