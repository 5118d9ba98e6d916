"""GET /api/v1/graph/frames: have the workers build replay frames ahead (dashboard/frames.py)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from dashboard import answers, frames, graphs
from dashboard.auth import api_login
from dashboard.views import json_errors


@require_GET
@api_login
@json_errors
def api_frames(request: HttpRequest) -> HttpResponse:
    """GET /api/v1/graph/frames?<the graph's parameters>&times=t1,t2,...: have the workers
    build these replay frames ahead."""
    query = request.GET.dict()
    times = frames.parse_times(query.pop("times", None))
    graphs.options_from_query(query)  # a bad parameter is a 400 before anything is queued
    body: dict[str, Any] = frames.prefetch(query, times)
    body["worker"] = answers.worker_alive()
    return JsonResponse(body)
