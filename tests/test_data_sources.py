"""Several data sources through two real Prometheus servers: Istio telemetry on the
default one (PROMETHEUS_URL), Linkerd's on another (a DataSource named `edge`), with
workloads both see. Detection, the merged graph, a dead source, sources=/dialects=, the
admin form.

    default (Istio)                          edge (Linkerd)
    cron -> web-svc -> web (3/s)             vote-bot -> web-svc -> web (9/s 200, 1/s 500)
    vote-bot -> web-svc -> web               web -> voting-svc -> voting (gRPC 3/s OK,
        (8/s 200, 1/s 500, 1/s 503)              1/s UNAVAILABLE)
    web -> voting-svc -> voting (gRPC 3/s)   web -> emoji-svc -> emoji, vote-bot -> emoji-svc,
                                             web -> redis-svc -> redis (TCP), ...
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dashboard import sources
from dashboard.models import DataSource
from graph.merge import Sourced, detail, merge_sources
from graph.options import GraphOptions, MeshConfig, graph_options_from_query
from graph.prometheus import Prometheus, PrometheusSettings
from tests import mesh as istio
from tests.graph_elements import elements
from tests.linkerd_mesh import emojivoto
from tests.support.ports import free_port
from tests.support.prometheus import PrometheusPool, PrometheusServer
from tests.support.websocket import opened

QUERY_TIME = 1700000000
CRON = istio.Workload("batch", "cron", "cron")
VOTE_BOT = istio.Workload("emojivoto", "vote-bot", "vote-bot", "v11")
WEB = istio.Workload("emojivoto", "web", "web-app", "v11", service="web-svc")
VOTING = istio.Workload("emojivoto", "voting", "voting-api", "v11", service="voting-svc")
GRAPH = f"/api/v1/graph?namespaces=batch,emojivoto&query_time={QUERY_TIME}&duration=600s"

pytestmark = pytest.mark.django_db


def istio_mesh() -> list[dict[str, Any]]:
    return (istio.request_edge(CRON, WEB, {"200": 3.0})
            + istio.request_edge(VOTE_BOT, WEB, {"200": 8.0, "500": 1.0, "503": 1.0})
            + istio.request_edge(WEB, VOTING, {"grpc:0": 3.0}, protocol="grpc"))


@pytest.fixture
def servers(prometheus_with: PrometheusPool) -> tuple[PrometheusServer, PrometheusServer]:
    return prometheus_with(istio_mesh(), QUERY_TIME), prometheus_with(emojivoto(), QUERY_TIME)


@pytest.fixture(autouse=True)
def fresh_detections() -> Iterator[None]:
    sources.DETECTIONS.clear()
    yield
    sources.DETECTIONS.clear()


@pytest.fixture
def two_sources(servers: tuple[PrometheusServer, PrometheusServer], settings: Any) -> DataSource:
    settings.PROMETHEUS_URL = servers[0].url
    settings.MESHLENS_DIALECTS = ["istio"]
    return DataSource.objects.create(name="edge", url=servers[1].url)


def get(path: str) -> tuple[int, dict[str, Any]]:
    response = Client().get(path)
    return response.status_code, response.json()


def test_it_detects_the_dialects_of_each_source(two_sources: DataSource) -> None:
    """default: istio_requests_total only; edge: response_total only"""
    mesh = MeshConfig()
    istio_only = replace(sources.default_source(), dialects=None)
    edge = sources.configured()[1]
    assert sources.DETECTIONS.dialects(istio_only, mesh) == ("istio",)
    assert sources.DETECTIONS.dialects(edge, mesh) == ("linkerd",)
    forced = replace(edge, dialects=("istio", "linkerd"))
    assert sources.DETECTIONS.dialects(forced, mesh) == ("istio", "linkerd")


def test_it_detects_again_when_a_source_changes(two_sources: DataSource,
                                                servers: tuple[Any, Any]) -> None:
    """edge first points at the Linkerd server, then at the Istio one"""
    mesh = MeshConfig()
    assert sources.DETECTIONS.dialects(sources.configured()[1], mesh) == ("linkerd",)
    two_sources.url = servers[0].url
    two_sources.save()
    assert sources.DETECTIONS.dialects(sources.configured()[1], mesh) == ("istio",)


def test_it_detects_the_dialects_of_prometheus_url_when_asked_to(
        servers: tuple[PrometheusServer, PrometheusServer], settings: Any) -> None:
    """MESHLENS_DIALECTS=auto, PROMETHEUS_URL on the Linkerd server alone:
    vote-bot -> web-svc -> web, web -> voting-svc -> voting ... drawn from Linkerd's
    series, with no parameter and no dialect named"""
    settings.PROMETHEUS_URL = servers[1].url
    settings.MESHLENS_DIALECTS = []
    status, body = get(GRAPH)
    assert status == 200, body
    nodes, edges = elements(body)
    assert ("web", "voting-svc", "grpc") in edges
    assert "cron" not in nodes  # Istio's, on the other server
    assert "failedSources" not in body and "sources" not in nodes["web"]


def test_it_asks_again_soon_when_it_found_no_dialect(
        prometheus_with: PrometheusPool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Prometheus that holds nothing yet (just started, nothing scraped): the empty
    detection is kept briefly, not for DETECT_TTL_S"""
    empty = Prometheus(PrometheusSettings(url=prometheus_with([], QUERY_TIME).url))
    source = sources.Source("fresh", empty.settings)
    asked = []
    real = sources.detect_dialects

    def counted(*args: Any, **kwargs: Any) -> tuple[str, ...]:
        asked.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(sources, "detect_dialects", counted)
    assert sources.DETECTIONS.dialects(source, MeshConfig()) == ()
    assert sources.DETECTIONS.dialects(source, MeshConfig()) == ()
    assert len(asked) == 1  # kept for a while
    monkeypatch.setattr(sources, "NOTHING_FOUND_TTL_S", 0.0)
    sources.DETECTIONS.clear()
    sources.DETECTIONS.dialects(source, MeshConfig())
    sources.DETECTIONS.dialects(source, MeshConfig())
    assert len(asked) == 3  # an empty answer expired at once: asked again


