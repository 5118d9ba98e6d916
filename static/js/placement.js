// Where nodes that join a graph already on screen go, without moving the others.
//
// dagre lays the whole graph out, but only to learn where it wants the new nodes:
// each new node keeps dagre's offset from a neighbour that is already placed, and
// moves up or down from there until it overlaps nothing. The rest stays put, so an
// SRE watching the graph does not lose track of it every time a workload appears.

import { HIDDEN_SELECTOR, LAYOUT_OPTIONS, layoutTargets } from "./layouts.js";

const GAP = 14;

/** Offsets of a node's box (label included) from its position. */
function extent(node) {
  const pos = node.position();
  const bb = node.boundingBox({ includeLabels: true, includeOverlays: false });
  return { x1: bb.x1 - pos.x, x2: bb.x2 - pos.x, y1: bb.y1 - pos.y, y2: bb.y2 - pos.y };
}

function boxAt(p, ext) {
  return { x1: p.x + ext.x1 - GAP, x2: p.x + ext.x2 + GAP, y1: p.y + ext.y1 - GAP, y2: p.y + ext.y2 + GAP };
}

function overlaps(a, b) {
  return a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
}

/** Where dagre would put every node; runs the layout without moving anything. */
function idealPositions(cy, layoutOptions) {
  const ideal = new Map();
  layoutTargets(cy).layout({
    ...layoutOptions,
    fit: false,
    animate: false,
    transform: (node, pos) => {
      ideal.set(node.id(), pos);
      return { ...node.position() };
    },
  }).run();
  return ideal;
}

/**
 * Position `newNodes` (a collection already in `cy`) next to their placed
 * neighbours, as `layoutOptions` (a dagre layout) would arrange them.
 */
export function placeNewNodes(cy, newNodes, layoutOptions) {
  const fresh = newNodes.filter((n) => !n.isParent());
  if (fresh.empty()) return;
  const freshIds = new Set(fresh.map((n) => n.id()));
  const ideal = idealPositions(cy, layoutOptions);
  const placed = new Set();
  const taken = [];
  // Hidden nodes take no space: what is drawn decides where there is room.
  cy.nodes()
    .not(HIDDEN_SELECTOR)
    .filter((n) => !n.isParent() && !freshIds.has(n.id()))
    .forEach((n) => {
      placed.add(n.id());
      taken.push(boxAt(n.position(), extent(n)));
    });

  function freeSpot(p, ext) {
    const step = ext.y2 - ext.y1 + GAP;
    for (let i = 0; i < 60; i += 1) {
      // 0, +1, -1, +2, -2 … steps away from where dagre wants it.
      const k = Math.ceil(i / 2) * (i % 2 ? 1 : -1);
      const candidate = { x: p.x, y: p.y + k * step };
      const box = boxAt(candidate, ext);
      if (!taken.some((other) => overlaps(box, other))) return candidate;
    }
    return p;
  }

  function put(node, p) {
    const ext = extent(node);
    const spot = freeSpot(p, ext);
    node.position(spot);
    taken.push(boxAt(spot, ext));
    placed.add(node.id());
  }

  // Place nodes with a placed neighbour, again and again, so that chains of new nodes follow.
  let pending = fresh.toArray();
  let progress = true;
  while (pending.length && progress) {
    progress = false;
    const left = [];
    for (const node of pending) {
      const anchor = node.neighborhood("node").filter((n) => placed.has(n.id()) && ideal.has(n.id()));
      if (anchor.empty() || !ideal.has(node.id())) {
        left.push(node);
        continue;
      }
      const a = anchor[0];
      const from = a.position();
      const want = ideal.get(node.id());
      const base = ideal.get(a.id());
      put(node, { x: from.x + want.x - base.x, y: from.y + want.y - base.y });
      progress = true;
    }
    pending = left;
  }

  // Nodes connected to nothing on screen: as dagre arranges them, below the graph.
  if (pending.length) {
    const rest = cy.collection(pending);
    const others = cy.nodes().not(HIDDEN_SELECTOR).difference(rest);
    const bb = others.nonempty() ? others.boundingBox({ includeLabels: true }) : { x1: 0, y2: -GAP };
    const xs = pending.map((n) => (ideal.get(n.id()) || n.position()).x);
    const ys = pending.map((n) => (ideal.get(n.id()) || n.position()).y);
    const dx = bb.x1 - Math.min(...xs);
    const dy = bb.y2 + 3 * GAP - Math.min(...ys);
    for (const node of pending) {
      const want = ideal.get(node.id()) || node.position();
      put(node, { x: want.x + dx, y: want.y + dy });
    }
  }
}

/**
 * Nodes a layout skipped because they were hidden (layouts.js layoutTargets): when they
 * come back (their hiding class goes), they are placed beside their neighbours as new nodes
 * are, not where an older layout had them. Nodes the user pinned (`isPinned(id)`) stay
 * where they were put; big graphs (`isBig()`) keep the server's positions.
 */
export function createReturning({ isPinned, isBig }) {
  let cy = null;
  let displaced = new Set();
  let back = [];

  function onClass(event) {
    const node = event.target;
    if (!displaced.has(node.id()) || node.is(HIDDEN_SELECTOR)) return;
    displaced.delete(node.id());
    if (!displaced.size) cy.off("class", "node", onClass);
    if (!back.length) setTimeout(place, 0);
    back.push(node);
  }

  function place() {
    const nodes = cy.collection(back).filter((n) => !n.removed() && !n.is(HIDDEN_SELECTOR));
    back = [];
    if (!isBig() && nodes.nonempty()) placeNewNodes(cy, nodes, LAYOUT_OPTIONS.dagre);
  }

  return {
    /** Before a layout of `instance`: remember which nodes it leaves out. */
    track(instance) {
      if (cy) cy.off("class", "node", onClass);
      cy = instance;
      const hidden = cy.nodes(HIDDEN_SELECTOR).filter((n) => !n.isParent() && !isPinned(n.id()));
      displaced = new Set(hidden.map((n) => n.id()));
      // Listen only while some are out: a class listener costs every class change an event.
      if (displaced.size) cy.on("class", "node", onClass);
    },
  };
}

// Nodes that came without a position in a big graph (a server that does not lay it
// out): beside a neighbour, or below the graph; never a layout of the whole graph.
export function placeBeside(cy, nodes) {
  if (nodes.empty()) return;
  const others = cy.nodes().difference(nodes);
  const bb = others.nonempty() ? others.boundingBox() : { x1: 0, y2: 0 };
  let spare = 0;
  nodes.forEach((node, i) => {
    const anchor = node.neighborhood("node").difference(nodes);
    if (anchor.nonempty()) {
      const p = anchor[0].position();
      node.position({ x: p.x + 120, y: p.y + 40 * ((i % 5) + 1) });
    } else {
      node.position({ x: bb.x1 + 120 * (spare % 40), y: bb.y2 + 100 + 70 * Math.floor(spare / 40) });
      spare += 1;
    }
  });
}
