// The Cytoscape view: setup, dagre layout left to right, and applying snapshots
// and deltas in place so that nodes keep their positions across updates.
//
// Every graph message goes through the model worker (model-worker.js), which fetches,
// parses and patches the graph off the main thread. A small graph comes back whole and is
// laid out here by dagre. A big graph (BIG_GRAPH_NODES nodes or more, or one whose nodes
// come with positions: the server lays those out, graph/layout.py) stays in the worker,
// which folds its namespaces (collapse.js) and sends only what to change in Cytoscape, in
// parts applied one per task; it is drawn at the positions the server gives, never
// through dagre, by WebGL when the browser has a GPU (renderer.js).

import { fitsGraph, isDerived, removeElements, upsert as upsertInto } from "./cy-apply.js";
import { coveredBelow, fitViewport } from "./fit-area.js";
import { createLabelPlacer, placeLabels } from "./fold-labels.js";
import { createModel } from "./model.js";
import { layoutOptions, layoutTargets } from "./layouts.js";
import { createReturning, placeBeside, placeNewNodes } from "./placement.js";
import { chooseRenderer, probeWebgl } from "./renderer.js";
import { buildStylesheet } from "./styles.js";
import { createSummedDetails } from "./summed-details.js";

// The same threshold as graph/layout.py MIN_NODES.
export const BIG_GRAPH_NODES = 300;
const BIG_MIN_ZOOM = 0.01;
// Elements per part of a drawing (model-worker.js PART).
const PART_SIZE = 1500;
const SMALL_MIN_ZOOM = 0.15;

/**
 * `nodeLabel(node)` and `edgeLabel(edge)` give the text drawn on each element;
 * `renderer`: "auto", "webgl" or "canvas" (the page's `renderer` option); `foldButton`:
 * the button that folds and unfolds namespaces; `progress`: where to say how far the
 * drawing of many elements has come (unfolding every namespace of a big graph);
 * `healthRules`: the admin's rules, which a folded namespace's summed edges are judged by;
 * `tools`: the buttons floating over the graph's bottom, which a fitted graph keeps clear of.
 */