def test_it_merges_two_sources_into_one_graph(two_sources: DataSource) -> None:
    """cron -> web-svc -> web (default only); vote-bot -> web-svc -> web (both: Istio's
    three codes beat Linkerd's two); web -> voting-svc -> voting (both: Linkerd's OK and
    UNAVAILABLE beat Istio's OK alone); web -> emoji-svc -> emoji (edge only)"""
    status, body = get(GRAPH)
    assert status == 200 and "failedSources" not in body
    nodes, edges = elements(body)
    assert [n["data"]["label"] for n in body["elements"]["nodes"]].count("web") == 1
    assert nodes["web"]["sources"] == ["default", "edge"]
    assert nodes["cron"]["sources"] == ["default"] and nodes["emoji"]["sources"] == ["edge"]
    assert edges[("cron", "web-svc", "http")]["sources"] == ["default"]
    assert edges[("web", "emoji-svc", "grpc")]["sources"] == ["edge"]
    from_istio = edges[("vote-bot", "web-svc", "http")]
    assert from_istio["sources"] == ["default", "edge"]
    assert set(from_istio["traffic"]["responses"]) == {"200", "500", "503"}
    assert from_istio["traffic"]["rates"]["http5xx"] == "2.00"
    from_linkerd = edges[("web", "voting-svc", "grpc")]
    assert from_linkerd["traffic"]["rates"]["grpc"] == "4.00"
    assert from_linkerd["traffic"]["rates"]["grpcErr"] == "1.00"
    assert from_linkerd["healthStatus"] == "Failure"
    # Roots and shares over the merged edges: web's outbound adds up to 100 %.
    assert nodes["cron"]["isRoot"] is True and "isRoot" not in nodes["web"]
    web_grpc = [e for (src, _, protocol), e in edges.items() if src == "web"
                and protocol == "grpc"]
    assert sum(float(e["traffic"]["rates"]["grpcPercentReq"]) for e in web_grpc) == \
        pytest.approx(100, abs=0.2)


