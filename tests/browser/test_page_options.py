"""Kiali's graph options on the page, against the real Meshlens over backfilled Bookinfo
(`page_mesh` in conftest): graph types and app boxes, namespace boxes, service nodes, idle
edges and nodes, edge labels, security badges. Each test checks what the page asks the
server for (page URL, WebSocket query) and what it draws from the answer.

    [ingress] -> productpage-v1 -> details-v1 (plain), reviews-v1, -v2, -v3
    reviews-v2 -> ratings-v1 (50 % 503), reviews-v3 -> ratings-v1 (2/3 mTLS)
    reviews-v3 -> ratings-v2: idle for half an hour
"""

from __future__ import annotations

from tests.browser.conftest import GraphPage

WORKLOADS = "/?namespaces=bookinfo&inject_service_nodes=false"


def test_it_offers_the_four_graph_types(graph_page: GraphPage, meshlens_url: str) -> None:
    """workload: circles; app: rounded squares; versioned app: versions boxed by app;
    service: triangles."""
    graph_page.open(f"{meshlens_url}/?namespaces=bookinfo")
    assert graph_page.look("productpage-v1")["shape"] == "ellipse"
    assert graph_page.look("productpage")["shape"] == "triangle"
    assert "box-app" not in graph_page.legend()

    graph_page.page.select_option("#graph-type", "app")
    assert graph_page.wait_for_sockets(2)["graph_type"] == "app"
    graph_page.wait_for("cy => cy.nodes('[nodeType = \"app\"]').nonempty()")
    apps = graph_page.styles("node[nodeType = 'app']", "shape")
    assert apps and set(apps) == {"round-rectangle"}
    assert graph_page.url()["graph_type"] == "app"

    graph_page.page.select_option("#graph-type", "versioned_app")
    assert graph_page.wait_for_sockets(3)["graph_type"] == "versioned_app"
    graph_page.wait_for("cy => cy.nodes('[isBox = \"app\"]').nonempty()")
    box = graph_page.look("box:reviews")
    assert box["data"]["isBox"] == "app"
    assert box["shape"] == "round-rectangle" and box["label"] == "reviews"
    # Inside the box of their app, versions are named by their version alone.
    assert box["children"] == ["v1", "v2", "v3"]
    v2 = graph_page.look("reviews v2")
    assert v2["parent"] == "reviews" and v2["label"] == "v2"
    x1, y1, x2, y2 = box["box"]
    vx1, vy1, vx2, vy2 = v2["box"]
    assert x1 < vx1 < vx2 < x2 and y1 < vy1 < vy2 < y2, "dagre keeps the box around its members"
    assert "box-app" in graph_page.legend()
    graph_page.shot("app-boxes")

    graph_page.page.select_option("#graph-type", "service")
    assert graph_page.wait_for_sockets(4)["graph_type"] == "service"
    graph_page.wait_for("cy => cy.nodes('[isBox], [nodeType = \"app\"]').empty()")
    services = graph_page.styles("node[nodeType = 'service']", "shape")
    assert len(services) >= 4 and set(services) == {"triangle"}
    assert "box-app" not in graph_page.legend()


def test_it_boxes_nodes_by_namespace(graph_page: GraphPage, meshlens_url: str) -> None:
    """[bookinfo: productpage-v1, reviews-v*, ...]  istio-ingressgateway alone: no box."""
    graph_page.open(f"{meshlens_url}/?namespaces=bookinfo,istio-system&inject_service_nodes=false")
    assert graph_page.look("productpage-v1")["label"] == "productpage-v1\nbookinfo"
    graph_page.display("box-namespace")
    assert graph_page.wait_for_sockets(2)["box_by"] == "namespace"
    assert graph_page.url()["box_by"] == "namespace"
    graph_page.wait_for("cy => cy.nodes('[isBox = \"namespace\"]').length === 1")

    box = graph_page.look("box:bookinfo")
    assert box["shape"] == "round-rectangle" and box["label"] == "bookinfo"
    assert "productpage-v1" in box["children"] and "reviews-v2" in box["children"]
    # The box names the namespace: the nodes in it no longer repeat it.
    assert graph_page.look("productpage-v1")["label"] == "productpage-v1"
    assert graph_page.look("productpage-v1")["parent"] == "bookinfo"
    assert "box-namespace" in graph_page.legend()
    graph_page.page.keyboard.press("Escape")
    graph_page.shot("namespace-boxes")

    graph_page.display("box-namespace", False)
    assert "box_by" not in graph_page.wait_for_sockets(3)
    graph_page.wait_for("cy => cy.nodes().nonempty() && cy.nodes('[isBox]').empty()")
    assert "box-namespace" not in graph_page.legend()
    assert "box_by" not in graph_page.url()


