// The Find/Hide language of Kiali's graph page, for the page: the same tokenizer and parser
// as graph/find.py (what an expression matches: find-match.js, as graph/find_match.py; both
// are checked against tests/find_cases.json, so keep them in step). No DOM here: Node runs
// it in the tests.
//
// An expression is clauses joined by `or`, each clause terms joined by `and`: `a and b or c`
// is `(a and b) or c` (Kiali splits on OR first). A term tests nodes or edges; the terms of
// a clause all test the same kind.

export const NODE = "node";
export const EDGE = "edge";

const SYMBOLS = ["!*=", "!$=", "!^=", "!=", ">=", "<=", "*=", "$=", "^=", "=", ">", "<", "!"];
const WORD_OPS = { contains: "*=", startswith: "^=", endswith: "$=" };
const NEGATED = { "=": "!=", "*=": "!*=", "^=": "!^=", "$=": "!$=" };
const NUMERIC_OPS = ["=", "!=", ">", ">=", "<", "<="];
const STRING_OPS = ["=", "!=", "*=", "!*=", "^=", "!^=", "$=", "!$="];
const CONNECTIVES = ["and", "or"];
const PREFIXES = ["is", "has"];

const NODE_TEXT = {
  app: "app", cluster: "cluster", namespace: "namespace", ns: "namespace", service: "service",
  svc: "service", version: "version", workload: "workload", wl: "workload", node: "nodeType",
};
export const NODE_NUMBERS = {
  httpin: "httpIn", httpout: "httpOut", grpcin: "grpcIn", grpcout: "grpcOut", tcpin: "tcpIn", tcpout: "tcpOut",
};
const EDGE_TEXT = { protocol: "protocol", destprincipal: "destPrincipal", sourceprincipal: "sourcePrincipal" };
const EDGE_NUMBERS = {
  http: "http", grpc: "grpc", tcp: "tcp", "%httperr": "httpPercentErr", "%httperror": "httpPercentErr",
  "%grpcerr": "grpcPercentErr", "%grpcerror": "grpcPercentErr", "%httptraffic": "httpPercentReq",
  "%grpctraffic": "grpcPercentReq", responsetime: "responseTime", rt: "responseTime", throughput: "throughput",
};
const flag = (field) => [[[field, "truthy", null]], [[field, "falsy", null]]];
const status = (value) => [[["healthStatus", "=", value]], [["healthStatus", "!=", value]]];
// name -> [target, tests, negated tests]
const UNARY = {
  // "! healthy" leaves out nodes without a status (no traffic), as Kiali does.
  healthy: [NODE, [["healthStatus", "=", "Healthy"]],
    [["healthStatus", "!=", "Healthy"], ["healthStatus", "!=", "NA"], ["healthStatus", "!=", "Not Ready"]]],
  degraded: [NODE, ...status("Degraded")],
  failure: [NODE, ...status("Failure")],
  unknown: [NODE, [["nodeType", "=", "unknown"]], [["nodeType", "!=", "unknown"]]],
  idle: [NODE, ...flag("isIdle")],
  outside: [NODE, ...flag("isOutside")],
  root: [NODE, ...flag("isRoot")],
  dead: [NODE, ...flag("isDead")],
  inaccessible: [NODE, ...flag("isInaccessible")],
  "sidecar-less": [NODE, ...flag("sidecarLess")],
  mtls: [EDGE, [["isMTLS", ">", 0]], [["isMTLS", "<=", 0]]],
  traffic: [EDGE, ...flag("hasTraffic")],
};
const UNARY_ALIASES = {
  deg: "degraded", fail: "failure", failed: "failure", unk: "unknown", outsider: "outside",
  trafficsource: "root", sc: "sidecar-less", sidecar: "sidecar-less", outofmesh: "sidecar-less", om: "sidecar-less",
};
const NOT_KNOWN = new Set([
  "cb", "circuitbreaker", "fi", "faultinjection", "mirroring", "rr", "requestrouting", "rto",
  "requesttimeout", "se", "serviceentry", "ts", "trafficshifting", "tcpts", "tcptrafficshifting",
  "vs", "virtualservice", "we", "workloadentry", "rank", "op", "operation",
]);
const NODE_TYPES = { app: "app", service: "service", svc: "service", workload: "workload", wl: "workload", unknown: "unknown", box: "box" };
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
export const has = (object, key) => Object.prototype.hasOwnProperty.call(object, key);

