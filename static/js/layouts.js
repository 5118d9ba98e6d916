// The layouts a user can choose for a small graph (a big one is laid out by the server):
// Cytoscape options by name. dagre is the default, left to right by calls.

// Same input order, same picture: order by namespace and name, not by arrival.
function sortKey(ele) {
  const d = ele.data();
  return ele.isNode() ? `${d.namespace || ""}/${d.label || ""}/${d.id}` : d.id;
}

const PADDING = 40;

export const LAYOUT_OPTIONS = {
  dagre: {
    name: "dagre",
    rankDir: "LR",
    nodeSep: 28,
    rankSep: 130,
    edgeSep: 12,
    padding: PADDING,
    nodeDimensionsIncludeLabels: true,
    sort: (a, b) => sortKey(a).localeCompare(sortKey(b)),
  },
  breadthfirst: { name: "breadthfirst", directed: true, spacingFactor: 1.2, padding: PADDING },
  concentric: {
    name: "concentric",
    minNodeSpacing: 40,
    padding: PADDING,
    // Busy nodes in the middle: the degree is what a service graph's centre means.
    concentric: (node) => node.degree(),
    levelWidth: () => 2,
  },
  // fcose is random by nature: a fixed seed would need its internals; "proof" quality is
  // steady enough, and the positions a user dragged are put back after it (pins.js).
  fcose: { name: "fcose", quality: "proof", randomize: true, nodeRepulsion: 6000, idealEdgeLength: 110, padding: PADDING },
};

export const LAYOUT_NAMES = {
  dagre: "Layered (dagre)",
  breadthfirst: "Breadth first",
  concentric: "Concentric",
  fcose: "Force directed (fcose)",
};

/** The Cytoscape options of layout `name` (dagre for an unknown one). */
export function layoutOptions(name) {
  return LAYOUT_OPTIONS[name] || LAYOUT_OPTIONS.dagre;
}
