// The status bar (time of the last update, ticking age, connection, counts)
// and the stale banner shown when the server reports that it cannot refresh.

import { h } from "./dom.js";
import { formatAge, formatClock } from "./labels.js";

const CONNECTION_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
};

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
    const age = banner.querySelector(".age");
    if (age && timestamp !== null) age.textContent = ` (${formatAge(now - timestamp)})`;
    renderConnection();
  }

  function renderConnection() {
    let text = CONNECTION_TEXT[connectionState] || connectionState;
    const wait = Math.ceil(retryAt - Date.now() / 1000);
    if (connectionState === "reconnecting" && wait > 0) text = `Reconnecting… (next try in ${wait} s)`;
    if (connection.textContent !== text) connection.textContent = text;
    connection.dataset.state = connectionState;
  }

  function renderBanner() {
    banner.hidden = staleMessage === null;
    if (staleMessage === null) return;
    const last =
      timestamp === null
        ? "No graph has been received yet."
        : [
            "Showing the last good graph, from ",
            h("time", {}, formatClock(timestamp)),
            h("span", { class: "age", "aria-hidden": "true" }),
            ".",
          ];
    banner.replaceChildren(
      h("strong", {}, "Stale data: "),
      h("span", { class: "banner-message" }, staleMessage || "the graph could not be refreshed"),
      " ",
      h("span", { class: "banner-last" }, last),
    );
  }

  window.setInterval(tick, 1000);
  tick();

  return {
    /** A good graph arrived: record its time and clear the stale banner. */
    updated(unixSeconds) {
      timestamp = unixSeconds;
      staleMessage = null;
      renderBanner();
      tick();
    },
    stale(message) {
      staleMessage = String(message || "");
      renderBanner();
      tick();
    },
    connection(state, delayMs = 0) {
      connectionState = state;
      retryAt = Date.now() / 1000 + delayMs / 1000;
      renderConnection();
    },
    counts({ nodes, edges, failing, degraded }) {
      const parts = [`${nodes} nodes`, `${edges} edges`];
      if (failing) parts.push(`${failing} failing`);
      if (degraded) parts.push(`${degraded} degraded`);
      counts.textContent = parts.join(" · ");
      counts.classList.toggle("has-failures", failing > 0);
    },
  };
}
