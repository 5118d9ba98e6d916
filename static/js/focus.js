// Focus and hover paths.
//
// Double-click a node: the graph shows only its neighbourhood, N hops away in either
// direction (N from the bar's control, default 1), as Kiali's node graph does for one hop.
// The rest is hidden (a class, display: none), not removed, so live deltas and folds
// keep applying and the focus holds across them. The way back: the bar's "Back to the
// full graph" button, Esc, or the browser's Back (focusing pushes a history entry;
// `focus` and `hops` are in the URL, so a shared link opens focused).
//
// Hovering a node highlights its upstream and downstream paths (every node that reaches
// it and every node it reaches, and the edges between) and fades the rest.

const HIDDEN = "focus-hidden";
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
    if (focused) {
      label.textContent = node.nonempty() ? `Focus on ${node.data("label") || node.id()}` : "Focus on a node not in this graph";
    }
    cy.batch(() => {
      cy.elements(`.${HIDDEN}`).removeClass(HIDDEN);
      if (focused && node.nonempty()) cy.elements().not(neighbourhood(node, view.hops)).addClass(HIDDEN);
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
