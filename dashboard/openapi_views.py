"""The API's description (dashboard/openapi.yaml, kept by hand and checked by
tests/test_openapi.py) and the page that draws it with Swagger UI."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

DESCRIPTION = Path(__file__).with_name("openapi.yaml")


@cache
def description() -> bytes:
    return DESCRIPTION.read_bytes()


@require_GET
def openapi_yaml(request: HttpRequest) -> HttpResponse:
    """The description as it is kept. Like /healthz it needs no sign-in: it says what the
    API takes, nothing of the mesh."""
    return HttpResponse(description(), content_type="application/yaml; charset=utf-8")


@require_GET
def api_docs(request: HttpRequest) -> HttpResponse:
    return render(request, "api_docs.html")