def test_it_prefers_the_more_detailed_edge_whatever_the_order() -> None:
    """a -> b seen by two sources: the copy with more (code, flag) pairs wins; on a tie,
    more appended fields, then Istio over Linkerd, then the first source"""
    two = {"httpResponses": {"200": {"flags": {"-": 1.0}, "hosts": {}},
                             "503": {"flags": {"-": 1.0}, "hosts": {}}}}
    one = {"httpResponses": {"200": {"flags": {"-": 2.0}, "hosts": {}}}, "responseTime": 5}
    assert detail("http", two, "linkerd") > detail("http", one, "istio")
    assert detail("http", one, "linkerd") > detail("http", {"httpResponses": one[
        "httpResponses"]}, "istio")
    assert detail("http", one, "istio") > detail("http", one, "linkerd")


def test_it_keeps_the_first_copy_of_an_equal_edge() -> None:
    """a -> b, the same in both sources: the first source's copy, seen by both"""
    import networkx as nx

    def graph(rate: float) -> nx.MultiDiGraph:
        g = nx.MultiDiGraph()
        for node in ("a", "b"):
            g.add_node(node, node_type="workload", cluster="c", namespace="ns", workload=node,
                       md={})
        g.add_edge("a", "b", key="tcp", md={"tcp": rate}, source_md=g.nodes["a"]["md"])
        return g

    merged = merge_sources([Sourced("one", "istio", graph(1.0)),
                            Sourced("two", "istio", graph(2.0))], None)
    data = merged.edges["a", "b", "tcp"]
    assert data["md"]["tcp"] == 1.0 and data["md"]["sources"] == ["one", "two"]
    assert merged.nodes["a"]["md"]["isRoot"] is True


def test_it_shows_the_other_sources_when_one_is_down(two_sources: DataSource) -> None:
    """default (Istio) up; edge at a port where nothing listens: default's graph, edge named"""
    two_sources.url = f"http://127.0.0.1:{free_port()}"
    two_sources.save()
    status, body = get(GRAPH)
    assert status == 200
    assert list(body["failedSources"]) == ["edge"]
    assert "cannot be reached" in body["failedSources"]["edge"]
    nodes, edges = elements(body)
    assert ("cron", "web-svc", "http") in edges and "emoji" not in nodes
    assert nodes["web"]["sources"] == ["default"]
    status, body = get(f"/api/v1/edges?namespaces=batch&query_time={QUERY_TIME}&sources="
                       "default,edge")
    assert status == 200 and list(body["failedSources"]) == ["edge"]


def test_it_fails_as_before_when_every_source_is_down(two_sources: DataSource,
                                                      settings: Any) -> None:
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    two_sources.url = f"http://127.0.0.1:{free_port()}"
    two_sources.save()
    status, body = get(GRAPH)
    assert status == 503
    assert "data source default" in body["error"] and "data source edge" in body["error"]


def test_it_narrows_to_sources_and_dialects(two_sources: DataSource) -> None:
    """sources=edge: Linkerd's graph alone; dialects=istio: default's alone"""
    _, body = get(GRAPH + "&sources=edge")
    nodes, edges = elements(body)
    assert "cron" not in nodes and ("web", "emoji-svc", "grpc") in edges
    assert "sources" not in nodes["web"]  # one source read: no field
    assert edges[("web", "voting-svc", "grpc")]["traffic"]["rates"]["grpc"] == "4.00"
    _, body = get(GRAPH + "&dialects=istio")
    nodes, edges = elements(body)
    assert "cron" in nodes and "emoji" not in nodes
    assert edges[("web", "voting-svc", "grpc")]["traffic"]["rates"]["grpc"] == "3.00"
    _, body = get(GRAPH + "&sources=default,edge&dialects=linkerd,istio")
    assert elements(body)[0]["web"]["sources"] == ["default", "edge"]


