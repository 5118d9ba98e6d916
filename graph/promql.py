"""PromQL selectors made from parts: no value is ever pasted into query text.

    scope = Scope.of([("mesh_id", "mesh1")])
    scope.selector("istio_requests_total", eq("reporter", "source"),
                   any_of("destination_workload_namespace", ["bookinfo", "shop"]))
    # istio_requests_total{mesh_id="mesh1",reporter="source",
    #                      destination_workload_namespace=~"bookinfo|shop"}

Every label value becomes a PromQL string literal holding exactly that value, whatever
characters it has; a value that goes into a regular expression is quoted for RE2 first, so
it matches itself only. Label and metric names are checked, not escaped: PromQL has no
quoting for them. The query scope (MESHLENS_QUERY_SCOPE, Kiali's query_scope) is a Scope,
and a selector can only be made by one: its matchers come first in every selector, as in
Kiali.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
OPERATORS = ("=", "!=", "=~", "!~")

# RE2's metacharacters (Go's regexp.QuoteMeta, which Prometheus uses itself). Python's
# re.escape quotes more than these; RE2 happens to accept a backslash before any ASCII
# punctuation, but not before a letter, digit or non-ASCII character, so the set is kept to
# exactly what needs quoting.
REGEX_META = frozenset(r"\.+*?()|[]{}^$")

# Escapes the PromQL lexer reads back (Go's string literal rules).
SHORT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Characters written as \u escapes: control characters (a raw newline ends a PromQL
# string; NUL and the rest are unreadable in logs), and U+FFFD, which Prometheus's lexer
# takes for the mark of invalid UTF-8 and refuses when it stands raw in a string.
NEEDS_ESCAPE = re.compile('[\\\\"\x00-\x1f\x7f-\x9f\ufffd]')
SURROGATE = re.compile("[\ud800-\udfff]")


class PromQLError(ValueError):
    """A name or value that no PromQL query can hold (a bug, or bad configuration)."""


def label_name(name: str) -> str:
    if not LABEL_NAME.fullmatch(name):
        raise PromQLError(f"{name!r} is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)")
    return name


def metric_name(name: str) -> str:
    if not METRIC_NAME.fullmatch(name):
        raise PromQLError(f"{name!r} is not a Prometheus metric name")
    return name


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return SHORT_ESCAPES.get(char) or f"\\u{ord(char):04x}"


def string(value: str) -> str:
    """A double-quoted PromQL string literal that reads back as exactly `value`."""
    if SURROGATE.search(value):
        # Not a character: it has no UTF-8 form, so no query can carry it.
        raise PromQLError(f"{value[:80]!r} holds a lone surrogate, which is not text")
    return f'"{NEEDS_ESCAPE.sub(_escape, value)}"'


def regex_literal(value: str) -> str:
    """An RE2 pattern that matches exactly `value` (within an anchored matcher)."""
    return "".join(f"\\{c}" if c in REGEX_META else c for c in value)


def alternation(values: Sequence[str]) -> str:
    """An RE2 pattern for any one of `values`, grouped when there are several, to stand
    inside a larger pattern."""
    if not values:
        raise PromQLError("an alternation needs at least one value")
    if len(values) == 1:
        return regex_literal(values[0])
    return "(" + "|".join(regex_literal(v) for v in values) + ")"


@dataclass(frozen=True, slots=True)
class Matcher:
    """`label op "value"`; for =~ and !~ the value is an RE2 pattern, which Prometheus
    anchors at both ends."""

    label: str
    op: str
    value: str

    def __post_init__(self) -> None:
        label_name(self.label)
        if self.op not in OPERATORS:
            raise PromQLError(f"{self.op!r} is not a label matcher (=, !=, =~, !~)")
        string(self.value)  # refuse what no query can carry now, not when it is sent

    def __str__(self) -> str:
        return f"{self.label}{self.op}{string(self.value)}"


def eq(label: str, value: str) -> Matcher:
    return Matcher(label, "=", value)


def ne(label: str, value: str) -> Matcher:
    return Matcher(label, "!=", value)


def matches(label: str, pattern: str) -> Matcher:
    """`label=~pattern`: build the pattern from regex_literal / alternation parts."""
    return Matcher(label, "=~", pattern)


def not_matches(label: str, pattern: str) -> Matcher:
    return Matcher(label, "!~", pattern)


def any_of(label: str, values: Sequence[str]) -> Matcher:
    """The label equals one of `values`: = for one value, a quoted alternation for more."""
    if len(values) == 1:
        return eq(label, values[0])
    return matches(label, "|".join(regex_literal(v) for v in _some(values)))


def none_of(label: str, values: Sequence[str]) -> Matcher:
    """The label equals none of `values`."""
    if len(values) == 1:
        return ne(label, values[0])
    return not_matches(label, "|".join(regex_literal(v) for v in _some(values)))


def _some(values: Sequence[str]) -> Sequence[str]:
    if not values:
        raise PromQLError("a matcher needs at least one value")
    return values


@dataclass(frozen=True)
class Scope:
    """The matchers put first in every selector: Kiali's query_scope, MESHLENS_QUERY_SCOPE."""

    matchers: tuple[Matcher, ...] = ()

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> Scope:
        """A scope of `label="value"` matchers; raises PromQLError for a bad label name."""
        return cls(tuple(eq(name, value) for name, value in pairs))

    def selector(self, metric: str, *matchers: Matcher) -> str:
        """`metric{scope..., matchers...}`."""
        every = (*self.matchers, *matchers)
        if not every:
            return metric_name(metric)
        return f"{metric_name(metric)}{{{','.join(str(m) for m in every)}}}"


def label_list(names: Iterable[str]) -> str:
    """Label names for `by (...)`: checked, comma-separated."""
    return ",".join(label_name(name) for name in names)


def label_strings(names: Iterable[str]) -> str:
    """Label names as the string arguments of label_join: `"a", "b"`."""
    return ", ".join(string(label_name(name)) for name in names)
