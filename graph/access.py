"""Which namespaces a user may see, and a graph as such a user sees it.

Access is a tuple of fnmatch-style namespace patterns (`bookinfo`, `team-*`); the empty
tuple means "no limit" wherever an `Access` may be None or empty (see GraphOptions.access).
A namespace the user may not see, reached through an edge from one they may, is drawn as
Kiali draws an inaccessible namespace: the node (or box) with `isInaccessible`, its names
and nothing else: no traffic, no health, no details.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase
from typing import Any

from graph.health import NA
from graph.kiali_params import ForbiddenNamespace

Patterns = tuple[str, ...]

# Namespace names are DNS labels; a pattern adds fnmatch's * ? [ ] and !.
PATTERN = re.compile(r"^[a-z0-9*?\[\]!-]{1,63}$")
# A node's fields kept when it is redacted: what draws it and names it.
KEPT_FIELDS = frozenset(("id", "nodeType", "cluster", "namespace", "workload", "app", "version",
                         "service", "parent", "isBox", "label", "isOutside"))
# Namespaces that are not a namespace: the unknown source, cluster boxes.
NOT_NAMESPACES = frozenset(("", "unknown"))


def parse_patterns(text: str, param: str = "namespaces") -> Patterns:
    """Patterns from a comma, space or newline separated list; ValueError names a bad one."""
    found: list[str] = []
    for item in re.split(r"[\s,]+", text.strip()):
        if not item:
            continue
        if not PATTERN.match(item):
            raise ValueError(f"{param}: {item[:80]!r} is not a namespace pattern (lower-case "
                             "letters, digits, '-', and * ? [ ] !)")
        if item not in found:
            found.append(item)
    return tuple(found)


def may_see(namespace: str, patterns: Patterns | None) -> bool:
    """None: no limit."""
    return patterns is None or any(fnmatchcase(namespace, p) for p in patterns)


def visible(namespaces: Iterable[str], patterns: Patterns | None) -> list[str]:
    return [ns for ns in namespaces if may_see(ns, patterns)]


def check(namespaces: Sequence[str], patterns: Patterns | None,
          param: str = "namespaces") -> None:
    """ForbiddenNamespace (a 403) naming the first namespace the user may not see."""
    for ns in namespaces:
        if not may_see(ns, patterns):
            raise ForbiddenNamespace(param, f"namespace {ns!r} is not accessible to you")


def narrowed(patterns: Patterns | None, within: Patterns | None) -> Patterns | None:
    """`patterns` as far as `within` allows: a token's patterns within its user's. A pattern
    is kept when `within` covers it literally (the same pattern, or a name it matches)."""
    if within is None:
        return patterns
    if patterns is None:
        return within
    return tuple(p for p in patterns if p in within or may_see(p, within))


def hidden(data: dict[str, Any], patterns: Patterns) -> bool:
    namespace = data.get("namespace", "")
    return namespace not in NOT_NAMESPACES and not may_see(namespace, patterns)


def redact(payload: dict[str, Any], patterns: Patterns) -> dict[str, Any]:
    """The graph body as a user limited to `patterns` sees it (in place): nodes of other
    namespaces keep their names only and are marked `isInaccessible`; an edge between two
    of them goes, and so does such a node left with no edge to a visible one."""
    elements = payload.get("elements")
    if not isinstance(elements, dict):
        return payload
    nodes, edges = elements.get("nodes", []), elements.get("edges", [])
    secret = {n["data"]["id"] for n in nodes if hidden(n["data"], patterns)}
    if not secret:
        return payload
    kept_edges = [e for e in edges
                  if e["data"]["source"] not in secret or e["data"]["target"] not in secret]
    kept = {n["data"]["id"] for n in nodes if n["data"]["id"] not in secret}
    kept.update(end for e in kept_edges for end in (e["data"]["source"], e["data"]["target"]))
    parents = {n["data"]["id"]: n["data"].get("parent") for n in nodes}
    for node_id in list(kept):  # the boxes around what is kept, however deep
        parent = parents.get(node_id)
        while parent and parent not in kept:
            kept.add(parent)
            parent = parents.get(parent)
    kept_nodes = []
    for n in nodes:
        data = n["data"]
        if data["id"] not in kept:
            continue
        if data["id"] in secret:
            shown = {k: v for k, v in data.items() if k in KEPT_FIELDS}
            shown["healthData"] = None
            if "healthStatus" in data:
                shown["healthStatus"] = NA
            shown["isInaccessible"] = True
            n = {**n, "data": shown}
        kept_nodes.append(n)
    elements["nodes"], elements["edges"] = kept_nodes, kept_edges
    return payload


def node_namespace(node: str) -> str | None:
    """The namespace of a node reference as the API takes it (`workload:NS/NAME`, ...);
    None for `unknown` or what is no reference (the route's own parsing says why)."""
    kind, sep, path = node.partition(":")
    if not sep:
        return None
    return path.partition("/")[0] or None


def check_query(query: dict[str, str], path: dict[str, Any], patterns: Patterns) -> None:
    """Every namespace a request names, in any route's parameters (`namespaces`,
    `namespace`, `node`, `edge`) or path, checked: ForbiddenNamespace names the first the
    user may not see. An edge is shown when either end is, so one visible end is enough."""
    for param in ("namespaces", "namespace"):
        if param in query:
            check([ns for ns in query[param].split(",") if ns.strip()], patterns, param)
    if isinstance(path.get("namespace"), str):
        check([path["namespace"]], patterns, "namespace")
    if "node" in query:
        ns = node_namespace(query["node"])
        if ns is not None:
            check([ns], patterns, "node")
    if "edge" in query:
        ends = [node_namespace(end) for end in query["edge"].split(",")]
        named = [ns for ns in ends if ns is not None]
        if named and not any(may_see(ns, patterns) for ns in named):
            check(named[:1], patterns, "edge")
