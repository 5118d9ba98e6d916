// The graph model, off the main thread (a module worker; model.js is its main-thread side).
//
// At 10,000 workloads a refresh is tens of megabytes of JSON: fetching, parsing and
// patching it, and working out what the page draws (the folded namespaces with their counts,
// worst health and summed edges: collapse.js), took the main thread 0.5-0.7 s per update.
// Here it blocks nothing. The main thread gets only what to change in Cytoscape: the drawn
// elements that came, went or changed, in parts small enough to apply between two frames.
//
// A small graph (under BIG_GRAPH_NODES nodes, and no server positions) is handed back whole:
// the page lays it out with dagre as before; its deltas come back with whole elements.
//
// Requests (each with a `seq`, answered in order):
//   {op: "snapshot", graph | href, reset}  a new graph; `reset`: fold its namespaces afresh
//   {op: "delta", delta | href}            a graph.delta; changed elements are patches
//   {op: "fold", action: "unfold" | "toggle", namespace}
//   {op: "find", find, hide}             the Find and Hide expressions (text)
//   {op: "clear"}
//   {op: "rules", rules}                    the admin's health rules (config.healthRules)
// Answers: {seq, part: {remove, add, update, tell}} any number of times, then
// {seq, done: true, kind: "big" | "small" | "none", graph, delta, counts, folds, timestamp,
//  duration, marks, error}.
//
// Find and Hide in a big graph are worked out here, over the whole graph: what they match
// inside a folded namespace is counted on its box (collapse.js), and `marks` ({find, hide:
// the expressions, found, hidden: ids among the real elements drawn, foundTotal,
// hiddenTotal}) tells the find bar what to mark among the elements drawn.

import { createCollapse } from "./collapse.js";
import { createRuleBook } from "./fold-health.js";
import { parentsFirst } from "./elements.js";
import { FindError, parseFind } from "./find.js";
import { foundIds, hiddenIds } from "./find-match.js";

// The same threshold as graph-view.js and graph/layout.py MIN_NODES.
const BIG_GRAPH_NODES = 300;
// Elements per part: Cytoscape adds or updates about this many well inside 100 ms.
const PART = 1500;

const model = { nodes: new Map(), edges: new Map() };
let big = false;
let timestamp = null;
let duration = null;
// The health rules the summed edges of folded namespaces are judged by (fold-health.js).
let rules = null;
const newCollapse = () => createCollapse({ book: createRuleBook(rules) });
let collapse = newCollapse();
// What the main thread draws: id -> the element JSON it was given (real elements) or the
// JSON text of a derived one (folded namespaces, summed edges).
let drawn = new Map();
// What each derived element drawn tells (JSON text of its `told`), as the page has it.
let toldBefore = new Map();
// The next plan starts from an empty drawing: the page must drop what it drew before.
let clearFirst = false;
// The Find and Hide expressions, as text and parsed (a bad one matches nothing).
const NOTHING = { clauses: [] };
let finding = { find: "", hide: "", parsed: { find: NOTHING, hide: NOTHING } };
// What they match in the model, as of the last plan.
let matched = { found: new Set(), hidden: new Set() };

function parsedOrNothing(text, kind) {
  try {
    return parseFind(text, kind);
  } catch (error) {
    if (error instanceof FindError) return NOTHING;
    throw error;
  }
}

// Find and Hide over the whole model (not what is drawn): Hide's "nodes whose edges all
// went" needs every edge, folded or not.
function match() {
  const { parsed } = finding;
  if (!parsed.find.clauses.length && !parsed.hide.clauses.length) {
    matched = { found: new Set(), hidden: new Set() };
    return;
  }
  const nodes = [];
  const edges = [];
  for (const node of model.nodes.values()) nodes.push(node.data);
  for (const edge of model.edges.values()) edges.push(edge.data);
  matched = { found: foundIds(parsed.find, nodes, edges), hidden: hiddenIds(parsed.hide, nodes, edges) };
}

