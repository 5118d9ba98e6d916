// Text shown on the graph and in the panels: rates, percentages, names.
// Rates arrive as Kiali formats them, strings like "12.30"; they are parsed here only.

export function num(value) {
  const n = Number.parseFloat(value);
  return Number.isFinite(n) ? n : 0;
}

export function formatRps(rps) {
  if (rps === 0) return "0 rps";
  if (rps < 0.01) return "<0.01 rps";
  if (rps >= 1000) return `${(rps / 1000).toFixed(1)}k rps`;
  return `${rps.toFixed(rps < 10 ? 2 : 1)} rps`;
}

const BYTE_UNITS = ["B/s", "kB/s", "MB/s", "GB/s", "TB/s"];

export function formatBytesPerSecond(bytes) {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

export function formatPercent(value) {
  return `${num(value).toFixed(1)} %`;
}

/** The headline numbers of an edge: its protocol, its rate and its error percentage. */
export function edgeRates(data) {
  const traffic = data.traffic || {};
  const rates = traffic.rates || {};
  const protocol = traffic.protocol || (rates.tcp ? "tcp" : rates.grpc ? "grpc" : "http");
  if (protocol === "tcp") return { protocol, rate: num(rates.tcp), errorPercent: 0 };
  if (protocol === "grpc") {
    return { protocol, rate: num(rates.grpc), errorPercent: num(rates.grpcPercentErr) };
  }
  return { protocol, rate: num(rates.http), errorPercent: num(rates.httpPercentErr) };
}

export function formatEdgeRate({ protocol, rate }) {
  return protocol === "tcp" ? formatBytesPerSecond(rate) : formatRps(rate);
}

/** An idle edge: seen within the range of the request, but without traffic now. */
export function isIdleEdge(data) {
  return Boolean(data.traffic) && !data.traffic.rates;
}

/** "0.85 ms", "12.5 ms", "240 ms", "1.25 s" from milliseconds. */
export function formatMs(ms) {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${ms.toFixed(ms < 1 ? 2 : ms < 100 ? 1 : 0)} ms`;
}

/** The edge's share of its source's requests: `httpPercentReq` or `grpcPercentReq`. */
function edgeShare(data) {
  const rates = (data.traffic && data.traffic.rates) || {};
  const { protocol } = edgeRates(data);
  const share = rates[`${protocol}PercentReq`];
  return share === undefined ? null : num(share);
}

/** "12.3 rps", "12.3 rps · 30.0 % err", "1.2 kB/s"; empty for an edge without traffic data. */
export function rateLabel(data) {
  if (!data.traffic || !data.traffic.rates) return "";
  const rates = edgeRates(data);
  const text = formatEdgeRate(rates);
  return rates.errorPercent > 0 ? `${text} · ${rates.errorPercent.toFixed(1)} % err` : text;
}

/**
 * The text on an edge for the chosen `mode` (none, rate, percent, response_time,
 * throughput). Idle edges and edges without the chosen number stay blank.
 */
export function edgeLabel(data, mode = "rate") {
  if (!data.traffic || !data.traffic.rates) return "";
  switch (mode) {
    case "none":
      return "";
    case "percent": {
      const share = edgeShare(data);
      return share === null ? "" : `${share.toFixed(1)} %`;
    }
    case "response_time":
      return data.responseTime === undefined ? "" : formatMs(num(data.responseTime));
    case "throughput":
      return data.throughput === undefined ? "" : formatBytesPerSecond(num(data.throughput));
    default:
      return rateLabel(data);
  }
}

const RESPONSE_TIME_NAMES = { avg: "average", 50: "median", 95: "95th percentile", 99: "99th percentile" };

/** "95th percentile", "average": the response time statistic the server computed. */
export function responseTimeName(stat) {
  return RESPONSE_TIME_NAMES[stat] || `p${stat}`;
}

/** The readable name of a node; the server sends `label`, the rest is a fallback. */
export function nodeName(data) {
  if (data.label) return data.label;
  switch (data.nodeType) {
    case "service":
      return data.service || "service";
    case "app":
      return data.version ? `${data.app} ${data.version}` : data.app || "app";
    case "workload":
      return data.workload || "workload";
    case "box":
      return data.namespace || data.app || "";
    default:
      return data.nodeType || "unknown";
  }
}

/**
 * Name on the first line, namespace on the second when it is worth saying. Inside
 * the box of its own app, a versioned app node is just its version.
 */
export function nodeLabel(data, showNamespace, boxApp = null) {
  const inOwnBox = boxApp !== null && data.nodeType !== "box" && data.app === boxApp && data.version;
  const name = inOwnBox ? data.version : nodeName(data);
  const namespace = data.namespace && data.namespace !== "unknown" ? data.namespace : "";
  return showNamespace && namespace ? `${name}\n${namespace}` : name;
}

/**
 * A drawn node's label: the namespace under its name when several are shown (`namespaces`,
 * the view's) or the node is from elsewhere, unless a namespace box already names it; a
 * version alone inside its app's box.
 */
export function drawnNodeLabel(node, namespaces) {
  const parent = node.parent();
  const boxApp = parent.nonempty() && parent.data("isBox") === "app" ? parent.data("app") : null;
  return nodeLabel(node.data(), showNamespaceOf(node, namespaces), boxApp);
}

function showNamespaceOf(node, namespaces) {
  const data = node.data();
  if (data.isBox === "namespace" || data.isBox === "cluster") return false;
  if (node.ancestors('[isBox = "namespace"]').nonempty()) return false;
  return namespaces.length > 1 || (Boolean(data.namespace) && !namespaces.includes(data.namespace));
}

const TYPE_NAMES = {
  workload: "Workload",
  app: "App",
  service: "Service",
  unknown: "Unknown source",
  box: "Box",
};

export function nodeTypeName(data) {
  if (data.isServiceEntry) return "Service entry";
  if (data.nodeType === "service" && data.isInjected) return "Service (injected)";
  return TYPE_NAMES[data.nodeType] || data.nodeType || "Node";
}

/** "60s", "5m", "1h": the way the API spells durations. */
export function formatDuration(seconds) {
  const s = Math.round(num(seconds));
  if (s >= 3600 && s % 3600 === 0) return `${s / 3600}h`;
  if (s > 60 && s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

/** Seconds in an API duration string ("60s", "5m", "1h"), or NaN. */
export function parseDuration(text) {
  const match = /^(\d+)([smhd]?)$/.exec(String(text).trim());
  if (!match) return Number.NaN;
  const scale = { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2]];
  return Number(match[1]) * scale;
}

/** "bookinfo", "bookinfo and boutique", "a, b and c". */
export function formatList(items) {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

export function formatClock(unixSeconds) {
  const date = new Date(unixSeconds * 1000);
  const sameDay = date.toDateString() === new Date().toDateString();
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return sameDay ? time : `${date.toLocaleDateString()} ${time}`;
}

export function formatAge(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}
