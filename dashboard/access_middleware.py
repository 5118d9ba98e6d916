"""Access on every route, as one middleware: each request runs limited to the namespaces
its user, or its API token (`Authorization: Bearer`, on /api/ only; dashboard/tokens.py),
may see (dashboard/access.py). Before an API view runs, a request is a 401 while sign-in
is on and no one is signed in, and a 403 when it names a namespace outside the user's, in
any parameter or path segment: a route added later is covered without a line of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from dashboard import access, auth, tokens
from graph.access import check_query
from graph.kiali_params import ForbiddenNamespace


class AccessMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        secret = tokens.bearer(request) if request.path.startswith("/api/") else None
        if secret is not None:
            try:
                token = tokens.authenticate(request, secret)
            except tokens.TokenRefused as refused:
                return refused.response
            request.user = token.user
            patterns = access.token_patterns(token)
        else:
            patterns = access.user_patterns(request.user)
        request.meshlens_access = patterns  # type: ignore[attr-defined]
        with access.limited_to(patterns):
            return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Callable[..., HttpResponse],
                     args: tuple[Any, ...], kwargs: dict[str, Any]) -> HttpResponse | None:
        if not request.path.startswith("/api/"):
            return None
        if not auth.allowed(request.user):
            return auth.sign_in_first()
        patterns = getattr(request, "meshlens_access", None)
        if patterns is None:
            return None
        try:
            check_query(request.GET.dict(), kwargs, patterns)
        except ForbiddenNamespace as exc:
            return JsonResponse({"error": str(exc)}, status=403)
        return None
