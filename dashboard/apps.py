from __future__ import annotations

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Meshlens"

    def ready(self) -> None:
        from dashboard import access_live

        access_live.connect_signals()  # live viewers hear when access changes
