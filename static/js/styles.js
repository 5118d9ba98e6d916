// The Cytoscape stylesheet: health colours, node shapes, edge look.
// The legend draws from the same constants so that it always matches the graph.

import { edgeRates } from "./labels.js";

export const HEALTH = {
  Failure: { color: "#c9190b", fill: "#fdeceb", text: "Failure" },
  Degraded: { color: "#e07000", fill: "#fff3e5", text: "Degraded" },
  Healthy: { color: "#3e8635", fill: "#eef6ec", text: "Healthy" },
  NA: { color: "#8a8d90", fill: "#ffffff", text: "No traffic" },
};

export const NODE_SHAPES = {
  workload: { shape: "ellipse", text: "Workload" },
  app: { shape: "round-rectangle", text: "App" },
  service: { shape: "triangle", text: "Service" },
  unknown: { shape: "diamond", text: "Unknown source" },
  serviceEntry: { shape: "hexagon", text: "Service entry" },
  // Peers named by trace-derived service graphs (they send no spans of their own).
  database: { shape: "barrel", text: "Database" },
  messaging: { shape: "rhomboid", text: "Messaging system" },
  virtual: { shape: "octagon", text: "Uninstrumented peer" },
  box: { shape: "round-rectangle", text: "Box" },
};

// Boxes (compound nodes) by what they group, outermost first.
export const BOXES = {
  cluster: { fill: "#fbfbfc", border: "#6a6e73", width: 2, dash: [8, 4], text: "Cluster box" },
  namespace: { fill: "#eef3f9", border: "#7f9cc0", width: 1.5, dash: null, text: "Namespace box" },
  app: { fill: "#f4f5f7", border: "#b8bbbe", width: 1, dash: null, text: "App box" },
};

// Flags that change how a node is drawn, with the look the legend repeats.
export const NODE_FLAGS = {
  isOutside: { opacity: 0.7, text: "Other namespace" },
  isInaccessible: { dash: [5, 3], text: "Inaccessible namespace" },
  isIdle: { opacity: 0.55, dash: [1, 3], text: "Idle (no traffic now)" },
};

export const IDLE_EDGE = { opacity: 0.6, dash: [2, 5], text: "Idle (no traffic now)" };
export const TCP_EDGE_DASH = [6, 3];

export const SELECTED_COLOR = "#0066cc";
// Kiali rings what Find finds in gold.
export const FIND_COLOR = "#f0ab00";
const TEXT_COLOR = "#1f2328";
// Cytoscape accepts only unquoted or double-quoted family names.
const FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica Neue, Arial, sans-serif";

// A "?" drawn inside the unknown-source diamond.
const QUESTION_MARK = `data:image/svg+xml;utf8,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">' +
    '<text x="20" y="27" font-family="Arial, sans-serif" font-size="20" font-weight="bold" ' +
    'text-anchor="middle" fill="#4f5255">?</text></svg>',
)}`;

// The rim of a can drawn across the top of a (tall barrel) database node.
const DATABASE_RIM = `data:image/svg+xml;utf8,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" width="30" height="38">' +
    '<path d="M3,8 Q15,16 27,8" fill="none" stroke="#6a6e73" stroke-width="1.5"/></svg>',
)}`;

function healthRules(group) {
  return Object.entries(HEALTH).map(([status, { color, fill }]) => ({
    selector: `${group}[healthStatus = "${status}"]`,
    style:
      group === "node"
        ? { "border-color": color, "background-color": fill }
        : { "line-color": color, "target-arrow-color": color },
  }));
}

// Boxes: rounded rectangles around their members, named at the top.
function boxRules() {
  return [
    {
      selector: "node[?isBox], node:parent",
      style: {
        shape: NODE_SHAPES.box.shape,
        "corner-radius": 10,
        "background-color": BOXES.app.fill,
        "background-opacity": 1,
        "background-image": "none",
        "border-width": BOXES.app.width,
        "border-style": "solid",
        "border-color": BOXES.app.border,
        "text-valign": "top",
        "text-halign": "center",
        "text-margin-y": -3,
        "font-weight": "bold",
        padding: 16,
        opacity: 1,
      },
    },
    ...Object.entries(BOXES).map(([kind, look]) => ({
      selector: `node[isBox = "${kind}"]`,
      style: {
        "background-color": look.fill,
        "border-color": look.border,
        "border-width": look.width,
        "border-style": look.dash ? "dashed" : "solid",
        ...(look.dash ? { "border-dash-pattern": look.dash } : {}),
        "font-size": kind === "app" ? 12 : 13,
        padding: kind === "app" ? 14 : 22,
      },
    })),
  ];
}

