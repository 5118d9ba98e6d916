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
from typing import Any, NamedTuple

from graph.cytoscape_json import Written
from graph.health import NA
from graph.json_pieces import PIECES, Element, shape_of
from graph.kiali_params import ForbiddenNamespace

Patterns = tuple[str, ...]

# Namespace names are DNS labels; a pattern adds fnmatch's * ? [ ] and !.
PATTERN = re.compile(r"^[a-z0-9*?\[\]!-]{1,63}$")
# Joins patterns that a namespace must all match: a token's pattern within its user's (see
# narrowed). Never typed by a user (PATTERN refuses it); read back from scope keys only.
BOTH = "~"
MAGIC = frozenset("*?[")
# A node's fields kept when it is redacted: what draws it and names it.
KEPT_FIELDS = frozenset(("id", "nodeType", "cluster", "namespace", "workload", "app", "version",
                         "service", "parent", "isBox", "label", "isOutside"))
# Namespaces that are not a namespace: the unknown source, cluster boxes.
NOT_NAMESPACES = frozenset(("", "unknown"))


def parse_patterns(text: str, param: str = "namespaces", joined: bool = False) -> Patterns:
    """Patterns from a comma, space or newline separated list; ValueError names a bad one.
    With `joined` (a scope key's access), a pattern may be several joined by BOTH."""
    found: list[str] = []
    for item in re.split(r"[\s,]+", text.strip()):
        if not item:
            continue
        parts = item.split(BOTH) if joined else [item]
        if not all(PATTERN.match(part) for part in parts):
            raise ValueError(f"{param}: {item[:80]!r} is not a namespace pattern (lower-case "
                             "letters, digits, '-', and * ? [ ] !)")
        if item not in found:
            found.append(item)
    return tuple(found)


def may_see(namespace: str, patterns: Patterns | None) -> bool:
    """None: no limit."""
    return patterns is None or any(matches(namespace, p) for p in patterns)


def matches(namespace: str, pattern: str) -> bool:
    """fnmatch; a joined pattern (BOTH) matches what all its parts match."""
    return all(fnmatchcase(namespace, part) for part in pattern.split(BOTH))


def visible(namespaces: Iterable[str], patterns: Patterns | None) -> list[str]:
    return [ns for ns in namespaces if may_see(ns, patterns)]


def check(namespaces: Sequence[str], patterns: Patterns | None,
          param: str = "namespaces") -> None:
    """ForbiddenNamespace (a 403) naming the first namespace the user may not see."""
    for ns in namespaces:
        if not may_see(ns, patterns):
            raise ForbiddenNamespace(param, f"namespace {ns!r} is not accessible to you")


def narrowed(patterns: Patterns | None, within: Patterns | None) -> Patterns | None:
    """`patterns` as far as `within` allows: a token's patterns within its user's, exactly
    the namespaces both let through. A pattern is not a name: `*` is no namespace that
    `[!k]*` matches, yet it lets `kube-system` through; so each pair of patterns becomes
    the narrower of the two where one surely holds the other, else both joined (BOTH)."""
    if within is None:
        return patterns
    if patterns is None:
        return within
    found: list[str] = []
    for p in patterns:
        for w in within:
            kept = both(p, w)
            if kept is not None and kept not in found:
                found.append(kept)
    return tuple(found)


def both(p: str, w: str) -> str | None:
    """One pattern for the namespaces `p` and `w` both match; None when they share none
    that can be told (two names)."""
    if holds(w, p):
        return p
    if holds(p, w):
        return w
    if is_name(p) or is_name(w):
        return None
    return f"{p}{BOTH}{w}"


def holds(outer: str, inner: str) -> bool:
    """Whether every namespace `inner` matches, `outer` matches too (True only when sure):
    the same pattern, `*`, a name that `outer` matches, or `prefix*` around a pattern that
    starts with that prefix."""
    if outer == inner or outer == "*":
        return True
    if is_name(inner):
        return matches(inner, outer)
    prefix = outer[:-1]
    return (outer.endswith("*") and is_name(prefix) and BOTH not in inner
            and inner.startswith(prefix))


def is_name(pattern: str) -> bool:
    """A pattern that matches one namespace only: itself."""
    return BOTH not in pattern and not MAGIC.intersection(pattern)


def hidden(data: dict[str, Any], patterns: Patterns) -> bool:
    return hidden_namespace(data.get("namespace", ""), patterns)


