// The legend, drawn from the same colours and shapes as the graph stylesheet.

import { lockIcon } from "./badges.js";
import { h, svg } from "./dom.js";
import { responseTimeName } from "./labels.js";
import { BOXES, HEALTH, IDLE_EDGE, NODE_FLAGS, NODE_SHAPES, TCP_EDGE_DASH } from "./styles.js";

const STORAGE_KEY = "meshlens.legend.open";
const STROKE = HEALTH.NA.color;

const SHAPE_PATHS = {
  ellipse: () => svg("circle", { cx: 10, cy: 10, r: 7 }),
  "round-rectangle": () => svg("rect", { x: 3, y: 3, width: 14, height: 14, rx: 3 }),
  triangle: () => svg("polygon", { points: "10,3 17.5,17 2.5,17" }),
  diamond: () => svg("polygon", { points: "10,2 18,10 10,18 2,10" }),
  hexagon: () => svg("polygon", { points: "5.5,3 14.5,3 19,10 14.5,17 5.5,17 1,10" }),
  barrel: () => svg("path", { d: "M5.5,2 L14.5,2 Q17.5,10 14.5,18 L5.5,18 Q2.5,10 5.5,2 Z M4.5,5.5 Q10,8.5 15.5,5.5" }),
  rhomboid: () => svg("polygon", { points: "6,4 19,4 14,16 1,16" }),
  octagon: () => svg("polygon", { points: "7,2 13,2 18,7 18,13 13,18 7,18 2,13 2,7" }),
};

function icon(...children) {
  return svg("svg", { width: 20, height: 20, viewBox: "0 0 20 20", "aria-hidden": "true" }, ...children);
}

function shapeIcon(shape, { stroke = STROKE, fill = "#ffffff", width = 2, dash = null, opacity = 1 } = {}) {
  const el = SHAPE_PATHS[shape]();
  el.setAttribute("fill", fill);
  el.setAttribute("stroke", stroke);
  el.setAttribute("stroke-width", width);
  el.setAttribute("opacity", opacity);
  if (dash) el.setAttribute("stroke-dasharray", dash);
  return icon(el);
}

function edgeIcon(color, dash = null, opacity = 1) {
  const line = svg("line", { x1: 1, y1: 10, x2: 13, y2: 10, stroke: color, "stroke-width": 2 });
  if (dash) line.setAttribute("stroke-dasharray", dash);
  const arrow = svg("polygon", { points: "12,6 19,10 12,14", fill: color });
  const el = icon(line, arrow);
  el.setAttribute("opacity", opacity);
  return el;
}

function rootIcon() {
  return icon(
    svg("circle", { cx: 10, cy: 10, r: 8, fill: "#ffffff", stroke: STROKE, "stroke-width": 1.5 }),
    svg("circle", { cx: 10, cy: 10, r: 5, fill: "none", stroke: STROKE, "stroke-width": 1.5 }),
  );
}

function unknownIcon() {
  const base = shapeIcon("diamond");
  base.append(
    svg("text", { x: 10, y: 14, "font-size": 10, "font-weight": "bold", "text-anchor": "middle", fill: "#4f5255" }),
  );
  base.lastChild.textContent = "?";
  return base;
}

function boxIcon({ fill, border, width, dash }) {
  const rect = svg("rect", { x: 1.5, y: 4, width: 17, height: 12, rx: 3.5, fill, stroke: border, "stroke-width": width });
  if (dash) rect.setAttribute("stroke-dasharray", "4 2");
  return icon(rect);
}

function row(iconEl, text, key) {
  return h("li", { dataset: { key } }, iconEl, h("span", {}, text));
}

function section(title, rows) {
  return h("section", {}, h("h3", {}, title), h("ul", {}, rows));
}

// What the edge labels say, for the chosen label.
function labelMeaning({ edgeLabels, responseTime, throughput }) {
  switch (edgeLabels) {
    case "none":
      return ["HTTP, gRPC", "TCP"];
    case "percent":
      return ["HTTP, gRPC: % of the source's requests", "TCP"];
    case "response_time":
      return [`HTTP, gRPC: response time, ${responseTimeName(responseTime)}`, "TCP"];
    case "throughput":
      return [`HTTP, gRPC: ${throughput} bytes/s`, "TCP"];
    default:
      return ["HTTP, gRPC: requests/s · error %", "TCP: bytes/s"];
  }
}

