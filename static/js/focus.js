// Focus and hover paths.
//
// Double-click a node: the graph shows only its neighbourhood as Kiali's node graph gives
// it, from the server's node-graph routes (node-graph.js): one node graph per hop, N hops
// (the bar's control, default 1) asking the node graphs of the nodes reached before. Until
// it comes, and for a node without a node-graph route (unknown, a box) or when the server
// fails, the page's own N hops over what it draws stand in, and the bar says so.
// The rest is hidden (a class, display: none), not removed, so live deltas and folds
// keep applying and the focus holds across them. The way back: the bar's "Back to the
// full graph" button, Esc, or the browser's Back (focusing pushes a history entry;
// `focus` and `hops` are in the URL, so a shared link opens focused).
//
// Hovering a node highlights its upstream and downstream paths (every node that reaches
// it and every node it reaches, and the edges between) and fades the rest.

import { nodeGraphNeighbourhood, nodeGraphPath } from "./node-graph.js";

const HIDDEN = "focus-hidden";
// A neighbourhood from the server is asked for again after this long, on the next update.
const NODE_GRAPH_MAX_AGE_MS = 60000;
const FADED = "hover-faded";
const PATH = "hover-path";
export const MAX_HOPS = 5;
// Hovering restyles the whole graph; above this many elements it would lag the pointer.
const MAX_HOVER_ELEMENTS = 4000;

/** The elements within `hops` hops of `node`, either direction, with their boxes. */
export function neighbourhood(node, hops) {
  let kept = node;
  for (let i = 0; i < hops; i += 1) kept = kept.union(kept.nodes().neighborhood());
  return kept.union(kept.ancestors());
}

/**
 * `bar`: the focus bar (its label, hops select and back button); `graph`: graph-view.js;
 * `view`: the page's view (`focus`, `hops`); `writeUrl(view, { push })`; `onFocus(node)`:
 * after focusing on a node.
 */
