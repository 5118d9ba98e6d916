// Inbound and outbound peers of a node, one table each (peer, rate, error %, response time),
// from the graph the page already has: the node's edges, busiest first.

import { h } from "./dom.js";
import { edgeRates, formatEdgeRate, formatMs, formatPercent, isIdleEdge, nodeName, num } from "./labels.js";
import { HEALTH } from "./styles.js";
import { formatMoment } from "./time.js";

/** The response time column's name: the statistic the server computed (p95 by default). */
export function responseTimeHeading(stat) {
  return stat === "avg" ? "Avg" : `p${stat || "95"}`;
}

// A peer in a folded namespace is that namespace's box, and the edge to it sums the node's
// edges with the namespace (collapse.js): name the namespace and how many edges it stands
// for, where the box's own data would give "unknown".
function peerName(data, other) {
  if (!other.hasClass("summary")) return nodeName(other.data());
  const count = data.edgeCount || 1;
  return `${other.data("namespace")} (folded, ${count} edge${count === 1 ? "" : "s"})`;
}

// The figures of a row: a real peer's from its edge; a folded namespace's from the node's
// edges with it, summed in the graph's worker (fold-edges.js peerFigures).
function figures(data, other) {
  if (other.hasClass("summary")) {
    const rate = data.peerRate === undefined ? -1 : num(data.requestRate);
    return { rate, text: data.peerRate ?? "–", errors: data.peerErrors ?? "–", responseTime: data.peerResponseTime };
  }
  const headline = edgeRates(data);
  const traffic = Boolean(data.traffic && data.traffic.rates);
  return {
    rate: traffic ? headline.rate : -1,
    text: traffic ? formatEdgeRate(headline) : isIdleEdge(data) ? "idle" : "–",
    errors: traffic && headline.protocol !== "tcp" ? formatPercent(headline.errorPercent) : "–",
    responseTime: data.responseTime,
  };
}

function peerRow(edge, other, onSelect, dataOf) {
  const data = dataOf(edge);
  const health = data.healthStatus || data.health || data.worstHealth;
  const status = HEALTH[health] ? health : "NA";
  const shown = figures(data, other);
  const peer = h(
    "button",
    { type: "button", class: "link", onclick: () => onSelect(edge.id()) },
    h("span", { class: `dot health-${status}`, "aria-hidden": "true" }),
    peerName(data, other),
  );
  return {
    rate: shown.rate,
    row: h(
      "tr",
      { dataset: { edgeId: edge.id() } },
      h("td", {}, peer),
      h("td", {}, shown.text),
      h("td", {}, shown.errors),
      h("td", {}, shown.responseTime === undefined ? "–" : formatMs(num(shown.responseTime))),
    ),
  };
}

function peerTable(title, direction, edges, otherEnd, view, onSelect, dataOf) {
  if (edges.empty()) return null;
  const rows = edges.map((edge) => peerRow(edge, otherEnd(edge), onSelect, dataOf)).sort((a, b) => b.rate - a.rate);
  const head = ["Peer", "Rate", "Error %", responseTimeHeading(view.response_time)];
  return h(
    "table",
    { class: "details-table peer-table", dataset: { direction } },
    h("caption", {}, `${title} (${edges.length})`),
    h("thead", {}, h("tr", {}, head.map((text) => h("th", { scope: "col" }, text)))),
    h("tbody", {}, rows.map(({ row }) => row)),
  );
}

/**
 * The node's inbound and outbound peer tables; clicking a peer selects the edge. They read
 * the graph on screen: at a past moment or a replay frame, that moment's window, as a note
 * above them says. `dataOf(edge)`: its data with what a summed edge tells (summed-details.js).
 */
export function peerTables(node, view, onSelect, dataOf = (ele) => ele.data()) {
  const tables = [
    peerTable("Inbound", "inbound", node.incomers("edge"), (edge) => edge.source(), view, onSelect, dataOf),
    peerTable("Outbound", "outbound", node.outgoers("edge"), (edge) => edge.target(), view, onSelect, dataOf),
  ];
  const past = view.query_time !== null && view.query_time !== undefined;
  const note = past && tables.some(Boolean)
    ? h("p", { class: "muted peer-window", dataset: { end: String(view.query_time) } }, `Peers over the ${view.duration} ending ${formatMoment(view.query_time)}`)
    : null;
  return [note, ...tables];
}
