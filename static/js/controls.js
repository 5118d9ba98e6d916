// The view controls: namespaces, graph type, duration, edge labels and the Display
// menu (service nodes, boxes, idle edges and nodes, security badges).

import { h } from "./dom.js";
import { formatList, parseDuration } from "./labels.js";
import { BOX_KINDS, DURATIONS, GRAPH_TYPES } from "./view.js";

// The edge label select: one option per label, with the statistic that goes with it.
// Values are `mode` or `mode:statistic`.
const EDGE_LABEL_OPTIONS = [
  ["none", "None"],
  ["rate", "Request rate"],
  ["percent", "Traffic distribution"],
  [
    "Response time",
    [
      ["response_time:avg", "Response time (avg)"],
      ["response_time:50", "Response time (p50)"],
      ["response_time:95", "Response time (p95)"],
      ["response_time:99", "Response time (p99)"],
    ],
  ],
  [
    "Throughput",
    [
      ["throughput:request", "Request throughput"],
      ["throughput:response", "Response throughput"],
    ],
  ],
];

function edgeLabelValue(view) {
  if (view.edge_labels === "response_time") return `response_time:${view.response_time}`;
  if (view.edge_labels === "throughput") return `throughput:${view.throughput}`;
  return view.edge_labels;
}

// Display toggles, by input id: how each reads and writes the view, its default, and
// what a change needs. `relayout`: another set of nodes or boxes, laid out afresh;
// `reconnect`: the server builds another graph; neither: the same graph drawn differently.
function boxToggle(kind) {
  return {
    get: (view) => view.box_by.includes(kind),
    set: (view, on) => {
      const kinds = new Set(view.box_by);
      if (on) kinds.add(kind);
      else kinds.delete(kind);
      view.box_by = BOX_KINDS.filter((k) => kinds.has(k));
    },
    byDefault: false,
    relayout: true,
    reconnect: true,
  };
}

function flagToggle(name, { byDefault = false, relayout = false, reconnect = true } = {}) {
  return {
    get: (view) => view[name],
    set: (view, on) => {
      view[name] = on;
    },
    byDefault,
    relayout,
    reconnect,
  };
}

const DISPLAY_TOGGLES = {
  "inject-service-nodes": flagToggle("inject_service_nodes", { byDefault: true, relayout: true }),
  "box-namespace": boxToggle("namespace"),
  "box-cluster": boxToggle("cluster"),
  "include-idle-edges": flagToggle("include_idle_edges"),
  "include-idle-nodes": flagToggle("include_idle_nodes"),
  "badge-security": flagToggle("badge_security", { reconnect: false }),
};

/**
 * Wire the controls in `root` to `view`. `onChange(view, { relayout, reconnect })`
 * runs after every change; `actions` maps the ids of plain buttons (fit, re-layout,
 * over the graph) to their handlers.
 */
export function createControls(root, { view, namespacesPath, onChange, actions, retentionSeconds = null }) {
  const graphType = root.querySelector("#graph-type");
  const duration = root.querySelector("#duration");
  const edgeLabels = root.querySelector("#edge-labels");
  const picker = createNamespacePicker(root, { view, namespacesPath, onChange });
  const display = createDisplayMenu(root, { view, onChange });

  fillSelect(graphType, GRAPH_TYPES, view.graph_type);
  fillSelect(duration, durationOptions(view.duration, retentionSeconds), matchingDuration(view.duration));
  fillSelect(edgeLabels, EDGE_LABEL_OPTIONS, edgeLabelValue(view));

  graphType.addEventListener("change", () => {
    view.graph_type = graphType.value;
    onChange(view, { relayout: true, reconnect: true });
  });
  duration.addEventListener("change", () => {
    view.duration = duration.value;
    onChange(view, { relayout: false, reconnect: true });
  });
  edgeLabels.addEventListener("change", () => {
    const [mode, statistic] = edgeLabels.value.split(":");
    let reconnect = false;
    view.edge_labels = mode;
    // The statistic is computed by the server: another one is another graph.
    if (mode === "response_time" && statistic !== view.response_time) {
      view.response_time = statistic;
      reconnect = true;
    }
    if (mode === "throughput" && statistic !== view.throughput) {
      view.throughput = statistic;
      reconnect = true;
    }
    onChange(view, { relayout: false, reconnect });
  });
  for (const [id, handler] of Object.entries(actions)) {
    document.getElementById(id).addEventListener("click", handler);
  }
  return { isOpen: () => picker.isOpen() || display.isOpen() };
}

function fillSelect(select, options, selected) {
  const option = ([value, text]) => h("option", { value, selected: value === selected }, text);
  select.replaceChildren(
    ...options.map(([value, text]) =>
      Array.isArray(text) ? h("optgroup", { label: value }, text.map(option)) : option([value, text]),
    ),
  );
}

// "1m" in a URL selects the "60s" option; an unusual duration gets an option of its own.
function matchingDuration(value) {
  const seconds = parseDuration(value);
  const match = DURATIONS.find(([option]) => parseDuration(option) === seconds);
  return match ? match[0] : value;
}

// Only the durations Prometheus keeps data for (its retention, when known).
function durationOptions(value, retentionSeconds) {
  const selected = matchingDuration(value);
  const fits = DURATIONS.filter(([option]) => !retentionSeconds || parseDuration(option) <= retentionSeconds);
  return fits.some(([option]) => option === selected) ? fits : [...fits, [selected, `Last ${selected}`]];
}

// A button that opens a menu under it; a click elsewhere or Escape closes it.
function createPopover(button, menu, { onOpen = () => {} } = {}) {
  function open() {
    menu.hidden = false;
    button.setAttribute("aria-expanded", "true");
    onOpen();
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
  return { isOpen: () => !menu.hidden };
}

// The Display menu: checkboxes for what the graph shows. The button counts those
// that are not at their default, so that a changed view shows with the menu closed.
function createDisplayMenu(root, { view, onChange }) {
  const button = root.querySelector("#display-button");
  const count = root.querySelector("#display-count");
  const menu = root.querySelector("#display-menu");
  const entries = Object.entries(DISPLAY_TOGGLES).map(([id, toggle]) => [root.querySelector(`#${id}`), toggle]);

  function describe() {
    const changed = entries.filter(([, toggle]) => toggle.get(view) !== toggle.byDefault).length;
    count.textContent = changed ? String(changed) : "";
    count.hidden = !changed;
    const on = entries.filter(([, toggle]) => toggle.get(view)).map(([input]) => input.dataset.text);
    button.title = on.length ? `Showing: ${on.join(", ")}` : "What the graph shows";
  }

  for (const [input, toggle] of entries) {
    input.checked = toggle.get(view);
    input.dataset.text = input.closest("label").textContent.trim();
    input.addEventListener("change", () => {
      toggle.set(view, input.checked);
      describe();
      onChange(view, { relayout: toggle.relayout, reconnect: toggle.reconnect });
    });
  }
  describe();
  return createPopover(button, menu);
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
    onChange(view, { relayout: true, reconnect: true });
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

  render();
  load();
  return createPopover(button, menu, { onOpen: load });
}
