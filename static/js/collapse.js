// Folded namespaces: above the big-graph threshold, each namespace starts as one node
// that shows how many nodes it holds and the worst health among them, with the edges
// between folded namespaces added up (how many, worst health). A tap on a folded
// namespace unfolds it; the Fold button folds them all again.
//
// The real elements stay in Cytoscape, hidden (class `folded`): the side panel, counts and
// deltas keep working on them, and unfolding is only a change of classes.

export const SUMMARY_PREFIX = "ml-ns:";
const AGGREGATE_PREFIX = "ml-agg:";
const WORST = ["Failure", "Degraded", "Healthy", "NA"];

function worse(a, b) {
  return WORST.indexOf(a) <= WORST.indexOf(b) ? a : b;
}

function plural(count, noun) {
  return `${count.toLocaleString("en")} ${noun}${count === 1 ? "" : "s"}`;
}

/** `button` (optional): folds every namespace, or unfolds them all when all are folded. */
export function createCollapse(cy, { button = null } = {}) {
  let active = false; // the graph on screen is big
  let folded = new Set(); // namespaces shown as one node
  let decided = false; // the namespaces were folded once for this graph
  let namespaces = []; // those with two nodes or more, at the last sync

  const summaryId = (ns) => `${SUMMARY_PREFIX}${ns}`;
  const isReal = (ele) => !ele.hasClass("summary") && !ele.hasClass("aggregate");

  cy.on("tap", "node.summary", (event) => {
    unfold(event.target.data("namespace"));
  });

  if (button) {
    // onclick, not a listener: a new Cytoscape instance (another renderer) takes it over.
    button.onclick = () => {
      if (folded.size === namespaces.length) folded.clear();
      else folded = new Set(namespaces);
      sync();
    };
  }

  /** Recompute what is folded; call after every change of the graph. */
  function update(big) {
    if (big && !active) decided = false;
    active = big;
    sync();
  }

  function unfold(ns) {
    folded.delete(ns);
    sync();
  }

  function sync() {
    const leaves = cy.nodes().filter((n) => isReal(n) && !n.data("isBox"));
    const byNs = new Map();
    leaves.forEach((node) => {
      const ns = node.data("namespace") || "";
      if (!byNs.has(ns)) byNs.set(ns, []);
      byNs.get(ns).push(node);
    });
    namespaces = [...byNs.keys()].filter((ns) => byNs.get(ns).length >= 2).sort();
    if (active && !decided) {
      // One namespace folded into one node would hide everything: fold only among several.
      folded = new Set(namespaces.length >= 2 ? namespaces : []);
      decided = true;
    }
    if (!active) folded.clear();
    for (const ns of folded) if (!byNs.has(ns) || byNs.get(ns).length < 2) folded.delete(ns);
    cy.batch(() => {
      foldMembers();
      syncSummaries(byNs);
      syncAggregates();
    });
    if (button) {
      button.hidden = !active || namespaces.length < 2;
      button.textContent = folded.size === namespaces.length ? "Unfold all" : "Fold namespaces";
    }
  }

  function foldMembers() {
    const shouldFold = (node) => folded.has(node.data("namespace") || "");
    cy.nodes().filter((n) => isReal(n)).forEach((node) => {
      const want = shouldFold(node);
      if (want !== node.hasClass("folded")) node.toggleClass("folded", want);
    });
  }

  function syncSummaries(byNs) {
    const wanted = new Set();
    for (const ns of folded) {
      const members = byNs.get(ns);
      const id = summaryId(ns);
      wanted.add(id);
      let health = "NA";
      for (const node of members) health = worse(health, node.data("healthStatus") || "NA");
      const data = {
        namespace: ns,
        summaryLabel: `${ns || "(no namespace)"}\n${plural(members.length, "node")}`,
        nodeCount: members.length,
        worstHealth: health,
      };
      const existing = cy.getElementById(id);
      if (existing.empty()) {
        cy.add({ group: "nodes", data: { id, ...data }, classes: "summary", position: centre(members) });
      } else if (changed(existing, data)) {
        existing.data(data);
      }
    }
    cy.nodes(".summary").filter((n) => !wanted.has(n.id())).remove();
  }

  // Where a folded namespace sits: the middle of its members (its band in the layout).
  function centre(members) {
    let x1 = Infinity;
    let x2 = -Infinity;
    let y1 = Infinity;
    let y2 = -Infinity;
    for (const node of members) {
      const p = node.position();
      x1 = Math.min(x1, p.x);
      x2 = Math.max(x2, p.x);
      y1 = Math.min(y1, p.y);
      y2 = Math.max(y2, p.y);
    }
    return { x: (x1 + x2) / 2, y: (y1 + y2) / 2 };
  }

  function syncAggregates() {
    const rep = (node) => {
      const ns = node.data("namespace") || "";
      return folded.has(ns) ? summaryId(ns) : node.id();
    };
    const sums = new Map();
    if (folded.size) {
      cy.edges().forEach((edge) => {
        if (!isReal(edge)) return;
        const source = rep(edge.source());
        const target = rep(edge.target());
        // An edge between two shown nodes is drawn itself; one inside a folded namespace is not.
        if (source === target || (source === edge.source().id() && target === edge.target().id())) return;
        const id = `${AGGREGATE_PREFIX}${source}>${target}`;
        const sum = sums.get(id) || { source, target, edgeCount: 0, worstHealth: "NA" };
        sum.edgeCount += 1;
        sum.worstHealth = worse(sum.worstHealth, edge.data("healthStatus") || "NA");
        sums.set(id, sum);
      });
    }
    cy.edges(".aggregate").filter((e) => !sums.has(e.id())).remove();
    for (const [id, sum] of sums) {
      const data = { edgeCount: sum.edgeCount, worstHealth: sum.worstHealth,
        summaryLabel: plural(sum.edgeCount, "edge") };
      const existing = cy.getElementById(id);
      if (existing.empty()) {
        cy.add({ group: "edges", data: { id, source: sum.source, target: sum.target, ...data }, classes: "aggregate" });
      } else if (changed(existing, data)) {
        existing.data(data);
      }
    }
  }

  function changed(ele, data) {
    return Object.entries(data).some(([key, value]) => ele.data(key) !== value);
  }

  return {
    update,
    unfold,
    /** The namespaces folded now, sorted. */
    folded: () => [...folded].sort(),
  };
}
