"""GET /api/v1/exemplars: example traces of a node or an edge (see graph/exemplars.py),
from every data source and dialect the graph reads (dashboard/sources.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from dashboard import sources
from dashboard.auth import api_login
from dashboard.graphs import mesh_config
from dashboard.views import json_errors
from graph.exemplars import ExemplarRequest, TraceLinks, list_exemplars, parse_request, ranked
from graph.options import GraphOptions
from graph.prometheus import PrometheusError


def exemplars_payload(request: ExemplarRequest) -> dict[str, Any]:
    """Each (source, dialect) pair's exemplars, ranked together. A source that cannot be
    read is named in `failedSources`, as in the graph; when every one fails, the error."""
    links = TraceLinks(settings.MESHLENS_TRACE_URL) if settings.MESHLENS_TRACE_URL else None
    options = GraphOptions(namespaces=(), sources=request.sources, dialects=request.dialects)
    mesh = mesh_config()
    todo = sources.pairs_for(sources.selected(options), options, mesh)
    results = sources.each([
        (lambda s=source, d=dialect: list_exemplars(
            s.client(), request, sources.mesh_of(mesh, s, d), links))
        for source, dialect in todo.pairs])
    failed, found, answered = dict(todo.failed), [], False
    for (source, _), result in zip(todo.pairs, results, strict=True):
        if isinstance(result, PrometheusError):
            failed.setdefault(source.name, str(result))
        else:
            found += result
            answered = True
    if failed and not answered:  # every source failed: as with one source, a 503
        raise sources.all_failed(failed)
    body: dict[str, Any] = {"start": request.start, "end": request.end,
                            "exemplars": ranked(found, request.limit)}
    if failed:
        body["failedSources"] = failed
    return body


@require_GET
@api_login
@json_errors
def exemplars(request: HttpRequest) -> HttpResponse:
    return JsonResponse(exemplars_payload(parse_request(request.GET.dict())))
