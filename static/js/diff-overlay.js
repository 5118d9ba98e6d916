// What changed: the graph now against the same window an hour or a day ago, from
// /api/v1/graph/diff (graph/diff.py), drawn over the live graph. New elements are
// green and dashed (`diff-added`), changed edges marked (`diff-changed`, what moved as
// the label), vanished ones drawn again as grey ghosts (`diff-ghost`, ids `ghost:<id>`)
// that leave with the overlay; the changes are listed in `panel`.

import { h } from "./dom.js";
import { createOverlayAnswer } from "./overlay-answer.js";
import { formatMs, nodeName } from "./labels.js";

export const COMPARE_CHOICES = [
  ["", "Off"],
  ["1h", "1h ago"],
  ["1d", "1d ago"],
];
const GREEN = "#3e8635";
const GHOST = "#8a8d90";
// The earlier window moves with the live one; it is asked for again at most this often
// (each ask builds the earlier graph from Prometheus).
const REFETCH_MS = 60000;
const GHOST_PREFIX = "ghost:";

const ghostId = (id) => `${GHOST_PREFIX}${id}`;

function styleRules() {
  return [
    {
      selector: "node.diff-added",
      style: { "border-color": GREEN, "border-width": 4, "border-style": "dashed" },
    },
    {
      selector: "edge.diff-added",
      style: { "line-color": GREEN, "target-arrow-color": GREEN, "line-style": "dashed", width: 3 },
    },
    {
      selector: "edge.diff-changed",
      style: {
        "line-style": "dotted",
        width: 4,
        label: (edge) => edge.scratch("_diffLabel") || "",
        color: "#5752d1",
        "font-weight": "bold",
      },
    },
    {
      selector: "node.diff-ghost",
      style: {
        "background-color": GHOST,
        "border-color": GHOST,
        "border-style": "dashed",
        "border-width": 2,
        opacity: 0.45,
        label: (node) => `${node.data("label") || ""}\n(vanished)`,
        "text-wrap": "wrap",
      },
    },
    {
      selector: "edge.diff-ghost",
      style: {
        "line-color": GHOST,
        "target-arrow-color": GHOST,
        "line-style": "dashed",
        opacity: 0.45,
        label: "",
      },
    },
  ];
}

function changeText(changes) {
  const parts = [];
  if (changes.errorPercent) {
    const { then, now } = changes.errorPercent;
    parts.push(`err ${then.toFixed(1)} → ${now.toFixed(1)} %`);
  }
  if (changes.responseTime) {
    const { then, now } = changes.responseTime;
    parts.push(`rt ${formatMs(then)} → ${formatMs(now)}`);
  }
  return parts.join(", ");
}

const edgeName = (entry) => `${nodeName(entry.source)} → ${nodeName(entry.target)}`;

/**
 * The compare-to overlay. `select`: the Compare to choice; `panel`: the list's section;
 * `query()`: the scope's query string; `onChange()`: the view changed (view.compare_to);
 * `onSelect(id)`: select an element.
 */
