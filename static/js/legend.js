// The legend, drawn from the same colours and shapes as the graph stylesheet.

import { h, svg } from "./dom.js";
import { HEALTH, NODE_SHAPES } from "./styles.js";

const STORAGE_KEY = "meshlens.legend.open";
const STROKE = HEALTH.NA.color;

const SHAPE_PATHS = {
  ellipse: () => svg("circle", { cx: 10, cy: 10, r: 7 }),
  "round-rectangle": () => svg("rect", { x: 3, y: 3, width: 14, height: 14, rx: 3 }),
  triangle: () => svg("polygon", { points: "10,3 17.5,17 2.5,17" }),
  diamond: () => svg("polygon", { points: "10,2 18,10 10,18 2,10" }),
  hexagon: () => svg("polygon", { points: "5.5,3 14.5,3 19,10 14.5,17 5.5,17 1,10" }),
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

function edgeIcon(color, dash = null) {
  const line = svg("line", { x1: 1, y1: 10, x2: 13, y2: 10, stroke: color, "stroke-width": 2 });
  if (dash) line.setAttribute("stroke-dasharray", dash);
  return icon(line, svg("polygon", { points: "12,6 19,10 12,14", fill: color }));
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

function row(iconEl, text) {
  return h("li", {}, iconEl, h("span", {}, text));
}

function section(title, rows) {
  return h("section", {}, h("h3", {}, title), h("ul", {}, rows));
}

export function renderLegend(root) {
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
    row(shapeIcon(NODE_SHAPES.workload.shape), NODE_SHAPES.workload.text),
    row(shapeIcon(NODE_SHAPES.app.shape), NODE_SHAPES.app.text),
    row(shapeIcon(NODE_SHAPES.service.shape), NODE_SHAPES.service.text),
    row(unknownIcon(), NODE_SHAPES.unknown.text),
    row(shapeIcon(NODE_SHAPES.serviceEntry.shape), NODE_SHAPES.serviceEntry.text),
    row(rootIcon(), "Root (traffic source)"),
    row(shapeIcon("ellipse", { dash: "3 2", opacity: 0.7 }), "Other namespace"),
    row(shapeIcon("ellipse", { dash: "1 2" }), "Idle"),
  ];
  const edges = [
    row(edgeIcon(STROKE), "HTTP, gRPC: requests/s · error %"),
    row(edgeIcon(STROKE, "4 3"), "TCP: bytes/s"),
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
