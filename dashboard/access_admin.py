"""The admin of access: each group's namespaces (on the group's page, and a list of their
own), and API tokens (made here too: the secret is shown once, in the page's message)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from dashboard.access_models import ApiToken, NamespaceAccess, hash_secret


class NamespaceAccessInline(admin.StackedInline):
    model = NamespaceAccess
    can_delete = True
    extra = 1
    max_num = 1


class GroupWithAccessAdmin(GroupAdmin):
    inlines = (NamespaceAccessInline,)


admin.site.unregister(Group)
admin.site.register(Group, GroupWithAccessAdmin)


@admin.register(NamespaceAccess)
class NamespaceAccessAdmin(admin.ModelAdmin):
    list_display = ("group", "namespaces")


@admin.action(description="Revoke the selected tokens")
def revoke(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    queryset.filter(revoked__isnull=True).update(revoked=timezone.now())


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "shown_prefix", "namespaces", "created", "expires",
                    "revoked", "last_used")
    list_filter = ("revoked",)
    fields = ("user", "name", "namespaces", "expires", "revoked", "last_used")
    readonly_fields = ("last_used",)
    actions = (revoke,)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        obj.lookup, secret = ApiToken.new_secret()
        obj.secret_hash = hash_secret(secret)
        super().save_model(request, obj, form, change)
        messages.warning(request, f"The token {obj.name!r} is {secret}: copy it now, it is not "
                                  "shown again.")
