// The view: what the page shows, read from and written to the URL query with the
// API's parameter names. Part of it is the server's scope (it goes in the WebSocket
// query), part of it only changes how the page draws the same graph.

import { parseDuration } from "./labels.js";

export const GRAPH_TYPES = [
  ["workload", "Workload graph"],
  ["app", "App graph"],
  ["versioned_app", "Versioned app graph"],
  ["service", "Service graph"],
];

export const DURATIONS = [
  ["60s", "Last 1m"],
  ["5m", "Last 5m"],
  ["10m", "Last 10m"],
  ["30m", "Last 30m"],
  ["1h", "Last 1h"],
];

// What can box nodes, outermost first; the API takes them as a comma list.
export const BOX_KINDS = ["cluster", "namespace", "app"];

const EDGE_LABELS = ["none", "rate", "percent", "response_time", "throughput"];
const RESPONSE_TIMES = ["avg", "50", "95", "99"];
const THROUGHPUTS = ["request", "response"];
// Which renderer draws big graphs: "auto" (WebGL on a GPU, else canvas) or either one.
const RENDERERS = ["auto", "webgl", "canvas"];

// Defaults of the options that the server learned after the first four: they are
// sent, and written in the page URL, only when they differ from these.
const OPTION_DEFAULTS = {
  box_by: [],
  include_idle_edges: false,
  include_idle_nodes: false,
  response_time: "95",
  throughput: "response",
  edge_labels: "rate",
  badge_security: false,
  renderer: "auto",
  blast: "",
  compare_to: "",
};

// Overlays: the element whose blast radius is shown (its id), and the earlier time the
// graph is compared with.
const COMPARE_TO = ["1h", "1d"];

function readBool(query, name, fallback) {
  const value = query.get(name);
  return value === null || value === "" ? fallback : ["true", "1"].includes(value);
}

function readChoice(query, name, choices, fallback) {
  const value = query.get(name);
  return choices.includes(value) ? value : fallback;
}

function readList(query, name) {
  return (query.get(name) || "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

/** The view from a query string, with defaults for what it does not say. */
export function readView(search, defaults) {
  const query = new URLSearchParams(search);
  const namespaces = readList(query, "namespaces");
  const boxBy = new Set(readList(query, "box_by"));
  return {
    namespaces: namespaces.length ? [...new Set(namespaces)] : [...defaults.namespaces],
    graph_type: readChoice(query, "graph_type", GRAPH_TYPES.map(([value]) => value), defaults.graph_type),
    duration: parseDuration(query.get("duration") || "") > 0 ? query.get("duration") : defaults.duration,
    inject_service_nodes: readBool(query, "inject_service_nodes", Boolean(defaults.inject_service_nodes)),
    box_by: BOX_KINDS.filter((kind) => boxBy.has(kind)),
    include_idle_edges: readBool(query, "include_idle_edges", OPTION_DEFAULTS.include_idle_edges),
    include_idle_nodes: readBool(query, "include_idle_nodes", OPTION_DEFAULTS.include_idle_nodes),
    response_time: readChoice(query, "response_time", RESPONSE_TIMES, OPTION_DEFAULTS.response_time),
    throughput: readChoice(query, "throughput", THROUGHPUTS, OPTION_DEFAULTS.throughput),
    edge_labels: readChoice(query, "edge_labels", EDGE_LABELS, OPTION_DEFAULTS.edge_labels),
    badge_security: readBool(query, "badge_security", OPTION_DEFAULTS.badge_security),
    renderer: readChoice(query, "renderer", RENDERERS, OPTION_DEFAULTS.renderer),
    blast: query.get("blast") || OPTION_DEFAULTS.blast,
    compare_to: readChoice(query, "compare_to", COMPARE_TO, OPTION_DEFAULTS.compare_to),
  };
}

function param(name, value) {
  return `${name}=${encodeURIComponent(value)}`;
}

/**
 * `namespaces=a,b&graph_type=…`: the graph the server builds, for the WebSocket.
 * Options at their default are left out, so that a server that does not know one
 * yet still serves every view that does not use it.
 */
export function scopeQuery(view) {
  const parts = [
    `namespaces=${view.namespaces.map(encodeURIComponent).join(",")}`,
    param("graph_type", view.graph_type),
    param("duration", view.duration),
    param("inject_service_nodes", view.inject_service_nodes),
  ];
  if (view.box_by.length) parts.push(`box_by=${view.box_by.join(",")}`);
  if (view.include_idle_edges) parts.push("include_idle_edges=true");
  if (view.include_idle_nodes) parts.push("include_idle_nodes=true");
  if (view.response_time !== OPTION_DEFAULTS.response_time) parts.push(param("response_time", view.response_time));
  if (view.throughput !== OPTION_DEFAULTS.throughput) parts.push(param("throughput", view.throughput));
  return parts.join("&");
}

/** The page's own query: the scope, then how to draw it (never sent to the server). */
function pageQuery(view) {
  const parts = [scopeQuery(view)];
  if (view.edge_labels !== OPTION_DEFAULTS.edge_labels) parts.push(param("edge_labels", view.edge_labels));
  if (view.badge_security) parts.push("badge_security=true");
  if (view.renderer !== OPTION_DEFAULTS.renderer) parts.push(param("renderer", view.renderer));
  if (view.blast) parts.push(param("blast", view.blast));
  if (view.compare_to) parts.push(param("compare_to", view.compare_to));
  return parts.join("&");
}

export function writeUrl(view) {
  const url = `${window.location.pathname}?${pageQuery(view)}${window.location.hash}`;
  window.history.replaceState(null, "", url);
}
