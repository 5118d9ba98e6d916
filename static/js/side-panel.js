// The details panel of the selected node or edge: health, rates, response codes, mTLS,
// peers, charts, example traces.

import { createCharts } from "./charts.js";
import { h } from "./dom.js";
import { createExemplarList } from "./exemplars.js";
import {
  edgeRates,
  formatBytesPerSecond,
  formatEdgeRate,
  formatPercent,
  formatMs,
  formatRps,
  isIdleEdge,
  nodeName,
  nodeTypeName,
  num,
  responseTimeName,
} from "./labels.js";
import { peerTables } from "./peer-tables.js";
import { HEALTH } from "./styles.js";

// Rates of an edge, in the order and words shown; percentages and bytes are marked.
const EDGE_RATES = [
  ["http", "Requests"],
  ["http3xx", "3xx"],
  ["http4xx", "4xx"],
  ["http5xx", "5xx"],
  ["httpNoResponse", "No response"],
  ["httpPercentErr", "Errors", "%"],
  ["httpPercentReq", "Share of the source's requests", "%"],
  ["grpc", "Requests"],
  ["grpcErr", "Errors"],
  ["grpcNoResponse", "No response"],
  ["grpcPercentErr", "Errors", "%"],
  ["grpcPercentReq", "Share of the source's requests", "%"],
  ["tcp", "Bytes", "B"],
];

// Rates of a node per protocol: [in key, out key, words].
const NODE_RATES = {
  http: [
    ["httpIn", "httpOut", "Requests"],
    ["httpIn3xx", null, "3xx"],
    ["httpIn4xx", null, "4xx"],
    ["httpIn5xx", null, "5xx"],
    ["httpInNoResponse", null, "No response"],
  ],
  grpc: [
    ["grpcIn", "grpcOut", "Requests"],
    ["grpcInErr", null, "Errors"],
    ["grpcInNoResponse", null, "No response"],
  ],
  tcp: [["tcpIn", "tcpOut", "Bytes"]],
};

function healthBadge(status) {
  const key = HEALTH[status] ? status : "NA";
  return h("span", { class: `health-badge health-${key}` }, HEALTH[key].text);
}

function facts(pairs) {
  const rows = pairs.filter(([, value]) => value !== undefined && value !== null && value !== "");
  return h("dl", { class: "facts" }, rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

function table(caption, head, rows) {
  if (!rows.length) return null;
  return h(
    "table",
    { class: "details-table" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, head.map((text) => h("th", { scope: "col" }, text)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell))))),
  );
}

function formatRate(value, unit) {
  if (unit === "%") return formatPercent(value);
  if (unit === "B") return formatBytesPerSecond(num(value));
  return formatRps(num(value));
}

function responseTime(data, stat) {
  if (data.responseTime === undefined) return undefined;
  return `${formatMs(num(data.responseTime))} (${responseTimeName(stat)})`;
}

function throughput(data, kind) {
  if (data.throughput === undefined) return undefined;
  return `${formatBytesPerSecond(num(data.throughput))} (${kind}s)`;
}

// "100 %", or the share with "partial" when only some of the traffic is encrypted.
function mtls(data) {
  if (data.isMTLS === undefined) return undefined;
  const percent = num(data.isMTLS);
  if (percent >= 100) return "100 %";
  if (percent <= 0) return "none";
  return `partial: ${formatPercent(percent)} of the traffic`;
}

function responsesTable(responses) {
  const rows = Object.entries(responses || {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, { flags = {}, hosts = {} }]) => {
      const share = Object.values(flags).reduce((sum, pct) => sum + num(pct), 0);
      return [
        code,
        formatPercent(share),
        Object.entries(flags)
          .map(([flag, pct]) => `${flag === "-" ? "none" : flag} ${formatPercent(pct)}`)
          .join(", "),
        Object.keys(hosts).join(", "),
      ];
    });
  return table("Responses", ["Code", "Share", "Flags", "Hosts"], rows);
}

