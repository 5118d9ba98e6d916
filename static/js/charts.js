// Charts of the selected node or edge for the side panel: request rate, error % and latency
// p50/p95/p99 over the view's window, per direction, from GET /api/v1/series, drawn with
// uPlot, the current (last) point marked, each linked to the same query in Prometheus's
// own graph page. At a past moment or a replay frame (the view's `query_time`), the window
// ends then, and so do the links.

import uPlot from "../vendor/uplot/uPlot.esm.js";
import { h } from "./dom.js";
import { setElement } from "./exemplars.js";
import { formatMs, formatPercent, formatRps } from "./labels.js";
import { formatMoment } from "./time.js";

const PATH = "/api/v1/series";
const DIRECTIONS = { inbound: "Inbound", outbound: "Outbound", requests: "Requests" };
const WIDTH = 320;
const HEIGHT = 110;
// [chart, title, its lines: [series key, label, colour], how a value reads]
const CHARTS = [
  ["rate", "Request rate", [["rate", "rate", "#0066cc"]], formatRps],
  ["errorPercent", "Errors", [["errorPercent", "errors", "#c9190b"]], formatPercent],
  [
    "latency",
    "Latency",
    [
      ["p50", "p50", "#3e8635"],
      ["p95", "p95", "#e07000"],
      ["p99", "p99", "#8a3ffc"],
    ],
    formatMs,
  ],
];

/** The series query of a node, an edge or "graph" (null: the route cannot name it). */
export function seriesQuery(ele, view) {
  const params = new URLSearchParams({ namespaces: view.namespaces.join(","), duration: view.duration });
  if (view.query_time) params.set("query_time", String(view.query_time));
  if (ele === "graph") {
    if (!view.namespaces.length) return null;
  } else if (!setElement(params, ele)) {
    return null;
  }
  return params.toString();
}

/** The index of the last point with a value, or -1. */
function lastIndex(values) {
  for (let i = values.length - 1; i >= 0; i -= 1) if (values[i] !== null) return i;
  return -1;
}

function plot(target, times, lines, format) {
  const data = [times, ...lines.map(([, values]) => values)];
  const series = [
    {},
    ...lines.map(([label, values, colour]) => ({
      label,
      stroke: colour,
      width: 1.5,
      value: (u, v) => (v === null ? "–" : format(v)),
      // The current point: the last one with a value.
      points: { show: true, size: 6, fill: colour, filter: () => [lastIndex(values)].filter((i) => i >= 0) },
    })),
  ];
  const opts = {
    width: WIDTH,
    height: HEIGHT,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: { y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [{ size: 30 }, { size: 46, values: (u, splits) => splits.map((v) => (v === null ? "" : compact(v))) }],
    series,
  };
  return new uPlot(opts, data, target);
}

function compact(value) {
  if (value >= 1000) return `${(value / 1000).toFixed(value >= 10000 ? 0 : 1)}k`;
  return Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 2 : 1);
}

