"""The project's routes with single sign-on's, for tests that turn it on after start (the
project's URLconf adds them only when MESHLENS_OIDC_CLIENT_ID is set at start)."""

from __future__ import annotations

from django.urls import include, path

from dashboard.urls import handler404
from dashboard.urls import urlpatterns as project_urls

urlpatterns = [*project_urls, path("oidc/", include("mozilla_django_oidc.urls"))]

__all__ = ["handler404", "urlpatterns"]
