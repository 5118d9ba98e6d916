// The view: what the page shows, read from and written to the URL query with the
// API's parameter names. Part of it is the server's scope (it goes in the WebSocket
// query), part of it only changes how the page draws the same graph.

import { EDGE_MODE_VALUES } from "./edge-mode.js";
import { clampHops } from "./focus.js";
import { parseDuration } from "./labels.js";

export const GRAPH_TYPES = [
  ["workload", "Workload graph"],
  ["app", "App graph"],
  ["versioned_app", "Versioned app graph"],
  ["service", "Service graph"],
];

// Kiali's durations; the page offers those that fit in Prometheus's retention.
export const DURATIONS = [
  ["60s", "Last 1m"],
  ["5m", "Last 5m"],
  ["10m", "Last 10m"],
  ["30m", "Last 30m"],
  ["1h", "Last 1h"],
  ["3h", "Last 3h"],
  ["6h", "Last 6h"],
  ["12h", "Last 12h"],
  ["1d", "Last 1d"],
];

// What can box nodes, outermost first; the API takes them as a comma list.
export const BOX_KINDS = ["cluster", "namespace", "app"];

const EDGE_LABELS = ["none", "rate", "percent", "response_time", "throughput"];
const RESPONSE_TIMES = ["avg", "50", "95", "99"];
const THROUGHPUTS = ["request", "response"];
// Which renderer draws big graphs: "auto" (WebGL on a GPU, else canvas) or either one.
const RENDERERS = ["auto", "webgl", "canvas"];

// How each kind of URL value reads (undefined: absent or not valid, the default holds)
// and writes. `raw`: the written text is already encoded.
const bool = { read: (raw) => (raw === "" ? undefined : ["true", "1"].includes(raw)), write: String };
const choice = (choices) => ({ read: (raw) => (choices.includes(raw) ? raw : undefined), write: String });
const list = (allowed = null) => ({
  read: (raw) => {
    const items = [...new Set(raw.split(",").map((item) => item.trim()).filter(Boolean))];
    const kept = allowed ? allowed.filter((item) => items.includes(item)) : items;
    return kept.length ? kept : undefined;
  },
  write: (value) => value.map(encodeURIComponent).join(","),
  raw: true,
});
const duration = { read: (raw) => (parseDuration(raw) > 0 ? raw : undefined), write: String };
// A Unix time in seconds.
const time = { read: (raw) => (/^\d{1,11}$/.test(raw) && Number(raw) > 0 ? Number(raw) : undefined), write: String };
const text = { read: (raw) => raw, write: String };

export const LAYOUTS = ["dagre", "breadthfirst", "concentric", "fcose"];
// "pause", or how often the page applies updates.
export const REFRESHES = ["pause", "10s", "15s", "30s", "1m", "5m"];
export const REPLAY_WINDOWS = ["30m", "1h", "6h"];
export const SPEEDS = ["1", "2", "5", "10"];

/**
 * Every key of the view, in URL order: [name, kind, default, where]. `default` is a value,
 * or a function of the page's configured defaults; `where`: "scope" (the server builds
 * another graph: it goes in the WebSocket query; "always": written even at its default), or
 * "page" (how this page shows it, never sent). Adding a key is adding a line here.
 */
