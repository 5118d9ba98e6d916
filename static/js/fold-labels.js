// Labels of summed edges (collapse.js) only where they fit. On a ring of folded namespaces
// most chords cross the middle, and a port's two edges (fold-ports.js) run side by side:
// their labels ("13.5k rps · 6.7 % err") sat on top of each other there, unreadable. Each
// label is tried at its edge's middle, then nearer its source, then nearer its target, then
// beside its middle on either side (a short edge), and kept at the first place where it
// covers no label already kept and no folded box or port; the unhealthy and busiest edges
// choose first. A label with no room is not drawn (class "quiet"); its edge tells its
// figures on hover (fold-tip.js) and shows its label while selected.
//
// Cytoscape scales labels with the graph, so what overlaps at one zoom overlaps at every
// zoom: the places are worked out again only when the drawing changes (a plan, a drag),
// never on pan or zoom. A quiet label is taken off ("label": none, which every renderer
// honours) and put back while its edge is selected.

const RANK = { Failure: 0, Degraded: 1 };
// Where along its edge a label may sit: shares of the distance between the edge's ends,
// from its middle (negative: towards the source, where a pair's two labels part first).
const ALONG = [0, -0.18, 0.18, -0.32, 0.32];
// Room left between two labels, in graph pixels.
const GAP = 2;

const first = (a, b) =>
  (RANK[a.data("health")] ?? 2) - (RANK[b.data("health")] ?? 2)
  || (b.data("lineWidth") || 0) - (a.data("lineWidth") || 0)
  || (a.id() < b.id() ? -1 : 1);

// Boxes in cells of a grid, so that a label is checked against its neighbours only (a ring
// of 100 namespaces has thousands of labelled edges).
function createGrid(cell) {
  const cells = new Map();
  const keys = (box, each) => {
    for (let i = Math.floor(box.x1 / cell); i <= Math.floor(box.x2 / cell); i += 1) {
      for (let j = Math.floor(box.y1 / cell); j <= Math.floor(box.y2 / cell); j += 1) each(`${i},${j}`);
    }
  };
  const meets = (a, b) => a.x1 < b.x2 + GAP && b.x1 < a.x2 + GAP && a.y1 < b.y2 + GAP && b.y1 < a.y2 + GAP;
  return {
    add(box) {
      keys(box, (key) => (cells.get(key) || cells.set(key, []).get(key)).push(box));
    },
    free(box) {
      let clear = true;
      keys(box, (key) => {
        if (clear) clear = !(cells.get(key) || []).some((other) => meets(box, other));
      });
      return clear;
    },
  };
}

const shifted = (box, dx, dy) => ({ x1: box.x1 + dx, x2: box.x2 + dx, y1: box.y1 + dy, y2: box.y2 + dy });

// The shifts a label may take, in order: along its edge (ALONG), then off its middle to
// either side, just clear of the line.
function candidates(edge, base) {
  const from = edge.sourceEndpoint();
  const to = edge.targetEndpoint();
  const x = to.x - from.x;
  const y = to.y - from.y;
  const out = ALONG.map((t) => [Math.round(t * x), Math.round(t * y)]);
  const length = Math.hypot(x, y);
  if (!length) return out;
  const [nx, ny] = [-y / length, x / length];
  const clear = ((base.x2 - base.x1) / 2) * Math.abs(nx) + ((base.y2 - base.y1) / 2) * Math.abs(ny) + GAP;
  for (const side of [1, -1]) out.push([Math.round(side * clear * nx), Math.round(side * clear * ny)]);
  return out;
}

// The label's box where it is drawn now, and the shift it was drawn with.
function labelOf(edge) {
  const shift = edge.scratch("_meshlensLabel") || { dx: 0, dy: 0 };
  const box = edge.boundingBox({ includeNodes: false, includeEdges: false, includeLabels: true });
  return { shift, base: shifted(box, -shift.dx, -shift.dy) };
}

// The ids of the page's own elements (collapse.js, fold-ports.js): "ml-ns:", "ml-agg:", "ml-port:".
const isDerivedId = (id) => id.startsWith("ml-");

/**
 * Labels placed again after a drawing that changed the page's own elements (boxes, summed
 * edges, ports): `note(part)` for each part of a drawing (model-worker.js), `place(cy)` at
 * its end. Most live updates of a big graph change none of them, and place nothing.
 */
export function createLabelPlacer() {
  let changed = false;
  return {
    note(part) {
      changed ||= Boolean(part.clear) || (part.remove || []).some(isDerivedId)
        || (part.add || part.update || []).some((element) => element.classes);
    },
    place(cy) {
      if (changed) placeLabels(cy);
      changed = false;
    },
  };
}

/**
 * Give each labelled summed edge of `cy` a place for its label where it overlaps no other
 * (a shift along the edge, Cytoscape's text margins), or none (class "quiet").
 */
export function placeLabels(cy) {
  const edges = cy.edges(".aggregate").filter((edge) => edge.data("summaryLabel") && edge.visible());
  const boxes = cy.nodes(".summary, .port").filter((node) => node.visible());
  if (!edges.length) return;
  // Quiet labels drawn again for a moment (no frame comes in between), to be measured.
  edges.filter(".quiet").removeClass("quiet");
  const labels = edges.map((edge) => ({ edge, ...labelOf(edge) }));
  const cell = Math.max(50, ...labels.map(({ base }) => 2 * (base.y2 - base.y1)));
  const grid = createGrid(cell);
  boxes.forEach((node) => grid.add(node.boundingBox({ includeLabels: false })));
  labels.sort((a, b) => first(a.edge, b.edge));
  cy.batch(() => {
    for (const { edge, shift, base } of labels) {
      let place = null;
      for (const [dx, dy] of candidates(edge, base)) {
        const box = shifted(base, dx, dy);
        if (grid.free(box)) {
          place = { dx, dy };
          grid.add(box);
          break;
        }
      }
      if (!place) edge.addClass("quiet");
      else if (place.dx !== shift.dx || place.dy !== shift.dy) edge.style({ "text-margin-x": place.dx, "text-margin-y": place.dy });
      edge.scratch("_meshlensLabel", place || shift);
    }
  });
}