// Among the real elements drawn, which Find and Hide mark; and how many in all.
function marks() {
  const found = [];
  const hidden = [];
  for (const [id, element] of drawn) {
    if (typeof element === "string") continue; // a derived one: its counts are its data
    if (matched.hidden.has(id)) hidden.push(id);
    else if (matched.found.has(id)) found.push(id);
  }
  let foundTotal = 0;
  for (const id of matched.found) if (!matched.hidden.has(id)) foundTotal += 1;
  return { find: finding.find, hide: finding.hide, found, hidden, foundTotal, hiddenTotal: matched.hidden.size };
}

const isDerived = (element) => Boolean(element.classes);

function asElement(group, element) {
  const out = { group, data: element.data };
  if (element.position) out.position = element.position;
  return out;
}

async function fetched(href) {
  const response = await fetch(href, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`HTTP ${response.status} for ${href}`);
  return response.json();
}

function loadSnapshot(graph, reset) {
  const elements = graph.elements || {};
  const nodes = elements.nodes || [];
  const wasBig = big;
  big = nodes.length >= BIG_GRAPH_NODES || nodes.some((n) => n.position);
  model.nodes.clear();
  model.edges.clear();
  for (const node of nodes) model.nodes.set(node.data.id, asElement("nodes", node));
  for (const edge of elements.edges || []) model.edges.set(edge.data.id, asElement("edges", edge));
  timestamp = graph.timestamp ?? null;
  duration = graph.duration ?? null;
  if (!big || !wasBig || reset) {
    collapse = newCollapse();
    drawn = new Map();
    clearFirst = true;
  }
}

// The element `patch` (id, the fields that changed, `unset`) makes of `before`.
function patched(before, patch) {
  const data = { ...before.data, ...patch.data };
  for (const key of patch.unset || []) delete data[key];
  const out = { group: before.group, data };
  const position = patch.position || before.position;
  if (position) out.position = position;
  return out;
}

/**
 * Apply a delta to the model; returns the whole elements it added and changed, or null
 * when it does not fit the model (an edge to a node that is not there, a patch of an
 * element that is not there).
 */
function loadDelta(delta) {
  const removed = delta.removed || [];
  const added = (delta.added || []).map((e) => asElement(e.group, e));
  const mapOf = (group) => (group === "nodes" ? model.nodes : model.edges);
  const changed = [];
  for (const patch of delta.changed || []) {
    const before = mapOf(patch.group).get(patch.data.id);
    if (!before) return null;
    changed.push(patched(before, patch));
  }
  const gone = new Set(removed);
  const comingNodes = new Set(added.filter((e) => e.group === "nodes").map((e) => e.data.id));
  const exists = (id) => comingNodes.has(id) || (!gone.has(id) && model.nodes.has(id));
  for (const edge of [...added, ...changed]) {
    if (edge.group === "edges" && !(exists(edge.data.source) && exists(edge.data.target))) return null;
  }
  for (const id of removed) {
    model.nodes.delete(id);
    model.edges.delete(id);
  }
  for (const element of [...added, ...changed]) mapOf(element.group).set(element.data.id, element);
  if (delta.timestamp !== undefined) timestamp = delta.timestamp;
  return { added, changed, removed };
}

function counts() {
  const tally = (elements) => {
    const out = { total: 0, failing: 0, degraded: 0 };
    for (const e of elements) {
      if (e.data.isBox) continue;
      out.total += 1;
      if (e.data.healthStatus === "Failure") out.failing += 1;
      else if (e.data.healthStatus === "Degraded") out.degraded += 1;
    }
    return out;
  };
  return { nodes: tally(model.nodes.values()), edges: tally(model.edges.values()) };
}

