// The graph's two overlays, as the page wires them: the blast radius of an element
// (impact.js, from /api/v1/impact) and what changed since an earlier time (diff-overlay.js,
// from /api/v1/graph/diff). Both follow the view, mark the graph and list what they found.

import { createDiffOverlay } from "./diff-overlay.js";
import { createBlastRadius } from "./impact.js";
import { scopeQuery, writeUrl } from "./view.js";

/** `select(id)`: select an element (from the overlays' lists); `nodeLabel(node)`: its text. */
export function createOverlays({ view, select, nodeLabel }) {
  const options = {
    view,
    query: () => scopeQuery(view),
    onChange: () => writeUrl(view),
    onSelect: select,
  };
  const blast = createBlastRadius({
    ...options,
    apiPath: "/api/v1/impact",
    actions: document.getElementById("impact-actions"),
    panel: document.getElementById("blast-panel"),
    nodeLabel,
  });
  const diff = createDiffOverlay({
    ...options,
    apiPath: "/api/v1/graph/diff",
    select: document.getElementById("compare-to"),
    panel: document.getElementById("diff-panel"),
  });
  return {
    blast,
    diff,
    /** A new Cytoscape instance (another renderer): mark it. */
    attach(cy) {
      blast.attach(cy);
      diff.attach(cy);
    },
    /** After a graph update. */
    refresh() {
      blast.refresh();
      diff.refresh();
    },
    /** Another graph (the scope changed). */
    reload() {
      blast.reload();
      diff.reload();
    },
  };
}
