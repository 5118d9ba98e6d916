// Example traces of the selected node or edge, for the side panel: the exemplars that the
// latency histograms carry (GET /api/v1/exemplars), slowest first, linked to the trace UI
// when the server has a template for it (MESHLENS_TRACE_URL).

import { h } from "./dom.js";
import { formatMs } from "./labels.js";

const PATH = "/api/v1/exemplars";
// Shown again on a later selection of the same element only this long; then fetched anew.
const FRESH_MS = 15000;
// Why a list may be empty: Prometheus keeps no exemplars, or none are sent to it.
function emptyState() {
  return h(
    "p",
    { class: "muted exemplars-empty" },
    "No exemplars: does Prometheus run with ",
    h("code", {}, "--enable-feature=exemplar-storage"),
    ", and do the proxies attach trace ids?",
  );
}

/** A node as the exemplars route names it, or null for a node it cannot ask about. */
export function nodeSpec(data) {
  const ns = data.namespace;
  switch (data.nodeType) {
    case "unknown":
      return "unknown";
    case "workload":
      return data.workload ? `workload:${ns}/${data.workload}` : null;
    case "service":
      return data.service ? `service:${ns}/${data.service}` : null;
    case "app": {
      if (!data.app) return null;
      const version = data.version && data.version !== "latest" && data.version !== "unknown" ? `/${data.version}` : "";
      return `app:${ns}/${data.app}${version}`;
    }
    case "database":
    case "messaging":
    case "virtual": // trace-derived peers, named as the spans that call them name them
      return data.service ? `${data.nodeType}:${ns}/${data.service}` : null;
    default:
      return null;
  }
}

/** The query of an element's exemplars (null: none can be asked for). */
export function exemplarQuery(ele, view) {
  const params = new URLSearchParams({ namespaces: view.namespaces.join(","), duration: view.duration });
  return setElement(params, ele) ? params.toString() : null;
}

/**
 * `node=` or `edge=` of a node or an edge, as /api/v1/exemplars and /api/v1/series name
 * them; false when the element cannot be named so (nothing is set).
 */
export function setElement(params, ele) {
  if (ele.isNode()) {
    const node = nodeSpec(ele.data());
    if (!node) return false;
    params.set("node", node);
    return true;
  }
  const source = nodeSpec(ele.source().data());
  const target = nodeSpec(ele.target().data());
  if (!source || !target || target === "unknown") return false;
  params.set("edge", `${source},${target}`);
  return true;
}

function traceCell(item) {
  const text = item.traceId.length > 12 ? `${item.traceId.slice(0, 12)}…` : item.traceId;
  if (item.link && /^https?:\/\//.test(item.link)) {
    return h("a", { href: item.link, target: "_blank", rel: "noopener noreferrer", title: item.traceId, class: "trace-link" }, text);
  }
  return h("span", { title: item.traceId }, text);
}

function timeOf(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString([], { hour12: false });
}

function fill(section, state, content) {
  section.dataset.state = state;
  section.replaceChildren(...[h("h3", {}, "Example traces"), content].flat().filter(Boolean));
}

function render(section, exemplars) {
  if (!exemplars.length) {
    fill(section, "empty", emptyState());
    return;
  }
  const rows = exemplars.map((item) =>
    h("tr", {}, h("td", {}, traceCell(item)), h("td", {}, formatMs(item.latencyMs)), h("td", {}, timeOf(item.time)), h("td", {}, item.status)),
  );
  fill(
    section,
    "listed",
    h(
      "table",
      { class: "details-table exemplars-table" },
      h("thead", {}, h("tr", {}, ["Trace", "Latency", "Time", "Status"].map((text) => h("th", { scope: "col" }, text)))),
      h("tbody", {}, rows),
    ),
  );
}

async function load(section, query) {
  try {
    const response = await fetch(`${PATH}?${query}`, { headers: { Accept: "application/json" } });
    const body = await response.json();
    if (section.dataset.query !== query) return; // another element's list since
    if (!response.ok) {
      fill(section, "error", h("p", { class: "muted" }, `Example traces unavailable: ${body.error || response.status}`));
      return;
    }
    render(section, body.exemplars || []);
  } catch (error) {
    if (section.dataset.query === query) fill(section, "error", h("p", { class: "muted" }, "Example traces unavailable (no answer)."));
  }
}

/**
 * A section that lists the element's example traces, fetched when it is first shown. The
 * panel renders again on every update of the element: the same section comes back then
 * (no flicker, no request), and is fetched anew once it is older than FRESH_MS.
 */
export function createExemplarList() {
  let shown = null; // { query, at, section }
  return function exemplarSection(ele, view) {
    const query = exemplarQuery(ele, view);
    if (!query) return null;
    if (shown && shown.query === query) {
      if (Date.now() - shown.at > FRESH_MS) {
        shown.at = Date.now();
        load(shown.section, query);
      }
      return shown.section;
    }
    const section = h("section", { class: "exemplars", dataset: { query } });
    fill(section, "loading", h("p", { class: "muted" }, "Looking for example traces…"));
    shown = { query, at: Date.now(), section };
    load(section, query);
    return section;
  };
}
