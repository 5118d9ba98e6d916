// Where a folded graph's pieces go (collapse.js): the folded namespaces' boxes, and the
// nodes of the namespaces left unfolded, each namespace kept together as one block.
//
// The server lays a big graph out for the whole of it (graph/layout.py): one horizontal
// band per namespace, layers left to right. That is right when everything is shown, but
// folded it read badly: the folded boxes stood in one column joined by a bundle of arcs, and
// an unfolded namespace of 1,500 nodes was a band a few rows high and hundreds of columns
// long. So once anything is folded, the pieces are arranged here:
//
// - the namespace graph (an edge where any member calls a member of another namespace)
//   decides the arrangement: a real hierarchy (no cycle, not dense) is layered left to
//   right, as dagre would draw it; a dense or cyclic one (a random mesh, where almost every
//   namespace calls every other) is a ring of folded boxes around the unfolded blocks, so
//   that every box is visible and every pair's edge can be told apart;
// - an unfolded namespace keeps the server's order (its layers, its rows), wrapped into
//   strips of columns one below the other until the block is about as wide as a screen:
//   a compact block, not one row.
// Nothing overlaps: boxes on the ring are a chord apart wider than the widest box, and the
// ring clears the blocks in its middle.

// The server's grid (graph/layout.py CELL_X, CELL_Y): positions are multiples of these.
export const CELL_X = 120;
export const CELL_Y = 70;
const ASPECT = 1.6; // width : height a wrapped block aims at
const PAD = 60; // around a block's nodes: their size and labels
const GAP = 160; // between pieces
// Above this share of the possible ordered pairs, a namespace graph is drawn as a ring.
const DENSE = 0.35;

/**
 * A namespace's members (element JSON with server positions) as a compact block: `at`,
 * {id: {x, y}} from the block's top left corner, and its `width` and `height` (padding in).
 */
export function block(members) {
  const placed = members.filter((node) => node.position);
  if (!placed.length) return gridBlock(members);
  let minX = Infinity;
  let minY = Infinity;
  for (const { position } of placed) {
    minX = Math.min(minX, position.x);
    minY = Math.min(minY, position.y);
  }
  const cells = new Map();
  let cols = 1;
  let rows = 1;
  for (const node of placed) {
    const col = Math.round((node.position.x - minX) / CELL_X);
    const row = Math.round((node.position.y - minY) / CELL_Y);
    cells.set(node.data.id, [col, row]);
    cols = Math.max(cols, col + 1);
    rows = Math.max(rows, row + 1);
  }
  // Nodes without a position (none in a server layout): a row of their own at the bottom.
  let extra = 0;
  for (const node of members) if (!cells.has(node.data.id)) cells.set(node.data.id, [extra++, rows]);
  if (extra) rows += 1;
  const { per, strips } = wrap(cols, rows);
  const at = new Map();
  for (const [id, [col, row]] of cells) {
    const strip = Math.floor(col / per);
    at.set(id, { x: PAD + (col - strip * per) * CELL_X, y: PAD + (strip * (rows + 1) + row) * CELL_Y });
  }
  const width = 2 * PAD + (Math.min(per, cols) - 1) * CELL_X;
  const height = 2 * PAD + (strips * (rows + 1) - 2) * CELL_Y;
  return { at, width, height };
}

// How many columns a strip takes, and how many strips: the ratio nearest ASPECT.
function wrap(cols, rows) {
  let best = { per: cols, strips: 1, miss: Infinity };
  for (let strips = 1; strips <= cols; strips += 1) {
    const per = Math.ceil(cols / strips);
    const used = Math.ceil(cols / per);
    const miss = Math.abs(Math.log((per * CELL_X) / (used * (rows + 1) * CELL_Y) / ASPECT));
    if (miss < best.miss) best = { per, strips: used, miss };
    if (per === 1) break;
  }
  return best;
}

function gridBlock(members) {
  const per = Math.max(1, Math.ceil(Math.sqrt(members.length * ASPECT * (CELL_Y / CELL_X))));
  const at = new Map();
  members.forEach((node, i) => at.set(node.data.id, { x: PAD + (i % per) * CELL_X, y: PAD + Math.floor(i / per) * CELL_Y }));
  const rows = Math.ceil(members.length / per);
  return { at, width: 2 * PAD + (Math.min(per, members.length) - 1) * CELL_X, height: 2 * PAD + (rows - 1) * CELL_Y };
}

/**
 * Centres for `pieces` ([{name, width, height, folded}], in a stable order) given the
 * ordered namespace pairs that carry traffic (`pairs`: [from, to] names). Returns
 * {centres: Map name -> {x, y}, shape: "layered" | "ring"}.
 */
export function arrange(pieces, pairs) {
  const names = new Set(pieces.map((p) => p.name));
  const links = pairs.filter(([a, b]) => a !== b && names.has(a) && names.has(b));
  const n = pieces.length;
  const dense = n > 2 && links.length > DENSE * n * (n - 1);
  const layers = dense ? null : layersOf(pieces, links);
  if (layers) return { centres: layered(pieces, links, layers), shape: "layered" };
  return { centres: ring(pieces), shape: "ring" };
}