def test_it_hides_and_shows_service_nodes(graph_page: GraphPage, meshlens_url: str) -> None:
    graph_page.open(f"{meshlens_url}/?namespaces=bookinfo")
    services = {"productpage", "reviews", "ratings", "details"}
    assert services <= set(graph_page.labels("[nodeType = 'service']"))
    graph_page.display("inject-service-nodes", False)
    assert graph_page.wait_for_sockets(2)["inject_service_nodes"] == "false"
    graph_page.wait_for("cy => cy.nodes().nonempty() && cy.nodes('[nodeType = \"service\"]')"
                        ".empty()")
    assert graph_page.url()["inject_service_nodes"] == "false"
    # reviews-v2 now calls ratings-v1 directly.
    assert graph_page.look("reviews-v2>ratings-v1")["data"]["healthStatus"] == "Failure"
    graph_page.display("inject-service-nodes", True)
    assert graph_page.wait_for_sockets(3)["inject_service_nodes"] == "true"
    graph_page.wait_for("cy => cy.nodes('[nodeType = \"service\"]').nonempty()")


def test_it_draws_idle_edges_dashed_and_idle_nodes_faded(graph_page: GraphPage,
                                                         meshlens_url: str) -> None:
    """reviews-v3 -> ratings-v2: no traffic now, 1 rps half an hour ago."""
    graph_page.open(f"{meshlens_url}{WORKLOADS}")
    assert not graph_page.has("ratings-v2")
    assert "idle-edge" not in graph_page.legend()

    graph_page.display("include-idle-edges")
    assert graph_page.wait_for_sockets(2)["include_idle_edges"] == "true"
    graph_page.wait_for("cy => cy.edges('.idle').nonempty()")
    idle = graph_page.look("reviews-v3>ratings-v2")
    busy = graph_page.look("reviews-v3>ratings-v1")
    assert "rates" not in idle["data"]["traffic"]
    assert "idle" in idle["classes"] and idle["line"] == "dashed" and idle["opacity"] < 1
    assert idle["label"] == "", "an idle edge has no rate to show"
    assert busy["line"] == "solid" and busy["label"] == "3.00 rps" and busy["opacity"] == 1
    assert "idle-edge" in graph_page.legend()
    assert graph_page.url()["include_idle_edges"] == "true"

    graph_page.display("include-idle-nodes")
    query = graph_page.wait_for_sockets(3)
    assert query["include_idle_nodes"] == "true" and query["include_idle_edges"] == "true"
    graph_page.wait_for("cy => cy.nodes('[?isIdle]').nonempty()")
    node = graph_page.look("ratings-v2")
    assert node["data"]["isIdle"] is True
    assert node["border"] == "dashed" and node["opacity"] < 1
    assert graph_page.look("ratings-v1")["border"] == "solid"
    assert "idle-node" in graph_page.legend()
    graph_page.page.keyboard.press("Escape")
    graph_page.shot("idle")


