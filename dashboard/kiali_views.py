"""Kiali's graph API, answered the way Kiali answers it (see graph/kiali_params.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from dashboard.auth import api_login
from dashboard.graphs import kiali_request
from dashboard.views import built, json_errors
from graph import kiali_params


@require_GET
@api_login
@json_errors
def graph(request: HttpRequest, **path: str) -> HttpResponse:
    """/api/namespaces/graph and the node routes; `path` holds the route's variables."""
    try:
        kiali_request(request.GET.dict(), path)
    except kiali_params.ForbiddenNamespace as exc:
        return JsonResponse({"error": str(exc)}, status=403)
    # Parsed here for its errors; the build (maybe a worker's) parses the same again.
    return built(request, "kiali", request.GET.dict(), path)
