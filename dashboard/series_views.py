"""GET /api/v1/series: the side panel's charts of a node, an edge or a whole graph (see
graph/series.py), from the first data source and dialect that has them."""

from __future__ import annotations

from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from dashboard import shared_answers, sources
from dashboard.auth import api_login
from dashboard.graphs import mesh_config
from dashboard.views import gzip_response, json_errors
from graph import series
from graph.compression import gzipped
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


def shared_key(request: series.SeriesRequest) -> str:
    """The request and what else the answer depends on: where the default source is and how
    it is read (the data sources added in the admin are named in the request, when it
    narrows them). Whoever may ask for an element may see its charts (the namespaces are
    checked before the view): they are shared by every viewer."""
    return shared_answers.key_of("series", {
        "request": request.shared_key(), "prometheus": str(settings.PROMETHEUS_URL),
        "dialects": str(settings.MESHLENS_DIALECTS),
        "public": str(settings.MESHLENS_PROMETHEUS_PUBLIC_URL)}, {})


# How long a viewer waits for another's range queries before making its own.
WAIT_S = 30.0


@require_GET
@api_login
@json_errors
def api_series(request: HttpRequest) -> HttpResponse:
    """One set of range queries per element and window for all viewers within a refresh
    period (dashboard/shared_answers.py), for windows that end now."""
    asked = series.parse_request(request.GET.dict())
    if asked.explicit_end:
        # As every shared answer: only answers of now (a past window is asked once per
        # viewer, and the API's callers that name a time get exactly their own).
        return JsonResponse(series_payload(asked))
    status, body = shared_answers.shared(
        shared_key(asked), settings.MESHLENS_REFRESH_SECONDS, WAIT_S,
        lambda: (200, gzipped(orjson.dumps(series_payload(asked)))))
    response = gzip_response(body, request)
    response.status_code = status
    return response
