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
};

export const SELECTED_COLOR = "#0066cc";
const TEXT_COLOR = "#1f2328";
// Cytoscape accepts only unquoted or double-quoted family names.
const FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica Neue, Arial, sans-serif";

// A "?" drawn inside the unknown-source diamond.
const QUESTION_MARK = `data:image/svg+xml;utf8,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">' +
    '<text x="20" y="27" font-family="Arial, sans-serif" font-size="20" font-weight="bold" ' +
    'text-anchor="middle" fill="#4f5255">?</text></svg>',
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

function shapeRules() {
  return ["app", "service", "unknown"].map((type) => ({
    selector: `node[nodeType = "${type}"]`,
    style: { shape: NODE_SHAPES[type].shape },
  }));
}

/**
 * The stylesheet. `nodeLabel` and `edgeLabel` are functions of the element,
 * because the node label depends on the namespaces being viewed.
 */
export function buildStylesheet({ nodeLabel, edgeLabel }) {
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
        label: nodeLabel,
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
    ...healthRules("node"),
    // Root nodes (traffic generators) get a double border.
    { selector: "node[?isRoot]", style: { "border-style": "double", "border-width": 7 } },
    { selector: "node[?isIdle]", style: { "border-style": "dotted", "border-color": HEALTH.NA.color } },
    // Nodes from namespaces outside the request: dashed and dimmed; the label names the namespace.
    { selector: "node[?isOutside]", style: { "border-style": "dashed", opacity: 0.7 } },
    { selector: "node[?isRoot][?isOutside]", style: { "border-style": "double" } },
    {
      selector: "node[?isBox], node:parent",
      style: {
        shape: "round-rectangle",
        "background-color": "#f4f5f7",
        "background-opacity": 1,
        "border-width": 1,
        "border-style": "solid",
        "border-color": "#b8bbbe",
        "text-valign": "top",
        "text-margin-y": -4,
        "font-weight": "bold",
        padding: 14,
        opacity: 1,
      },
    },
    {
      selector: "edge",
      style: {
        width: 2,
        "curve-style": "bezier",
        "line-color": HEALTH.NA.color,
        "line-style": (edge) => (edgeRates(edge.data()).protocol === "tcp" ? "dashed" : "solid"),
        "target-arrow-shape": "triangle",
        "target-arrow-color": HEALTH.NA.color,
        "arrow-scale": 1.1,
        label: edgeLabel,
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
      selector: "node:selected",
      style: { "underlay-color": SELECTED_COLOR, "underlay-opacity": 0.25, "underlay-padding": 7 },
    },
    {
      selector: "edge:selected",
      style: {
        width: 4,
        "z-index": 20,
        "underlay-color": SELECTED_COLOR,
        "underlay-opacity": 0.25,
        "underlay-padding": 4,
      },
    },
    // Everything outside the selection's neighbourhood fades back.
    { selector: ".faded", style: { opacity: 0.18 } },
  ];
}