function renderEdge(edge, view) {
  const data = edge.data();
  const traffic = data.traffic || {};
  const rates = traffic.rates || {};
  const headline = edgeRates(data);
  const rateRows = EDGE_RATES.filter(([key]) => key in rates).map(([key, text, unit]) => [
    text,
    formatRate(rates[key], unit),
  ]);
  return [
    h("p", { class: "panel-kind" }, `Edge · ${(traffic.protocol || "").toUpperCase() || "no traffic"}`),
    h("h2", { id: "side-panel-title" }, `${nodeName(edge.source().data())} → ${nodeName(edge.target().data())}`),
    healthBadge(data.healthStatus),
    facts([
      ["Rate", traffic.rates ? formatEdgeRate(headline) : isIdleEdge(data) ? "idle (no traffic now)" : "no traffic"],
      ["Errors", headline.protocol === "tcp" || !traffic.rates ? undefined : formatPercent(headline.errorPercent)],
      ["Response time", responseTime(data, view.response_time)],
      ["Throughput", throughput(data, view.throughput)],
      ["mTLS", mtls(data)],
      ["Source principal", data.sourcePrincipal],
      ["Destination principal", data.destPrincipal],
      ["Data sources", (data.sources || []).join(", ")],
    ]),
    table("Rates", ["Rate", "Value"], rateRows),
    responsesTable(traffic.responses),
  ];
}

function nodeRateRows(traffic) {
  const tables = [];
  for (const { protocol, rates = {} } of traffic || []) {
    const spec = NODE_RATES[protocol] || [];
    const unit = protocol === "tcp" ? "B" : "";
    const rows = spec
      .filter(([inKey, outKey]) => inKey in rates || (outKey && outKey in rates))
      .map(([inKey, outKey, text]) => [
        text,
        inKey in rates ? formatRate(rates[inKey], unit) : "",
        outKey && outKey in rates ? formatRate(rates[outKey], unit) : "",
      ]);
    const errors = inboundErrorPercent(protocol, rates);
    if (errors !== null) rows.push(["Errors", formatPercent(errors), ""]);
    tables.push(table(`${protocol.toUpperCase()} traffic`, ["Rate", "In", "Out"], rows));
  }
  return tables;
}

/** Share of inbound requests that failed (4xx, 5xx, no response; gRPC errors), or null. */
export function inboundErrorPercent(protocol, rates) {
  if (protocol === "http" && num(rates.httpIn) > 0) {
    const failed = num(rates.httpIn4xx) + num(rates.httpIn5xx) + num(rates.httpInNoResponse);
    return (100 * failed) / num(rates.httpIn);
  }
  if (protocol === "grpc" && num(rates.grpcIn) > 0) {
    return (100 * (num(rates.grpcInErr) + num(rates.grpcInNoResponse))) / num(rates.grpcIn);
  }
  return null;
}

// Kiali's service entry: { location: "MESH_EXTERNAL" | "MESH_INTERNAL", hosts: [...] }.
function serviceEntryFacts(entry) {
  if (!entry || typeof entry !== "object") return [];
  const location = { MESH_EXTERNAL: "outside the mesh", MESH_INTERNAL: "inside the mesh" }[entry.location];
  return [
    ["Location", location || entry.location],
    ["Hosts", Array.isArray(entry.hosts) ? entry.hosts.join(", ") : undefined],
  ];
}

