"""The Find/Hide language of Kiali's graph page: a tokenizer, a parser and a predicate over
the Cytoscape JSON elements that /api/v1/graph returns.

    >>> expression = parse("%httperr > 5 or ! healthy")
    >>> expression.matches({"id": "e", "source": "a", "target": "b",
    ...     "traffic": {"protocol": "http", "rates": {"http": "3.00",
    ...                                               "httpPercentErr": "50.0"}}})
    True

An expression is clauses joined by `or`, each clause terms joined by `and` (so `a and b or c`
is `(a and b) or c`: Kiali splits on OR first, which its help calls "OR has precedence over
AND"; there are no parentheses). A term tests nodes or edges, and the terms of one clause
must all test the same kind. static/js/find.js is the same language for the page; both are
checked against tests/find_cases.json. Errors raise FindError, naming the parameter, the
problem and where it is (characters counted from 1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graph.find_match import Test, passes
from graph.options import OptionError

NODE, EDGE = "node", "edge"

# Kiali's operators; the words are spelled out before they are read.
SYMBOLS = ("!*=", "!$=", "!^=", "!=", ">=", "<=", "*=", "$=", "^=", "=", ">", "<", "!")
WORD_OPS = {"contains": "*=", "startswith": "^=", "endswith": "$="}
NEGATED = {"=": "!=", "*=": "!*=", "^=": "!^=", "$=": "!$="}
NUMERIC_OPS = ("=", "!=", ">", ">=", "<", "<=")
STRING_OPS = ("=", "!=", "*=", "!*=", "^=", "!^=", "$=", "!$=")
CONNECTIVES = ("and", "or")
PREFIXES = ("is", "has")

# Operands: the name users type -> the field read (see value()).
NODE_TEXT = {"app": "app", "cluster": "cluster", "namespace": "namespace", "ns": "namespace",
             "service": "service", "svc": "service", "version": "version",
             "workload": "workload", "wl": "workload", "node": "nodeType"}
NODE_NUMBERS = {"httpin": "httpIn", "httpout": "httpOut", "grpcin": "grpcIn",
                "grpcout": "grpcOut", "tcpin": "tcpIn", "tcpout": "tcpOut"}
EDGE_TEXT = {"protocol": "protocol", "destprincipal": "destPrincipal",
             "sourceprincipal": "sourcePrincipal"}
EDGE_NUMBERS = {"http": "http", "grpc": "grpc", "tcp": "tcp",
                "%httperr": "httpPercentErr", "%httperror": "httpPercentErr",
                "%grpcerr": "grpcPercentErr", "%grpcerror": "grpcPercentErr",
                "%httptraffic": "httpPercentReq", "%grpctraffic": "grpcPercentReq",
                "responsetime": "responseTime", "rt": "responseTime",
                "throughput": "throughput"}
# Unary operands: name -> (target, test, negated test), each test (field, op, value).
UNARY: dict[str, tuple[str, tuple[tuple[str, str, Any], ...], tuple[tuple[str, str, Any], ...]]]
UNARY = {
    # Kiali: "healthy" is not degraded or failing; "! healthy" leaves out nodes without a
    # status (no traffic), as Kiali leaves out NA and Not Ready.
    "healthy": (NODE, (("healthStatus", "=", "Healthy"),),
                (("healthStatus", "!=", "Healthy"), ("healthStatus", "!=", "NA"),
                 ("healthStatus", "!=", "Not Ready"))),
    "degraded": (NODE, (("healthStatus", "=", "Degraded"),), (("healthStatus", "!=", "Degraded"),)),
    "failure": (NODE, (("healthStatus", "=", "Failure"),), (("healthStatus", "!=", "Failure"),)),
    "unknown": (NODE, (("nodeType", "=", "unknown"),), (("nodeType", "!=", "unknown"),)),
    "idle": (NODE, (("isIdle", "truthy", None),), (("isIdle", "falsy", None),)),
    "outside": (NODE, (("isOutside", "truthy", None),), (("isOutside", "falsy", None),)),
    "root": (NODE, (("isRoot", "truthy", None),), (("isRoot", "falsy", None),)),
    "dead": (NODE, (("isDead", "truthy", None),), (("isDead", "falsy", None),)),
    "inaccessible": (NODE, (("isInaccessible", "truthy", None),),
                     (("isInaccessible", "falsy", None),)),
    # Known only where a data source says so (Kiali's hasMissingSC / isOutOfMesh, read from
    # Kubernetes); telemetry alone does not tell, so on Meshlens's own sources it matches none.
    "sidecar-less": (NODE, (("sidecarLess", "truthy", None),), (("sidecarLess", "falsy", None),)),
    "mtls": (EDGE, (("isMTLS", ">", 0.0),), (("isMTLS", "<=", 0.0),)),
    "traffic": (EDGE, (("hasTraffic", "truthy", None),), (("hasTraffic", "falsy", None),)),
}
UNARY_ALIASES = {"deg": "degraded", "fail": "failure", "failed": "failure", "unk": "unknown",
                 "outsider": "outside", "trafficsource": "root", "sc": "sidecar-less",
                 "sidecar": "sidecar-less", "outofmesh": "sidecar-less", "om": "sidecar-less"}
# Kiali's operands that read Istio config or Kiali's ranking: Meshlens reads telemetry only.
NOT_KNOWN = ("cb", "circuitbreaker", "fi", "faultinjection", "mirroring", "rr",
             "requestrouting", "rto", "requesttimeout", "se", "serviceentry", "ts",
             "trafficshifting", "tcpts", "tcptrafficshifting", "vs", "virtualservice", "we",
             "workloadentry", "rank", "op", "operation")
NODE_TYPES = {"app": "app", "service": "service", "svc": "service", "workload": "workload",
              "wl": "workload", "unknown": "unknown", "box": "box"}
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


class FindError(OptionError):
    """A bad Find or Hide expression: "find: unknown operand 'foo' at 5"."""

    def __init__(self, param: str, message: str, position: int) -> None:
        super().__init__(param, f"{message} at {position}")
        self.position = position


@dataclass(frozen=True)
class Token:
    kind: str  # "word", "text" (quoted), "op" or "end"
    text: str
    position: int  # from 1

    @property
    def word(self) -> str:
        return self.text.lower() if self.kind == "word" else ""


def tokenize(text: str, param: str = "find") -> list[Token]:
    """Words, quoted text and operators, ending with an "end" token.

    >>> [t.text for t in tokenize("app!=x")]
    ['app', '!=', 'x', '']
    """
    tokens, i = [], 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            raise FindError(param, "parentheses are not supported", i + 1)
        elif char in "\"'":
            end = text.find(char, i + 1)
            if end < 0:
                raise FindError(param, f"unclosed quote {char}", i + 1)
            tokens.append(Token("text", text[i + 1:end], i + 1))
            i = end + 1
        elif symbol := next((s for s in SYMBOLS if text.startswith(s, i)), None):
            tokens.append(Token("op", symbol, i + 1))
            i += len(symbol)
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in "=!<>()\"'" \
                    and not (text[i] in "*$^" and text.startswith("=", i + 1)):
                i += 1
            tokens.append(Token("word", text[start:i], start + 1))
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


@dataclass(frozen=True)
class Clause:
    target: str  # NODE or EDGE
    tests: tuple[Test, ...]


@dataclass(frozen=True)
class Expression:
    """Clauses joined by OR; an empty expression matches nothing."""

    clauses: tuple[Clause, ...]

    def matches(self, data: Mapping[str, Any]) -> bool:
        target = EDGE if "source" in data else NODE
        return any(c.target == target and all(passes(t, data) for t in c.tests)
                   for c in self.clauses)


class Parser:
    def __init__(self, text: str, param: str) -> None:
        self.param = param
        self.tokens = tokenize(text, param)
        self.at = 0

    def fail(self, message: str, token: Token | None = None) -> FindError:
        return FindError(self.param, message, (token or self.peek()).position)

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.at + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.at += 1
        return token

    def expression(self) -> Expression:
        if self.peek().kind == "end":
            return Expression(())
        clauses = [self.clause()]
        while self.peek().word == "or":
            self.take()
            clauses.append(self.clause())
        end = self.peek()
        if end.kind != "end":
            raise self.fail(f"expected 'and' or 'or' before {shown(end)}")
        return Expression(tuple(clauses))

    def clause(self) -> Clause:
        terms = [self.term()]
        while self.peek().word == "and":
            self.take()
            terms.append(self.term())
        target = terms[0][1]
        for start, kind, _ in terms[1:]:
            if kind != target:
                raise self.fail("can not AND node and edge criteria (use OR)", start)
        if len(terms) > 1:
            for start, _, tests in terms:
                if any(t.field == "name" for t in tests):
                    raise self.fail("can not use 'name' with AND", start)
        return Clause(target, tuple(t for _, _, tests in terms for t in tests))

    def term(self) -> tuple[Token, str, tuple[Test, ...]]:
        start, negated = self.peek(), None
        while self.peek().word in PREFIXES or self.is_negation(self.peek()):
            token = self.take()
            if token.word in PREFIXES:
                continue
            if negated is not None:
                raise self.fail("a second negation", token)
            negated = token
        operand = self.take()
        if operand.kind != "word" or operand.word in CONNECTIVES:
            raise self.fail(f"expected an operand, found {shown(operand)}", operand)
        op = self.operator()
        if op is None:
            target, tests = self.unary(operand, negated is not None)
            return start, target, tests
        if negated is not None:
            raise self.fail("a negation ('!' or 'not') before an operand applies to unary "
                            f"operands only; use {NEGATED.get(op, '!=')} to negate "
                            f"{operand.text}", negated)
        value = self.take()
        if value.kind not in ("word", "text"):
            raise self.fail(f"expected a value after '{op}', found {shown(value)}", value)
        target, test = self.binary(operand, op, value)
        return start, target, test

    @staticmethod
    def is_negation(token: Token) -> bool:
        return (token.kind == "op" and token.text == "!") or token.word == "not"

    def operator(self) -> str | None:
        """The operator after an operand, if any: a symbol, a word, or a negated one."""
        token, negate = self.peek(), False
        if self.is_negation(token):
            nxt = self.peek(1)
            if not (nxt.word in WORD_OPS or (nxt.kind == "op" and nxt.text in NEGATED)):
                return None
            self.take()
            token, negate = nxt, True
        if token.word in WORD_OPS:
            op = WORD_OPS[token.word]
        elif token.kind == "op" and token.text != "!":
            op = token.text
        else:
            return None
        self.take()
        return NEGATED[op] if negate else op

    def unary(self, operand: Token, negated: bool) -> tuple[str, tuple[Test, ...]]:
        name = UNARY_ALIASES.get(operand.word, operand.word)
        if name in UNARY:
            target, tests, negations = UNARY[name]
            return target, tuple(Test(*t) for t in (negations if negated else tests))
        if name.startswith("label:") and len(name) > len("label:"):
            return NODE, (Test(f"label:{operand.text[6:]}", "falsy" if negated else "truthy"),)
        if name in NODE_TEXT or name in NODE_NUMBERS or name in EDGE_TEXT \
                or name in EDGE_NUMBERS or name == "name":
            raise self.fail(f"{operand.text} needs an operator and a value "
                            f"(e.g. {operand.text} = ...)", operand)
        raise self.unknown(operand)

    def unknown(self, operand: Token) -> FindError:
        if operand.word in NOT_KNOWN:
            return self.fail(f"operand '{operand.text}' reads Istio config, which Meshlens "
                             "does not read", operand)
        return self.fail(f"unknown operand '{operand.text}'", operand)

    def binary(self, operand: Token, op: str, value: Token) -> tuple[str, tuple[Test, ...]]:
        name, text = operand.word, value.text
        if name in NODE_NUMBERS:
            return NODE, (self.numeric(NODE_NUMBERS[name], op, value),)
        if name in EDGE_NUMBERS:
            return EDGE, (self.numeric(EDGE_NUMBERS[name], op, value),)
        if name in NODE_TEXT or name in EDGE_TEXT or name == "name" or \
                (name.startswith("label:") and len(name) > len("label:")):
            if op not in STRING_OPS:
                raise self.fail(f"'{op}' compares numbers; '{operand.text}' is text", value)
            if name == "node":
                if text.lower() not in NODE_TYPES:
                    raise self.fail(f"unknown node type '{text}'; use app, service, "
                                    "workload, unknown or box", value)
                text = NODE_TYPES[text.lower()]
            if name.startswith("label:"):
                return NODE, (Test(f"label:{operand.text[6:]}", op, text),)
            if name == "name":
                return NODE, (Test("name", op, text),)
            field = NODE_TEXT.get(name) or EDGE_TEXT[name]
            return (NODE if name in NODE_TEXT else EDGE), (Test(field, op, text),)
        raise self.unknown(operand)

    def numeric(self, field: str, op: str, value: Token) -> Test:
        if op not in NUMERIC_OPS:
            raise self.fail(f"'{op}' compares text; use =, !=, >, >=, < or <= with numbers", value)
        if value.text.lower() == "nan" and op in ("=", "!="):
            # Kiali: "= NaN" is no activity (missing or zero), "!= NaN" any activity.
            return Test(field, "falsy" if op == "=" else "truthy")
        if not NUMBER.fullmatch(value.text):
            raise self.fail(f"expected a number, found '{value.text}' (use '.' for "
                            "decimals, NaN for no activity)", value)
        return Test(field, op, float(value.text))


def shown(token: Token) -> str:
    return "the end" if token.kind == "end" else f"'{token.text}'"


def parse(text: str | None, param: str = "find") -> Expression:
    """The expression in `text`; FindError(param, ...) if it is not one."""
    if text is not None and len(text) > 2000:
        raise FindError(param, "expression longer than 2000 characters", 2001)
    return Parser(text or "", param).expression()


def found(expression: Expression, elements: Mapping[str, list[dict[str, Any]]]) -> set[str]:
    """Ids of the nodes and edges `expression` matches."""
    return {e["data"]["id"] for group in ("nodes", "edges") for e in elements.get(group, ())
            if expression.matches(e["data"])}


def hidden(expression: Expression, elements: Mapping[str, list[dict[str, Any]]]) -> set[str]:
    """Ids that Hide takes out, as Kiali's page does: the matches; then nodes whose edges
    are all hidden (idle nodes stay: showing them is a choice of their own); then edges
    left without a node; boxes only when nothing is left in them."""
    nodes = [e["data"] for e in elements.get("nodes", ())]
    edges = [e["data"] for e in elements.get("edges", ())]
    gone = {d["id"] for d in nodes if not d.get("isBox") and expression.matches(d)}
    gone_edges = {d["id"] for d in edges if expression.matches(d)}
    if gone_edges:
        shown_edges: dict[str, bool] = {}
        for d in edges:
            seen = d["id"] not in gone_edges
            for end in (d["source"], d["target"]):
                shown_edges[end] = shown_edges.get(end, False) or seen
        gone |= {d["id"] for d in nodes if not d.get("isBox") and not d.get("isIdle")
                 and shown_edges.get(d["id"]) is False}
    gone_edges |= {d["id"] for d in edges if d["source"] in gone or d["target"] in gone}
    return gone | gone_edges | empty_boxes(nodes, gone)


def empty_boxes(nodes: list[dict[str, Any]], gone: set[str]) -> set[str]:
    """Boxes all of whose nodes (boxes aside, at any depth) are hidden."""
    parent = {d["id"]: d.get("parent") for d in nodes}
    kept: set[str] = set()
    held: set[str] = set()
    for d in nodes:
        if d.get("isBox"):
            continue
        box = d.get("parent")
        while box:
            held.add(box)
            if d["id"] not in gone:
                kept.add(box)
            box = parent.get(box)
    return held - kept


def apply(body: dict[str, Any], find: Expression, hide: Expression) -> dict[str, Any]:
    """An /api/v1/graph body with Hide's elements taken out and Find's marked
    `"isFind": true` (in place)."""
    elements = body.get("elements", {})
    if hide.clauses:
        gone = hidden(hide, elements)
        for group in ("nodes", "edges"):
            elements[group] = [e for e in elements.get(group, ()) if e["data"]["id"] not in gone]
    if find.clauses:
        for group in ("nodes", "edges"):
            for e in elements.get(group, ()):
                if find.matches(e["data"]):
                    e["data"]["isFind"] = True
    return body
