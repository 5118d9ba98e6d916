// The admin's health rules (graph/health.py, dashboard/models.py HealthRule), applied to the
// edges the page sums (fold-edges.js) as the server applies them to real edges: the first
// rule whose namespace, kind and name match a node gives its tolerances; an edge's traffic
// is judged with its source's outbound and its target's inbound tolerances, the worse taken.
//
// A summed edge holds members under different rules (a rule for one namespace, or for one
// service): its members are summed in groups by (source's rule, target's rule, protocol),
// each group's responses judged by code with its own tolerances, and the worst group is the
// edge's health. With one rule for all (the usual case) that is the sum judged as one edge.
//
// The rules come with the page (config.healthRules, the server's plain_rules); a page
// without them judges with Kiali's defaults, as the server does when no rule matches.

import { num } from "./labels.js";

const STATUSES = ["NA", "Healthy", "Degraded", "Failure"];
const NA = 0;
const HEALTHY = 1;
const DEGRADED = 2;
const FAILURE = 3;

// Kiali's defaults (graph/health.py DEFAULT_TOLERANCES), the codes as regular expressions.
const DEFAULT_RULES = [{
  namespace: ".*",
  kind: ".*",
  name: ".*",
  tolerances: [
    { code: "^5\\d\\d$", protocol: "http", direction: ".*", degraded: 0, failure: 10 },
    { code: "^4\\d\\d$", protocol: "http", direction: ".*", degraded: 10, failure: 20 },
    { code: "^[1-9]$|^1[0-6]$", protocol: "grpc", direction: ".*", degraded: 0, failure: 10 },
    { code: "^-$", protocol: "http|grpc", direction: ".*", degraded: 0, failure: 10 },
  ],
}];

// Python's re.fullmatch as a JavaScript RegExp; Python's named groups spelled as JavaScript's.
const whole = (pattern) => new RegExp(`^(?:${pattern.replaceAll("(?P<", "(?<")})$`);

function compiled(rule) {
  try {
    return {
      namespace: whole(rule.namespace),
      kind: whole(rule.kind),
      name: whole(rule.name),
      tolerances: rule.tolerances.map((t) => ({
        code: new RegExp(t.code.replaceAll("(?P<", "(?<")),
        protocol: whole(t.protocol),
        direction: whole(t.direction),
        degraded: t.degraded,
        failure: t.failure,
      })),
    };
  } catch {
    return null; // a Python pattern JavaScript cannot read: its nodes keep the server's word
  }
}

// The kind and name a rule matches for a node (graph/health.py node_name).
function kindAndName(data) {
  if (data.nodeType === "service") return ["service", data.service || ""];
  if (data.nodeType === "app") return ["app", data.app || ""];
  return ["workload", data.workload || ""];
}

/**
 * The rules `plain` (config.healthRules; Kiali's defaults when absent). `ruleOf(node data)`
 * is the index of the rule a node follows (remembered by node id), `judge(group)` the status
 * of a group of summed members.
 */
export function createRuleBook(plain) {
  const rules = (plain && plain.length ? plain : DEFAULT_RULES).map(compiled);
  const byNode = new Map();
  const scorers = new Map(); // "rule|protocol|direction" -> the tolerances that apply

  function ruleOf(data) {
    let found = byNode.get(data.id);
    if (found !== undefined) return found;
    const [kind, name] = kindAndName(data);
    const ns = data.namespace || "";
    found = rules.findIndex((r) => r === null || (r.namespace.test(ns) && r.kind.test(kind) && r.name.test(name)));
    byNode.set(data.id, found); // -1: no rule matched, Kiali's defaults
    return found;
  }

  function applicable(index, protocol, direction) {
    const key = `${index}|${protocol}|${direction}`;
    let found = scorers.get(key);
    if (found === undefined) {
      const rule = index >= 0 ? rules[index] : compiled(DEFAULT_RULES[0]);
      found = rule && rule.tolerances.filter((t) => t.protocol.test(protocol) && t.direction.test(direction));
      scorers.set(key, found);
    }
    return found;
  }

  /** The status of a group ({from, to, protocol, codes, total, memberHealth}). */
  function judge(group) {
    const outbound = applicable(group.from, group.protocol, "outbound");
    const inbound = applicable(group.to, group.protocol, "inbound");
    if (!outbound || !inbound) return group.memberHealth;
    const rank = Math.max(score(outbound, group), score(inbound, group));
    return STATUSES[rank];
  }

  return { ruleOf, judge };
}

// graph/health.py Scorer.rank: each tolerance's error share of the group's responses.
function score(tolerances, { codes, total }) {
  if (total <= 0) return NA;
  let rank = HEALTHY;
  const ordered = inObjectOrder(codes);
  for (const t of tolerances) {
    let errors = 0;
    for (const [code, rate] of ordered) if (t.code.test(code)) errors += rate;
    const pct = (errors / total) * 100;
    if (pct <= 0) continue;
    if (pct >= t.failure) return FAILURE;
    if (pct >= t.degraded) rank = DEGRADED;
  }
  return rank;
}

const INDEX = /^(0|[1-9]\d*)$/;

// A group's codes (a Map) in the order an object would list them: integer-like codes
// ascending, then the others as they came; errors are added up in that order, as before.
function inObjectOrder(codes) {
  const index = (code) => INDEX.test(code);
  return [...codes].sort(([a], [b]) => (index(a) && index(b) ? a - b : index(a) ? -1 : index(b) ? 1 : 0));
}

// A member's requests per second by response code, each given to `add(code, rate)`: its
// rate shared out by its responses' percentages; an edge without responses (hand-made data)
// by its error rates. A callback, not an object of codes: codes are integer-like keys,
// which an object keeps as elements and for...in turns back into strings one by one, and
// this runs for every member edge on every live update.
export function eachResponseRate(traffic, add) {
  const protocol = traffic.protocol;
  const rates = traffic.rates || {};
  const total = num(rates[protocol]);
  if (total <= 0) return;
  const responses = traffic.responses;
  const codes = responses ? Object.keys(responses) : [];
  if (codes.length) {
    for (const code of codes) {
      let pct = 0;
      const flags = responses[code].flags || {};
      for (const flag in flags) pct += num(flags[flag]);
      add(code, (total * pct) / 100);
    }
    return;
  }
  const classes = protocol === "grpc"
    ? [["grpcErr", "2"], ["grpcNoResponse", "-"]]
    : [["http5xx", "500"], ["http4xx", "400"], ["httpNoResponse", "-"]];
  let rest = total;
  const found = new Map();
  for (const [key, code] of classes) {
    const value = num(rates[key]);
    if (value > 0) {
      found.set(code, value);
      rest -= value;
    }
  }
  // In the order an object of these codes listed them (integer-like codes ascending, then
  // "-"), so that every sum is added up as before, to the last bit.
  if (rest > 0) add(protocol === "grpc" ? "0" : "200", rest);
  for (const code of ["2", "400", "500", "-"]) if (found.has(code)) add(code, found.get(code));
}
