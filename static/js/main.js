// Boot: read the view from the URL, wire the modules, open the live connection.

import { createEdgeBadges } from "./badges.js";
import { createControls } from "./controls.js";
import { createFindBar } from "./find-bar.js";
import { createEdgeMode } from "./edge-mode.js";
import { createFailingPanel } from "./failing-panel.js";
import { createFocus } from "./focus.js";
import { createFoldTip } from "./fold-tip.js";
import { createGraphView } from "./graph-view.js";
import { registerKey } from "./keys.js";
import { HIDDEN_SELECTOR } from "./layouts.js";
import { drawnNodeLabel as drawnLabel, edgeLabel, formatDuration, formatList, parseDuration } from "./labels.js";
import { createLegend } from "./legend.js";
import { createOverlays } from "./overlays.js";
import { openLive, socketUrl } from "./live.js";
import { createPins } from "./pins.js";
import { createPacer } from "./refresh.js";
import { createSidePanel } from "./side-panel.js";
import { createStatusBar } from "./status-bar.js";
import { showFailingCount } from "./title-badge.js";
import { createTime } from "./time.js";
import { createTraffic } from "./traffic.js";
import { followHistory, readView, scopeQuery, writeUrl } from "./view.js";
import { createViewTools } from "./view-tools.js";

const config = JSON.parse(document.getElementById("meshlens-config").textContent);
const view = readView(window.location.search, config.defaults);
writeUrl(view);

const state = {
  view,
  timestamp: null,
  durationSeconds: parseDuration(view.duration),
  stale: false,
  staleMessage: null,
  connection: "connecting",
  // Which connection's graph is on screen: the socket query it was asked with, how many
  // snapshots and deltas have been applied, and its version (tests and scripts wait on
  // these, not on what is drawn).
  shown: { query: null, snapshots: 0, deltas: 0, version: null },
};

const wrap = document.getElementById("graph-wrap");
const message = document.getElementById("graph-message");

// The namespace under a node's name when several are shown (labels.js drawnNodeLabel).
const drawnNodeLabel = (node) => drawnLabel(node, view.namespaces);

// The legend first: it takes its height from the graph's container.
const legend = createLegend(document.getElementById("legend"), view);
const updateLegend = () => legend.update(cy);

const graph = createGraphView(document.getElementById("graph"), {
  nodeLabel: drawnNodeLabel,
  edgeLabel: (edge) => edgeLabel(edge.data(), view.edge_labels),
  renderer: view.renderer,
  foldButton: document.getElementById("fold-button"),
  progress: document.getElementById("draw-progress"),
  // Nodes the user dragged stay where they were put when hidden ones come back.
  isPinned: (id) => pins.has(id),
  healthRules: config.healthRules,
  tools: document.querySelector(".graph-tools"),
});
// The view makes a new Cytoscape instance when a graph needs another renderer.
let { cy } = graph;
const pins = createPins();
pins.attach(cy);
let badges = createEdgeBadges(cy, document.getElementById("edge-badges"));
const foldTip = createFoldTip(wrap, { dataOf: graph.dataOf, onDetails: graph.onDetails });
foldTip.attach(cy);
badges.setEnabled(view.badge_security);
const statusBar = createStatusBar(
  { bar: document.getElementById("status-bar"), banner: document.getElementById("stale-banner") },
  { refreshSeconds: config.refreshSeconds },
);
const panel = createSidePanel(document.getElementById("side-panel"), {
  view,
  refreshSeconds: config.refreshSeconds,
  dataOf: graph.dataOf,
  onSelect: (id) => select(cy.getElementById(id)),
  onClose: () => {
    cy.elements().unselect();
    graph.highlight(null);
    blast.selected(null);
    view.selected = "";
    writeUrl(view);
  },
});
// Overlays: the blast radius of an element, and what changed since an earlier time.
const overlays = createOverlays({ view, select: (id) => select(cy.getElementById(id)), nodeLabel: drawnNodeLabel });
const blast = overlays.blast;
overlays.attach(cy);

let relayoutNext = true;
let live = null;

// Find and Hide: worked out again by the bar itself whenever elements change.
const findBar = createFindBar(document.getElementById("find-bar"), {
  view,
  getCy: () => cy,
  onChange: (changed) => writeUrl(changed),
  // A big graph's folded namespaces are marked by its worker, over the whole graph.
  onExpressions: (find, hide) => graph.find(find, hide),
  getMarks: () => graph.marks(),
});
graph.onMarks(() => findBar.apply());

function select(ele) {
  if (ele.empty()) return;
  cy.elements().unselect();
  ele.select();
  graph.highlight(ele);
  panel.show(ele);
  blast.selected(ele);
  view.selected = ele.id();
  writeUrl(view);
}

