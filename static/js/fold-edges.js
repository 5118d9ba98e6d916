// The edges that stand for many (collapse.js): one per ordered pair of a folded namespace
// and what it talks to, coloured by the pair's aggregate error rate, not by its worst member.
//
// A folded edge that took the worst health of its members was red whenever one member of
// hundreds failed: at 10,000 workloads every namespace pair was red, and nobody could tell
// which pair was the problem. Here the members' requests and errors are summed and the
// sums judged as one edge is, with the tolerances the server judges its members with (the
// admin's health rules, Kiali's defaults where none matches: fold-health.js).
//
// The worst few unhealthy members are kept with each sum, so that hovering or selecting a
// folded edge can say which real edges make it what it is.

import { eachResponseRate } from "./fold-health.js";
import { edgeRates, formatEdgeRate, formatPercent, formatRps, isIdleEdge, num } from "./labels.js";

// How far a summed edge's figures move before its label and width follow (steadyLook).
const STEADY = 0.1;

const WORST = ["Failure", "Degraded", "Healthy", "NA"];
const RANK = Object.fromEntries(WORST.map((status, i) => [status, WORST.length - i]));
// How many members a folded edge lists (worst first).
export const LISTED_MEMBERS = 5;

/** The worse of two health statuses. */
export function worse(a, b) {
  return WORST.indexOf(a) <= WORST.indexOf(b) ? a : b;
}

/** An empty sum for the folded edge `id`, from `source` to `target`. */
export function newSum(id, source, target) {
  return {
    id,
    source,
    target,
    edgeCount: 0,
    failing: 0,
    found: 0,
    http: 0,
    http4xx: 0,
    http5xx: 0,
    grpc: 0,
    grpcErr: 0,
    noResponse: 0,
    tcp: 0,
    memberHealth: "NA",
    responseTime: undefined, // its member's, when it has one member
    // Requests by response code, in groups by the rules of the members' ends (fold-health.js).
    groups: new Map(), // "from|to|protocol" -> {from, to, protocol, codes: Map code -> rate, total, memberHealth}
    worst: [], // [{id, source, target, health, errorPercent, rate, text}], worst first
  };
}

/**
 * Add one member edge (element JSON data) to `sum`; `found`: Find matched it; `from`, `to`:
 * the rules its source and target follow (fold-health.js ruleOf).
 */
export function addMember(sum, data, found, from = -1, to = -1) {
  sum.edgeCount += 1;
  sum.responseTime = sum.edgeCount === 1 ? data.responseTime : undefined;
  const health = data.healthStatus || "NA";
  if (health === "Failure") sum.failing += 1;
  if (found) sum.found += 1;
  sum.memberHealth = worse(sum.memberHealth, health);
  const rates = (data.traffic && data.traffic.rates) || null;
  // Only the rates an edge has (most have one or two): this runs once per edge and plan.
  if (rates) for (const key in rates) if (key in SUMMED) sum[SUMMED[key]] += num(rates[key]);
  if (rates && REQUESTS.has(data.traffic.protocol)) addResponses(sum.groups, from, to, data.traffic, health);
  keepWorst(sum.worst, data, health);
}

const REQUESTS = new Set(["http", "grpc"]);

function groupOf(groups, from, to, protocol) {
  const key = `${from}|${to}|${protocol}`;
  let group = groups.get(key);
  if (!group) groups.set(key, (group = { from, to, protocol, codes: new Map(), total: 0, memberHealth: "NA" }));
  return group;
}

function addResponses(groups, from, to, traffic, health) {
  const group = groupOf(groups, from, to, traffic.protocol);
  eachResponseRate(traffic, (code, rate) => {
    group.codes.set(code, (group.codes.get(code) || 0) + rate);
    group.total += rate;
  });
  group.memberHealth = worse(group.memberHealth, health);
}

// The rates summed, by the field of the sum they go to.
const SUMMED = {
  http: "http",
  http4xx: "http4xx",
  http5xx: "http5xx",
  grpc: "grpc",
  grpcErr: "grpcErr",
  httpNoResponse: "noResponse",
  grpcNoResponse: "noResponse",
  tcp: "tcp",
};

// Keep the LISTED_MEMBERS worst unhealthy members: by health, then error share, then rate.
// Healthy ones are not listed: they are not what an SRE looks for, and most edges are.
function keepWorst(list, data, health) {
  if (health !== "Failure" && health !== "Degraded") return;
  if (list.length === LISTED_MEMBERS && RANK[health] < RANK[list[LISTED_MEMBERS - 1].health]) return;
  const { protocol, rate, errorPercent } = isIdleEdge(data) ? { protocol: "http", rate: 0, errorPercent: 0 } : edgeRates(data);
  insertWorst(list, { id: data.id, source: data.source, target: data.target, health, errorPercent, rate, protocol });
}

const SUM_FIELDS = ["edgeCount", "failing", "found", "http", "http4xx", "http5xx", "grpc", "grpcErr", "noResponse", "tcp"];

/** Add the sum `from` into `into` (a port's edge sums its nodes' edges: fold-ports.js). */
export function mergeSum(into, from) {
  for (const key of SUM_FIELDS) into[key] += from[key];
  into.responseTime = undefined;
  into.memberHealth = worse(into.memberHealth, from.memberHealth);
  for (const group of from.groups.values()) {
    const to = groupOf(into.groups, group.from, group.to, group.protocol);
    for (const [code, rate] of group.codes) to.codes.set(code, (to.codes.get(code) || 0) + rate);
    to.total += group.total;
    to.memberHealth = worse(to.memberHealth, group.memberHealth);
  }
  for (const entry of from.worst) insertWorst(into.worst, entry);
}

