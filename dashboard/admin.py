from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from dashboard.models import DataSource, HealthRule, HealthTolerance


class ToleranceInline(admin.TabularInline):
    model = HealthTolerance
    extra = 1


@admin.register(HealthRule)
class HealthRuleAdmin(admin.ModelAdmin):
    list_display = ("position", "namespace", "kind", "name", "enabled")
    list_editable = ("enabled",)
    inlines = (ToleranceInline,)


class DataSourceForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="http", label="Prometheus URL",
                         help_text="e.g. https://prometheus.example:9090")

    class Meta:
        model = DataSource
        fields = ("name", "position", "url", "token", "username", "password", "ca_file",
                  "verify", "default_namespace", "dialects", "enabled")
        # Secrets are written, never shown back (an empty field keeps the stored one).
        widgets = {"token": forms.PasswordInput(render_value=False),
                   "password": forms.PasswordInput(render_value=False)}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for secret in ("token", "password"):
            if not data.get(secret) and self.instance.pk:
                data[secret] = getattr(self.instance, secret)
        return data


@admin.register(DataSource)
class DataSourceAdmin(admin.ModelAdmin):
    form = DataSourceForm
    list_display = ("name", "url", "dialects", "default_namespace", "enabled", "position")
    list_editable = ("enabled",)


from dashboard import access_admin  # noqa: E402,F401  (registers the access models)