const KEYS = [
  ["namespaces", list(), (d) => [...d.namespaces], "always"],
  ["graph_type", choice(GRAPH_TYPES.map(([value]) => value)), (d) => d.graph_type, "always"],
  ["duration", duration, (d) => d.duration, "always"],
  ["inject_service_nodes", bool, (d) => Boolean(d.inject_service_nodes), "always"],
  ["box_by", list(BOX_KINDS), [], "scope"],
  ["include_idle_edges", bool, false, "scope"],
  ["include_idle_nodes", bool, false, "scope"],
  ["response_time", choice(["avg", "50", "95", "99"]), "95", "scope"],
  ["throughput", choice(["request", "response"]), "response", "scope"],
  ["edge_labels", choice(["none", "rate", "percent", "response_time", "throughput"]), "rate", "page"],
  ["badge_security", bool, false, "page"],
  // Which renderer draws big graphs: "auto" (WebGL on a GPU, else canvas) or either one.
  ["renderer", choice(["auto", "webgl", "canvas"]), "auto", "page"],
  // Time: a past moment (the replay's playhead when replaying), the replay's window
  // ending at replay_end, its speed; how often live updates are applied.
  ["query_time", time, null, "page"],
  ["replay", choice(REPLAY_WINDOWS), null, "page"],
  ["replay_end", time, null, "page"],
  ["speed", choice(SPEEDS), "1", "page"],
  ["refresh", choice(REFRESHES), "10s", "page"],
  ["layout", choice(LAYOUTS), "dagre", "page"],
  ["animate", bool, false, "page"],
  // The selected node or edge, by id.
  ["selected", text, "", "page"],
  // Overlays: the element whose blast radius is shown (its id), and the earlier time the
  // graph is compared with.
  ["blast", text, "", "page"],
  ["compare_to", choice(["1h", "1d"]), "", "page"],
  // Find and Hide expressions (find-bar.js): the page applies them to what it draws.
  ["find", text, "", "page"],
  ["hide", text, "", "page"],
  // Drawing only: which edges show, and the node in focus with how many hops around it.
  ["edge_mode", choice(EDGE_MODE_VALUES), "all", "page"],
  ["focus", text, null, "page"],
  ["hops", { read: (raw) => clampHops(raw), write: String }, 1, "page"],
];

// Keys whose change the page applies in place on back/forward (the rest reload it).
// (focus.js restores focus and hops itself.)
export const IN_PLACE_KEYS = ["query_time", "replay", "replay_end", "speed", "refresh", "layout", "animate", "selected",
  "focus", "hops"];

const fallback = (value, defaults) => (typeof value === "function" ? value(defaults) : value);

/** The view from a query string, with defaults for what it does not say. */
export function readView(search, defaults) {
  const query = new URLSearchParams(search);
  const view = {};
  for (const [name, kind, byDefault] of KEYS) {
    const raw = query.get(name);
    const value = raw === null ? undefined : kind.read(raw);
    view[name] = value === undefined ? fallback(byDefault, defaults) : value;
  }
  return view;
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function queryOf(view, wanted) {
  const parts = [];
  for (const [name, kind, byDefault, where] of KEYS) {
    if (!wanted.includes(where)) continue;
    const value = view[name];
    // Options at their default are left out (in the WebSocket query too, so that a server
    // that does not know one yet still serves every view that does not use it).
    if (where !== "always" && (value === null || value === undefined || same(value, fallback(byDefault, {})))) continue;
    const written = kind.write(value);
    parts.push(`${name}=${kind.raw ? written : encodeURIComponent(written)}`);
  }
  return parts.join("&");
}

/** `namespaces=a,b&graph_type=…`: the graph the server builds, for the WebSocket. */
export function scopeQuery(view) {
  return queryOf(view, ["always", "scope"]);
}

/** The page's own query: the scope, then how to draw it (never sent to the server). */
export function pageQuery(view) {
  return queryOf(view, ["always", "scope", "page"]);
}

/**
 * Put the view in the URL. `push`: a choice of the user's, a step back/forward returns to;
 * otherwise the current entry is replaced (the first load, a playhead moving).
 */
export function writeUrl(view, { push = false, state = null } = {}) {
  const url = `${window.location.pathname}?${pageQuery(view)}${window.location.hash}`;
  if (url === `${window.location.pathname}${window.location.search}${window.location.hash}`) return;
  if (push) window.history.pushState(state, "", url);
  else window.history.replaceState(window.history.state, "", url);
}

/** The keys whose values differ between two views. */
export function changedKeys(a, b) {
  return KEYS.map(([name]) => name).filter((name) => !same(a[name], b[name]));
}

/**
 * Back and forward: when only what changes in place changed (time, selection, layout,
 * animation: IN_PLACE_KEYS), the view takes the URL's and `apply()` shows it; another
 * scope or drawing option reloads the page, which reads it from the URL like any link.
 */
export function followHistory(view, defaults, apply) {
  window.addEventListener("popstate", () => {
    const next = readView(window.location.search, defaults);
    const changed = changedKeys(view, next);
    if (changed.some((key) => !IN_PLACE_KEYS.includes(key))) {
      window.location.reload();
      return;
    }
    Object.assign(view, next);
    apply();
  });
}
