"""MESHLENS_AUTH=login: the page, the API and the WebSocket need a signed-in user
(Django's users; sign in at /login). With `anonymous`, everyone may look."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse

View = Callable[..., HttpResponse]


def login_required() -> bool:
    return bool(settings.MESHLENS_AUTH == "login")


def allowed(user: Any) -> bool:
    return not login_required() or bool(getattr(user, "is_authenticated", False))


def page_login(view: View) -> View:
    """Send a visitor who is not signed in to the sign-in page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not allowed(request.user):
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        return view(request, *args, **kwargs)

    return wrapper


def api_login(view: View) -> View:
    """Answer 401 JSON to a client that is not signed in."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not allowed(request.user):
            return sign_in_first()
        return view(request, *args, **kwargs)

    return wrapper


def sign_in_first() -> HttpResponse:
    return JsonResponse({"error": "sign in first (MESHLENS_AUTH=login)"}, status=401)
