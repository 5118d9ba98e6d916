"""The page on crafted graphs, for what backfilled Bookinfo cannot show: every node type
(service entries, inaccessible namespaces), cluster boxes (the demo has one cluster), the
whole view restored from a URL, and a view the server refuses.

`fake_server` stands in for /ws/graph: it answers each connection with a graph built from
the query the page sent, so each test checks what the page asks for and what it draws.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, WebSocketRoute

from tests.browser.conftest import GraphPage

# --- a crafted graph, shaped like the server's, that follows the query ----------------------

# Response time of every edge by statistic, in ms (times the edge's own factor).
RESPONSE_MS = {"avg": 12.5, "50": 9.0, "95": 48.0, "99": 120.0}
# Bytes per request for each throughput.
BYTES_PER_REQUEST = {"request": 512, "response": 4096}


def node(node_id: str, node_type: str, label: str, namespace: str = "bookinfo",
         **extra: Any) -> dict[str, Any]:
    data = {"id": node_id, "nodeType": node_type, "cluster": "Kubernetes", "namespace": namespace,
            "label": label, "healthStatus": "Healthy"}
    return {"data": data | extra}


def edge(source: str, target: str, rps: float, share: float, query: dict[str, str], *,
         mtls: str | None = "100", factor: float = 1.0, protocol: str = "http") -> dict[str, Any]:
    stat = query.get("response_time", "95")
    kind = query.get("throughput", "response")
    if protocol == "tcp":
        traffic = {"protocol": "tcp", "rates": {"tcp": f"{rps:.2f}"}}
        data: dict[str, Any] = {}
    else:
        traffic = {"protocol": "http",
                   "rates": {"http": f"{rps:.2f}", "httpPercentReq": f"{share:.1f}"}}
        data = {"responseTime": f"{RESPONSE_MS[stat] * factor:.2f}",
                "throughput": f"{rps * BYTES_PER_REQUEST[kind]:.2f}"}
    if mtls is not None:
        data["isMTLS"] = mtls
    return {"data": {"id": f"{source}>{target}", "source": source, "target": target,
                     "healthStatus": "Healthy", "traffic": traffic} | data}


def crafted_graph(query: dict[str, str]) -> dict[str, Any]:
    """
    [ingress] -> (productpage) -> productpage-v1 -> (reviews) -> reviews-v1, reviews-v2 (50 % mTLS)
    [unknown] ->                                 -> <api.stripe.com> (service entry, no mTLS)
    reviews-v2 -> ratings-v1 =tcp=> vault (cluster "east", inaccessible namespace "secrets")
    idle edges: reviews-v1 -> ratings-v1; idle nodes: reviews-v3; box_by namespace and cluster
    """
    nodes = [
        node("ingress", "workload", "istio-ingressgateway", "istio-system",
             workload="istio-ingressgateway", isOutside=True, isRoot=True),
        node("unknown", "unknown", "unknown", "unknown", cluster="unknown", isInaccessible=True,
             isRoot=True),
        node("productpage", "service", "productpage", service="productpage"),
        node("productpage-v1", "workload", "productpage-v1", workload="productpage-v1"),
        node("reviews", "service", "reviews", service="reviews"),
        node("reviews-v1", "workload", "reviews-v1", workload="reviews-v1"),
        node("reviews-v2", "workload", "reviews-v2", workload="reviews-v2"),
        node("ratings-v1", "workload", "ratings-v1", workload="ratings-v1"),
        node("stripe", "service", "api.stripe.com", service="api.stripe.com",
             isServiceEntry={"location": "MESH_EXTERNAL", "hosts": ["api.stripe.com"]}),
        node("vault", "workload", "vault", "secrets", workload="vault", cluster="east",
             isInaccessible=True, isOutside=True),
    ]
    edges = [
        edge("ingress", "productpage", 10, 100, query),
        edge("unknown", "productpage", 2, 100, query, mtls=None),
        edge("productpage", "productpage-v1", 12, 100, query),
        edge("productpage-v1", "reviews", 6, 60, query, factor=2),
        edge("productpage-v1", "stripe", 4, 40, query, mtls=None, factor=4),
        edge("reviews", "reviews-v1", 3, 50, query),
        edge("reviews", "reviews-v2", 3, 50, query, mtls="50"),
        edge("reviews-v2", "ratings-v1", 3, 100, query),
        edge("ratings-v1", "vault", 1500, 0, query, protocol="tcp"),
    ]
    if query.get("include_idle_edges") == "true":
        edges.append({"data": {"id": "reviews-v1>ratings-v1", "source": "reviews-v1",
                               "target": "ratings-v1", "healthStatus": "NA",
                               "traffic": {"protocol": "http"}}})
    if query.get("include_idle_nodes") == "true":
        nodes.append(node("reviews-v3", "workload", "reviews-v3", workload="reviews-v3",
                          isIdle=True, healthStatus="NA"))
    nodes += boxes(nodes, query.get("box_by", "").split(","))
    return {"timestamp": int(time.time()), "duration": 60, "graphType": "workload",
            "elements": {"nodes": nodes, "edges": edges}}


def boxes(nodes: list[dict[str, Any]], box_by: list[str]) -> list[dict[str, Any]]:
    """Namespace boxes, then cluster boxes around what is not boxed yet, as the server makes
    them: only when there are two namespaces (clusters) or more, around two members or more."""
    made: list[dict[str, Any]] = []
    for kind in ("namespace", "cluster"):
        if kind not in box_by:
            continue
        members = [n["data"] for n in nodes + made
                   if "parent" not in n["data"] and n["data"][kind] not in ("", "unknown")]
        groups = Counter(data[kind] for data in members)
        if len(groups) < 2:
            continue
        for name in (name for name, size in groups.items() if size >= 2):
            box = {"id": f"box-{kind}-{name}", "nodeType": "box", "isBox": kind, "label": name,
                   "cluster": "Kubernetes", "namespace": name if kind == "namespace" else ""}
            for data in members:
                if data[kind] == name:
                    data["parent"] = box["id"]
                    box["cluster"] = data["cluster"]
            made.append({"data": box})
    return made


@dataclass
class FakeServer:
    """Answers /ws/graph with `graph(query)`, or refuses it with `refuse` (a graph.error
    and close code 4400, as the server does for a bad parameter)."""

    graph: Callable[[dict[str, str]], dict[str, Any]] = crafted_graph
    refuse: str | None = None
    queries: list[dict[str, str]] = field(default_factory=list)
    on_socket: Callable[[str], None] | None = None

    def accept(self, ws: WebSocketRoute) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(ws.url).query).items()}
        self.queries.append(query)
        if self.on_socket:
            self.on_socket(ws.url)
        if self.refuse:
            ws.send(json.dumps({"type": "graph.error", "message": self.refuse, "stale": False}))
            ws.close(code=4400, reason="bad request")
        else:
            ws.send(json.dumps({"type": "graph.snapshot", "graph": self.graph(query)}))


@pytest.fixture
def fake_server(page: Page, graph_page: GraphPage) -> Iterator[FakeServer]:
    # Routed sockets never reach page.on("websocket"): record them where GraphPage looks.
    server = FakeServer(on_socket=graph_page.opened)
    page.route_web_socket("**/ws/graph?*", server.accept)
    yield server


def test_it_draws_each_node_type_in_its_own_shape(graph_page: GraphPage, fake_server: FakeServer,
                                                  meshlens_url: str) -> None:
    """Kiali's legend: workload circle, service triangle, unknown diamond, service entry
    hexagon; roots double-bordered, inaccessible dashed, other namespaces named."""
    graph_page.open(f"{meshlens_url}/?namespaces=bookinfo")
    assert graph_page.look("productpage-v1")["shape"] == "ellipse"
    assert graph_page.look("productpage")["shape"] == "triangle"
    assert graph_page.look("unknown")["shape"] == "diamond"
    stripe = graph_page.look("stripe")
    assert stripe["shape"] == "hexagon" and stripe["label"] == "api.stripe.com"
    ingress = graph_page.look("ingress")
    assert ingress["border"] == "double", "a root (traffic source) has a double border"
    assert ingress["label"] == "istio-ingressgateway\nistio-system"
    assert ingress["opacity"] < 1, "nodes from other namespaces are dimmed"
    vault = graph_page.look("vault")
    assert vault["border"] == "dashed" and vault["label"] == "vault\nsecrets"
    productpage = graph_page.look("productpage-v1")
    assert productpage["border"] == "solid" and productpage["label"] == "productpage-v1"
    # The legend shows every shape the graph can draw, and no box while there is none.
    legend = graph_page.legend()
    assert {"workload", "app", "service", "unknown", "service-entry", "root", "outside",
            "inaccessible"} <= set(legend)
    assert not [key for key in legend if key.startswith("box-")]
    graph_page.tap("stripe")
    panel = graph_page.page.inner_text("#side-panel")
    assert "SERVICE ENTRY" in panel and "outside the mesh" in panel


def test_it_nests_namespace_boxes_in_cluster_boxes(graph_page: GraphPage, fake_server: FakeServer,
                                                   meshlens_url: str) -> None:
    """[Kubernetes [bookinfo: productpage, ...] istio-ingressgateway] vault (east) unknown"""
    graph_page.open(f"{meshlens_url}/?namespaces=bookinfo")
    graph_page.display("box-cluster")
    assert graph_page.wait_for_sockets(2)["box_by"] == "cluster"
    graph_page.wait_for("cy => cy.nodes('[isBox = \"cluster\"]').nonempty()")
    cluster = graph_page.look("box:Kubernetes")
    assert cluster["shape"] == "round-rectangle" and cluster["border"] == "dashed"
    assert "istio-ingressgateway\nistio-system" in cluster["children"]
    assert "unknown" not in cluster["children"] and "vault\nsecrets" not in cluster["children"]

    graph_page.display("box-namespace")
    assert graph_page.wait_for_sockets(3)["box_by"] == "cluster,namespace"
    assert graph_page.url()["box_by"] == "cluster,namespace"
    graph_page.wait_for("cy => cy.nodes('[isBox = \"namespace\"]').nonempty()")
    bookinfo = graph_page.look("box:bookinfo")
    assert bookinfo["parent"] == "Kubernetes" and bookinfo["border"] == "solid"
    assert graph_page.look("reviews-v2")["parent"] == "bookinfo"
    assert {"box-cluster", "box-namespace"} <= set(graph_page.legend())
    assert graph_page.page.inner_text("#display-count") == "2"
    graph_page.page.keyboard.press("Escape")
    graph_page.shot("cluster-boxes")


def test_it_restores_every_option_from_the_url(graph_page: GraphPage, fake_server: FakeServer,
                                               meshlens_url: str) -> None:
    """The URL holds the whole view; the server is asked only for the graph, not its drawing."""
    graph_page.open(f"{meshlens_url}/?namespaces=bookinfo&graph_type=workload&duration=5m"
                    "&inject_service_nodes=true&box_by=namespace&include_idle_edges=true"
                    "&include_idle_nodes=true&response_time=99&throughput=request"
                    "&edge_labels=throughput&badge_security=true")
    assert fake_server.queries == [{
        "namespaces": "bookinfo", "graph_type": "workload", "duration": "5m",
        "inject_service_nodes": "true", "box_by": "namespace", "include_idle_edges": "true",
        "include_idle_nodes": "true", "response_time": "99", "throughput": "request"}]
    page = graph_page.page
    assert page.input_value("#edge-labels") == "throughput:request"
    assert page.input_value("#duration") == "5m"
    for box in ("box-namespace", "include-idle-edges", "include-idle-nodes", "badge-security",
                "inject-service-nodes"):
        assert page.is_checked(f"#{box}"), box
    assert not page.is_checked("#box-cluster")
    assert page.inner_text("#display-count") == "4"
    # What the page draws follows the URL too: request bytes, idle elements, locks.
    assert graph_page.look("productpage-v1>reviews")["label"] == "3.1 kB/s"  # 6 rps * 512 B
    assert "idle" in graph_page.look("reviews-v1>ratings-v1")["classes"]
    assert graph_page.look("reviews-v3")["border"] == "dashed"
    assert len(graph_page.badges()) == 7
    graph_page.tap("productpage-v1>reviews")
    assert "240 ms (99th percentile)" in page.inner_text("#side-panel")

    # Back to p95: the default is not sent, and the URL forgets it.
    page.select_option("#edge-labels", "response_time:95")
    assert "response_time" not in graph_page.wait_for_sockets(2)
    assert graph_page.url()["edge_labels"] == "response_time"
    assert "response_time" not in graph_page.url()
    graph_page.wait_for("(cy, e) => cy.getElementById(e).style('label') === '96.0 ms'",
                        "productpage-v1>reviews")


def test_it_stops_asking_for_a_view_the_server_refuses(graph_page: GraphPage,
                                                       fake_server: FakeServer,
                                                       meshlens_url: str) -> None:
    """A bad parameter is refused for good: say so, and do not reconnect every few seconds."""
    fake_server.refuse = "box_by: unknown parameter"
    graph_page.page.goto(f"{meshlens_url}/?namespaces=bookinfo&box_by=namespace")
    graph_page.page.wait_for_selector("#stale-banner:not([hidden])")
    assert "box_by: unknown parameter" in graph_page.page.inner_text("#stale-banner")
    graph_page.page.wait_for_selector("#status-connection[data-state='refused']")
    graph_page.page.wait_for_timeout(1500)  # a reconnect would come after 1 s
    assert len(fake_server.queries) == 1