function shapeRules() {
  return ["app", "service", "unknown", "database", "messaging", "virtual"].map((type) => ({
    selector: `node[nodeType = "${type}"]`,
    style: { shape: NODE_SHAPES[type].shape },
  }));
}

// Folded namespaces (collapse.js): one box per namespace, edges added up between them,
// coloured by the worst health inside.
function foldRules() {
  return [
    {
      selector: "node.summary",
      style: {
        shape: NODE_SHAPES.box.shape,
        width: "data(boxWidth)",
        height: "data(boxHeight)",
        label: "data(summaryLabel)",
        "text-valign": "center",
        "text-margin-y": 0,
        "text-max-width": "data(boxWidth)",
        "font-weight": "bold",
        "font-size": "data(fontSize)",
        "min-zoomed-font-size": 0,
        "border-width": 4,
        "border-style": "solid",
        "background-image": "none",
        opacity: 1,
      },
    },
    ...Object.entries(HEALTH).map(([status, { color, fill }]) => ({
      selector: `node.summary[worstHealth = "${status}"]`,
      style: { "border-color": color, "background-color": fill },
    })),
    {
      selector: "edge.aggregate",
      style: {
        label: "data(summaryLabel)",
        width: "data(lineWidth)",
        "arrow-scale": 1,
        "font-size": "data(fontSize)",
        "min-zoomed-font-size": 0,
        "line-style": "solid",
        // From a shown node to a folded box: many, so light; the unhealthy ones stand out.
        opacity: 0.25,
      },
    },
    {
      // Between two folded boxes: one per ordered pair, the two directions side by side.
      selector: "edge.aggregate.between",
      style: { "curve-style": "bezier", "control-point-step-size": "data(fontSize)", opacity: 0.6, "z-index": 10 },
    },
    ...Object.entries(HEALTH).map(([status, { color }]) => ({
      selector: `edge.aggregate[health = "${status}"]`,
      style: { "line-color": color, "target-arrow-color": color },
    })),
    { selector: 'edge.aggregate[health = "Failure"], edge.aggregate[health = "Degraded"]', style: { opacity: 0.9, "z-index": 12 } },
    // A namespace unfolded: the edges between folded boxes behind its block, thin.
    { selector: "edge.aggregate.behind", style: { opacity: 0.25, width: 2, "z-index": 0 } },
    // A big unfolded namespace's edges to folded boxes go through ports on its border
    // (fold-ports.js); each node's own are shown while it is selected (fold-tip.js).
    { selector: "edge.aggregate.ported", style: { "curve-style": "bezier", opacity: 0.75, "z-index": 10 } },
    { selector: "edge.aggregate.tucked", style: { display: "none" } },
    // A label with no room of its own (fold-labels.js): shown while its edge is selected.
    { selector: "edge.aggregate.quiet", style: { label: "" } },
    { selector: "edge.aggregate.quiet:selected", style: { label: "data(summaryLabel)" } },
    { selector: "edge.aggregate.tucked.untucked", style: { display: "element", opacity: 0.9, "z-index": 20 } },
    {
      selector: "node.port",
      style: {
        shape: "diamond",
        width: 18,
        height: 18,
        label: "",
        "background-color": "#ffffff",
        "border-color": "#5b6168",
        "border-width": 2,
        "background-image": "none",
        events: "no",
      },
    },
  ];
}

/**
 * The stylesheet. `nodeLabel` and `edgeLabel` are functions of the element,
 * because the node label depends on the namespaces being viewed. `big`: a graph of
 * thousands of elements, where a function per element and property costs seconds: nodes
 * show their plain label, and edges their label only when selected.
 */
