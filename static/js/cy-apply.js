// Element JSON into a Cytoscape instance: what is new is added (in one add, nodes before
// edges), what is there gets the data it came with, in place, so that it keeps its position.

import { classesOf, edgeClasses, parentsFirst, same } from "./elements.js";

// Fields Cytoscape owns and will not change through ele.data().
const FIXED_FIELDS = new Set(["id", "source", "target", "parent"]);

/** Elements the page adds itself (folded namespaces and their edges), not the server. */
export const isDerived = (ele) => ele.hasClass("summary") || ele.hasClass("aggregate") || ele.hasClass("port");

// The classes collapse.js gives what it derives; others (find, faded...) are the page's.
const DERIVED_CLASSES = ["summary", "port", "aggregate", "between", "behind", "loose", "tucked", "ported"];

// A derived element already drawn: its classes follow the plan's (an edge between folded
// boxes steps behind when a namespace is unfolded), the page's own stay.
function markDerived(ele, classes) {
  const wanted = new Set(classes.split(" "));
  for (const name of DERIVED_CLASSES) {
    if (ele.hasClass(name) !== wanted.has(name)) ele.toggleClass(name, wanted.has(name));
  }
}

// An edge already drawn: its classes follow its data again (elements.js edgeClasses).
function markClasses(ele) {
  if (!ele.isEdge() || ele.hasClass("aggregate")) return;
  for (const [name, on] of Object.entries(edgeClasses(ele.data()))) {
    if (ele.hasClass(name) !== on) ele.toggleClass(name, on);
  }
}

/** Remove `collection`; a compound parent's children stay (they would go with it). */
export function removeElements(collection) {
  const leaving = new Set(collection.map((ele) => ele.id()));
  collection
    .nodes()
    .children()
    .filter((child) => !leaving.has(child.id()))
    .move({ parent: null });
  collection.remove();
}

/**
 * Add the new `elements` to `cy` and replace the data of those it has; returns the added
 * ones. `serverPositions` (id -> position) learns the positions the server gave.
 * New elements go to Cytoscape in one add: thousands of single adds cost seconds.
 */
export function upsert(cy, elements, serverPositions) {
  const fresh = [];
  for (const element of parentsFirst(elements)) {
    const data = element.data;
    const existing = cy.getElementById(data.id);
    const planned = serverPositions.get(data.id);
    if (element.position && !element.classes) serverPositions.set(data.id, element.position);
    if (existing.nonempty() && existing.isEdge() && endsChanged(existing, data)) existing.remove();
    if (existing.empty() || existing.removed()) {
      const json = { group: element.group, data, classes: classesOf(element) };
      if (element.position) json.position = { ...element.position };
      fresh.push(json);
    } else {
      replaceData(existing, data);
      if (element.classes) markDerived(existing, element.classes);
      else markClasses(existing);
      // A folded namespace goes where the plan puts it; a real node stays where it is (and
      // where the user dragged it) unless its place in the plan changed: a namespace folded
      // or unfolded next to it moves its block (collapse.js).
      const placedByPlan = element.classes === "summary" || element.classes === "port";
      if (placedByPlan || (element.position && planned && moved(planned, element.position))) {
        existing.position({ ...element.position });
      }
    }
  }
  if (!fresh.length) return cy.collection();
  // Nodes styled before their edges exist: a node's first style dirties the bounds of
  // every connected edge, which on a service with hundreds of callers costs seconds.
  const nodes = cy.add(fresh.filter((e) => e.group === "nodes"));
  nodes.forEach((node) => {
    node.pstyle("width");
  });
  return nodes.union(cy.add(fresh.filter((e) => e.group === "edges")));
}

const moved = (a, b) => a.x !== b.x || a.y !== b.y;

function endsChanged(edge, data) {
  return edge.data("source") !== data.source || edge.data("target") !== data.target;
}

function replaceData(ele, data) {
  const old = ele.data();
  if (ele.isNode() && (old.parent || null) !== (data.parent || null)) {
    ele.move({ parent: data.parent || null });
  }
  const gone = Object.keys(old).filter((key) => !(key in data) && !FIXED_FIELDS.has(key) && old[key] !== undefined);
  if (gone.length) ele.removeData(gone.join(" "));
  const fresh = {};
  for (const [key, value] of Object.entries(data)) {
    if (!FIXED_FIELDS.has(key) && !same(old[key], value)) {
      fresh[key] = value;
    }
  }
  if (Object.keys(fresh).length) ele.data(fresh);
}

/** Whether every edge in a delta ends at nodes that exist once the delta is applied. */
export function fitsGraph(cy, incoming, removedIds) {
  const incomingNodes = new Set(incoming.filter((e) => e.group === "nodes").map((e) => e.data.id));
  const known = (id) => cy.getElementById(id).nonempty();
  const exists = (id) => incomingNodes.has(id) || (!removedIds.has(id) && known(id));
  return incoming
    .filter((e) => e.group === "edges")
    .every((e) => exists(e.data.source) && exists(e.data.target));
}