def test_it_rejects_unknown_sources_and_dialects(two_sources: DataSource) -> None:
    for path, param, name in ((GRAPH + "&sources=edge,nope", "sources", "'nope'"),
                              (GRAPH + "&dialects=consul", "dialects", "'consul'"),
                              ("/api/v1/edges?namespaces=batch&sources=x", "sources", "'x'"),
                              ("/api/v1/namespaces?dialects=nope", "dialects", "'nope'"),
                              (GRAPH + "&sources=a%20b", "sources", "'a b'")):
        status, body = get(path)
        assert status == 400, path
        assert body["error"].startswith(f"{param}: ") and name in body["error"], body


def test_it_puts_sources_and_dialects_in_the_live_scope_key() -> None:
    plain = graph_options_from_query({"namespaces": "bookinfo"})
    narrowed = graph_options_from_query({"namespaces": "bookinfo", "sources": "edge,default",
                                         "dialects": "istio"})
    assert "sources" not in plain.scope_key()  # keys of existing scopes do not change
    assert narrowed.scope_key().endswith("&sources=default,edge&dialects=istio")
    assert GraphOptions.from_scope_key(narrowed.scope_key()) == narrowed


def test_it_lists_the_namespaces_of_every_source(two_sources: DataSource,
                                                 prometheus_with: PrometheusPool) -> None:
    """namespaces seen in the last hour: default's Istio data is older (none); edge's
    Linkerd data, recent, names emojivoto"""
    import time

    now = int(time.time()) // 15 * 15 - 60
    two_sources.url = prometheus_with(emojivoto(), now).url
    two_sources.save()
    assert get("/api/v1/namespaces")[1] == {"namespaces": ["emojivoto"]}
    assert get("/api/v1/namespaces?sources=default")[1] == {"namespaces": []}


def test_it_reads_a_source_with_basic_auth_settings(servers: tuple[Any, Any]) -> None:
    """the client of a source with basic auth sends it (Prometheus ignores it here)"""
    source = sources.Source("secured", PrometheusSettings(url=servers[1].url),
                            basic_auth=("meshlens", "s3cret"))
    prom: Prometheus = source.client()
    assert prom.session.auth == ("meshlens", "s3cret")
    assert sources.DETECTIONS.dialects(source, MeshConfig()) == ("linkerd",)


def test_it_edits_data_sources_in_the_admin() -> None:
    admin = User.objects.create_superuser("admin", "admin@example.com", "pw")
    client = Client()
    client.force_login(admin)
    form = {"name": "edge", "position": "0", "url": "https://prom.example:9090",
            "token": "t0ken", "username": "", "password": "", "ca_file": "", "verify": "on",
            "default_namespace": "social", "dialects": "linkerd, istio", "enabled": "on"}
    response = client.post("/admin/dashboard/datasource/add/", form)
    assert response.status_code == 302, response.content
    stored = DataSource.objects.get(name="edge")
    assert stored.token == "t0ken" and stored.default_namespace == "social"
    assert sources.configured()[1].dialects == ("linkerd", "istio")
    page = client.get(f"/admin/dashboard/datasource/{stored.pk}/change/").content.decode()
    assert "t0ken" not in page  # a secret is never shown back
    # Saved again without retyping it, the token stays.
    assert client.post(f"/admin/dashboard/datasource/{stored.pk}/change/",
                       form | {"token": ""}).status_code == 302
    assert DataSource.objects.get(pk=stored.pk).token == "t0ken"
    for bad, field_error in (({"name": "default"}, "PROMETHEUS_URL"),
                             ({"name": "two", "dialects": "istio,consul"}, "consul"),
                             ({"name": "three", "username": "u"}, "not both")):
        response = client.post("/admin/dashboard/datasource/add/", form | bad)
        assert response.status_code == 200 and field_error in response.content.decode()


@pytest.mark.django_db(transaction=True)
async def test_it_refuses_a_live_graph_of_an_unknown_source(meshlens_redis: str) -> None:
    """/ws/graph?sources=nope: a graph.error naming the parameter, close code 4400"""
    communicator = await opened("/ws/graph?namespaces=a&sources=nope")
    message = await communicator.receive_json_from(timeout=5)
    assert message["type"] == "graph.error" and message["stale"] is False
    assert message["message"].startswith("sources: no data source 'nope'")
    closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4400}
    await communicator.disconnect()  # the app ends with the test, nothing left running