export function createDiffOverlay({ view, apiPath, select, panel, query, onChange, onSelect }) {
  let cy = null;
  let pending = false;
  const answer = createOverlayAnswer({
    everyMs: REFETCH_MS,
    isOn: () => Boolean(view.compare_to && cy),
    mark: (body) => mark(body),
    unmark: () => unmark(),
    render: (body, error) => render(body, error),
    load: () => load(),
  });
  const styled = new WeakSet();

  select.replaceChildren(...COMPARE_CHOICES.map(([value, text]) => h("option", { value }, text)));
  select.value = view.compare_to;
  select.addEventListener("change", () => set(select.value));

  function attach(next) {
    cy = next;
    if (styled.has(cy)) return;
    styled.add(cy);
    const sheet = cy.style();
    for (const rule of styleRules()) sheet.selector(rule.selector).style(rule.style);
    sheet.update();
  }

  function unmark() {
    if (!cy) return;
    cy.batch(() => {
      cy.elements(".diff-ghost").remove();
      cy.elements(".diff-added, .diff-changed").removeClass("diff-added diff-changed");
    });
  }

  // A ghost node beside a neighbour it had, else below the graph.
  function ghostPosition(id, body, index) {
    for (const edge of body.edges.vanished) {
      const other = edge.source.id === id ? edge.target.id : edge.target.id === id ? edge.source.id : null;
      const near = other && cy.getElementById(other);
      if (near && near.nonempty() && !near.hasClass("diff-ghost")) {
        const p = near.position();
        return { x: p.x + 90, y: p.y + 70 + 30 * index };
      }
    }
    const real = cy.elements().not(".diff-ghost");
    const box = real.nonempty() ? real.boundingBox() : { x1: 0, y2: 0 };
    return { x: box.x1 + 120 * index, y: box.y2 + 90 };
  }

  function ghostNodes(body) {
    return body.nodes.vanished
      .filter((node) => cy.getElementById(node.id).empty())
      .map((node, index) => ({
        group: "nodes",
        data: { ...node, id: ghostId(node.id), ghostOf: node.id },
        classes: "diff-ghost",
        position: ghostPosition(node.id, body, index),
      }));
  }

  function ghostEdges(body, ghosts) {
    const endId = (id) => (ghosts.has(id) ? ghostId(id) : cy.getElementById(id).nonempty() ? id : null);
    const out = [];
    for (const edge of body.edges.vanished) {
      const source = endId(edge.source.id);
      const target = endId(edge.target.id);
      if (!source || !target) continue; // an end folded away or gone
      out.push({
        group: "edges",
        data: { id: ghostId(edge.id), source, target, ghostOf: edge.id },
        classes: "diff-ghost",
      });
    }
    return out;
  }

  function mark(body) {
    cy.batch(() => {
      unmark();
      for (const entry of [...body.nodes.added, ...body.edges.added]) cy.getElementById(entry.id).addClass("diff-added");
      for (const entry of body.edges.changed) {
        const ele = cy.getElementById(entry.id);
        ele.scratch("_diffLabel", changeText(entry.changes));
        ele.addClass("diff-changed");
      }
      const nodes = ghostNodes(body);
      cy.add(nodes);
      cy.add(ghostEdges(body, new Set(nodes.map((node) => node.data.ghostOf))));
    });
  }

  function item(id, text, extra = "") {
    return h(
      "li",
      { dataset: { id } },
      h("button", { type: "button", class: "link", onclick: () => onSelect(id) }, text),
      extra ? h("span", { class: "muted" }, ` ${extra}`) : null,
    );
  }

  function group(title, kind, items) {
    return h(
      "section",
      { class: `diff-group diff-${kind}` },
      h("h4", {}, `${title} (${items.length})`),
      items.length ? h("ul", { class: "neighbours" }, items) : null,
    );
  }

  function render(body, error) {
    if (!view.compare_to) {
      panel.hidden = true;
      panel.replaceChildren();
      return;
    }
    const label = COMPARE_CHOICES.find(([value]) => value === view.compare_to)?.[1] || view.compare_to;
    const clear = h("button", { type: "button", class: "overlay-clear", onclick: () => set("") }, "Clear");
    const title = h("h3", {}, `Changes since ${label}`, clear);
    if (error || !body) {
      const text = error ? h("p", { class: "overlay-error" }, error) : h("p", { class: "muted" }, "Loading…");
      panel.replaceChildren(title, text);
      panel.hidden = false;
      return;
    }
    const { error: errorPoints, p95 } = body.thresholds;
    panel.replaceChildren(
      title,
      group("New", "added", [
        ...body.nodes.added.map((node) => item(node.id, nodeName(node))),
        ...body.edges.added.map((edge) => item(edge.id, edgeName(edge))),
      ]),
      group("Vanished", "vanished", [
        ...body.nodes.vanished.map((node) => item(ghostId(node.id), nodeName(node))),
        ...body.edges.vanished.map((edge) => item(ghostId(edge.id), edgeName(edge))),
      ]),
      group(
        "Changed",
        "changed",
        body.edges.changed.map((edge) => item(edge.id, edgeName(edge), changeText(edge.changes))),
      ),
      h("p", { class: "muted" }, `Changed: error % moved over ${errorPoints} points, or response time over ${p95} ms.`),
    );
    panel.hidden = false;
  }

  async function load() {
    const choice = view.compare_to;
    if (!choice || pending) return;
    pending = true;
    answer.asked();
    let body = null;
    let error = null;
    try {
      const response = await fetch(`${apiPath}?${query()}&compare_to=${encodeURIComponent(choice)}`, {
        headers: { Accept: "application/json" },
      });
      body = await response.json();
      if (!response.ok) error = body.error || `HTTP ${response.status}`;
    } catch (exc) {
      error = `The comparison could not be loaded: ${exc.message}`;
    } finally {
      pending = false;
    }
    if (view.compare_to !== choice) return;
    answer.keep(error ? null : body);
    if (cy) {
      if (answer.shown()) mark(answer.shown());
      else unmark();
    }
    render(answer.shown(), error);
    document.body.dataset.compareTo = error ? `error:${choice}` : `${choice}@${body.timestamp}`;
  }

  /** Compare with `choice` ("1h", "1d"), or not at all (""). */
  function set(choice) {
    view.compare_to = choice || "";
    select.value = view.compare_to;
    answer.forget();
    unmark();
    delete document.body.dataset.compareTo;
    render(null, null);
    onChange();
    if (view.compare_to) load();
  }

  if (view.compare_to) render(null, null);
  return { attach, refresh: answer.refresh, reload: answer.reload, set, clear: () => set("") };
}
