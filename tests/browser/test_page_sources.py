"""The side panel names the data sources that saw a node or an edge (a graph merged from
several sources carries `sources`). The page is served a crafted graph over a routed
/ws/graph, as tests/browser/test_page_crafted.py does."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Page, WebSocketRoute

from tests.browser.conftest import GraphPage


def merged_graph() -> dict[str, Any]:
    """cron (default) -> web (default, edge): the edge seen by both sources"""
    def node(node_id: str, label: str, sources: list[str]) -> dict[str, Any]:
        return {"data": {"id": node_id, "nodeType": "workload", "cluster": "Kubernetes",
                         "namespace": "emojivoto", "workload": label, "label": label,
                         "healthStatus": "Healthy", "sources": sources}}

    edge = {"data": {"id": "cron>web", "source": "cron", "target": "web",
                     "healthStatus": "Healthy", "sources": ["default", "edge"],
                     "traffic": {"protocol": "http", "rates": {"http": "3.00"}}}}
    return {"timestamp": 1700000000, "duration": 60, "graphType": "workload",
            "elements": {"nodes": [node("cron", "cron", ["default"]),
                                   node("web", "web", ["default", "edge"])],
                         "edges": [edge]}}


def test_it_lists_the_sources_in_the_side_panel(page: Page, graph_page: GraphPage,
                                                meshlens_url: str) -> None:
    def accept(ws: WebSocketRoute) -> None:
        graph_page.opened(ws.url)
        ws.send(json.dumps({"type": "graph.snapshot", "graph": merged_graph()}))

    page.route_web_socket("**/ws/graph?*", accept)
    graph_page.open(f"{meshlens_url}/?namespaces=emojivoto")
    graph_page.tap("web")
    panel = page.inner_text("#side-panel")
    assert "Data sources" in panel and "default, edge" in panel
    graph_page.tap("cron")
    page.wait_for_function("document.querySelector('#side-panel-title').textContent === 'cron'")
    panel = page.inner_text("#side-panel")
    assert "Data sources" in panel and "default, edge" not in panel
