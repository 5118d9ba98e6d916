"""Meshlens's own sign-in and sign-out pages: Django's auth views with the project's
templates (no inline script or style, so that a strict CSP can be set). Django's LoginView
keeps `next=` and follows it only to this host (no open redirect)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views


class LoginView(auth_views.LoginView):
    template_name = "account/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["oidc_enabled"] = bool(getattr(settings, "MESHLENS_OIDC_ENABLED", False))
        context["oidc_name"] = getattr(settings, "MESHLENS_OIDC_NAME", "")
        return context


class LogoutView(auth_views.LogoutView):
    """POST only (Django's rule: a link cannot sign a user out behind their back)."""