// The selection the URL names, once its element is on screen.
let selectPending = Boolean(view.selected);

function selectFromView() {
  const ele = view.selected ? cy.getElementById(view.selected) : cy.collection();
  if (ele.nonempty()) select(ele);
  else if (!view.selected && panel.currentId()) panel.close();
  selectPending = Boolean(view.selected) && ele.empty();
}

// Failing edges first: the edge mode, the panel of failing edges, focus and hover paths.
const edgeMode = createEdgeMode(document.getElementById("edge-mode"), { graph, view, onChange: () => writeUrl(view) });
// Focusing closes the details: their highlight would fade the hops beyond the first.
const focus = createFocus(document.getElementById("focus-bar"), { graph, view, writeUrl, onFocus: () => panel.close() });
// At a past moment or a replay frame (the view's query_time), the failing edges of then.
const failingPanel = createFailingPanel(document.getElementById("failing-panel"), {
  edgesPath: config.edgesPath,
  query: () => (view.query_time ? `${scopeQuery(view)}&query_time=${view.query_time}` : scopeQuery(view)),
  onPick: pickEdge,
});

// A row of the failing-edges panel: select and centre its edge (unfolding its namespace
// in a big graph, where it may be folded away).
async function pickEdge(edge) {
  if (cy.getElementById(edge.id).empty() && graph.isBig()) await graph.unfold(edge.source.namespace);
  const ele = cy.getElementById(edge.id);
  if (ele.empty()) return;
  select(ele);
  cy.animate({ center: { eles: ele } }, { duration: 250 });
}

function bindTaps() {
  // Folded namespaces and their summed edges unfold on a tap (collapse.js); no details.
  cy.on("tap", "node, edge", (event) => {
    if (!event.target.hasClass("summary") && !event.target.hasClass("aggregate") && !event.target.hasClass("port")) select(event.target);
  });
  cy.on("tap", (event) => {
    if (event.target === cy) panel.close();
  });
}
bindTaps();
graph.onRecreate((next) => {
  badges.setEnabled(false);
  cy = next;
  badges = createEdgeBadges(cy, document.getElementById("edge-badges"));
  foldTip.attach(cy);
  badges.setEnabled(view.badge_security);
  bindTaps();
  overlays.attach(cy);
  pins.attach(cy);
  findBar.rebind(cy);
  if (window.meshlens) window.meshlens.cy = cy;
});

function showMessage(text) {
  message.hidden = !text;
  message.textContent = text || "";
}

// The graph on screen is not current: the server said so, or the connection is down.
function dimIfStale() {
  wrap.classList.toggle("is-stale", state.stale || state.connection === "reconnecting");
}

function afterUpdate(timestamp) {
  state.timestamp = timestamp;
  state.stale = false;
  state.staleMessage = null;
  document.body.dataset.graphTimestamp = String(timestamp);
  document.body.dataset.stale = "false";
  statusBar.updated(timestamp);
  dimIfStale();

  // Counted from the whole graph: a big one has namespaces folded out of Cytoscape.
  const { nodes, edges } = graph.counted();
  statusBar.counts(nodes, edges);
  showFailingCount(edges.failing, view.namespaces);
  edgeMode.apply();
  focus.apply();
  failingPanel.refresh(edges.failing + edges.degraded);

  const over = formatDuration(state.durationSeconds);
  showMessage(nodes.total === 0 ? `No traffic in ${formatList(view.namespaces)} over the last ${over}` : "");

  const selected = panel.currentId() && cy.getElementById(panel.currentId());
  graph.highlight(selected && selected.nonempty() ? selected : null);
  panel.refresh(cy);
  updateLegend();
  badges.update();
  overlays.refresh();
  if (selectPending) selectFromView();
}

// A graph.snapshot message (inline or by reference); false when it could not be shown.
async function applySnapshot(message) {
  const shown = await graph.snapshot(message, { relayout: relayoutNext });
  if (!shown) return false;
  relayoutNext = false;
  if (shown.duration) state.durationSeconds = shown.duration;
  afterUpdate(shown.timestamp);
  return true;
}

// A graph.delta message; false when it does not fit what is on screen.
async function applyDelta(message) {
  const shown = await graph.delta(message);
  if (!shown) return false;
  afterUpdate(shown.timestamp);
  return true;
}

// A cold scope: the server is still building its first graph.
function applyProgress(progress) {
  if (state.timestamp === null) showMessage(progress.message);
}

function applyError(error) {
  state.stale = true;
  state.staleMessage = error.message || "";
  document.body.dataset.stale = "true";
  statusBar.stale(state.staleMessage);
  dimIfStale();
  if (state.timestamp === null) showMessage("The graph could not be loaded yet.");
}

