// Folded namespaces: in a big graph, each namespace starts as one node that shows how many
// nodes it holds and the worst health among them, with the edges between folded namespaces
// added up (how many, how many failing, worst health). A tap on a folded namespace unfolds
// it; the Fold button folds them all again, or unfolds them all.
//
// Only what is shown goes into Cytoscape: the whole graph stays in the view's model (plain
// element JSON), and `plan` says which elements to draw. A folded namespace of 1,500 nodes
// costs Cytoscape one node, which is what keeps a 10,000-workload mesh responsive.
//
// Where they go: the server's layout gives each namespace a horizontal band (graph/layout.py).
// A folded namespace sits at the left of the graph, level with its band, sized to it; the
// edges between folded namespaces arc out to the left (an arc diagram), so that they do
// not run over each other or over the boxes. An unfolded namespace's nodes appear in their
// band, to the right of the column of folded ones: nothing overlaps.

export const SUMMARY_PREFIX = "ml-ns:";
const AGGREGATE_PREFIX = "ml-agg:";
const WORST = ["Failure", "Degraded", "Healthy", "NA"];
const MIN_BOX = 54;
// Above this many summed edges, their counts would cover each other: only the boxes speak.
const MAX_LABELLED = 24;
const COLUMN_GAP = 240;

function worse(a, b) {
  return WORST.indexOf(a) <= WORST.indexOf(b) ? a : b;
}

function plural(count, noun) {
  return `${count.toLocaleString("en")} ${noun}${count === 1 ? "" : "s"}`;
}

// "37 edges, 2 failing"
function edgesLabel({ edgeCount, failing }) {
  return failing ? `${plural(edgeCount, "edge")}, ${failing} failing` : plural(edgeCount, "edge");
}

const namespaceOf = (data) => data.namespace || "";

// What Find and Hide match in the whole graph (ids), for plan(): none by default.
const NO_MARKS = { found: new Set(), hidden: new Set() };

// "ns3\n1,200 nodes (30 hidden)\n4 found": hidden nodes are not in the node count.
function summaryLabel(ns, nodes, found, hidden) {
  const count = hidden ? `${plural(nodes, "node")} (${hidden.toLocaleString("en")} hidden)` : plural(nodes, "node");
  const lines = [ns || "(no namespace)", count];
  if (found) lines.push(`${found.toLocaleString("en")} found`);
  return lines.join("\n");
}

/**
 * `onChange()` is called when the user folds or unfolds something (the view then draws
 * the new plan); `button` (optional) folds every namespace, or unfolds them all.
 */
