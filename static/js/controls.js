// The view controls (namespaces, graph type, duration, service nodes) and the URL
// query that mirrors them, with the API's parameter names.

import { h } from "./dom.js";
import { formatList, parseDuration } from "./labels.js";

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

/** The view from a query string, with defaults for what it does not say. */
export function readView(search, defaults) {
  const query = new URLSearchParams(search);
  const namespaces = (query.get("namespaces") || "")
    .split(",")
    .map((ns) => ns.trim())
    .filter(Boolean);
  const graphType = query.get("graph_type");
  const inject = query.get("inject_service_nodes");
  return {
    namespaces: namespaces.length ? [...new Set(namespaces)] : [...defaults.namespaces],
    graph_type: GRAPH_TYPES.some(([value]) => value === graphType) ? graphType : defaults.graph_type,
    duration: parseDuration(query.get("duration") || "") > 0 ? query.get("duration") : defaults.duration,
    inject_service_nodes:
      inject === null ? Boolean(defaults.inject_service_nodes) : ["true", "1"].includes(inject),
  };
}

/** `namespaces=a,b&graph_type=…`: the page URL and the WebSocket use the same query. */
export function viewQuery(view) {
  return [
    `namespaces=${view.namespaces.map(encodeURIComponent).join(",")}`,
    `graph_type=${encodeURIComponent(view.graph_type)}`,
    `duration=${encodeURIComponent(view.duration)}`,
    `inject_service_nodes=${view.inject_service_nodes}`,
  ].join("&");
}

export function writeUrl(view) {
  const url = `${window.location.pathname}?${viewQuery(view)}${window.location.hash}`;
  window.history.replaceState(null, "", url);
}

/**
 * Wire the controls in `root` to `view`. `onChange(view, { relayout })` runs after
 * every change; `actions` holds the handlers of the plain buttons (fit, relayout).
 */
export function createControls(root, { view, namespacesPath, onChange, actions }) {
  const graphType = root.querySelector("#graph-type");
  const duration = root.querySelector("#duration");
  const inject = root.querySelector("#inject-service-nodes");
  const picker = createNamespacePicker(root, { view, namespacesPath, onChange });

  fillSelect(graphType, GRAPH_TYPES, view.graph_type);
  fillSelect(duration, durationOptions(view.duration), matchingDuration(view.duration));
  inject.checked = view.inject_service_nodes;

  graphType.addEventListener("change", () => {
    view.graph_type = graphType.value;
    onChange(view, { relayout: true });
  });
  duration.addEventListener("change", () => {
    view.duration = duration.value;
    onChange(view, { relayout: false });
  });
  inject.addEventListener("change", () => {
    view.inject_service_nodes = inject.checked;
    onChange(view, { relayout: true });
  });
  for (const [id, handler] of Object.entries(actions)) {
    root.querySelector(`#${id}`).addEventListener("click", handler);
  }
  return picker;
}

function fillSelect(select, options, selected) {
  select.replaceChildren(
    ...options.map(([value, text]) => h("option", { value, selected: value === selected }, text)),
  );
}

// "1m" in a URL selects the "60s" option; an unusual duration gets an option of its own.
function matchingDuration(value) {
  const seconds = parseDuration(value);
  const match = DURATIONS.find(([option]) => parseDuration(option) === seconds);
  return match ? match[0] : value;
}

function durationOptions(value) {
  const selected = matchingDuration(value);
  return DURATIONS.some(([option]) => option === selected)
    ? DURATIONS
    : [...DURATIONS, [selected, `Last ${selected}`]];
}

// A button that opens a list of namespace checkboxes. The list comes from the API
// and is fetched again each time it opens, as new namespaces show up in telemetry.
function createNamespacePicker(root, { view, namespacesPath, onChange }) {
  const button = root.querySelector("#ns-button");
  const summary = root.querySelector("#ns-summary");
  const menu = root.querySelector("#ns-menu");
  let known = [];

  function describe() {
    const count = view.namespaces.length;
    summary.textContent = count > 3 ? `${count} namespaces` : formatList(view.namespaces);
    button.title = view.namespaces.join(", ");
  }

  function render() {
    describe();
    const names = [...new Set([...known, ...view.namespaces])].sort();
    menu.replaceChildren(
      ...names.map((name) =>
        h(
          "label",
          { class: "ns-option" },
          h("input", {
            type: "checkbox",
            value: name,
            checked: view.namespaces.includes(name),
            onchange: toggle,
          }),
          h("span", {}, name),
        ),
      ),
    );
  }

  function toggle(event) {
    const box = event.target;
    const chosen = [...menu.querySelectorAll("input:checked")].map((input) => input.value);
    if (!chosen.length) {
      box.checked = true; // at least one namespace stays selected
      return;
    }
    view.namespaces = chosen;
    describe();
    onChange(view, { relayout: true });
  }

  async function load() {
    try {
      const response = await fetch(namespacesPath, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = await response.json();
      known = Array.isArray(body.namespaces) ? body.namespaces : [];
    } catch (error) {
      console.warn(`meshlens: cannot list namespaces (${error.message})`);
    }
    if (!menu.contains(document.activeElement)) render();
  }

  function open() {
    menu.hidden = false;
    button.setAttribute("aria-expanded", "true");
    load();
    const first = menu.querySelector("input");
    if (first) first.focus();
  }

  function close({ focusButton = false } = {}) {
    if (menu.hidden) return;
    menu.hidden = true;
    button.setAttribute("aria-expanded", "false");
    if (focusButton) button.focus();
  }

  button.addEventListener("click", () => (menu.hidden ? open() : close()));
  document.addEventListener("click", (event) => {
    if (!menu.hidden && !menu.contains(event.target) && !button.contains(event.target)) close();
  });
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      close({ focusButton: true });
    }
  });

  render();
  load();
  return { render, isOpen: () => !menu.hidden };
}
