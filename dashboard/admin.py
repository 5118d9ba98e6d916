from __future__ import annotations

from django.contrib import admin

from dashboard.models import HealthRule, HealthTolerance


class ToleranceInline(admin.TabularInline):
    model = HealthTolerance
    extra = 1


@admin.register(HealthRule)
class HealthRuleAdmin(admin.ModelAdmin):
    list_display = ("position", "namespace", "kind", "name", "enabled")
    list_editable = ("enabled",)
    inlines = (ToleranceInline,)
