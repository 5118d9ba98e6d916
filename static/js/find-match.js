// What a Find/Hide expression (find.js) matches among the graph's elements, as
// graph/find_match.py matches it: the elements it finds, and those Hide takes out with the
// nodes and boxes left empty. No DOM here: Node runs it in the tests (tests/find_cases.mjs).

import { EDGE, NODE, NODE_NUMBERS, has } from "./find.js";

// What a test reads from an element's data, as graph/find_match.py reads it.
const NODE_RATES = new Set(Object.values(NODE_NUMBERS));
const EDGE_RATES = new Set(["http", "grpc", "tcp", "httpPercentErr", "grpcPercentErr", "httpPercentReq", "grpcPercentReq"]);
const PROTOCOL_FIELDS = {
  http: ["http", "httpPercentErr", "httpPercentReq"], grpc: ["grpc", "grpcPercentErr", "grpcPercentReq"], tcp: ["tcp"],
};
const NAME_FIELDS = ["app", "service", "workload"];

const number = (text) => (text === undefined || text === null || text === "" ? NaN : Number(text));

function value(field, data) {
  const isEdge = data.source !== undefined;
  if (!isEdge && NODE_RATES.has(field)) {
    for (const protocol of data.traffic || []) {
      if (protocol.rates && has(protocol.rates, field)) return number(protocol.rates[field]);
    }
    return NaN;
  }
  if (isEdge) {
    const traffic = data.traffic || {};
    const rates = traffic.rates;
    if (field === "protocol") return traffic.protocol;
    if (field === "hasTraffic") return rates !== undefined;
    if (field === "responseTime" || field === "throughput") return number(data[field]);
    if (field === "isMTLS") return has(data, "isMTLS") ? number(data.isMTLS) : -1;
    if (EDGE_RATES.has(field)) {
      if (rates !== undefined && has(rates, field)) return number(rates[field]);
      const own = rates !== undefined && (PROTOCOL_FIELDS[traffic.protocol] || []).includes(field);
      return own ? 0 : NaN;
    }
  }
  if (field === "sidecarLess") return Boolean(data.hasMissingSC || data.isOutOfMesh);
  if (field.startsWith("label:")) return (data.labels || {})[field.slice(6)];
  return data[field];
}

function compare(op, have, want) {
  if (op === "truthy") return Boolean(have);
  if (op === "falsy") return !have;
  if (typeof want === "number") {
    switch (op) {
      case "=": return have === want;
      case "!=": return have !== want;
      case ">": return have > want;
      case ">=": return have >= want;
      case "<": return have < want;
      default: return have <= want;
    }
  }
  const text = have === undefined || have === null ? "" : String(have);
  switch (op) {
    case "=": return text === want;
    case "!=": return text !== want;
    case "*=": return text.includes(want);
    case "!*=": return !text.includes(want);
    case "^=": return text.startsWith(want);
    case "!^=": return !text.startsWith(want);
    case "$=": return text.endsWith(want);
    default: return !text.endsWith(want);
  }
}

function passes(test, data) {
  if (test.field === "name") {
    // Kiali expands name to app OR service OR workload; negated, to AND.
    const results = NAME_FIELDS.map((f) => compare(test.op, data[f], test.value));
    return test.op.startsWith("!") ? results.every(Boolean) : results.some(Boolean);
  }
  return compare(test.op, value(test.field, data), test.value);
}

/** Whether the expression matches an element's data (an edge has a `source`). */
export function matches(expression, data) {
  const target = data.source !== undefined ? EDGE : NODE;
  return expression.clauses.some((c) => c.target === target && c.tests.every((t) => passes(t, data)));
}

/** Ids of the node and edge data (two arrays) that the expression matches. */
export function foundIds(expression, nodes, edges) {
  const ids = new Set();
  if (!expression.clauses.length) return ids;
  for (const data of nodes) if (matches(expression, data)) ids.add(data.id);
  for (const data of edges) if (matches(expression, data)) ids.add(data.id);
  return ids;
}

/**
 * Ids that Hide takes out, as Kiali's page does: the matches; then nodes whose edges are
 * all hidden (idle nodes stay); then edges left without a node; boxes only when nothing
 * is left in them.
 */
export function hiddenIds(expression, nodes, edges) {
  const gone = new Set();
  if (!expression.clauses.length) return gone;
  for (const d of nodes) if (!d.isBox && matches(expression, d)) gone.add(d.id);
  const goneEdges = new Set();
  for (const d of edges) if (matches(expression, d)) goneEdges.add(d.id);
  if (goneEdges.size) {
    const shownEdges = new Map();
    for (const d of edges) {
      const seen = !goneEdges.has(d.id);
      for (const end of [d.source, d.target]) shownEdges.set(end, shownEdges.get(end) || seen);
    }
    for (const d of nodes) {
      if (!d.isBox && !d.isIdle && shownEdges.get(d.id) === false) gone.add(d.id);
    }
  }
  for (const d of edges) if (gone.has(d.source) || gone.has(d.target)) goneEdges.add(d.id);
  for (const id of goneEdges) gone.add(id);
  for (const id of emptyBoxes(nodes, gone)) gone.add(id);
  return gone;
}

function emptyBoxes(nodes, gone) {
  const parent = new Map(nodes.map((d) => [d.id, d.parent]));
  const held = new Set();
  const kept = new Set();
  for (const d of nodes) {
    if (d.isBox) continue;
    for (let box = d.parent; box; box = parent.get(box)) {
      held.add(box);
      if (!gone.has(d.id)) kept.add(box);
    }
  }
  return [...held].filter((box) => !kept.has(box));
}
