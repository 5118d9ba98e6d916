// Edge mode, as Kiali's: every edge, the unhealthy ones only (Failure or Degraded), or
// none. Like Kiali it hides edges only and leaves every node in place. It is drawing, not
// data: a class on the hidden edges (display: none), set again after every snapshot and
// delta and on every edge Cytoscape adds (a fold, an unfold), so the mode holds across them.
// Hidden edges still count in the layout, so changing the mode moves no node.

export const EDGE_MODES = [
  ["all", "All edges"],
  ["unhealthy", "Unhealthy only"],
  ["none", "No edges"],
];
export const EDGE_MODE_VALUES = EDGE_MODES.map(([value]) => value);

const HIDDEN = "edge-mode-hidden";
const UNHEALTHY = new Set(["Failure", "Degraded"]);

/** Whether `mode` hides an edge with this data (a summed edge of folded namespaces:
 * by the health of its summed errors, fold-edges.js). */
export function hidesEdge(mode, data) {
  if (mode === "none") return true;
  return mode === "unhealthy" && !UNHEALTHY.has(data.healthStatus || data.health || data.worstHealth);
}

/**
 * Wire the `select` to `view.edge_mode` on `graph` (graph-view.js); `onChange()` after the
 * user picks another mode (to write the URL).
 */
export function createEdgeMode(select, { graph, view, onChange }) {
  select.replaceChildren(
    ...EDGE_MODES.map(([value, text]) => {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = text;
      option.selected = value === view.edge_mode;
      return option;
    }),
  );
  select.addEventListener("change", () => {
    view.edge_mode = select.value;
    apply();
    onChange();
  });

  function mark(edge) {
    const hide = hidesEdge(view.edge_mode, edge.data());
    if (edge.hasClass(HIDDEN) !== hide) edge.toggleClass(HIDDEN, hide);
  }

  function apply() {
    const { cy } = graph;
    cy.batch(() => cy.edges().forEach(mark));
    document.body.dataset.edgeMode = view.edge_mode;
  }

  function attach(cy) {
    cy.style().selector(`edge.${HIDDEN}`).style({ display: "none" }).update();
    cy.on("add", "edge", (event) => {
      if (view.edge_mode !== "all") mark(event.target);
    });
  }
  attach(graph.cy);
  graph.onRecreate(attach);
  apply();

  return {
    apply,
    /** Set the mode from outside (the URL on back/forward). */
    set(mode) {
      view.edge_mode = mode;
      select.value = mode;
      apply();
    },
  };
}
