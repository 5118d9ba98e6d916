// Blast radius: what a failing node or edge hits. The server computes it
// (/api/v1/impact, graph/impact.py); this module asks for it, marks the affected
// elements (class `impact`, an orange halo with the share as a label, `impact-target`
// on the element itself) and lists the entry points and their affected share.

import { h } from "./dom.js";
import { createOverlayAnswer } from "./overlay-answer.js";
import { formatRps, nodeName } from "./labels.js";

const ORANGE = "#ec7a08";
// A live graph changes every refresh; the blast radius is asked for again at most this
// often (each ask reads the whole graph on the server).
const REFETCH_MS = 30000;

export function formatShare(share) {
  const percent = share * 100;
  if (percent > 0 && percent < 0.1) return "<0.1 %";
  return `${percent.toFixed(percent >= 10 || percent === 0 ? 0 : 1)} %`;
}

function styleRules(nodeLabel) {
  const share = (ele) => formatShare(ele.scratch("_impactShare") || 0);
  return [
    {
      selector: "node.impact",
      style: {
        "underlay-color": ORANGE,
        "underlay-opacity": 0.45,
        "underlay-padding": 9,
        "underlay-shape": "ellipse",
        opacity: 1,
        label: (node) => `${nodeLabel(node)}\n${share(node)}`,
        "text-wrap": "wrap",
      },
    },
    {
      selector: "edge.impact",
      style: {
        "underlay-color": ORANGE,
        "underlay-opacity": 0.45,
        "underlay-padding": 4,
        opacity: 1,
        label: share,
        color: "#8a4200",
        "font-weight": "bold",
      },
    },
    {
      selector: ".impact-target",
      style: { "underlay-color": "#c9190b", "underlay-opacity": 0.55, "underlay-padding": 10, opacity: 1 },
    },
  ];
}

/**
 * Blast radius marks and their list. `actions`: where the selected element's "Blast
 * radius" button goes; `panel`: the list's section; `query()`: the scope's query string;
 * `onChange()`: the view changed (view.blast); `onSelect(id)`: select an element.
 */
export function createBlastRadius({ view, apiPath, actions, panel, nodeLabel, query, onChange, onSelect }) {
  let cy = null;
  let pending = null;
  // The last answer, { body, id }.
  const answer = createOverlayAnswer({
    everyMs: REFETCH_MS,
    isOn: () => Boolean(view.blast && cy),
    mark: (shown) => mark(shown.body),
    unmark: () => unmark(),
    render: (body, error) => render(body, error),
    load: () => load(),
  });
  const styled = new WeakSet();

  function attach(next) {
    cy = next;
    if (styled.has(cy)) return;
    styled.add(cy);
    const sheet = cy.style();
    for (const rule of styleRules(nodeLabel)) sheet.selector(rule.selector).style(rule.style);
    sheet.update();
  }

  function unmark() {
    if (!cy) return;
    cy.batch(() => {
      cy.elements(".impact, .impact-target").removeClass("impact impact-target");
    });
  }

  function mark(body) {
    cy.batch(() => {
      cy.elements(".impact, .impact-target").removeClass("impact impact-target");
      for (const entry of [...body.nodes, ...body.edges]) {
        const ele = cy.getElementById(entry.id);
        if (ele.empty()) continue;
        ele.scratch("_impactShare", entry.share);
        ele.addClass("impact");
      }
      cy.getElementById(body.target.id).addClass("impact-target");
    });
  }

  function entryRow(entry) {
    return h(
      "tr",
      { dataset: { id: entry.id } },
      h("td", {}, h("button", { type: "button", class: "link", onclick: () => onSelect(entry.id) }, nodeName(entry))),
      h("td", { class: "num" }, formatShare(entry.share)),
      h("td", { class: "num" }, formatRps(entry.affectedRate)),
      h("td", { class: "num" }, formatShare(entry.errorShare)),
    );
  }

  function targetName(target) {
    if (target.kind === "edge") return `${nodeName(target.source)} → ${nodeName(target.target)}`;
    return nodeName(target);
  }

  function render(body, error) {
    if (!view.blast) {
      panel.hidden = true;
      panel.replaceChildren();
      return;
    }
    const clear = h("button", { type: "button", class: "overlay-clear", onclick: () => set(null) }, "Clear");
    if (error) {
      panel.replaceChildren(h("h3", {}, "Blast radius", clear), h("p", { class: "overlay-error" }, error));
      panel.hidden = false;
      return;
    }
    if (!body) {
      panel.replaceChildren(h("h3", {}, "Blast radius", clear), h("p", { class: "muted" }, "Loading…"));
      panel.hidden = false;
      return;
    }
    const affected = body.entryPoints.filter((entry) => entry.share > 0);
    panel.replaceChildren(
      h("h3", {}, `Blast radius of ${targetName(body.target)}`, clear),
      h(
        "p",
        { class: "muted" },
        `${body.nodes.length} upstream ${body.nodes.length === 1 ? "caller" : "callers"}; ` +
          `${affected.length} of ${body.entryPoints.length} entry points affected.`,
      ),
      h(
        "table",
        { class: "details-table blast-entries" },
        h("caption", {}, "Entry points: share of their traffic that reaches it"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Entry point", "Share", "Affected", "Failing"].map((text) => h("th", { scope: "col" }, text)),
          ),
        ),
        h("tbody", {}, body.entryPoints.map(entryRow)),
      ),
    );
    panel.hidden = false;
  }

  async function load() {
    const id = view.blast;
    const ele = cy && id ? cy.getElementById(id) : null;
    if (!ele || pending) return;
    if (ele.empty()) {
      // Gone from the graph, or folded away in a big one.
      if (answer.shown()) unmark();
      answer.keep(null);
      render(null, "The element of this blast radius is not drawn in the graph now.");
      return;
    }
    const kind = ele.isNode() ? "node" : "edge";
    answer.asked();
    pending = fetch(`${apiPath}?${query()}&${kind}=${encodeURIComponent(id)}`, {
      headers: { Accept: "application/json" },
    });
    let body = null;
    let error = null;
    try {
      const response = await pending;
      body = await response.json();
      if (!response.ok) error = body.error || `HTTP ${response.status}`;
    } catch (exc) {
      error = `The blast radius could not be loaded: ${exc.message}`;
    } finally {
      pending = null;
    }
    if (view.blast !== id) return; // cleared or changed meanwhile
    if (error) {
      answer.keep(null);
      unmark();
      render(null, error);
      document.body.dataset.blastRadius = `error:${id}`;
      return;
    }
    answer.keep({ body, id });
    mark(body);
    render(body, null);
    document.body.dataset.blastRadius = id;
  }

  /** Show the blast radius of element `id`, or none (null). */
  function set(id) {
    view.blast = id || "";
    answer.forget();
    unmark();
    delete document.body.dataset.blastRadius;
    render(null, null);
    onChange();
    if (id) load();
  }

  /** The side panel shows `ele` (null: closed): offer its blast radius. */
  function selected(ele) {
    if (!ele || ele.empty() || ele.data("isBox") || ele.hasClass("diff-ghost")) {
      actions.replaceChildren();
      return;
    }
    actions.replaceChildren(
      h(
        "button",
        { type: "button", id: "blast-radius-button", onclick: () => set(ele.id()) },
        `Blast radius: what this ${ele.isNode() ? "node" : "edge"} hits`,
      ),
    );
  }

  if (view.blast) render(null, null);
  return { attach, selected, refresh: answer.refresh, reload: answer.reload, set, clear: () => set(null) };
}