export function buildStylesheet({ nodeLabel, edgeLabel, big = false }) {
  return [
    {
      selector: "node",
      style: {
        shape: NODE_SHAPES.workload.shape,
        width: 34,
        height: 34,
        "background-color": HEALTH.NA.fill,
        "border-width": 3,
        "border-color": HEALTH.NA.color,
        label: big ? "data(label)" : nodeLabel,
        "font-family": FONT,
        "font-size": 12,
        color: TEXT_COLOR,
        "text-valign": "bottom",
        "text-halign": "center",
        "text-margin-y": 5,
        "text-wrap": "wrap",
        "text-max-width": 150,
        "text-outline-color": "#ffffff",
        "text-outline-width": 2,
        "min-zoomed-font-size": 6,
      },
    },
    ...shapeRules(),
    { selector: 'node[nodeType = "service"]', style: { width: 36, height: 32 } },
    {
      selector: 'node[nodeType = "unknown"]',
      style: { "background-image": QUESTION_MARK, "background-fit": "contain" },
    },
    { selector: "node[?isServiceEntry]", style: { shape: NODE_SHAPES.serviceEntry.shape } },
    {
      selector: 'node[nodeType = "database"]',
      style: { width: 30, height: 38, "background-image": DATABASE_RIM, "background-fit": "contain" },
    },
    { selector: 'node[nodeType = "messaging"]', style: { width: 40, height: 30 } },
    ...healthRules("node"),
    // Nodes from namespaces outside the request are dimmed; their label names the namespace.
    { selector: "node[?isOutside]", style: { opacity: NODE_FLAGS.isOutside.opacity } },
    {
      selector: "node[?isInaccessible]",
      style: { "border-style": "dashed", "border-dash-pattern": NODE_FLAGS.isInaccessible.dash },
    },
    {
      selector: "node[?isIdle]",
      style: {
        "border-style": "dashed",
        "border-dash-pattern": NODE_FLAGS.isIdle.dash,
        "border-color": HEALTH.NA.color,
        "background-color": HEALTH.NA.fill,
        opacity: NODE_FLAGS.isIdle.opacity,
      },
    },
    // Root nodes (traffic generators) get a double border.
    { selector: "node[?isRoot]", style: { "border-style": "double", "border-width": 7 } },
    ...boxRules(),
    {
      selector: "edge",
      style: {
        width: 2,
        // Bezier edges are grouped by their pair of nodes, which costs seconds on 50,000.
        "curve-style": big ? "straight" : "bezier",
        "line-color": HEALTH.NA.color,
        "line-style": big ? "solid" : (edge) => (edgeRates(edge.data()).protocol === "tcp" ? "dashed" : "solid"),
        "line-dash-pattern": TCP_EDGE_DASH,
        "target-arrow-shape": "triangle",
        "target-arrow-color": HEALTH.NA.color,
        "arrow-scale": 1.1,
        label: big ? "" : edgeLabel,
        "font-family": FONT,
        "font-size": 10,
        color: TEXT_COLOR,
        "text-background-color": "#ffffff",
        "text-background-opacity": 0.85,
        "text-background-padding": 2,
        "text-background-shape": "round-rectangle",
        "text-rotation": "none",
        "min-zoomed-font-size": 7,
        "loop-direction": "-45deg",
        "loop-sweep": "-60deg",
        "control-point-step-size": 50,
      },
    },
    ...healthRules("edge"),
    { selector: 'edge[healthStatus = "Failure"]', style: { width: 3 } },
    {
      selector: "edge.idle",
      style: {
        "line-style": "dashed",
        "line-dash-pattern": IDLE_EDGE.dash,
        "line-cap": "round",
        opacity: IDLE_EDGE.opacity,
      },
    },
    {
      selector: "node:selected",
      style: { "underlay-color": SELECTED_COLOR, "underlay-opacity": 0.25, "underlay-padding": 7 },
    },
    {
      selector: "edge:selected",
      style: {
        ...(big ? { label: edgeLabel } : {}),
        width: 4,
        "z-index": 20,
        "underlay-color": SELECTED_COLOR,
        "underlay-opacity": 0.25,
        "underlay-padding": 4,
      },
    },
    // Everything outside the selection's neighbourhood fades back.
    { selector: ".faded", style: { opacity: 0.18 } },
    // Find and Hide (find-bar.js): found elements wear a ring, hidden ones leave the drawing.
    {
      selector: "node.find",
      style: { "underlay-color": FIND_COLOR, "underlay-opacity": 0.6, "underlay-padding": 9, "underlay-shape": "ellipse" },
    },
    { selector: "edge.find", style: { "underlay-color": FIND_COLOR, "underlay-opacity": 0.6, "underlay-padding": 6 } },
    { selector: ".find-hidden", style: { display: "none" } },
    ...foldRules(),
  ];
}
