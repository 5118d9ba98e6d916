// The status bar (time of the last update, ticking age, connection, counts)
// and the stale banner shown when the server reports that it cannot refresh.

import { h } from "./dom.js";
import { formatAge, formatClock } from "./labels.js";

const CONNECTION_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  stale: "Live, but stale: Prometheus cannot be read",
  reconnecting: "Reconnecting…",
  refused: "Not connected: the server refused this view",
  paused: "Paused: no updates",
  past: "Not live: a past moment",
};

// "12 nodes (3 failing, 1 degraded)", from { total, failing, degraded }
function describe({ total, failing, degraded }, noun) {
  const notes = [failing && `${failing} failing`, degraded && `${degraded} degraded`].filter(Boolean);
  const text = `${total} ${noun}${total === 1 ? "" : "s"}`;
  return notes.length ? `${text} (${notes.join(", ")})` : text;
}

export function createStatusBar({ bar, banner }, { refreshSeconds }) {
  const updated = bar.querySelector("#status-updated");
  const connection = bar.querySelector("#status-connection");
  const counts = bar.querySelector("#status-counts");
  let timestamp = null;
  let staleMessage = null;
  let retryAt = 0;
  let connectionState = "connecting";

  function tick() {
    const now = Date.now() / 1000;
    if (timestamp === null) {
      updated.textContent = "Waiting for the first graph…";
    } else {
      const age = now - timestamp;
      updated.replaceChildren(
        "Updated ",
        h("time", { datetime: new Date(timestamp * 1000).toISOString() }, formatClock(timestamp)),
        h("span", { class: "age", "aria-hidden": "true" }, ` · ${formatAge(age)}`),
      );
      // Several missed refreshes: say so even before the server does.
      updated.classList.toggle("is-old", age > 3 * refreshSeconds);
    }
    tickBannerAge();
    renderConnection();
  }

  function renderConnection() {
    // Connected but the server cannot refresh (Prometheus down): say so here too.
    const state = connectionState === "live" && staleMessage !== null ? "stale" : connectionState;
    let text = CONNECTION_TEXT[state] || state;
    const wait = Math.ceil(retryAt - Date.now() / 1000);
    if (state === "reconnecting" && wait > 0) text = `Reconnecting… (next try in ${wait} s)`;
    if (connection.textContent !== text) connection.textContent = text;
    connection.dataset.state = state;
  }

  function lastGood() {
    if (timestamp === null) return "No graph has been received yet.";
    return [
      "Showing the last good graph, from ",
      h("time", {}, formatClock(timestamp)),
      h("span", { class: "age", "aria-hidden": "true" }),
      ".",
    ];
  }

  // The server's own word (graph.error) first; a lost connection otherwise.
  function renderBanner() {
    const lost = connectionState === "reconnecting";
    banner.hidden = staleMessage === null && !lost;
    if (banner.hidden) return;
    const kind = staleMessage !== null ? "stale" : "connection";
    if (banner.dataset.kind === kind && banner.dataset.text === (staleMessage ?? "")) return;
    banner.dataset.kind = kind;
    banner.dataset.text = staleMessage ?? "";
    if (kind === "stale") {
      const text = staleMessage || "the graph could not be refreshed";
      banner.replaceChildren(
        h("strong", {}, "Stale data: "),
        h("span", { class: "banner-message" }, /[.!?]$/.test(text) ? text : `${text}.`),
        " ",
        h("span", { class: "banner-last" }, lastGood()),
      );
    } else {
      banner.replaceChildren(
        h("strong", {}, "Connection lost: "),
        "reconnecting to the server… ",
        h("span", { class: "banner-last" }, lastGood()),
      );
    }
    tickBannerAge();
  }

  function tickBannerAge() {
    const age = banner.querySelector(".age");
    if (age && timestamp !== null) age.textContent = ` (${formatAge(Date.now() / 1000 - timestamp)})`;
  }

  window.setInterval(tick, 1000);
  tick();

  return {
    /** A good graph arrived: record its time and clear the stale banner. */
    updated(unixSeconds) {
      timestamp = unixSeconds;
      staleMessage = null;
      delete banner.dataset.kind;
      renderBanner();
      tick();
    },
    stale(message) {
      staleMessage = String(message || "");
      delete banner.dataset.kind;
      renderBanner();
      tick();
    },
    connection(state, delayMs = 0) {
      connectionState = state;
      retryAt = Date.now() / 1000 + delayMs / 1000;
      renderConnection();
      renderBanner();
    },
    /** `nodes` and `edges`: { total, failing, degraded } each. */
    counts(nodes, edges) {
      counts.replaceChildren(describe(nodes, "node"), " · ", describe(edges, "edge"));
      counts.classList.toggle("has-failures", nodes.failing + edges.failing > 0);
    },
  };
}