/** A bad expression: `message` is "find: unknown operand 'foo' at 5". */
export class FindError extends Error {
  constructor(param, problem, position) {
    super(`${param}: ${problem} at ${position}`);
    this.name = "FindError";
    this.param = param;
    this.problem = problem;
    this.position = position;
  }
}

const token = (kind, text, position) => ({ kind, text, position, word: kind === "word" ? text.toLowerCase() : "" });

export function tokenize(text, param = "find") {
  const tokens = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i];
    if (/\s/.test(char)) {
      i += 1;
    } else if (char === "(" || char === ")") {
      throw new FindError(param, "parentheses are not supported", i + 1);
    } else if (char === '"' || char === "'") {
      const end = text.indexOf(char, i + 1);
      if (end < 0) throw new FindError(param, `unclosed quote ${char}`, i + 1);
      tokens.push(token("text", text.slice(i + 1, end), i + 1));
      i = end + 1;
    } else {
      const symbol = SYMBOLS.find((s) => text.startsWith(s, i));
      if (symbol) {
        tokens.push(token("op", symbol, i + 1));
        i += symbol.length;
        continue;
      }
      const start = i;
      while (i < text.length && !/\s/.test(text[i]) && !`=!<>()"'`.includes(text[i])
        && !("*$^".includes(text[i]) && text.startsWith("=", i + 1))) i += 1;
      tokens.push(token("word", text.slice(start, i), start + 1));
    }
  }
  tokens.push(token("end", "", text.length + 1));
  return tokens;
}

const shown = (t) => (t.kind === "end" ? "the end" : `'${t.text}'`);
const isNegation = (t) => (t.kind === "op" && t.text === "!") || t.word === "not";
const isLabel = (name) => name.startsWith("label:") && name.length > "label:".length;

class Parser {
  constructor(text, param) {
    this.param = param;
    this.tokens = tokenize(text, param);
    this.at = 0;
  }

  fail(problem, t) {
    return new FindError(this.param, problem, (t || this.peek()).position);
  }

  peek(ahead = 0) {
    return this.tokens[Math.min(this.at + ahead, this.tokens.length - 1)];
  }

  take() {
    const t = this.peek();
    this.at += 1;
    return t;
  }

  expression() {
    if (this.peek().kind === "end") return { clauses: [] };
    const clauses = [this.clause()];
    while (this.peek().word === "or") {
      this.take();
      clauses.push(this.clause());
    }
    const end = this.peek();
    if (end.kind !== "end") throw this.fail(`expected 'and' or 'or' before ${shown(end)}`);
    return { clauses };
  }

  clause() {
    const terms = [this.term()];
    while (this.peek().word === "and") {
      this.take();
      terms.push(this.term());
    }
    const target = terms[0].target;
    for (const term of terms.slice(1)) {
      if (term.target !== target) throw this.fail("can not AND node and edge criteria (use OR)", term.start);
    }
    if (terms.length > 1) {
      for (const term of terms) {
        if (term.tests.some((t) => t.field === "name")) throw this.fail("can not use 'name' with AND", term.start);
      }
    }
    return { target, tests: terms.flatMap((term) => term.tests) };
  }

  term() {
    const start = this.peek();
    let negated = null;
    while (PREFIXES.includes(this.peek().word) || isNegation(this.peek())) {
      const t = this.take();
      if (PREFIXES.includes(t.word)) continue;
      if (negated) throw this.fail("a second negation", t);
      negated = t;
    }
    const operand = this.take();
    if (operand.kind !== "word" || CONNECTIVES.includes(operand.word)) {
      throw this.fail(`expected an operand, found ${shown(operand)}`, operand);
    }
    const op = this.operator();
    if (op === null) return { start, ...this.unary(operand, negated !== null) };
    if (negated) {
      throw this.fail("a negation ('!' or 'not') before an operand applies to unary operands only; "
        + `use ${NEGATED[op] || "!="} to negate ${operand.text}`, negated);
    }
    const value = this.take();
    if (value.kind !== "word" && value.kind !== "text") {
      throw this.fail(`expected a value after '${op}', found ${shown(value)}`, value);
    }
    return { start, ...this.binary(operand, op, value) };
  }

  operator() {
    let t = this.peek();
    let negate = false;
    if (isNegation(t)) {
      const next = this.peek(1);
      if (!(has(WORD_OPS, next.word) || (next.kind === "op" && has(NEGATED, next.text)))) return null;
      this.take();
      t = next;
      negate = true;
    }
    let op;
    if (has(WORD_OPS, t.word)) op = WORD_OPS[t.word];
    else if (t.kind === "op" && t.text !== "!") op = t.text;
    else return null;
    this.take();
    return negate ? NEGATED[op] : op;
  }