function connect() {
  if (live) live.close();
  pacer.connected();
  const query = scopeQuery(view);
  live = openLive(
    socketUrl(config.wsPath, query),
    pacer.wrap({
      // False: the message could not be applied; live.js reconnects for a fresh snapshot.
      "graph.snapshot": async (msg) => {
        if (!(await applySnapshot(msg))) return false;
        const { snapshots, deltas } = state.shown;
        state.shown = { query, snapshots: snapshots + 1, deltas, version: msg.version ?? null };
        return true;
      },
      "graph.delta": async (msg) => {
        if (!(await applyDelta(msg))) return false;
        state.shown = { ...state.shown, deltas: state.shown.deltas + 1, version: msg.version ?? state.shown.version };
        return true;
      },
      "graph.progress": applyProgress,
      "graph.error": applyError,
    }),
    (connection, delayMs) => {
      // Every new socket (live.js reconnects on its own too) starts with its snapshot.
      if (connection === "live") pacer.connected();
      state.connection = connection;
      statusBar.connection(connection, delayMs);
      dimIfStale();
    },
  );
}

createControls(document.getElementById("controls"), {
  view,
  namespacesPath: config.namespacesPath,
  retentionSeconds: config.retentionSeconds,
  onChange: (changed, { relayout, reconnect }) => {
    writeUrl(changed, { push: true });
    if (relayout) {
      // Another set of nodes: start from a clean slate and lay it out afresh.
      panel.close();
      blast.clear();
      pins.clear();
      failingPanel.clear();
      graph.clear();
      relayoutNext = true;
      state.timestamp = null;
      showMessage(`Loading the graph of ${formatList(view.namespaces)}…`);
    }
    graph.refreshLabels();
    badges.setEnabled(view.badge_security);
    updateLegend();
    const selected = panel.currentId() && cy.getElementById(panel.currentId());
    if (selected && selected.nonempty()) panel.show(selected);
    // Only what the server computes needs another graph; the rest is drawn from this one.
    if (reconnect) {
      overlays.reload();
      time.scopeChanged();
    }
  },
  actions: {
    "fit-button": () => graph.fit(),
    // A fresh layout: the positions the user dragged nodes to go too (but for the hidden
    // nodes', which it does not lay out).
    "relayout-button": () => {
      pins.clearShown((node) => node.is(HIDDEN_SELECTOR));
      graph.relayout();
    },
    "graph-charts-button": () => {
      cy.elements().unselect();
      graph.highlight(null);
      blast.selected(null);
      panel.showGraph();
    },
  },
});

// --- time, the graph's tools, keys and back/forward ------------------------------------
const pacer = createPacer({ serverSeconds: config.refreshSeconds, restart: () => live && live.restart() });
const liveLink = {
  connect,
  close() {
    if (live) live.close();
    live = null;
    state.connection = view.query_time === null ? "paused" : "past";
    statusBar.connection(state.connection, 0);
    dimIfStale();
  },
  isOpen: () => live !== null,
};

// A past graph (time.js): drawn in place, so that nodes keep their positions.
async function showFrame(href, t) {
  if (!(await applySnapshot({ type: "graph.snapshot", href }))) return false;
  state.shown = { ...state.shown, query: `query_time=${t}`, snapshots: state.shown.snapshots + 1, version: null };
  return true;
}

const time = createTime(document.body, {
  view,
  config,
  live: liveLink,
  pacer,
  showFrame,
  onViewChange: ({ push }) => writeUrl(view, { push }),
  onError: (error) => showMessage(`The graph of that time cannot be shown: ${error}`),
});
const traffic = createTraffic(wrap, () => cy);
const tools = createViewTools(document.body, {
  view,
  onChange: () => writeUrl(view, { push: true }),
  useLayout: (name) => graph.useLayout(name),
  animate: (on) => traffic.setEnabled(on),
});
tools.apply();
registerKey("f", () => graph.fit(), "fits the graph in view");

// Back and forward: what changes in place changes in place (view.js followHistory).
followHistory(view, config.defaults, () => {
  tools.apply();
  selectFromView();
  time.apply();
});

document.body.dataset.stale = "false";
showMessage(`Loading the graph of ${formatList(view.namespaces)}…`);
window.meshlens = {
  cy,
  graph,
  // Whole graphs and deltas as the socket brings them (scripts, the page benchmark).
  applySnapshot: (graphBody) => applySnapshot({ type: "graph.snapshot", graph: graphBody }),
  applyDelta: (delta) => applyDelta({ type: "graph.delta", ...delta }),
  applyError,
  state,
  view,
  time,
  pacer,
  pins,
  traffic,
  findBar,
  /** The version of the scope's graph on screen (null before the first). */
  get version() {
    return state.shown.version;
  },
};
time.apply();