export function createCollapse({ onChange = () => {}, button = null } = {}) {
  let folded = new Set(); // namespaces shown as one node
  let decided = false; // the namespaces were folded once for this graph
  let namespaces = []; // those with two nodes or more, at the last plan

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
   * JSON by id): shown nodes and edges as they are, and the folded namespaces and summed
   * edges that stand for the rest. `marks` ({found, hidden}: Sets of ids, what Find and
   * Hide match in the whole graph) are counted into the folded namespaces: hidden nodes
   * and edges leave their counts and sums, found ones are counted as found inside.
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
    const elements = [...shown.values(), ...summaries(byNs, marks, inFold)];
    const summaryAt = new Map(elements.filter((e) => e.classes === "summary").map((e) => [e.data.id, e]));
    const rep = (id) => {
      const node = model.nodes.get(id);
      const ns = node ? namespaceOf(node.data) : "";
      return folded.has(ns) && !node.data.isBox ? `${SUMMARY_PREFIX}${ns}` : id;
    };
    const sums = new Map();
    for (const edge of model.edges.values()) {
      const { source, target } = edge.data;
      if (shown.has(source) && shown.has(target)) {
        elements.push(edge);
        continue;
      }
      // Hidden (Hide): not drawn, not counted in a sum either.
      if (marks.hidden.has(edge.data.id)) continue;
      const from = rep(source);
      const to = rep(target);
      // Inside one folded namespace: not drawn. To or from a folded one: summed.
      if (from === to || !(shown.has(from) || summaryAt.has(from)) || !(shown.has(to) || summaryAt.has(to))) continue;
      const id = `${AGGREGATE_PREFIX}${from}>${to}`;
      const sum = sums.get(id) || { id, source: from, target: to, edgeCount: 0, failing: 0, found: 0, worstHealth: "NA" };
      sum.edgeCount += 1;
      if (edge.data.healthStatus === "Failure") sum.failing += 1;
      if (marks.found.has(edge.data.id)) sum.found += 1;
      sum.worstHealth = worse(sum.worstHealth, edge.data.healthStatus || "NA");
      sums.set(id, sum);
    }
    const labelled = sums.size <= MAX_LABELLED;
    for (const sum of sums.values()) elements.push(aggregate(sum, summaryAt, model, labelled));
    return elements;
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
    const bands = new Map([...folded].map((ns) => [ns, band(byNs.get(ns))]));
    const sizeOf = ({ top, bottom }) => Math.max(MIN_BOX, 0.7 * (bottom - top));
    const widest = Math.max(0, ...[...bands.values()].map((b) => 2.4 * sizeOf(b)));
    let left = Infinity;
    for (const members of byNs.values()) {
      for (const node of members) left = Math.min(left, node.position ? node.position.x : 0);
    }
    const out = [];
    for (const ns of folded) {
      // Hidden nodes are counted out: they neither add to the count nor colour the box.
      const members = byNs.get(ns).filter((node) => !marks.hidden.has(node.data.id));
      // Everything inside hidden: the box goes too, as an empty namespace box would.
      if (!members.length) continue;
      let health = "NA";
      for (const node of members) health = worse(health, node.data.healthStatus || "NA");
      const { top, bottom } = bands.get(ns);
      const height = sizeOf(bands.get(ns));
      const { found = 0, hidden = 0 } = inFold.get(ns) || {};
      out.push({
        group: "nodes",
        classes: "summary",
        data: {
          id: `${SUMMARY_PREFIX}${ns}`,
          namespace: ns,
          summaryLabel: summaryLabel(ns, members.length, found, hidden),
          nodeCount: members.length,
          foundCount: found,
          hiddenCount: hidden,
          worstHealth: health,
          boxWidth: 2.4 * height,
          boxHeight: height,
          fontSize: Math.max(13, height / 4),
        },
        // One column, centred, clear of the leftmost nodes.
        position: { x: left - COLUMN_GAP - widest / 2, y: (top + bottom) / 2 },
      });
    }
    return out;
  }

  // The rows a namespace's members take: its band in the server's layout.
  function band(members) {
    let top = Infinity;
    let bottom = -Infinity;
    for (const node of members) {
      const y = node.position ? node.position.y : 0;
      top = Math.min(top, y);
      bottom = Math.max(bottom, y);
    }
    return { top, bottom };
  }

  function aggregate(sum, summaryAt, model, labelled) {
    const end = (id) => summaryAt.get(id) || model.nodes.get(id);
    const from = end(sum.source);
    const to = end(sum.target);
    const height = (node) => node.data.boxHeight || 0;
    // Thickness and text in proportion to the boxes, which grow with the graph.
    const scale = Math.max(height(from), height(to), MIN_BOX) / MIN_BOX;
    const arc = summaryAt.has(sum.source) && summaryAt.has(sum.target);
    const dy = (to.position ? to.position.y : 0) - (from.position ? from.position.y : 0);
    return {
      group: "edges",
      classes: arc ? "aggregate arc" : "aggregate",
      data: {
        id: sum.id,
        source: sum.source,
        target: sum.target,
        edgeCount: sum.edgeCount,
        failing: sum.failing,
        foundCount: sum.found,
        worstHealth: sum.worstHealth,
        // A single edge to a shown node needs no count.
        summaryLabel: labelled && (arc || sum.edgeCount > 1) ? edgesLabel(sum) : "",
        lineWidth: scale * (1.5 + Math.log2(sum.edgeCount)),
        fontSize: scale * 10,
        // Out to the left, a little further for upward edges than for downward ones.
        arc: dy * (dy > 0 ? 0.45 : 0.6),
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
