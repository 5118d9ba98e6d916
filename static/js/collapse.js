// Folded namespaces: in a big graph, each namespace starts as one node that shows how many
// nodes it holds, how many fail and the worst health among them, with the edges of each
// ordered pair of folded namespaces added up into one (how many, their traffic, their summed
// error rate, the worst few). A tap on a folded namespace unfolds it; the Fold button folds
// them all again, or unfolds them all.
//
// Only what is shown goes into Cytoscape: the whole graph stays in the view's model (plain
// element JSON), and `plan` says which elements to draw. A folded namespace of 1,500 nodes
// costs Cytoscape one node, which is what keeps a 10,000-workload mesh responsive.
//
// Where they go: once anything is folded, fold-layout.js arranges the folded boxes (a ring,
// or layers when the namespaces form a hierarchy) and each unfolded namespace as a compact
// block of its nodes; with nothing folded, every node is where the server put it. The
// edges that stand for many are coloured by their members' summed error rate (fold-edges.js),
// judged by the admin's health rules (`book`: fold-health.js).

import {
  addMember,
  coarse,
  createSteadyLook,
  memberLines,
  newSum,
  peerFigures,
  sumErrorPercent,
  sumHealth,
  sumLabel,
  worse,
} from "./fold-edges.js";
import { createRuleBook } from "./fold-health.js";
import { arrange, block } from "./fold-layout.js";
import { bundle } from "./fold-ports.js";

export const SUMMARY_PREFIX = "ml-ns:";
const AGGREGATE_PREFIX = "ml-agg:";
const MIN_BOX = 54;
// Above this many edges of a kind (from shown nodes to folded boxes; between two boxes),
// their labels would cover each other: only the unhealthy ones are labelled then (the
// others say theirs on hover, fold-tip.js).
const MAX_LABELLED = 24;

function plural(count, noun) {
  return `${count.toLocaleString("en")} ${noun}${count === 1 ? "" : "s"}`;
}

const namespaceOf = (data) => data.namespace || "";

// What Find and Hide match in the whole graph (ids), for plan(): none by default.
const NO_MARKS = { found: new Set(), hidden: new Set() };

// "ns3\n1,200 nodes (30 hidden)\n12 failing\n4 found": hidden nodes are not counted.
function summaryLabel(ns, nodes, failing, found, hidden) {
  const count = hidden ? `${plural(nodes, "node")} (${hidden.toLocaleString("en")} hidden)` : plural(nodes, "node");
  const lines = [ns || "(no namespace)", count];
  if (failing) lines.push(`${failing.toLocaleString("en")} failing`);
  if (found) lines.push(`${found.toLocaleString("en")} found`);
  return lines.join("\n");
}

// A folded box's height: it grows with the namespace, slowly (1,500 nodes: about 4 x).
const boxHeight = (count) => MIN_BOX * (1 + Math.log10(Math.max(1, count)));

/**
 * `onChange()` is called when the user folds or unfolds something (the view then draws
 * the new plan); `button` (optional) folds every namespace, or unfolds them all; `book`:
 * the health rules the summed edges are judged by (fold-health.js createRuleBook).
 */