/**
 * The legend in `root` for what the graph shows now: `context` holds the edge label
 * choice (`edgeLabels`, `responseTime`, `throughput`), the box kinds present (`boxes`),
 * and whether idle edges, idle nodes and security badges are drawn.
 */
export function renderLegend(root, context = {}) {
  const {
    boxes = [],
    idleEdges = false,
    idleNodes = false,
    security = false,
  } = context;
  const health = Object.values(HEALTH).map(({ color, fill, text }) =>
    h(
      "li",
      {},
      shapeIcon("ellipse", { stroke: color, fill, width: 2.5 }),
      edgeIcon(color),
      h("span", {}, text),
    ),
  );
  const shapes = [
    row(shapeIcon(NODE_SHAPES.workload.shape), NODE_SHAPES.workload.text, "workload"),
    row(shapeIcon(NODE_SHAPES.app.shape), NODE_SHAPES.app.text, "app"),
    row(shapeIcon(NODE_SHAPES.service.shape), NODE_SHAPES.service.text, "service"),
    row(unknownIcon(), NODE_SHAPES.unknown.text, "unknown"),
    row(shapeIcon(NODE_SHAPES.serviceEntry.shape), NODE_SHAPES.serviceEntry.text, "service-entry"),
    ...["database", "messaging", "virtual"].map((type) =>
      row(shapeIcon(NODE_SHAPES[type].shape), NODE_SHAPES[type].text, type),
    ),
    row(rootIcon(), "Root (traffic source)", "root"),
    row(shapeIcon("ellipse", { opacity: NODE_FLAGS.isOutside.opacity }), NODE_FLAGS.isOutside.text, "outside"),
    row(shapeIcon("ellipse", { dash: NODE_FLAGS.isInaccessible.dash.join(" ") }), NODE_FLAGS.isInaccessible.text,
      "inaccessible"),
    idleNodes &&
      row(shapeIcon("ellipse", { dash: NODE_FLAGS.isIdle.dash.join(" "), opacity: NODE_FLAGS.isIdle.opacity }),
        NODE_FLAGS.isIdle.text, "idle-node"),
    ...Object.entries(BOXES)
      .filter(([kind]) => boxes.includes(kind))
      .map(([kind, look]) => row(boxIcon(look), look.text, `box-${kind}`)),
  ];
  const [requests, tcp] = labelMeaning(context);
  const edges = [
    row(edgeIcon(STROKE), requests, "requests"),
    row(edgeIcon(STROKE, TCP_EDGE_DASH.join(" ")), tcp, "tcp"),
    idleEdges && row(edgeIcon(STROKE, IDLE_EDGE.dash.join(" "), IDLE_EDGE.opacity), IDLE_EDGE.text, "idle-edge"),
    security && row(lockIcon(), "mTLS", "mtls"),
    security && row(lockIcon({ partial: true }), "Partial mTLS", "mtls-partial"),
  ];

  const details = h(
    "details",
    { open: localStorage.getItem(STORAGE_KEY) !== "false" },
    h("summary", {}, "Legend"),
    h(
      "div",
      { class: "legend-body" },
      section("Health", health),
      section("Edges", edges),
      section("Nodes", shapes),
    ),
  );
  details.addEventListener("toggle", () => localStorage.setItem(STORAGE_KEY, String(details.open)));
  root.replaceChildren(details);
}

/**
 * The legend in `root`, kept saying what the graph shows: the label choice, the boxes
 * present, and the idle elements and badges when they are drawn. Drawn at once from the
 * `view` (it takes its height from the graph's container); `update(cy)` after each change.
 */
export function createLegend(root, view) {
  let shown = "";
  renderLegend(root, {
    edgeLabels: view.edge_labels,
    responseTime: view.response_time,
    throughput: view.throughput,
    idleEdges: view.include_idle_edges,
    idleNodes: view.include_idle_nodes,
    security: view.badge_security,
  });
  return {
    update(cy) {
      const context = {
        edgeLabels: view.edge_labels,
        responseTime: view.response_time,
        throughput: view.throughput,
        boxes: [...new Set(cy.nodes("[isBox]").map((node) => node.data("isBox")))],
        idleEdges: view.include_idle_edges || cy.edges(".idle").nonempty(),
        idleNodes: view.include_idle_nodes || cy.nodes("[?isIdle]").nonempty(),
        security: view.badge_security,
      };
      const signature = JSON.stringify(context);
      if (signature === shown) return;
      shown = signature;
      renderLegend(root, context);
    },
  };
}
