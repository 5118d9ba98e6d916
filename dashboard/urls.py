from __future__ import annotations

from django.contrib import admin
from django.urls import path

from dashboard import views

urlpatterns = [
    path("", views.index, name="index"),
    path("api/v1/graph", views.api_graph, name="api-graph"),
    path("api/v1/edges", views.api_edges, name="api-edges"),
    path("api/v1/namespaces", views.api_namespaces, name="api-namespaces"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