function insertWorst(list, entry) {
  const before = (a, b) => RANK[a.health] - RANK[b.health] || a.errorPercent - b.errorPercent || a.rate - b.rate;
  let at = list.length;
  while (at > 0 && before(entry, list[at - 1]) > 0) at -= 1;
  if (at >= LISTED_MEMBERS) return;
  list.splice(at, 0, entry);
  if (list.length > LISTED_MEMBERS) list.pop();
}

/**
 * The health of the pair from its sums: each group of members (by the rules of their ends
 * and protocol) judged on its responses by `book` (fold-health.js), the worst taken.
 * Without request traffic: Healthy when some TCP bytes flowed, else what the members say
 * (NA for idle ones).
 */
export function sumHealth(sum, book) {
  let health = "NA";
  for (const group of sum.groups.values()) if (group.total > 0) health = worse(health, book.judge(group));
  if (health !== "NA") return health;
  return sum.tcp > 0 || sum.memberHealth !== "NA" ? "Healthy" : "NA";
}

/** The pair's error share, % of its requests (HTTP 4xx and 5xx, gRPC errors). */
export function sumErrorPercent(sum) {
  const requests = sum.http + sum.grpc;
  return requests > 0 ? (100 * (sum.http4xx + sum.http5xx + sum.grpcErr)) / requests : 0;
}

// Two significant digits: a live update changes rates by a few percent, and a label (or any
// field of a summed edge) that changes makes the page restyle the edge; most do not, now.
const rounded = (x) => Number(x.toPrecision(2));

// Requests per second to two significant digits: "1.3k rps", "680 rps", "6.8 rps".
const sumRps = (requests) => (requests >= 1000 ? formatRps(rounded(requests)) : `${rounded(requests)} rps`);

/** "1.3k rps · 0.41 % err", "12 kB/s", "3 idle edges" (two significant digits). */
export function sumLabel(sum) {
  const requests = sum.http + sum.grpc;
  if (requests > 0) {
    const errors = sumErrorPercent(sum);
    return errors > 0 ? `${sumRps(requests)} · ${rounded(errors)} % err` : sumRps(requests);
  }
  if (sum.tcp > 0) return formatEdgeRate({ protocol: "tcp", rate: rounded(sum.tcp) });
  return `${sum.edgeCount.toLocaleString("en")} idle edge${sum.edgeCount === 1 ? "" : "s"}`;
}

/**
 * A node's peer in a folded namespace, as the side panel's peer tables show a real peer
 * (peer-tables.js): the exact rate and error share of the node's edges with it, and the
 * response time of its one edge. As text: a live update restyles the edge only when what
 * the panel would show changes.
 */
export function peerFigures(sum) {
  const requests = sum.http + sum.grpc;
  const figures = {};
  if (requests > 0) {
    figures.peerRate = formatRps(requests);
    figures.peerErrors = formatPercent(sumErrorPercent(sum));
  } else if (sum.tcp > 0) {
    figures.peerRate = formatEdgeRate({ protocol: "tcp", rate: sum.tcp });
  }
  if (sum.responseTime !== undefined) figures.peerResponseTime = sum.responseTime;
  return figures;
}

/** A number of a summed edge's data, as coarse as its label. */
export const coarse = (x) => (x > 0 ? rounded(x) : 0);

/** The width of a folded edge by its traffic (requests, or TCP bytes scaled down), to a
 * quarter pixel. */
export function sumWidth(sum) {
  const requests = sum.http + sum.grpc;
  const load = requests > 0 ? requests : sum.tcp / 1000;
  return Math.round(4 * (1.5 + 1.5 * Math.log10(1 + load))) / 4;
}

/** The worst members as lines of text: "a → b: Failure, 35 % err". */
export function memberLines(sum, nameOf = (id) => id) {
  return sum.worst.map((m) => {
    const errors = m.errorPercent > 0 ? `, ${rounded(m.errorPercent)} % err` : "";
    return `${nameOf(m.source)} → ${nameOf(m.target)}: ${m.health}${errors}`;
  });
}

/**
 * Labels and widths of summed edges that hold still while their figures move a little. A
 * live update moves every rate by a few percent, and a label that followed each move (two
 * significant digits: "0.22 % err", then "0.23") restyled and redrew its edge on nearly
 * every update, a frame of 50-140 ms at 10,000 workloads. A label is written anew when its
 * rate, error share or TCP bytes have moved by more than STEADY (10 %) from those it shows,
 * or its count of edges changed; the colour (health) always follows at once, and the tip
 * and side panel tell the figures of now. `look(sum)` gives {text, width}; `next()` after
 * each plan forgets the edges that were not drawn.
 */
export function createSteadyLook() {
  let shown = new Map();
  let drawn = new Map();
  const near = (a, b) => a === b || (a > 0 && b > 0 && Math.abs(a - b) <= STEADY * a);
  return {
    look(sum) {
      const figures = { requests: sum.http + sum.grpc, errors: sumErrorPercent(sum), tcp: sum.tcp, edgeCount: sum.edgeCount };
      const before = shown.get(sum.id);
      const kept = before && before.edgeCount === figures.edgeCount && near(before.requests, figures.requests)
        && near(before.errors, figures.errors) && near(before.tcp, figures.tcp);
      const out = kept ? before : { ...figures, text: sumLabel(sum), width: sumWidth(sum) };
      drawn.set(sum.id, out);
      return out;
    },
    next() {
      shown = drawn;
      drawn = new Map();
    },
  };
}
