"""GET /api/v1/series: the side panel's charts of a node, an edge or a whole graph (see
graph/series.py), from the first data source and dialect that has them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from dashboard import sources
from dashboard.auth import api_login
from dashboard.graphs import mesh_config
from dashboard.views import json_errors
from graph import series
from graph.options import GraphOptions
from graph.prometheus import PrometheusError, without_credentials


def public_url(source: sources.Source) -> str:
    """Where the user's browser reaches the source's Prometheus: PROMETHEUS_URL may be an
    address only the server can reach (MESHLENS_PROMETHEUS_PUBLIC_URL says the other)."""
    if source.name == sources.DEFAULT:
        return str(settings.MESHLENS_PROMETHEUS_PUBLIC_URL)
    return without_credentials(source.settings.url)


def unsupported_reason(dialect: str) -> str:
    return f"{dialect} telemetry cannot tell this element's requests apart: no charts from it"


def series_payload(request: series.SeriesRequest) -> dict[str, Any]:
    """The charts of the first (source, dialect) pair with data (source order, then the
    source's dialects in order), else of the first that has queries for the element; a
    source that cannot be read is named in `failedSources`, as in the graph."""
    options = GraphOptions(namespaces=(), sources=request.sources, dialects=request.dialects)
    mesh = mesh_config()
    todo = sources.pairs_for(sources.selected(options), options, mesh)
    unsupported: dict[str, str] = {}
    jobs = []
    for source, dialect in todo.pairs:
        queries = series.element_queries(request, sources.mesh_of(mesh, source, dialect),
                                         dialect)
        if queries is None:
            unsupported.setdefault(dialect, unsupported_reason(dialect))
        else:
            jobs.append((source, dialect, queries))
    results = sources.each([
        (lambda s=source, q=queries: series.read_series(s.client(), request, q))
        for source, _, queries in jobs]) if jobs else []
    failed, chosen = dict(todo.failed), None
    for job, result in zip(jobs, results, strict=True):
        if isinstance(result, PrometheusError):
            failed.setdefault(job[0].name, str(result))
        elif chosen is None or (not series.has_data(chosen[1]) and series.has_data(result)):
            chosen = (job, result)
    if failed and chosen is None and jobs:
        raise sources.all_failed(failed)
    if chosen is None:
        body = series.body(request, {}, {})
        body["links"] = {}
    else:
        (source, dialect, queries), values = chosen
        body = series.body(request, values, queries)
        body |= {"source": source.name, "dialect": dialect,
                 "links": series.links(public_url(source), queries, request)}
    if unsupported:
        body["unsupported"] = unsupported
    if failed:
        body["failedSources"] = failed
    return body


@require_GET
@api_login
@json_errors
def api_series(request: HttpRequest) -> HttpResponse:
    return JsonResponse(series_payload(series.parse_request(request.GET.dict())))
