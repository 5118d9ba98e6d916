from __future__ import annotations

from django.urls import path

from dashboard.consumers import GraphConsumer

websocket_urlpatterns = [path("ws/graph", GraphConsumer.as_asgi())]
