"""A folded edge judged by the admin's health rules (dashboard/models.py HealthRule), as the
server judges real edges, not by Kiali's default tolerances: the rules come with the page,
and the page's summed edges of folded namespaces are judged by them (fold-health.js).
The graph is test_page_folded.py's dense mesh, sent through a stand-in /ws/graph, with its
edges' responses by code as the server writes them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import GraphPage
from tests.browser.test_page_folded import DENSE, EDGE, dense_graph, opened, serve
from tests.support.meshlens import ROOT, meshlens, prepared

# ns0 and ns1: 5xx degraded from 5 %, failure from 50 % (Kiali's: above 0 % and 10 %).
RULE = """
from dashboard.models import HealthRule
rule = HealthRule.objects.create(namespace="ns0|ns1|ns2|ns3", kind=".*", name=".*")
rule.tolerances.create(code="5XX", protocol="http", degraded=5, failure=50)
"""


@pytest.fixture(scope="module")
def ruled_meshlens(browser_prometheus: Any, redis_server: str,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Meshlens over a database with one health rule (RULE)."""
    workdir = tmp_path_factory.mktemp("ruled")
    env = {"PROMETHEUS_URL": browser_prometheus.url, "REDIS_URL": redis_server}
    subprocess.run([sys.executable, "manage.py", "shell", "-c", RULE], cwd=ROOT,
                   env=os.environ | prepared(workdir, env), check=True)
    with meshlens(workdir, env) as url:
        yield url


def with_responses(graph: dict[str, Any]) -> dict[str, Any]:
    """Each edge's responses by code, as shares of its rate (graph/cytoscape.py)."""
    for edge in graph["elements"]["edges"]:
        rates = edge["data"]["traffic"]["rates"]
        total, errors = float(rates["http"]), float(rates.get("http5xx", 0))
        responses = {"200": {"flags": {"-": f"{(total - errors) / total * 100:.1f}"}}}
        if errors:
            responses["503"] = {"flags": {"-": f"{errors / total * 100:.1f}"}}
        edge["data"]["traffic"]["responses"] = responses
    return graph


def test_it_judges_a_folded_edge_by_the_admins_rules(graph_page: GraphPage,
                                                      ruled_meshlens: str) -> None:
    """ns0 -> ns1: 1 failing edge of 20 (1.75 % 5xx): Healthy under the rule (Degraded by
    Kiali's defaults); ns2 -> ns3: all failing (35 %): Degraded (Failure by the defaults);
    ns4 -> ns5, no rule: Healthy, the colour of ns0 -> ns1."""
    serve(graph_page.page, with_responses(dense_graph()))
    opened(graph_page, f"{ruled_meshlens}/?namespaces={','.join(DENSE)}", len(DENSE))
    page = graph_page.page
    mixed = page.evaluate(EDGE, ["ns0", "ns1"])
    failing = page.evaluate(EDGE, ["ns2", "ns3"])
    clean = page.evaluate(EDGE, ["ns4", "ns5"])
    assert (mixed["health"], mixed["worst"], mixed["failing"]) == ("Healthy", "Failure", 1)
    assert failing["health"] == "Degraded"
    assert clean["health"] == "Healthy"
    assert mixed["color"] == clean["color"] != failing["color"]
    # Its worst member still names the failing edge, whose own health is the server's.
    assert failing["label"] == "40 rps · 35 % err"
    graph_page.shot("folded-edge-by-rules")


def test_it_judges_a_folded_edge_by_the_defaults_without_rules(graph_page: GraphPage,
                                                                meshlens_url: str) -> None:
    """The same graph, no rule: ns0 -> ns1 Degraded, ns2 -> ns3 Failure (Kiali's)."""
    serve(graph_page.page, with_responses(dense_graph()))
    opened(graph_page, f"{meshlens_url}/?namespaces={','.join(DENSE)}", len(DENSE))
    page = graph_page.page
    assert page.evaluate(EDGE, ["ns0", "ns1"])["health"] == "Degraded"
    assert page.evaluate(EDGE, ["ns2", "ns3"])["health"] == "Failure"
