// Fitting the graph into the part of its container that nothing covers. Fit, Re-layout and
// the Fold button float over the graph's bottom right corner (.graph-tools); Cytoscape's
// own fit pads every side alike, and the bottom of the graph (on a ring of folded
// namespaces, its bottom box) ended up under them.

/**
 * The viewport ({zoom, pan}) that shows `eles` whole, `padding` pixels from the container's
 * edges and `below` more pixels clear of its bottom edge; null when there is nothing to fit.
 */
export function fitViewport(cy, eles, padding, below = 0) {
  if (!eles || eles.empty()) return null;
  const box = eles.boundingBox();
  const width = cy.width() - 2 * padding;
  const height = cy.height() - below - 2 * padding;
  if (!(box.w > 0 || box.h > 0) || width <= 0 || height <= 0) return null;
  const zoom = Math.min(cy.maxZoom(), Math.max(cy.minZoom(), Math.min(width / (box.w || 1), height / (box.h || 1))));
  const pan = {
    x: (cy.width() - zoom * (box.x1 + box.x2)) / 2,
    y: (cy.height() - below - zoom * (box.y1 + box.y2)) / 2,
  };
  return { zoom, pan };
}

/** How far `tools` (an element floating over `container`'s bottom) reaches up into it. */
export function coveredBelow(container, tools) {
  if (!tools || tools.hidden || !tools.getClientRects().length) return 0;
  return Math.max(0, container.getBoundingClientRect().bottom - tools.getBoundingClientRect().top);
}