def hidden_namespace(namespace: str, patterns: Patterns) -> bool:
    return namespace not in NOT_NAMESPACES and not may_see(namespace, patterns)


class Shown(NamedTuple):
    """What a limited user sees of a graph's elements: the nodes kept, those of them
    redacted (`secret`), and whether each edge is kept."""

    kept: set[str]
    secret: set[str]
    edges: list[bool]


def shown(nodes: Sequence[tuple[str, str, str | None]], ends: Sequence[tuple[str, str]],
          patterns: Patterns) -> Shown | None:
    """`nodes` as (id, namespace, parent), `ends` each edge's (source, target): what a user
    limited to `patterns` sees of them, None when they see all. An edge between two hidden
    nodes goes, and so does a hidden node left with no edge to a visible one; the boxes
    around what is kept stay, however deep."""
    secret = {node_id for node_id, namespace, _ in nodes if hidden_namespace(namespace, patterns)}
    if not secret:
        return None
    edges = [source not in secret or target not in secret for source, target in ends]
    kept = {node_id for node_id, _, _ in nodes if node_id not in secret}
    kept.update(end for (source, target), on in zip(ends, edges, strict=True) if on
                for end in (source, target))
    parents = {node_id: parent for node_id, _, parent in nodes}
    for node_id in list(kept):
        parent = parents.get(node_id)
        while parent and parent not in kept:
            kept.add(parent)
            parent = parents.get(parent)
    return Shown(kept, secret, edges)


def redact(payload: dict[str, Any], patterns: Patterns) -> dict[str, Any]:
    """The graph body as a user limited to `patterns` sees it (in place): nodes of other
    namespaces keep their names only and are marked `isInaccessible` (see `shown` for what
    goes). The dicts' twin of redact_written, which the API and the live path use: the
    tests hold the two to the same bytes."""
    elements = payload.get("elements")
    if not isinstance(elements, dict):
        return payload
    nodes, edges = elements.get("nodes", []), elements.get("edges", [])
    seen = shown([(n["data"]["id"], n["data"].get("namespace", ""), n["data"].get("parent"))
                  for n in nodes],
                 [(e["data"]["source"], e["data"]["target"]) for e in edges], patterns)
    if seen is None:
        return payload
    kept_nodes = []
    for n in nodes:
        data = n["data"]
        if data["id"] not in seen.kept:
            continue
        if data["id"] in seen.secret:
            fields = {k: v for k, v in data.items() if k in KEPT_FIELDS}
            fields["healthData"] = None
            if "healthStatus" in data:
                fields["healthStatus"] = NA
            fields["isInaccessible"] = True
            n = {**n, "data": fields}
        kept_nodes.append(n)
    elements["nodes"] = kept_nodes
    elements["edges"] = [e for e, on in zip(edges, seen.edges, strict=True) if on]
    return payload


def redact_written(written: Written, patterns: Patterns) -> Written:
    """redact() on a graph written as JSON pieces (graph/cytoscape_json.py), before it is
    laid out: the same body, byte for byte, without reading it back into dicts."""
    seen = shown([(d.id, d.namespace, d.parent) for d in written.drawn], written.ends,
                 patterns)
    if seen is None:
        return written
    nodes, drawn = [], []
    for element, d in zip(written.nodes, written.drawn, strict=True):
        if element.id in seen.kept:
            nodes.append(inaccessible(element) if element.id in seen.secret else element)
            drawn.append(d)
    edges = [e for e, on in zip(written.edges, seen.edges, strict=True) if on]
    ends = [e for e, on in zip(written.ends, seen.edges, strict=True) if on]
    return written._replace(nodes=nodes, edges=edges, drawn=drawn, ends=ends)


def inaccessible(element: Element) -> Element:
    """A node element with its names only: as redact() writes a hidden node's data."""
    pieces = [p for p, name in zip(element.pieces, element.names, strict=True)
              if name in KEPT_FIELDS]
    names = [name for name in element.names if name in KEPT_FIELDS]
    pieces.append(PIECES.get("healthData", None))
    names.append("healthData")
    if "healthStatus" in element.names:
        pieces.append(PIECES.get("healthStatus", NA))
        names.append("healthStatus")
    pieces.append(PIECES.get("isInaccessible", True))
    names.append("isInaccessible")
    return element._replace(pieces=tuple(pieces), names=shape_of(names))


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
            # Stripped as the routes' parsing strips them: " x" is the namespace x.
            check([ns.strip() for ns in query[param].split(",") if ns.strip()], patterns,
                  param)
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