function promLink(href, text) {
  if (!href || !/^https?:\/\//.test(href)) return null;
  return h("a", { href, target: "_blank", rel: "noopener noreferrer", class: "prometheus-link", title: "Open in Prometheus" }, text);
}

/** One chart of a direction: title, current values, links, the plot. */
function chart(body, direction, [key, title, spec, format], plots) {
  const values = body.series[direction];
  const links = (body.links || {})[direction] || {};
  const lines = spec.map(([name, label, colour]) => [label, values[name] || [], colour, name]);
  const current = lines
    .map(([label, points]) => {
      const i = lastIndex(points);
      return i < 0 ? null : `${lines.length > 1 ? `${label} ` : ""}${format(points[i])}`;
    })
    .filter(Boolean);
  const linkText = (label) => (lines.length > 1 ? label : "Prometheus");
  const holder = h("div", { class: "chart-plot" });
  const block = h(
    "div",
    { class: "chart", dataset: { chart: key, direction, current: current.join(" · "), points: String(body.times.length) } },
    h(
      "div",
      { class: "chart-head" },
      h("span", { class: "chart-title" }, title),
      h("span", { class: "chart-current" }, current.length ? current.join(" · ") : "no data"),
      h("span", { class: "chart-links" }, lines.map(([label, , , name]) => promLink(links[name], linkText(label)))),
    ),
    holder,
  );
  plots.push(plot(holder, body.times, lines, format));
  return block;
}

function hasData(body) {
  return Object.values(body.series || {}).some((charts) => Object.values(charts).some((points) => lastIndex(points) >= 0));
}

// "Charts", and at a past moment or a replay frame (`end`), the moment its window ends.
function heading(end = null) {
  if (end === null) return h("h3", {}, "Charts");
  return h("h3", {}, "Charts ", h("span", { class: "chart-end muted" }, `to ${formatMoment(end)}`));
}

function render(section, body, plots, end) {
  const directions = Object.keys(body.series || {});
  const notes = Object.values(body.unsupported || {}).map((why) => h("p", { class: "muted chart-note" }, why));
  if (!directions.length) {
    section.replaceChildren(heading(end), ...(notes.length ? notes : [h("p", { class: "muted" }, "No charts for this element.")]));
    section.dataset.state = "empty";
    return;
  }
  const blocks = directions.map((direction) =>
    h("div", { class: "chart-direction", dataset: { direction } }, h("h4", {}, DIRECTIONS[direction] || direction), CHARTS.map((spec) => chart(body, direction, spec, plots))),
  );
  const quiet = hasData(body) ? null : h("p", { class: "muted" }, "No requests in this window.");
  section.replaceChildren(...[heading(end), quiet, ...blocks, ...notes].filter(Boolean));
  section.dataset.state = "shown";
}

/**
 * A section with the element's charts, fetched when first shown. The panel renders again
 * when the element's data changes: the same section comes back then, fetched anew at most
 * once per refresh period (a change within the period is fetched at its end).
 */
export function createCharts({ refreshSeconds }) {
  const periodMs = Math.max(1, refreshSeconds) * 1000;
  let shown = null; // { query, at, section, plots, timer }

  function drop() {
    if (!shown) return;
    clearTimeout(shown.timer);
    shown.plots.forEach((u) => u.destroy());
    shown = null;
  }

  // One fetch at a time: a replay playing moves the window every frame, and only the
  // charts of the frame on screen when the last fetch ends are worth fetching next.
  let busy = false;
  let next = null;

  async function load(current) {
    if (busy) {
      next = current;
      return;
    }
    busy = true;
    try {
      await fetchInto(current);
    } finally {
      busy = false;
      const waiting = next;
      next = null;
      if (waiting && waiting === shown) load(waiting);
    }
  }

  async function fetchInto(current) {
    current.at = Date.now();
    current.timer = null;
    const { section, query, end } = current;
    try {
      const response = await fetch(`${PATH}?${query}`, { headers: { Accept: "application/json" } });
      const body = await response.json();
      if (shown !== current) return; // another element's charts since
      section.dataset.fetched = String(Number(section.dataset.fetched || 0) + 1);
      if (!response.ok) {
        section.replaceChildren(heading(end), h("p", { class: "muted" }, `Charts unavailable: ${body.error || response.status}`));
        section.dataset.state = "error";
        return;
      }
      current.plots.forEach((u) => u.destroy());
      current.plots = [];
      render(section, body, current.plots, end);
    } catch (error) {
      if (shown !== current) return;
      section.replaceChildren(heading(end), h("p", { class: "muted" }, "Charts unavailable (no answer)."));
      section.dataset.state = "error";
    }
  }

  // `ele`: a node, an edge, "graph" for the whole graph, or null when the panel closes.
  return function chartsSection(ele, view) {
    const query = ele ? seriesQuery(ele, view) : null;
    if (!query) {
      drop();
      return null;
    }
    const past = Boolean(view && view.query_time);
    if (shown && shown.query === query) {
      // A past window does not change: nothing to fetch again.
      if (past) return shown.section;
      const wait = shown.at + periodMs - Date.now();
      if (wait <= 0) load(shown);
      else if (!shown.timer) {
        const current = shown;
        current.timer = setTimeout(() => load(current), wait);
      }
      return shown.section;
    }
    drop();
    const dataset = { query, state: "loading", end: past ? String(view.query_time) : "now" };
    const end = past ? view.query_time : null;
    const section = h("section", { class: "charts", dataset }, heading(end), h("p", { class: "muted" }, "Loading charts…"));
    shown = { query, end, at: Date.now(), section, plots: [], timer: null };
    load(shown);
    return section;
  };
}
