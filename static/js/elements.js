// Element JSON as the server sends it ({group, data, position}): what the view needs to
// know of it before it goes into Cytoscape.

import { isIdleEdge, num } from "./labels.js";

/**
 * Classes that stand for what the stylesheet cannot select by data: an idle edge has
 * traffic without rates; an mTLS edge has `isMTLS` above 0 (a percentage string).
 */
export function edgeClasses(data) {
  const mtls = num(data.isMTLS);
  return { idle: isIdleEdge(data), mtls: mtls > 0, "mtls-partial": mtls > 0 && mtls < 100 };
}

// The classes of a new element, given at once: a class set later restyles it again.
export function classesOf(element) {
  const classes = element.classes ? [element.classes] : [];
  if (element.group === "edges" && !element.classes) {
    for (const [name, on] of Object.entries(edgeClasses(element.data))) if (on) classes.push(name);
  }
  return classes.join(" ");
}

/** Deep equality of two JSON values, without serialising them. */
export function same(a, b) {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) if (!same(a[key], b[key])) return false;
  return true;
}

/**
 * Nodes before edges, and every node after its parent (a namespace box before the app
 * boxes in it), whatever order they arrive in: a child added before its parent would
 * lose it.
 */
export function parentsFirst(elements) {
  const nodes = elements.filter((e) => e.group === "nodes");
  const byId = new Map(nodes.map((n) => [n.data.id, n]));
  const ordered = [];
  const placed = new Set();
  function place(node, depth) {
    if (placed.has(node.data.id) || depth > byId.size) return; // depth: a cycle of parents
    const parent = byId.get(node.data.parent);
    if (parent) place(parent, depth + 1);
    placed.add(node.data.id);
    ordered.push(node);
  }
  for (const node of nodes) place(node, 0);
  return [...ordered, ...elements.filter((e) => e.group !== "nodes")];
}