export function createFocus(bar, { graph, view, writeUrl, onFocus }) {
  const label = bar.querySelector(".focus-label");
  const hopsSelect = bar.querySelector(".focus-hops");
  const back = bar.querySelector(".focus-back");
  let pushed = false; // the current history entry is one that focusing pushed

  hopsSelect.replaceChildren(
    ...Array.from({ length: MAX_HOPS }, (_, i) => {
      const option = document.createElement("option");
      option.value = String(i + 1);
      option.textContent = `${i + 1} hop${i ? "s" : ""}`;
      return option;
    }),
  );
  hopsSelect.value = String(view.hops);
  hopsSelect.addEventListener("change", () => {
    view.hops = Number(hopsSelect.value);
    writeUrl(view, { push: false });
    apply({ fit: true });
  });
  back.addEventListener("click", unfocus);
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !view.focus) return;
    const target = event.target;
    // Esc in a menu or a field is theirs (closing it, clearing it); the bar's own hops
    // control is not.
    const inField = target instanceof HTMLElement && target.closest("input, select, textarea, .menu");
    if (inField && !bar.contains(target)) return;
    unfocus();
  });
  window.addEventListener("popstate", () => {
    const query = new URLSearchParams(window.location.search);
    view.focus = query.get("focus") || null;
    view.hops = clampHops(query.get("hops"));
    hopsSelect.value = String(view.hops);
    pushed = Boolean(window.history.state && window.history.state.meshlensFocus);
    apply({ fit: true });
  });

  // The server's neighbourhood of the focus: { key, ids, left, error, at, loading }.
  let served = null;

  // What a node graph depends on: the node, the hops, and the graph options.
  function servedKey() {
    return JSON.stringify([view.focus, view.hops, view.namespaces, view.graph_type, view.duration,
      view.inject_service_nodes, view.include_idle_edges, view.box_by, view.query_time]);
  }

  function askServer(node) {
    const key = servedKey();
    if (served && served.key === key && (served.loading || Date.now() - served.at < NODE_GRAPH_MAX_AGE_MS)) return;
    const { cy } = graph;
    const nodeData = (id) => {
      const found = cy.getElementById(id);
      return found.nonempty() ? found.data() : null;
    };
    const before = served && served.key === key ? served : null;
    served = { ...(before || { key, ids: null, left: [], error: null }), loading: true, at: Date.now() };
    const asked = served;
    nodeGraphNeighbourhood(node.data(), view.hops, view, nodeData).then(({ ids, frontier, error }) => {
      if (served !== asked) return;
      const failed = error && frontier.includes(view.focus);
      served = { key, ids: failed ? null : ids, left: frontier, error, at: Date.now(), loading: false };
      apply({ fit: !before });
    });
  }

  // The elements to keep around `node`, and where they come from ("server" or "page").
  function kept(node) {
    const data = node.data();
    if (!nodeGraphPath(data, view.graph_type)) {
      return { keep: neighbourhood(node, view.hops), source: "page", note: "no node graph for this node: neighbourhood drawn here" };
    }
    askServer(node);
    if (!served || !served.ids) {
      const note = served && served.error ? `its node graph failed (${served.error}): neighbourhood drawn here` : "loading its node graph…";
      return { keep: neighbourhood(node, view.hops), source: served && served.error ? "page" : "loading", note };
    }
    const { cy } = graph;
    // One collection made at once: a union per id would copy it each time.
    const members = [node[0]];
    for (const id of served.ids) {
      const found = cy.getElementById(id);
      if (found.nonempty()) members.push(found[0]);
    }
    let keep = cy.collection(members);
    // Nodes whose node graph was not asked (past the cap, no route): the page's one hop.
    for (const id of served.left) keep = keep.union(cy.getElementById(id).closedNeighborhood());
    return { keep: keep.union(keep.ancestors()), source: "server", note: "" };
  }

  function focus(node) {
    if (node.data("isBox") || node.hasClass("summary")) return;
    const already = Boolean(view.focus);
    view.focus = node.id();
    // A first focus is a step the browser's Back undoes; refocusing replaces it.
    writeUrl(view, { push: !already, state: { meshlensFocus: true } });
    if (!already) pushed = true;
    apply();
    // Closing the details widens the graph: fit the neighbourhood in the wider one.
    try {
      onFocus(node);
    } finally {
      fitShown();
    }
  }

  function unfocus() {
    if (!view.focus) return;
    if (pushed) {
      // Back to the entry before the focus; popstate then shows the full graph.
      window.history.back();
      return;
    }
    view.focus = null;
    writeUrl(view, { push: false });
    apply({ fit: true });
  }

  /** Show the focus (or the full graph) on what is drawn now. */
  function apply({ fit = false } = {}) {
    const { cy } = graph;
    const node = view.focus ? cy.getElementById(view.focus) : cy.collection();
    const focused = Boolean(view.focus);
    bar.hidden = !focused;
    document.body.dataset.focus = view.focus || "";
    const shown = focused && node.nonempty() ? kept(node) : null;
    if (focused) {
      const name = node.nonempty() ? `Focus on ${node.data("label") || node.id()}` : "Focus on a node not in this graph";
      label.textContent = shown && shown.note ? `${name} (${shown.note})` : name;
    }
    if (!focused) served = null;
    document.body.dataset.focusSource = shown ? shown.source : "";
    cy.batch(() => {
      cy.elements(`.${HIDDEN}`).removeClass(HIDDEN);
      if (shown) cy.elements().not(shown.keep).addClass(HIDDEN);
    });
    if (fit) fitShown();
  }

  function fitShown() {
    const { cy } = graph;
    const shown = cy.elements().not(`.${HIDDEN}`);
    if (shown.nonempty()) cy.fit(shown, 40);
  }

  function hover(node) {
    const { cy } = graph;
    if (cy.elements().length > MAX_HOVER_ELEMENTS) return;
    const path = node.union(node.predecessors()).union(node.successors());
    cy.batch(() => {
      path.union(path.ancestors()).addClass(PATH);
      cy.elements().not(path).not(path.ancestors()).addClass(FADED);
    });
    document.body.dataset.hover = node.id();
  }

  function unhover() {
    const { cy } = graph;
    cy.batch(() => {
      cy.elements(`.${FADED}`).removeClass(FADED);
      cy.elements(`.${PATH}`).removeClass(PATH);
    });
    delete document.body.dataset.hover;
  }

  // A fold or an unfold adds elements without a graph update: one apply after them.
  let scheduled = false;
  function later() {
    if (scheduled || !view.focus) return;
    scheduled = true;
    setTimeout(() => {
      scheduled = false;
      apply();
    }, 0);
  }

  function attach(cy) {
    cy.style()
      .selector(`.${HIDDEN}`)
      .style({ display: "none" })
      .selector(`.${FADED}`)
      .style({ opacity: 0.15 })
      .selector(`edge.${PATH}`)
      .style({ width: 3 })
      .update();
    cy.on("dbltap", "node", (event) => focus(event.target));
    cy.on("mouseover", "node", (event) => {
      if (!event.target.data("isBox")) hover(event.target);
    });
    cy.on("mouseout", "node", unhover);
    cy.on("add", later);
  }
  attach(graph.cy);
  graph.onRecreate(attach);
  apply();

  return { apply, focus, unfocus, hover, unhover };
}

export function clampHops(value) {
  const hops = Number.parseInt(value || "1", 10);
  return Number.isFinite(hops) ? Math.min(MAX_HOPS, Math.max(1, hops)) : 1;
}