def test_it_labels_edges_with_the_chosen_number(graph_page: GraphPage, meshlens_url: str) -> None:
    """productpage-v1 -> reviews-v2: 3 rps, 15 % of productpage's requests, 40 ms on average,
    30 ms median, 74 ms at p95; 300 B/s of requests, 6 kB/s of responses."""
    edge = "productpage-v1>reviews-v2"
    graph_page.open(f"{meshlens_url}{WORKLOADS}")
    assert graph_page.look(edge)["label"] == "3.00 rps"

    # Shares are in the graph already: no new graph.
    graph_page.page.select_option("#edge-labels", "percent")
    assert graph_page.look(edge)["label"] == "15.0 %"
    assert graph_page.look("productpage-v1>details-v1")["label"] == "50.0 %"
    assert graph_page.url()["edge_labels"] == "percent"

    # Another response time statistic is another graph, computed by the server.
    graph_page.page.select_option("#edge-labels", "response_time:avg")
    assert graph_page.wait_for_sockets(2)["response_time"] == "avg"
    graph_page.wait_for("(cy, e) => cy.getElementById(e).style('label') === '40.0 ms'",
                        graph_page.look(edge)["id"])
    assert graph_page.url()["edge_labels"] == "response_time"
    assert graph_page.url()["response_time"] == "avg"
    graph_page.shot("response-time")

    graph_page.page.select_option("#edge-labels", "response_time:95")
    assert "response_time" not in graph_page.wait_for_sockets(3), "p95 is the default"
    graph_page.wait_for("(cy, e) => cy.getElementById(e).style('label') === '74.0 ms'",
                        graph_page.look(edge)["id"])

    graph_page.page.select_option("#edge-labels", "response_time:50")
    assert graph_page.wait_for_sockets(4)["response_time"] == "50"
    graph_page.wait_for("(cy, e) => cy.getElementById(e).style('label') === '30.0 ms'",
                        graph_page.look(edge)["id"])
    graph_page.tap(edge)
    assert "30.0 ms (median)" in graph_page.page.inner_text("#side-panel")

    graph_page.page.select_option("#edge-labels", "throughput:request")
    query = graph_page.wait_for_sockets(5)
    assert query["throughput"] == "request" and query["response_time"] == "50"
    graph_page.wait_for("(cy, e) => cy.getElementById(e).style('label') === '300 B/s'",
                        graph_page.look(edge)["id"])
    graph_page.page.select_option("#edge-labels", "throughput:response")
    assert "throughput" not in graph_page.wait_for_sockets(6)
    graph_page.wait_for("(cy, e) => cy.getElementById(e).style('label') === '6.0 kB/s'",
                        graph_page.look(edge)["id"])

    graph_page.page.select_option("#edge-labels", "none")
    assert graph_page.look(edge)["label"] == ""
    assert graph_page.url()["edge_labels"] == "none"
    graph_page.page.wait_for_timeout(200)
    assert len(graph_page.sockets) == 6, "labels alone do not reconnect"


def test_it_marks_mtls_edges_with_a_lock(graph_page: GraphPage, meshlens_url: str) -> None:
    """Every edge mutual TLS but productpage-v1 -> details-v1 (none) and reviews-v3 ->
    ratings-v1 (67 %)."""
    graph_page.open(f"{meshlens_url}{WORKLOADS}")
    assert graph_page.badges() == []
    assert "mtls" not in graph_page.legend()

    graph_page.display("badge-security")
    graph_page.page.keyboard.press("Escape")
    assert graph_page.url()["badge_security"] == "true"
    partial = graph_page.look("reviews-v3>ratings-v1")
    plain = graph_page.look("productpage-v1>details-v1")
    secure = graph_page.look("productpage-v1>reviews-v2")
    graph_page.wait_for("(cy, e) => document.querySelector(`.edge-badge[data-edge-id='${e}']`)",
                        partial["id"])
    badges = {b["edge"]: b for b in graph_page.badges()}
    mtls_edges = graph_page.page.evaluate(
        "() => window.meshlens.cy.edges().filter(e => Number(e.data('isMTLS')) > 0)"
        ".map(e => e.id())")
    assert set(badges) == set(mtls_edges) and len(badges) >= 6
    assert plain["id"] not in badges
    assert badges[partial["id"]]["partial"] and not badges[secure["id"]]["partial"]
    assert badges[partial["id"]]["title"] == "mTLS 67.0 %"
    # The lock sits on its edge, beside the label.
    lock, mid = badges[secure["id"]], secure["mid"]
    assert abs(lock["x"] - mid[0]) < 60 and abs(lock["y"] - mid[1]) < 20
    assert {"mtls", "mtls-partial"} <= set(graph_page.legend())
    assert len(graph_page.sockets) == 1, "badges are drawn from the graph on screen"
    graph_page.shot("mtls-badges")

    graph_page.tap(partial["id"])
    panel = graph_page.page.inner_text("#side-panel")
    assert "partial: 67.0 % of the traffic" in panel
    assert "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-ratings" in panel

    graph_page.display("badge-security", False)
    assert graph_page.badges() == []
    assert "mtls" not in graph_page.legend()
    assert "badge_security" not in graph_page.url()
