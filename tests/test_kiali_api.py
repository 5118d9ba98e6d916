"""Kiali's graph API routes, replaying every Kiali golden test as an HTTP request.

Each fixture's series go into a real Prometheus; the fixture's URL (with the parameters
Kiali's Go handler forces in code) goes to Meshlens; the whole JSON must be Kiali's.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from tests import kiali

REQUIRED = [n for n in kiali.names() if n != "test_ambient_graph"]

# Views read the health rules from the database.
pytestmark = pytest.mark.django_db


def configure(settings: Any, request: dict[str, Any], url: str) -> None:
    config = request["kiali_config"]
    settings.PROMETHEUS_URL = url
    settings.MESHLENS_CLUSTER_NAME = config["home_cluster"]
    settings.MESHLENS_ACCESSIBLE_NAMESPACES = [
        (a["cluster"], a["name"]) for a in config["accessible_namespaces"]]
    settings.MESHLENS_QUERY_SCOPE = list(config["prometheus_query_scope"].items())


def test_it_replays_the_fifteen_required_fixtures() -> None:
    kiali.require()
    assert len(REQUIRED) == 15, f"kiali fixtures missing under {kiali.FIXTURES}"


@pytest.mark.parametrize("name", REQUIRED)
def test_it_answers_as_kiali(name: str, prometheus_with: Any, settings: Any) -> None:
    request = kiali.load(name, "request")
    server = prometheus_with(kiali.load(name, "series"), request["query_time"])
    configure(settings, request, server.url)
    response = Client().get(f"{request['path']}?{urlencode(request['params_equivalent'])}")
    assert response.status_code == request["expected_status"], response.content
    assert response.json() == kiali.expected(name)


def test_it_forbids_a_namespace_outside_the_accessible_ones(settings: Any) -> None:
    settings.MESHLENS_ACCESSIBLE_NAMESPACES = [("east", "bookinfo")]
    response = Client().get("/api/namespaces/graph?namespaces=secret")
    assert response.status_code == 403
    assert "secret" in response.json()["error"]


@pytest.mark.parametrize(("url", "param"), [
    ("/api/namespaces/graph?namespaces=bookinfo&graphType=versioned_app", "graphType"),
    ("/api/namespaces/graph?namespaces=bookinfo&rateTcp=lots", "rateTcp"),
    ("/api/namespaces/graph?namespaces=bookinfo&boxBy=galaxy", "boxBy"),
    ("/api/namespaces/bookinfo/applications/productpage/graph?graphType=workload", "graphType"),
])
def test_it_rejects_bad_kiali_parameters(url: str, param: str) -> None:
    response = Client().get(url)
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{param}: ")
