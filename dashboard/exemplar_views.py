"""GET /api/v1/exemplars: example traces of a node or an edge (see graph/exemplars.py)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from dashboard.auth import api_login
from dashboard.graphs import mesh_config, prometheus
from dashboard.views import json_errors
from graph.exemplars import TraceLinks, list_exemplars, parse_request


@require_GET
@api_login
@json_errors
def exemplars(request: HttpRequest) -> HttpResponse:
    parsed = parse_request(request.GET.dict())
    links = TraceLinks(settings.MESHLENS_TRACE_URL) if settings.MESHLENS_TRACE_URL else None
    found = list_exemplars(prometheus(), parsed, mesh_config(), links)
    return JsonResponse({"start": parsed.start, "end": parsed.end, "exemplars": found})