export function createCollapse({ onChange = () => {}, button = null, book = createRuleBook(null) } = {}) {
  let folded = new Set(); // namespaces shown as one node
  let decided = false; // the namespaces were folded once for this graph
  let namespaces = []; // those with two nodes or more, at the last plan
  // A shown node moved into its namespace's block: the copy drawn, while its element and
  // place stay the same (the worker compares drawn elements by identity first).
  let moved = new Map();
  // The summed edges' labels and widths, held still through small moves (fold-edges.js).
  const steady = createSteadyLook();
  // Where the last plan put the unfolded blocks and every piece's centre (fold-ports.js).
  let layout = null;

  if (button) {
    button.addEventListener("click", () => {
      if (folded.size === namespaces.length) folded.clear();
      else folded = new Set(namespaces);
      onChange();
    });
  }

  function showButton(active) {
    if (!button) return;
    button.hidden = !active || namespaces.length < 2;
    button.textContent = folded.size === namespaces.length ? "Unfold all" : "Fold namespaces";
  }

  /**
   * The elements to draw for the whole graph `model` ({ nodes: Map, edges: Map } of element
   * JSON by id): shown nodes and edges, and the folded namespaces and summed edges that
   * stand for the rest. `marks` ({found, hidden}: Sets of ids, what Find and Hide match in
   * the whole graph) are counted into the folded namespaces: hidden nodes and edges leave
   * their counts and sums, found ones are counted as found inside.
   */
  function plan(model, marks = NO_MARKS) {
    const byNs = new Map();
    for (const node of model.nodes.values()) {
      if (node.data.isBox) continue;
      const ns = namespaceOf(node.data);
      if (!byNs.has(ns)) byNs.set(ns, []);
      byNs.get(ns).push(node);
    }
    namespaces = [...byNs.keys()].filter((ns) => byNs.get(ns).length >= 2).sort();
    if (!decided) {
      // One namespace folded into one node would hide everything: fold only among several.
      folded = new Set(namespaces.length >= 2 ? namespaces : []);
      decided = true;
    }
    for (const ns of folded) if (!namespaces.includes(ns)) folded.delete(ns);
    showButton(true);

    const shown = shownNodes(model, byNs);
    const inFold = foldedTallies(model, marks);
    const boxes = summaries(byNs, marks, inFold);
    const summaryAt = new Map(boxes.map((e) => [e.data.id, e]));
    const rep = (id, node) => {
      const ns = node ? namespaceOf(node.data) : "";
      return folded.has(ns) && !node.data.isBox ? `${SUMMARY_PREFIX}${ns}` : id;
    };
    const edges = [];
    const sums = new Map();
    const pairs = new Map(); // "a\u0000b" -> [a, b]: namespaces that call each other
    for (const edge of model.edges.values()) {
      const { source, target } = edge.data;
      const sourceNode = model.nodes.get(source);
      const targetNode = model.nodes.get(target);
      notePair(pairs, sourceNode, targetNode);
      if (shown.has(source) && shown.has(target)) {
        edges.push(edge);
        continue;
      }
      // Hidden (Hide): not drawn, not counted in a sum either.
      if (marks.hidden.has(edge.data.id)) continue;
      const from = rep(source, sourceNode);
      const to = rep(target, targetNode);
      // Inside one folded namespace: not drawn. To or from a folded one: summed.
      if (from === to || !(shown.has(from) || summaryAt.has(from)) || !(shown.has(to) || summaryAt.has(to))) continue;
      const id = `${AGGREGATE_PREFIX}${from}>${to}`;
      if (!sums.has(id)) sums.set(id, newSum(id, from, to));
      const rules = [sourceNode ? book.ruleOf(sourceNode.data) : -1, targetNode ? book.ruleOf(targetNode.data) : -1];
      addMember(sums.get(id), edge.data, marks.found.has(edge.data.id), ...rules);
    }
    const nodes = placed(byNs, shown, boxes, [...pairs.values()]);
    const nsOfShown = new Map();
    for (const [id, node] of shown) if (!node.data.isBox) nsOfShown.set(id, namespaceOf(node.data));
    const ported = bundle([...sums.values()], nsOfShown, new Map(boxes.map((b) => [b.data.id, b.data.namespace])), layout, AGGREGATE_PREFIX);
    // With a namespace unfolded, the view is about it: the pairs of folded boxes step back.
    const behind = namespaces.some((ns) => !folded.has(ns));
    const kindOf = (sum) => {
      if (summaryAt.has(sum.source) && summaryAt.has(sum.target)) return behind ? "between behind" : "between";
      const ns = nsOfShown.get(summaryAt.has(sum.source) ? sum.target : sum.source);
      return ported.tucked.has(ns) ? "tucked" : "loose";
    };
    const kinds = [...sums.values()].map((sum) => [sum, kindOf(sum)]);
    for (const sum of ported.sums) kinds.push([sum, "ported"]);
    const many = (kind) => kinds.filter(([, k]) => k === kind).length > MAX_LABELLED;
    const crowded = { between: many("between"), loose: many("loose"), ported: many("ported") };
    const named = (id) => {
      const node = summaryAt.get(id) || model.nodes.get(id);
      return node ? node.data.label || node.data.namespace || id : id;
    };
    const aggregates = kinds.map(([sum, kind]) => aggregate(sum, kind, summaryAt, crowded, named));
    steady.next();
    return [...nodes, ...boxes, ...ported.ports, ...edges, ...aggregates];
  }

  function notePair(pairs, from, to) {
    if (!from || !to) return;
    const a = namespaceOf(from.data);
    const b = namespaceOf(to.data);
    if (a === b) return;
    const key = `${a}\u0000${b}`;
    if (!pairs.has(key)) pairs.set(key, [a, b]);
  }

  /**
   * The shown nodes, where they are drawn: with nothing folded, where the server put them;
   * else each namespace as a block, arranged with the folded boxes (whose positions are
   * set here too).
   */
  function placed(byNs, shown, boxes, pairs) {
    layout = null;
    if (!folded.size) {
      moved = new Map();
      return [...shown.values()];
    }
    const pieces = [];
    const blocks = new Map();
    for (const ns of [...byNs.keys()].sort()) {
      if (folded.has(ns)) continue;
      const b = block(byNs.get(ns));
      blocks.set(ns, b);
      pieces.push({ name: ns, width: b.width, height: b.height, folded: false });
    }
    for (const box of boxes) {
      pieces.push({ name: box.data.namespace, width: box.data.boxWidth, height: box.data.boxHeight, folded: true });
    }
    pieces.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const { centres, shape } = arrange(pieces, pairs);
    layout = { blocks, centres };
    for (const box of boxes) {
      box.position = { ...centres.get(box.data.namespace) };
      box.data.arrangement = shape;
    }
    const out = [];
    const next = new Map();
    for (const node of shown.values()) {
      const ns = namespaceOf(node.data);
      const b = node.data.isBox ? null : blocks.get(ns);
      if (!b) {
        out.push(node); // a box: Cytoscape places it around its members
        continue;
      }
      const centre = centres.get(ns);
      const at = b.at.get(node.data.id);
      const x = Math.round(centre.x - b.width / 2 + at.x);
      const y = Math.round(centre.y - b.height / 2 + at.y);
      const before = moved.get(node.data.id);
      const copy = before && before.node === node && before.copy.position.x === x && before.copy.position.y === y
        ? before.copy
        : { group: node.group, data: node.data, position: { x, y } };
      next.set(node.data.id, { node, copy });
      out.push(copy);
    }
    moved = next;
    return out;
  }

  // What Find and Hide match out of sight, by folded namespace: {found, hidden}. Found
  // counts nodes and edges (an edge in its source's namespace when that one is folded, else
  // in its target's: an edge between two folded namespaces counts once); hidden counts the
  // nodes taken out (hidden edges show in the sums of edges).
  function foldedTallies(model, marks) {
    const tallies = new Map();
    if (!marks.found.size && !marks.hidden.size) return tallies;
    const tally = (ns) => {
      if (!tallies.has(ns)) tallies.set(ns, { found: 0, hidden: 0 });
      return tallies.get(ns);
    };
    const count = (ns, id, isNode) => {
      if (marks.hidden.has(id)) {
        if (isNode) tally(ns).hidden += 1;
      } else if (marks.found.has(id)) tally(ns).found += 1;
    };
    const foldedNs = (id) => {
      const node = model.nodes.get(id);
      if (!node || node.data.isBox) return null;
      const ns = namespaceOf(node.data);
      return folded.has(ns) ? ns : null;
    };
    for (const node of model.nodes.values()) {
      if (!node.data.isBox && folded.has(namespaceOf(node.data))) count(namespaceOf(node.data), node.data.id, true);
    }
    for (const edge of model.edges.values()) {
      const ns = foldedNs(edge.data.source) ?? foldedNs(edge.data.target);
      if (ns !== null) count(ns, edge.data.id, false);
    }
    return tallies;
  }

  // Nodes of unfolded namespaces, and the boxes around them.
  function shownNodes(model, byNs) {
    const shown = new Map();
    for (const [ns, members] of byNs) {
      if (folded.has(ns)) continue;
      for (const node of members) {
        shown.set(node.data.id, node);
        let parent = model.nodes.get(node.data.parent);
        while (parent && !shown.has(parent.data.id)) {
          shown.set(parent.data.id, parent);
          parent = model.nodes.get(parent.data.parent);
        }
      }
    }
    return shown;
  }

  function summaries(byNs, marks, inFold) {
    const out = [];
    for (const ns of [...folded].sort()) {
      // Hidden nodes are counted out: they neither add to the count nor colour the box.
      const members = byNs.get(ns).filter((node) => !marks.hidden.has(node.data.id));
      // Everything inside hidden: the box goes too, as an empty namespace box would.
      if (!members.length) continue;
      let health = "NA";
      let failing = 0;
      for (const node of members) {
        health = worse(health, node.data.healthStatus || "NA");
        if (node.data.healthStatus === "Failure") failing += 1;
      }
      const height = boxHeight(members.length);
      const { found = 0, hidden = 0 } = inFold.get(ns) || {};
      out.push({
        group: "nodes",
        classes: "summary",
        data: {
          id: `${SUMMARY_PREFIX}${ns}`,
          namespace: ns,
          summaryLabel: summaryLabel(ns, members.length, failing, found, hidden),
          nodeCount: members.length,
          failingCount: failing,
          foundCount: found,
          hiddenCount: hidden,
          worstHealth: health,
          boxWidth: 2.4 * height,
          boxHeight: height,
          fontSize: Math.max(13, height / 5),
        },
        position: { x: 0, y: 0 }, // placed() arranges them
      });
    }
    return out;
  }

  // A summed edge of one `kind`: "between" two folded boxes (thick, labelled; "between
  // behind" when a namespace is unfolded: faint), "loose" from a shown node to a box (thin,
  // light: there can be thousands), "tucked" (the same, not displayed: its namespace's
  // edges go through ports) or "ported" (a port on a block's border to a box).
  function aggregate(sum, kind, summaryAt, crowded, named) {
    const boxy = kind !== "loose" && kind !== "tucked";
    const height = (id) => (summaryAt.has(id) ? summaryAt.get(id).data.boxHeight : 0);
    // Thickness and text in proportion to the boxes, which grow with the graph.
    const scale = boxy ? Math.max(height(sum.source), height(sum.target), MIN_BOX) / MIN_BOX : 1;
    const health = sumHealth(sum, book);
    const text = sumLabel(sum);
    const look = steady.look(sum);
    const unhealthy = health === "Failure" || health === "Degraded";
    const labelled = kind !== "tucked" && kind !== "between behind" && (!crowded[kind] || unhealthy);
    return {
      group: "edges",
      classes: `aggregate ${kind}`,
      // What is drawn: a change restyles and redraws the edge.
      data: {
        id: sum.id,
        source: sum.source,
        target: sum.target,
        foundCount: sum.found,
        // The pair's health from its summed errors (the colour).
        health,
        summaryLabel: labelled ? look.text : "",
        // Boxes grow with the graph, and their edges with them, but less than the boxes.
        lineWidth: Math.round(4 * Math.sqrt(scale) * look.width) / 4,
        fontSize: scale * 10,
      },
      // What it tells on hover and in the side panel, kept off Cytoscape (summed-details.js):
      // these move on nearly every live update, and each change of an edge's data restyles
      // and redraws it (at 10,000 workloads, frames of 50-140 ms after an update).
      told: {
        edgeCount: sum.edgeCount,
        failing: sum.failing,
        worstHealth: sum.memberHealth, // its worst member's health
        errorPercent: coarse(sumErrorPercent(sum)),
        requestRate: coarse(sum.http + sum.grpc),
        members: memberLines(sum, named),
        memberIds: sum.worst.map((m) => m.id),
        rateText: text,
        // A real node's edges with a folded namespace: the side panel's figures of that peer.
        ...(boxy ? {} : peerFigures(sum)),
      },
    };
  }

  return {
    plan,
    /** A new graph, not the next state of this one: fold its namespaces afresh. */
    reset() {
      decided = false;
      showButton(false);
    },
    unfold(ns) {
      folded.delete(ns);
      onChange();
    },
    /** Fold every namespace, or unfold them all when all are folded (the Fold button). */
    toggleAll() {
      if (folded.size === namespaces.length) folded.clear();
      else folded = new Set(namespaces);
      onChange();
    },
    /** What the Fold button shows: how many namespaces can fold, and which are folded. */
    state: () => ({ count: namespaces.length, folded: [...folded].sort() }),
    /** The namespaces folded now, sorted. */
    folded: () => [...folded].sort(),
  };
}
