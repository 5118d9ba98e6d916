from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.decorators.clickjacking import xframe_options_exempt

from dashboard import (
    account_views,
    exemplar_views,
    impact_views,
    kiali_views,
    openapi_views,
    series_views,
    token_views,
    views,
)

urlpatterns = [
    path("", views.index, name="index"),
    # Framed by the origins of MESHLENS_EMBED_ORIGINS (dashboard/headers.py's frame-ancestors).
    path("embed/graph", xframe_options_exempt(views.index), {"embed": True}, name="embed-graph"),
    path("api/v1/graph", views.api_graph, name="api-graph"),
    path("api/v1/snapshot", views.api_snapshot, name="api-snapshot"),
    path("api/v1/delta", views.api_delta, name="api-delta"),
    path("api/v1/edges", views.api_edges, name="api-edges"),
    path("api/v1/namespaces", views.api_namespaces, name="api-namespaces"),
    path("api/v1/exemplars", exemplar_views.exemplars, name="api-exemplars"),
    path("api/v1/series", series_views.api_series, name="api-series"),
    path("api/v1/impact", impact_views.impact, name="api-impact"),
    path("api/v1/graph/diff", impact_views.graph_diff_view, name="api-graph-diff"),
    path("healthz", views.healthz, name="healthz"),
    path("login", account_views.LoginView.as_view(), name="login"),
    path("logout", account_views.LogoutView.as_view(), name="logout"),
    path("tokens", token_views.tokens_page, name="tokens"),
    path("tokens/<int:pk>/revoke", token_views.revoke_token, name="revoke-token"),
    path("metrics", views.metrics_view, name="metrics"),
    # The API's description (dashboard/openapi.yaml) and the page that draws it.
    path("api/openapi.yaml", openapi_views.openapi_yaml, name="openapi"),
    path("api/docs", openapi_views.api_docs, name="api-docs"),
    # Kiali's graph API.
    path("api/namespaces/graph", kiali_views.graph, name="kiali-graph"),
    path("api/namespaces/<str:namespace>/workloads/<str:workload>/graph", kiali_views.graph,
         name="kiali-workload-graph"),
    path("api/namespaces/<str:namespace>/services/<str:service>/graph", kiali_views.graph,
         name="kiali-service-graph"),
    path("api/namespaces/<str:namespace>/applications/<str:app>/graph", kiali_views.graph,
         name="kiali-app-graph"),
    path("api/namespaces/<str:namespace>/applications/<str:app>/versions/<str:version>/graph",
         kiali_views.graph, name="kiali-app-version-graph"),
    path("admin/", admin.site.urls),
]

if settings.MESHLENS_OIDC_ENABLED:  # single sign-on: /oidc/authenticate/, /oidc/callback/
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))

handler404 = "dashboard.views.not_found"
