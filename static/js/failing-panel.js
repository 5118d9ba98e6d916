// The failing-edges panel, beside the graph: the failing and degraded edges of the view,
// worst first, with error %, request rate, response time and since when each has been
// unhealthy in the window. The list comes from /api/v1/edges (the same scope as the live
// graph: the server reads the cached graph and works `since` out from a range query), asked
// again after every update of the graph, one request at a time. A click on a row selects
// that edge in the graph and centres it.

import { h } from "./dom.js";
import { formatAge, formatClock, formatEdgeRate, formatMs, formatPercent } from "./labels.js";

const HEALTH_CLASS = { Failure: "is-failure", Degraded: "is-degraded" };
// Rows drawn, worst first. A 10,000-workload mesh can have tens of thousands of unhealthy
// edges: drawing every one again after each update blocked the page for 0.3-0.6 s at
// 1,000 workloads (bench/README.md, sixth round), and nobody reads past the first screens
// (the server works `since` out for the worst 100 only). Only these are asked for
// (`limit`): fetching and parsing the whole list took about 0.3 s per update at 10,000 workloads.
export const MAX_ROWS = 200;

/** "for 3 min" (since `since`, at `now`); "all window" when it started at the window's start. */
export function sinceText(since, now, duration) {
  if (since === null || since === undefined) return "";
  if (since <= now - duration) return `whole ${Math.round(duration / 60) || 1} min window`;
  return formatAge(now - since).replace(" ago", "");
}

/**
 * The panel in `root` (its header button collapses it). `edgesPath`: the API route;
 * `query()`: the scope's query string; `onPick(edge)`: a row was clicked (an item of the
 * API's list).
 */
export function createFailingPanel(root, { edgesPath, query, onPick }) {
  const toggle = root.querySelector(".failing-toggle");
  const count = root.querySelector(".failing-count");
  const list = root.querySelector(".failing-list");
  const status = root.querySelector(".failing-status");
  let inFlight = false;
  let again = false; // the graph changed while a request was out: ask again after it
  let emptyNext = false; // ... and has nothing unhealthy left: show none after it
  let asked = 0;

  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    root.classList.toggle("is-collapsed", !open);
  });

  function row(edge, now, duration) {
    const since = sinceText(edge.since, now, duration);
    const rt = edge.responseTime === null || edge.responseTime === undefined ? "–" : formatMs(edge.responseTime);
    return h(
      "li",
      {
        class: `failing-row ${HEALTH_CLASS[edge.healthStatus] || ""}`,
        dataset: { edgeId: edge.id, since: edge.since ?? "" },
      },
      h(
        "button",
        {
          type: "button",
          title: `${edge.healthStatus}: select and centre this edge`,
          onclick: () => onPick(edge),
        },
        h("span", { class: "failing-ends" }, `${edge.source.label} → ${edge.target.label}`),
        h(
          "span",
          { class: "failing-numbers" },
          h("span", { class: "failing-error" }, `${formatPercent(edge.errorPercent)} err`),
          h("span", {}, formatEdgeRate(edge)),
          h("span", { title: "Response time" }, rt),
        ),
        since
          ? h(
              "span",
              { class: "failing-since", title: `Unhealthy since ${formatClock(edge.since)}` },
              `unhealthy ${since}`,
            )
          : null,
      ),
    );
  }

  function render(body) {
    const edges = body.edges || [];
    // Only the worst MAX_ROWS are asked for; `total` counts them all.
    const total = body.total ?? edges.length;
    count.textContent = String(total);
    root.dataset.count = String(total);
    // The moment the list is of: the live cache may have moved past the graph on screen.
    root.dataset.timestamp = body.timestamp === undefined ? "" : String(body.timestamp);
    const shown = edges.slice(0, MAX_ROWS);
    list.replaceChildren(...shown.map((edge) => row(edge, body.timestamp, body.duration)));
    const notes = [];
    if (body.staleError) notes.push(`The list of the last graph: ${body.staleError}`);
    if (!total) notes.push("No failing or degraded edges.");
    if (shown.length < total) notes.push(`The worst ${shown.length} of ${total.toLocaleString("en")} shown.`);
    // A stale list's sinceError gives the same reason as its staleError.
    if (edges.length && body.sinceError && !body.staleError) notes.push(`Since when is not known: ${body.sinceError}`);
    status.textContent = notes.join(" ");
  }

  async function load() {
    inFlight = true;
    again = false;
    asked += 1;
    try {
      const response = await fetch(`${edgesPath}?${query()}&limit=${MAX_ROWS}`, {
        headers: { Accept: "application/json" },
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
      render(body);
      root.dataset.loaded = String(asked);
    } catch (error) {
      status.textContent = `Failing edges not available: ${error.message}`;
    } finally {
      inFlight = false;
      if (emptyNext) showNone();
      else if (again) load();
    }
  }

  function showNone() {
    emptyNext = false;
    asked += 1;
    render({ edges: [] });
    root.dataset.loaded = String(asked);
  }

  return {
    /**
     * The graph changed, with `unhealthy` failing and degraded edges: ask for the list
     * again (after the request in flight, if any); with none, there is nothing to ask.
     */
    refresh(unhealthy) {
      if (unhealthy === 0) {
        again = false;
        if (inFlight) emptyNext = true;
        else showNone();
      } else if (inFlight) {
        again = true;
        emptyNext = false;
      } else {
        load();
      }
    },
    /** Another view: forget the rows of the old one. */
    clear() {
      list.replaceChildren();
      count.textContent = "";
      delete root.dataset.count;
    },
  };
}