// The layer of every piece (longest path from a source), or null when there is a cycle.
function layersOf(pieces, links) {
  const preds = new Map(pieces.map((p) => [p.name, []]));
  const succs = new Map(pieces.map((p) => [p.name, []]));
  for (const [a, b] of links) {
    preds.get(b).push(a);
    succs.get(a).push(b);
  }
  const waiting = new Map(pieces.map((p) => [p.name, preds.get(p.name).length]));
  const ready = pieces.filter((p) => waiting.get(p.name) === 0).map((p) => p.name);
  const layer = new Map();
  while (ready.length) {
    const name = ready.shift();
    layer.set(name, Math.max(-1, ...preds.get(name).map((p) => layer.get(p))) + 1);
    for (const next of succs.get(name)) {
      waiting.set(next, waiting.get(next) - 1);
      if (waiting.get(next) === 0) ready.push(next);
    }
  }
  return layer.size === pieces.length ? layer : null;
}

// Columns of layers, left to right; a column's pieces stacked, centred on y = 0, ordered
// by the mean height of what calls them (fewer crossings), then as given.
function layered(pieces, links, layer) {
  const columns = [];
  for (const piece of pieces) {
    const i = layer.get(piece.name);
    while (columns.length <= i) columns.push([]);
    columns[i].push(piece);
  }
  const preds = new Map(pieces.map((p) => [p.name, []]));
  for (const [a, b] of links) preds.get(b).push(a);
  const centres = new Map();
  let left = 0;
  for (const column of columns) {
    const mean = (piece) => {
      const ys = preds.get(piece.name).filter((p) => centres.has(p)).map((p) => centres.get(p).y);
      return ys.length ? ys.reduce((s, y) => s + y, 0) / ys.length : 0;
    };
    const order = column.map((piece, i) => ({ piece, i, y: mean(piece) })).sort((a, b) => a.y - b.y || a.i - b.i);
    const width = Math.max(...column.map((p) => p.width));
    const height = column.reduce((s, p) => s + p.height, 0) + GAP * (column.length - 1);
    let top = -height / 2;
    for (const { piece } of order) {
      centres.set(piece.name, { x: left + width / 2, y: top + piece.height / 2 });
      top += piece.height + GAP;
    }
    left += width + 2 * GAP;
  }
  return centres;
}

// Folded boxes on a circle, in the given order from the top, clockwise; the unfolded
// blocks packed in rows in its middle.
function ring(pieces) {
  const outer = pieces.filter((p) => p.folded);
  const inner = pieces.filter((p) => !p.folded);
  const centres = packed(inner);
  const middle = inner.length ? halfDiagonal(bounds(inner, centres)) : 0;
  const widest = Math.max(0, ...outer.map((p) => Math.hypot(p.width, p.height)));
  const chord = outer.length > 1 ? (widest + GAP) / (2 * Math.sin(Math.PI / outer.length)) : 0;
  const radius = Math.max(chord, inner.length ? middle + widest / 2 + GAP : 0);
  outer.forEach((piece, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / outer.length;
    centres.set(piece.name, { x: radius * Math.cos(angle), y: radius * Math.sin(angle) });
  });
  return centres;
}

// Blocks in rows (shelves) about ASPECT times as wide as tall, centred on (0, 0).
function packed(pieces) {
  const centres = new Map();
  if (!pieces.length) return centres;
  const area = pieces.reduce((s, p) => s + (p.width + GAP) * (p.height + GAP), 0);
  const limit = Math.max(...pieces.map((p) => p.width), Math.sqrt(area * ASPECT));
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  for (const piece of pieces) {
    if (x > 0 && x + piece.width > limit) {
      x = 0;
      y += rowHeight + GAP;
      rowHeight = 0;
    }
    centres.set(piece.name, { x: x + piece.width / 2, y: y + piece.height / 2 });
    x += piece.width + GAP;
    rowHeight = Math.max(rowHeight, piece.height);
  }
  const box = bounds(pieces, centres);
  const dx = (box.x1 + box.x2) / 2;
  const dy = (box.y1 + box.y2) / 2;
  for (const centre of centres.values()) {
    centre.x -= dx;
    centre.y -= dy;
  }
  return centres;
}

function bounds(pieces, centres) {
  const box = { x1: Infinity, y1: Infinity, x2: -Infinity, y2: -Infinity };
  for (const piece of pieces) {
    const { x, y } = centres.get(piece.name);
    box.x1 = Math.min(box.x1, x - piece.width / 2);
    box.x2 = Math.max(box.x2, x + piece.width / 2);
    box.y1 = Math.min(box.y1, y - piece.height / 2);
    box.y2 = Math.max(box.y2, y + piece.height / 2);
  }
  return box;
}

// The farthest corner of `box` from (0, 0).
function halfDiagonal(box) {
  return Math.hypot(Math.max(-box.x1, box.x2), Math.max(-box.y1, box.y2));
}
