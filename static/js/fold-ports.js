// An unfolded namespace of many nodes among folded ones (collapse.js): its nodes' edges to
// the folded boxes, one per (node, folded namespace), were thousands of lines across the
// picture at 10,000 workloads, a wall. Above PORT_ABOVE of them, they are bundled at the
// block's border: one small "port" node on the block's edge, facing each folded box, and
// one summed edge each way between the port and the box (coloured, labelled and as wide as
// any summed edge). The per-node edges are still drawn but tucked away (class "tucked",
// not displayed) until their node is selected (fold-tip.js shows them then), so that the
// side panel's peers and a node's neighbourhood stay whole.

import { mergeSum, newSum } from "./fold-edges.js";

export const PORT_PREFIX = "ml-port:";
// Above this many edges from one unfolded namespace's nodes to folded boxes: ports.
export const PORT_ABOVE = 200;

/**
 * `sums` (summed edges: [{source, target, ...}]), `nsOfShown` (node id -> namespace, for
 * the shown nodes), `summaryNs` (box id -> namespace), `layout` ({blocks, centres} from
 * collapse.js's placement; null when nothing is folded) and `prefix` (of summed edges'
 * ids). Returns {ports: node elements, sums: the port edges' sums, tucked: Set of the
 * namespaces whose per-node edges are tucked away}.
 */
export function bundle(sums, nsOfShown, summaryNs, layout, prefix) {
  const out = { ports: [], sums: [], tucked: new Set() };
  if (!layout) return out;
  const count = new Map();
  for (const sum of sums) {
    const ns = nsOfShown.get(sum.source) ?? nsOfShown.get(sum.target);
    if (ns !== undefined && (summaryNs.has(sum.source) || summaryNs.has(sum.target))) count.set(ns, (count.get(ns) || 0) + 1);
  }
  for (const [ns, n] of count) if (n > PORT_ABOVE && layout.blocks.has(ns)) out.tucked.add(ns);
  if (!out.tucked.size) return out;
  const bySum = new Map();
  const ports = new Map();
  for (const sum of sums) {
    const inbound = summaryNs.has(sum.source);
    const node = inbound ? sum.target : sum.source;
    const ns = nsOfShown.get(node);
    if (!out.tucked.has(ns)) continue;
    const box = inbound ? sum.source : sum.target;
    if (!summaryNs.has(box)) continue;
    const port = `${PORT_PREFIX}${ns}>${summaryNs.get(box)}`;
    if (!ports.has(port)) ports.set(port, portNode(port, ns, summaryNs.get(box), layout));
    const [from, to] = inbound ? [box, port] : [port, box];
    const id = `${prefix}${from}>${to}`;
    if (!bySum.has(id)) bySum.set(id, newSum(id, from, to));
    mergeSum(bySum.get(id), sum);
  }
  out.ports = [...ports.values()];
  out.sums = [...bySum.values()];
  return out;
}

// A port on the border of `ns`'s block, where the line from its centre to the box meets it.
function portNode(id, ns, boxNs, { blocks, centres }) {
  const block = blocks.get(ns);
  const c = centres.get(ns);
  const b = centres.get(boxNs) || c;
  const dx = b.x - c.x;
  const dy = b.y - c.y;
  const t = Math.min(dx ? block.width / 2 / Math.abs(dx) : Infinity, dy ? block.height / 2 / Math.abs(dy) : Infinity, 1);
  return {
    group: "nodes",
    classes: "port",
    data: { id, namespace: ns, toward: boxNs, label: "" },
    position: { x: Math.round(c.x + dx * (Number.isFinite(t) ? t : 0)), y: Math.round(c.y + dy * (Number.isFinite(t) ? t : 0)) },
  };
}
