// A node's neighbourhood as Kiali's node graph gives it: the node-graph routes of the
// server (/api/namespaces/{ns}/workloads/{w}/graph and the service, app and app-version
// ones), with the page's graph options in Kiali's names. One hop is one node graph; N hops
// asks the node graphs of the nodes reached at each hop before, a few at a time, up to
// MAX_NODE_GRAPHS in all (past that, the page's own hops finish the neighbourhood).
//
// The server's node graph is what Kiali shows on a double-click: it reads the node's own
// inbound and outbound telemetry (with injected service nodes, the services in front of it
// and after it too), which the page's drawing of a namespace graph cannot tell by itself.

const GRAPH_TYPES = { workload: "workload", app: "app", versioned_app: "versionedApp", service: "service" };
// Node graphs asked for at once, and in all for one focus.
const PARALLEL = 3;
export const MAX_NODE_GRAPHS = 24;

const segment = (value) => encodeURIComponent(value);

/** The node-graph route of a node's data in graph type `graphType`, or null (no route). */
export function nodeGraphPath(data, graphType) {
  const ns = data.namespace;
  if (!ns || ns === "unknown" || data.isBox) return null;
  const base = `/api/namespaces/${segment(ns)}`;
  if (data.nodeType === "workload" && data.workload) return `${base}/workloads/${segment(data.workload)}/graph`;
  if (data.nodeType === "service" && data.service && !data.isServiceEntry) return `${base}/services/${segment(data.service)}/graph`;
  if (data.nodeType === "app" && data.app) {
    const version = graphType === "versioned_app" && data.version ? `/versions/${segment(data.version)}` : "";
    return `${base}/applications/${segment(data.app)}${version}/graph`;
  }
  return null;
}

/** The page's view as Kiali's node-graph parameters. */
export function nodeGraphQuery(view, data) {
  const params = new URLSearchParams({
    graphType: GRAPH_TYPES[view.graph_type] || "workload",
    duration: view.duration,
    injectServiceNodes: String(Boolean(view.inject_service_nodes)),
    includeIdleEdges: String(Boolean(view.include_idle_edges)),
    responseTime: view.response_time || "95",
    // Kiali's default appenders add the namespace's idle nodes: only when the page shows them.
    appenders: view.include_idle_nodes ? "health,idleNode" : "health",
  });
  if (view.box_by && view.box_by.length) params.set("boxBy", view.box_by.join(","));
  if (view.query_time) params.set("queryTime", String(view.query_time));
  if (data.cluster && data.cluster !== "unknown") params.set("clusterName", data.cluster);
  return params.toString();
}

async function nodeGraphIds(path, query) {
  const response = await fetch(`${path}?${query}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  const elements = body.elements || {};
  return {
    nodes: (elements.nodes || []).map((n) => n.data),
    edges: (elements.edges || []).map((e) => e.data.id),
  };
}

/**
 * The ids of the elements within `hops` node graphs of `start` (node data), and how it
 * went: { ids: Set, asked: node graphs fetched, frontier: node ids not expanded (the cap
 * reached, or no route), error: the first failure's text or null }. `view` gives the
 * graph options; `nodeData(id)` the data of a node on the page (or null).
 */
export async function nodeGraphNeighbourhood(start, hops, view, nodeData) {
  const ids = new Set([start.id]);
  const expanded = new Set();
  let frontier = [start];
  let asked = 0;
  let error = null;
  const left = [];
  for (let hop = 0; hop < hops && frontier.length; hop += 1) {
    const next = [];
    const queue = frontier.filter((d) => !expanded.has(d.id));
    for (const d of queue) expanded.add(d.id);
    const work = async () => {
      while (queue.length) {
        const data = queue.shift();
        const path = nodeGraphPath(data, view.graph_type);
        if (!path || asked >= MAX_NODE_GRAPHS) {
          left.push(data.id);
          continue;
        }
        asked += 1;
        try {
          const found = await nodeGraphIds(path, nodeGraphQuery(view, data));
          for (const id of found.edges) ids.add(id);
          for (const node of found.nodes) {
            if (!ids.has(node.id) && !node.isBox) next.push(nodeData(node.id) || node);
            ids.add(node.id);
          }
        } catch (failure) {
          error = error || String(failure.message || failure);
          left.push(data.id);
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, work));
    frontier = next;
  }
  return { ids, asked, frontier: left, error };
}