  unary(operand, negated) {
    const name = UNARY_ALIASES[operand.word] || operand.word;
    if (has(UNARY, name)) {
      const [target, tests, negations] = UNARY[name];
      return { target, tests: (negated ? negations : tests).map(([field, op, value]) => ({ field, op, value })) };
    }
    if (isLabel(name)) {
      return { target: NODE, tests: [{ field: `label:${operand.text.slice(6)}`, op: negated ? "falsy" : "truthy", value: null }] };
    }
    if (has(NODE_TEXT, name) || has(NODE_NUMBERS, name) || has(EDGE_TEXT, name) || has(EDGE_NUMBERS, name) || name === "name") {
      throw this.fail(`${operand.text} needs an operator and a value (e.g. ${operand.text} = ...)`, operand);
    }
    throw this.unknown(operand);
  }

  unknown(operand) {
    if (NOT_KNOWN.has(operand.word)) {
      return this.fail(`operand '${operand.text}' reads Istio config, which Meshlens does not read`, operand);
    }
    return this.fail(`unknown operand '${operand.text}'`, operand);
  }

  binary(operand, op, value) {
    const name = operand.word;
    let text = value.text;
    if (has(NODE_NUMBERS, name)) return { target: NODE, tests: [this.numeric(NODE_NUMBERS[name], op, value)] };
    if (has(EDGE_NUMBERS, name)) return { target: EDGE, tests: [this.numeric(EDGE_NUMBERS[name], op, value)] };
    if (!(has(NODE_TEXT, name) || has(EDGE_TEXT, name) || name === "name" || isLabel(name))) throw this.unknown(operand);
    if (!STRING_OPS.includes(op)) throw this.fail(`'${op}' compares numbers; '${operand.text}' is text`, value);
    if (name === "node") {
      if (!has(NODE_TYPES, text.toLowerCase())) {
        throw this.fail(`unknown node type '${text}'; use app, service, workload, unknown or box`, value);
      }
      text = NODE_TYPES[text.toLowerCase()];
    }
    if (isLabel(name)) return { target: NODE, tests: [{ field: `label:${operand.text.slice(6)}`, op, value: text }] };
    if (name === "name") return { target: NODE, tests: [{ field: "name", op, value: text }] };
    const isNode = has(NODE_TEXT, name);
    return { target: isNode ? NODE : EDGE, tests: [{ field: isNode ? NODE_TEXT[name] : EDGE_TEXT[name], op, value: text }] };
  }

  numeric(field, op, value) {
    if (!NUMERIC_OPS.includes(op)) throw this.fail(`'${op}' compares text; use =, !=, >, >=, < or <= with numbers`, value);
    if (value.text.toLowerCase() === "nan" && (op === "=" || op === "!=")) {
      // Kiali: "= NaN" is no activity (missing or zero), "!= NaN" any activity.
      return { field, op: op === "=" ? "falsy" : "truthy", value: null };
    }
    if (!NUMBER.test(value.text)) {
      throw this.fail(`expected a number, found '${value.text}' (use '.' for decimals, NaN for no activity)`, value);
    }
    return { field, op, value: Number(value.text) };
  }
}

/** The expression in `text` ({clauses}); throws FindError(param, …) if it is not one. */
export function parseFind(text, param = "find") {
  if (text && text.length > 2000) throw new FindError(param, "expression longer than 2000 characters", 2001);
  return new Parser(text || "", param).expression();
}

// Kiali's presets of its Find and Hide menus first (its ranking ones aside), then a few more.
export const FIND_PRESETS = [
  ["rt > 1000", "Slow edges (> 1s)"],
  ["! healthy", "Unhealthy nodes"],
  ["name = unknown", "Unknown nodes"],
  ["%httperr > 5", "Edges with over 5 % HTTP errors"],
  ["%grpcerr > 5", "Edges with over 5 % gRPC errors"],
  ["failure", "Failing nodes"],
  ["root", "Traffic sources"],
  ["outside", "Nodes outside the namespaces"],
  ["! mtls", "Edges without mTLS"],
];
export const HIDE_PRESETS = [
  ["healthy", "Healthy nodes"],
  ["name = unknown", "Unknown nodes"],
  ["! traffic", "Edges without traffic"],
  ["idle", "Idle nodes"],
  ["outside", "Nodes outside the namespaces"],
  ["protocol = tcp", "TCP edges"],
];
