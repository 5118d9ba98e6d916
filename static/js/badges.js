// Security badges: a lock beside the label of every edge with mTLS traffic.
//
// Cytoscape draws text and shapes, not icons, and a lock character would depend on the
// fonts of the machine; so the locks are small SVG elements in a layer over the graph,
// moved to their edges whenever Cytoscape renders.

import { svg } from "./dom.js";
import { formatPercent } from "./labels.js";

const SIZE = 14;
const GAP = 1;

/** A padlock, 14 px; `partial` draws it amber for edges only partly encrypted. */
export function lockIcon({ partial = false } = {}) {
  const color = partial ? "#b36200" : "#1f2328";
  return svg(
    "svg",
    { width: SIZE, height: SIZE, viewBox: "0 0 14 14", "aria-hidden": "true" },
    svg("path", { d: "M4 6.5V4.5a3 3 0 0 1 6 0v2", fill: "none", stroke: color, "stroke-width": 1.6 }),
    svg("rect", { x: 2, y: 6, width: 10, height: 7.5, rx: 1.5, fill: color, stroke: "#ffffff", "stroke-width": 0.8 }),
  );
}

const LABEL_BOX = {
  includeNodes: false,
  includeEdges: false,
  includeLabels: true,
  includeMainLabels: true,
  includeSourceLabels: false,
  includeTargetLabels: false,
  includeOverlays: false,
  includeUnderlays: false,
};

/** Where the centre of the lock of `edge` goes, in pixels of the graph's container. */
function anchor(edge, scale) {
  const label = edge.renderedBoundingBox(LABEL_BOX);
  if (edge.style("label") && Number.isFinite(label.w) && label.w > 0) {
    return { x: label.x1 - (GAP + SIZE / 2) * scale, y: (label.y1 + label.y2) / 2 };
  }
  return edge.renderedMidpoint();
}

// Locks grow and shrink with the graph, as its labels do, within readable bounds.
function badgeScale(zoom) {
  return Math.min(1.6, Math.max(0.6, zoom));
}

/**
 * Locks for the mTLS edges of `cy` (those with the `mtls` class), drawn in `layer`
 * while `enabled`. Returns { setEnabled, update }.
 */
export function createEdgeBadges(cy, layer) {
  let enabled = false;
  let frame = 0;
  const shown = new Map(); // edge id -> badge element

  function badgeFor(edge) {
    const partial = edge.hasClass("mtls-partial");
    let badge = shown.get(edge.id());
    if (!badge || badge.dataset.partial !== String(partial)) {
      const fresh = document.createElement("span");
      fresh.className = "edge-badge";
      fresh.dataset.edgeId = edge.id();
      fresh.dataset.partial = String(partial);
      fresh.append(lockIcon({ partial }));
      if (badge) badge.replaceWith(fresh);
      else layer.append(fresh);
      badge = fresh;
      shown.set(edge.id(), badge);
    }
    badge.title = `mTLS ${formatPercent(edge.data("isMTLS"))}`;
    return badge;
  }

  function draw() {
    frame = 0;
    const edges = enabled ? cy.edges(".mtls") : cy.collection();
    const wanted = new Set(edges.map((edge) => edge.id()));
    const scale = badgeScale(cy.zoom());
    for (const [id, badge] of shown) {
      if (!wanted.has(id)) {
        badge.remove();
        shown.delete(id);
      }
    }
    edges.forEach((edge) => {
      const badge = badgeFor(edge);
      const visible = edge.visible() && edge.source().visible() && edge.target().visible();
      badge.hidden = !visible;
      if (!visible) return;
      const { x, y } = anchor(edge, scale);
      badge.style.transform = `translate(${x - SIZE / 2}px, ${y - SIZE / 2}px) scale(${scale})`;
      badge.classList.toggle("is-faded", edge.hasClass("faded"));
    });
    layer.dataset.count = String(shown.size);
  }

  function schedule() {
    if (!frame) frame = window.requestAnimationFrame(draw);
  }

  cy.on("render", schedule);

  return {
    setEnabled(on) {
      enabled = Boolean(on);
      layer.hidden = !enabled;
      draw();
    },
    update: schedule,
  };
}