// Post what changed in the drawing since the last plan, in parts; nodes before edges.
function postPlan(seq) {
  const next = new Map();
  const add = [];
  const update = [];
  const tell = [];
  const nextTold = new Map();
  match();
  for (const element of collapse.plan(model, matched)) {
    const id = element.data.id;
    const before = drawn.get(id);
    if (isDerived(element)) {
      // Drawn and told apart: a change of what a summed edge tells alone goes to the page
      // without touching Cytoscape (summed-details.js).
      const { told, ...shown } = element;
      const text = JSON.stringify(shown);
      const toldText = told ? JSON.stringify(told) : "";
      next.set(id, text);
      nextTold.set(id, toldText);
      if (before === undefined) add.push(element);
      else if (before !== text) update.push(element);
      else if (toldBefore.get(id) !== toldText) tell.push({ id, told });
      continue;
    }
    next.set(id, element);
    if (before === undefined) add.push(element);
    else if (before !== element && JSON.stringify(before) !== JSON.stringify(element)) update.push(element);
  }
  const remove = [...drawn.keys()].filter((id) => !next.has(id));
  drawn = next;
  toldBefore = nextTold;
  // Each part says how the graph stands (counts, folds): the page is right from the first.
  const meta = { counts: counts(), folds: collapse.state(), progress: [0, remove.length + add.length + update.length + tell.length] };
  if (clearFirst) self.postMessage({ seq, ...meta, part: { clear: true } });
  clearFirst = false;
  postParts(seq, meta, "remove", remove);
  postParts(seq, meta, "add", parentsFirst(add));
  postParts(seq, meta, "update", parentsFirst(update));
  postParts(seq, meta, "tell", tell);
}

// `meta.progress`: [elements sent with this part and those before it, all to send].
function postParts(seq, meta, kind, items) {
  for (let start = 0; start < items.length; start += PART) {
    const slice = items.slice(start, start + PART);
    meta.progress = [meta.progress[0] + slice.length, meta.progress[1]];
    self.postMessage({ seq, ...meta, part: { [kind]: slice } });
  }
}

function done(seq, extra) {
  self.postMessage({
    seq,
    done: true,
    kind: big ? "big" : "small",
    counts: counts(),
    folds: collapse.state(),
    timestamp,
    duration,
    marks: big ? marks() : null,
    ...extra,
  });
}

async function handle(request) {
  const { seq, op } = request;
  if (op === "snapshot") {
    const graph = request.graph || (await fetched(request.href));
    loadSnapshot(graph, request.reset);
    if (!big) return done(seq, { graph });
    postPlan(seq);
    return done(seq, { reset: true });
  }
  if (op === "delta") {
    const delta = request.delta || (await fetched(request.href));
    const applied = loadDelta(delta);
    if (!applied) return done(seq, { error: "mismatch" });
    if (!big) return done(seq, { delta: { timestamp: delta.timestamp, ...applied } });
    postPlan(seq);
    return done(seq, {});
  }
  if (op === "fold") {
    if (big) {
      if (request.action === "unfold") collapse.unfold(request.namespace);
      else collapse.toggleAll();
      postPlan(seq);
    }
    return done(seq, {});
  }
  if (op === "find") {
    const text = { find: request.find || "", hide: request.hide || "" };
    if (text.find === finding.find && text.hide === finding.hide) return done(seq, {});
    finding = { ...text, parsed: { find: parsedOrNothing(text.find, "find"), hide: parsedOrNothing(text.hide, "hide") } };
    if (big) postPlan(seq);
    return done(seq, {});
  }
  if (op === "rules") {
    rules = request.rules || null;
    return done(seq, {});
  }
  if (op === "clear") {
    model.nodes.clear();
    model.edges.clear();
    big = false;
    collapse = newCollapse();
    drawn = new Map();
    clearFirst = true;
    return done(seq, {});
  }
  return done(seq, { error: `unknown request ${op}` });
}

// One request at a time, in the order they came: a fold never lands in the middle of a
// snapshot being fetched.
let chain = Promise.resolve();
self.addEventListener("message", (event) => {
  const request = event.data;
  chain = chain.then(() => handle(request)).catch((error) => {
    self.postMessage({ seq: request.seq, done: true, kind: "none", error: String(error.message || error) });
  });
});