function renderNode(node, view, onSelect, dataOf) {
  const data = node.data();
  const flags = [
    data.isRoot && "Root (traffic source)",
    data.isOutside && "Outside the chosen namespaces",
    data.isInaccessible && "Inaccessible namespace",
    data.isIdle && "Idle",
    data.isInjected && "Injected service node",
  ].filter(Boolean);
  const services = (data.destServices || []).map((s) => `${s.name}.${s.namespace}`).join(", ");
  return [
    h("p", { class: "panel-kind" }, nodeTypeName(data)),
    h("h2", { id: "side-panel-title" }, nodeName(data)),
    healthBadge(data.healthStatus),
    flags.length ? h("ul", { class: "flags" }, flags.map((flag) => h("li", {}, flag))) : null,
    facts([
      ["Namespace", data.namespace],
      ["Workload", data.workload],
      ["App", data.app],
      ["Version", data.version],
      ["Service", data.service],
      ["Destination services", services],
      ["Cluster", data.cluster],
      ...serviceEntryFacts(data.isServiceEntry),
      ["Data sources", (data.sources || []).join(", ")],
    ]),
    nodeRateRows(data.traffic),
    peerTables(node, view, onSelect, dataOf),
  ];
}

function renderGraph(view) {
  return [
    h("p", { class: "panel-kind" }, "Graph"),
    h("h2", { id: "side-panel-title" }, view.namespaces.join(", ")),
    h("p", { class: "muted" }, "Requests into and out of the workloads of these namespaces."),
  ];
}

/**
 * The panel in `root`. `onSelect(id)` selects another element (from the neighbour
 * lists); `onClose()` runs when the user closes the panel; `view` says which response
 * time and throughput the server computed; the charts refresh at most once per
 * `refreshSeconds`; `dataOf(ele)`: its data with what a summed edge tells (summed-details.js).
 */
export function createSidePanel(root, { view, onSelect, onClose, refreshSeconds = 10, dataOf = (ele) => ele.data() }) {
  const body = root.querySelector(".side-panel-body");
  const closeButton = root.querySelector(".side-panel-close");
  let currentId = null;
  let graphShown = false; // the whole graph's charts (showGraph), no element
  let shown = "";
  const exemplarSection = createExemplarList();
  const chartsSection = createCharts({ refreshSeconds });

  // What the panel depends on; an update that leaves it alone leaves the panel alone. The
  // moment shown is part of it: a past moment or a replay frame charts the window ending
  // then, even where the element's data reads the same.
  function signature(ele) {
    const around = ele.isNode() ? ele.connectedEdges().union(ele.neighborhood("node")) : ele.connectedNodes();
    return JSON.stringify([view.query_time, view.duration, ele.data(), around.map(dataOf)]);
  }

  function show(ele) {
    currentId = ele.id();
    graphShown = false;
    shown = signature(ele);
    const details = ele.isNode() ? renderNode(ele, view, onSelect, dataOf) : renderEdge(ele, view);
    const sections = [details, chartsSection(ele, view), exemplarSection(ele, view)];
    body.replaceChildren(...sections.flat(2).filter(Boolean));
    root.hidden = false;
    root.dataset.kind = ele.isNode() ? "node" : "edge";
    root.dataset.id = currentId;
  }

  function showGraph() {
    currentId = null;
    graphShown = true;
    body.replaceChildren(...[renderGraph(view), chartsSection("graph", view)].flat().filter(Boolean));
    root.hidden = false;
    root.dataset.kind = "graph";
    delete root.dataset.id;
  }

  function close() {
    if (currentId === null && !graphShown) return;
    currentId = null;
    graphShown = false;
    chartsSection(null);
    root.hidden = true;
    delete root.dataset.id;
    onClose();
  }

  closeButton.addEventListener("click", close);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !root.hidden) close();
  });

  return {
    show,
    showGraph,
    close,
    currentId: () => currentId,
    /** After an update: show the new data of the open element, or say that it left. */
    refresh(cy) {
      if (graphShown) showGraph(); // its charts are fetched again once per period at most
      if (currentId === null) return;
      const ele = cy.getElementById(currentId);
      if (ele.nonempty()) {
        if (signature(ele) !== shown) show(ele);
      } else {
        shown = "";
        body.replaceChildren(h("p", { class: "muted" }, "This element is no longer in the graph."));
      }
    },
  };
}