export function createGraphView(container, { nodeLabel, edgeLabel, renderer = "auto", foldButton = null, progress = null, isPinned = () => false, healthRules = null, tools = null }) {
  const cytoscape = window.cytoscape;
  const styles = [false, true].map((isBig) => buildStylesheet({ nodeLabel, edgeLabel, big: isBig }));
  const probe = probeWebgl();
  const recreated = [];
  let cy = null;
  let drawing = null; // { webgl, reason, big }
  let big = false;
  const serverPositions = new Map(); // node id -> the position the server gave
  // A big graph's counts ({nodes, edges}: {total, failing, degraded}) and folds ({count,
  // folded}), as the worker last told them.
  let bigCounts = null;
  let folds = { count: 0, folded: [] };
  // What Find and Hide mark in a big graph, as the worker worked it out over the whole
  // graph (model-worker.js marks()); null for a small graph, which the find bar marks itself.
  let bigMarks = null;
  const marksListeners = [];
  let arrived = []; // nodes added without a position from the server, since the last answer
  let holding = false; // a batch is held open between the parts of one drawing
  const labels = createLabelPlacer(); // summed edges' labels where they fit
  let finished = 0; // drawings of a big graph finished (tests and scripts wait on it)
  const model = createModel({ onPart: applyPart, healthRules });
  // What summed edges tell (their tip, the side panel), off Cytoscape.
  const details = createSummedDetails();
  const upsert = (elements) => upsertInto(cy, elements, serverPositions);
  // The chosen layout's options (layouts.js); dagre until the page says otherwise.
  let chosenLayout = layoutOptions("dagre");
  if (foldButton) foldButton.addEventListener("click", () => fold("toggle"));

  // Hidden nodes a layout skipped are placed again when they come back (placement.js).
  const returning = createReturning({ isPinned, isBig: () => big });
  let laidOut = false;
  let layout = null;
  // Once the user pans or zooms, layouts and resizes stop re-fitting the viewport under them.
  let userMovedViewport = false;

  // Cytoscape takes its renderer when it is created: another renderer, another instance.
  function createCy(choice) {
    if (cy) cy.destroy();
    holding = false;
    drawing = { ...choice, big };
    cy = cytoscape({
      container,
      style: styles[big ? 1 : 0],
      minZoom: big ? BIG_MIN_ZOOM : SMALL_MIN_ZOOM,
      maxZoom: 3,
      boxSelectionEnabled: false,
      selectionType: "single",
      renderer: { name: "canvas", webgl: choice.webgl },
    });
    cy.on("dragpan scrollzoom pinchzoom", () => {
      userMovedViewport = true;
    });
    cy.on("tap", "node.summary", (event) => fold("unfold", event.target.data("namespace")));
    cy.on("dragfree", "node.summary", () => placeLabels(cy));
    document.body.dataset.renderer = choice.webgl ? "webgl" : "canvas";
    document.body.dataset.rendererReason = choice.reason;
    for (const listener of recreated) listener(cy);
  }
  createCy(chooseRenderer(false, renderer, probe));

  // The right renderer for a graph of this size, and the zoom range it needs.
  function sizeFor(graphIsBig) {
    big = graphIsBig;
    const choice = chooseRenderer(big, renderer, probe);
    if (choice.webgl !== drawing.webgl || big !== drawing.big) {
      createCy(choice);
      laidOut = false;
    } else {
      drawing = { ...choice, big };
      document.body.dataset.rendererReason = choice.reason;
    }
    cy.minZoom(big ? BIG_MIN_ZOOM : SMALL_MIN_ZOOM);
  }

  // The container changes size when the side panel opens or the window is resized:
  // fit again, or keep the centre where it was if the user has chosen a viewport.
  let size = { w: container.clientWidth, h: container.clientHeight };
  new ResizeObserver(() => {
    const next = { w: container.clientWidth, h: container.clientHeight };
    if (next.w === size.w && next.h === size.h) return;
    const pan = cy.pan();
    cy.resize();
    if (userMovedViewport || cy.elements().empty()) {
      cy.pan({ x: pan.x + (next.w - size.w) / 2, y: pan.y + (next.h - size.h) / 2 });
    } else {
      fitNow();
    }
    size = next;
  }).observe(container);

  // What is drawn (folded namespaces are not in Cytoscape at all).
  function shown() {
    return cy.elements();
  }

  function runLayout({ fit, animate }) {
    if (layout) layout.stop();
    if (big) {
      // The server's positions are the layout: dagre on thousands of nodes freezes the page.
      cy.batch(() => {
        for (const [id, position] of serverPositions) cy.getElementById(id).position(position);
      });
      if (fit || !userMovedViewport) fitNow();
      laidOut = true;
      return;
    }
    const doFit = fit || !userMovedViewport;
    // Hidden elements are left out: they take no space, and keep their positions.
    returning.track(cy);
    layout = layoutTargets(cy).layout({
      ...chosenLayout,
      fit: doFit,
      animate: animate && cy.nodes().length < 300,
      animationDuration: 350,
    });
    layout.run();
    laidOut = true;
  }

  // The whole drawing in view, clear of the floating tools (fit-area.js).
  const fitted = () => fitViewport(cy, shown(), chosenLayout.padding, coveredBelow(container, tools));
  function fitNow() {
    const viewport = fitted();
    if (viewport) cy.viewport(viewport);
  }

  function fit() {
    userMovedViewport = false;
    cy.stop();
    const viewport = fitted();
    if (viewport) cy.animate(viewport, { duration: 250 });
  }

  /**
   * A graph.snapshot message (inline `graph`, or `href`), through the worker; resolves to
   * { timestamp, duration }, or null when it could not be had (the caller reconnects).
   */
  async function snapshot(message, { relayout = false } = {}) {
    arrived = [];
    const answer = await model.snapshot(message, relayout || !laidOut);
    if (answer.error) release();
    if (answer.error) {
      console.warn(`meshlens: snapshot ${message.version ?? ""} not shown: ${answer.error}`);
      return null;
    }
    if (answer.kind === "small") bigMarks = null;
    if (answer.kind === "small") applySnapshot(answer.graph, { relayout });
    else finishBig(answer, relayout || !laidOut || !drawing.big);
    return answer;
  }

  /** A graph.delta message, through the worker; null when it does not fit the graph. */
  async function delta(message) {
    arrived = [];
    const answer = await model.delta(message);
    if (answer.error) release();
    if (answer.error) {
      console.warn(`meshlens: delta to version ${message.version ?? ""} not applied: ${answer.error}`);
      return null;
    }
    if (answer.kind === "small") applyDelta(answer.delta);
    else finishBig(answer, false);
    return answer;
  }

  /** Find and Hide expressions (text): in a big graph the worker marks the whole graph. */
  async function find(findText, hideText) {
    const answer = await model.find(findText, hideText);
    if (answer.kind !== "big") return;
    finishBig(answer, false);
  }

  async function fold(action, namespace) {
    const answer = await model.fold(action, namespace);
    release();
    if (answer.kind !== "big") return;
    finishBig(answer, false);
    if (!userMovedViewport) fit();
  }

  // A part of a big graph's drawing: elements to remove, add or update in Cytoscape.
  function applyPart({ part, counts, folds: folded, progress: [sent, total] }) {
    if (!big || !drawing.big) sizeFor(true);
    bigCounts = counts;
    showFolds(folded);
    showProgress(sent, total);
    if (!holding) cy.startBatch();
    if (part.clear) {
      cy.elements().remove();
      serverPositions.clear();
    }
    if (part.remove) removeElements(cy.collection(part.remove.map((id) => cy.getElementById(id))));
    labels.note(part);
    details.apply(part);
    const added = upsert(part.add || part.update || []);
    added.nodes().forEach((node) => {
      if (!serverPositions.has(node.id()) && !isDerived(node)) arrived.push(node);
    });
    // Style this part now (the end of a batch). Changes are drawn only after the last part:
    // Cytoscape skips frames while a batch is open, and a frame of tens of thousands of
    // elements costs the canvas seconds, more than a part. New elements are drawn as they
    // come: the first frame of each costs the most, and spread over the parts, no single
    // frame freezes the page for the whole of it (unfolding every namespace at once).
    cy.endBatch();
    holding = sent < total && !part.add;
    if (holding) cy.startBatch();
  }

  function release() {
    if (holding) cy.endBatch();
    holding = false;
  }

  function finishBig(answer, relayout) {
    release();
    if (!big) sizeFor(true);
    showProgress(0, 0);
    bigCounts = answer.counts;
    bigMarks = answer.marks || null;
    for (const listener of marksListeners) listener(bigMarks);
    showFolds(answer.folds);
    settle(cy.collection(arrived), relayout);
    arrived = [];
    labels.place(cy);
    finished += 1;
  }

  // Only for drawings of several parts: one part is drawn before anyone could read it.
  function showProgress(sent, total) {
    if (!progress) return;
    const many = total > 2 * PART_SIZE && sent < total;
    progress.hidden = !many;
    progress.textContent = many ? `Drawing ${sent.toLocaleString("en")} of ${total.toLocaleString("en")} elements…` : "";
  }

  function showFolds(state) {
    folds = state;
    if (!foldButton) return;
    foldButton.hidden = !big || state.count < 2;
    foldButton.textContent = state.folded.length === state.count ? "Unfold all" : "Fold namespaces";
  }

  /** Replace everything with `graph`, a small graph; returns whether a layout ran. */
  function applySnapshot(graph, { relayout = false } = {}) {
    const elements = graph.elements || {};
    const nodes = (elements.nodes || []).map((n) => ({ group: "nodes", data: n.data, position: n.position }));
    const edges = (elements.edges || []).map((e) => ({ group: "edges", data: e.data }));
    sizeFor(false);
    showFolds({ count: 0, folded: [] });
    serverPositions.clear();
    const wanted = new Set([...nodes, ...edges].map((e) => e.data.id));
    let added = [];
    cy.batch(() => {
      removeElements(cy.elements().filter((ele) => !wanted.has(ele.id()) && !isDerived(ele)));
      added = upsert([...nodes, ...edges]);
    });
    return settle(added, relayout || !laidOut);
  }

  /** Apply a small graph's delta (whole elements); false when it does not fit the graph. */
  function applyDelta(delta) {
    const incoming = [...(delta.added || []), ...(delta.changed || [])];
    const removedIds = new Set(delta.removed || []);
    if (!fitsGraph(cy, incoming, removedIds)) return false;
    let added = [];
    cy.batch(() => {
      const removed = cy.collection();
      for (const id of removedIds) removed.merge(cy.getElementById(id));
      removeElements(removed);
      added = upsert(incoming);
    });
    settle(added, false);
    return true;
  }

  function settle(added, relayout) {
    const addedNodes = added.nodes();
    if (big) {
      placeBeside(cy, addedNodes.filter((n) => !serverPositions.has(n.id()) && !n.isParent() && !isDerived(n)));
      if (relayout) runLayout({ fit: true, animate: false });
      return relayout || addedNodes.nonempty();
    }
    if (relayout) {
      runLayout({ fit: true, animate: false });
    } else if (addedNodes.length > Math.max(3, cy.nodes().length / 2)) {
      // Mostly new nodes: a fresh layout reads better than patches.
      runLayout({ fit: false, animate: true });
    } else if (addedNodes.nonempty()) {
      placeNewNodes(cy, addedNodes, layoutOptions("dagre"));
      if (!userMovedViewport) fit();
    }
    return relayout || addedNodes.nonempty();
  }

  function clear() {
    details.clear();
    if (layout) layout.stop();
    cy.elements().remove();
    serverPositions.clear();
    model.clear();
    bigCounts = null;
    bigMarks = null;
    showFolds({ count: 0, folded: [] });
    laidOut = false;
    userMovedViewport = false;
  }

  /** Fade everything but `ele` and its neighbourhood; null restores the graph. */
  function highlight(ele) {
    cy.batch(() => {
      cy.elements(".faded").removeClass("faded");
      if (!ele) return;
      const keep = ele.isNode()
        ? ele.closedNeighborhood().union(ele.ancestors())
        : ele.union(ele.connectedNodes()).union(ele.connectedNodes().ancestors());
      cy.elements().not(keep).addClass("faded");
    });
  }

  return {
    get cy() {
      return cy;
    },
    /** `listener(cy)` hears of every new Cytoscape instance (another renderer). */
    onRecreate: (listener) => recreated.push(listener),
    /** { webgl, reason }: how the graph is drawn, and why. */
    renderer: () => ({ webgl: drawing.webgl, reason: drawing.reason }),
    isBig: () => big,
    /** How many drawings of a big graph (snapshot, delta, fold, find) have finished. */
    finished: () => finished,
    /**
     * The graph's nodes (boxes aside) and edges, shown or folded: { nodes, edges }, each
     * { total, failing, degraded }.
     */
    counted() {
      if (big && bigCounts) return bigCounts;
      const tally = (collection) => ({
        total: collection.length,
        failing: collection.filter((ele) => ele.data("healthStatus") === "Failure").length,
        degraded: collection.filter((ele) => ele.data("healthStatus") === "Degraded").length,
      });
      // Ghosts of vanished elements (diff-overlay.js) are not in the graph.
      const real = cy.elements().not(".diff-ghost");
      return { nodes: tally(real.nodes().not("[isBox]")), edges: tally(real.edges()) };
    },
    /** An element's data with what it tells but does not draw (summed-details.js). */
    dataOf: (ele) => details.dataOf(ele),
    onDetails: (listener) => details.onChange(listener),
    unfold: (namespace) => fold("unfold", namespace),
    find,
    /** What Find and Hide mark in a big graph (null in a small one), and who hears of it. */
    marks: () => bigMarks,
    onMarks: (listener) => marksListeners.push(listener),
    /** The Fold button's work: fold every namespace, or unfold them all. */
    toggleFolds: () => fold("toggle"),
    folded: () => [...folds.folded],
    snapshot,
    delta,
    applySnapshot,
    applyDelta,
    clear,
    fit,
    highlight,
    relayout: () => runLayout({ fit: true, animate: true }),
    /** Lay small graphs out with layout `name` (layouts.js) from now on, and now. */
    useLayout(name) {
      chosenLayout = layoutOptions(name);
      if (laidOut && !big) runLayout({ fit: true, animate: false });
    },
    refreshLabels: () => cy.style().update(),
  };
}
