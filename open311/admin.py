"""Admin of Open311 clients: a new key is shown once; keys are revoked, never deleted."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from geocity.errors import DomainError

from .models import ApiClient, ClientRequest, ClientUpdate
from .services import api_key_create, api_key_revoke


class ApiClientForm(forms.ModelForm):
    class Meta:
        model = ApiClient
        fields = ("name", "contact", "departments", "is_active")


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    """Open311 client applications. A new key is shown once, on creation."""

    form = ApiClientForm
    list_display = ("name", "contact", "key_prefix", "is_active", "created", "revoked_at")
    list_filter = ("is_active",)
    filter_horizontal = ("departments",)
    actions = ["revoke"]

    def save_model(self, request, obj: ApiClient, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        try:
            client, key = api_key_create(name=obj.name, contact=obj.contact)
        except DomainError as exc:
            messages.error(request, exc.message)
            return
        obj.pk = client.pk
        obj.key_prefix, obj.key_hash = client.key_prefix, client.key_hash
        obj.created = client.created
        messages.warning(request, _("The API key for %(name)s (shown only now): %(key)s")
                         % {"name": client.name, "key": key})

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset: QuerySet[ApiClient]):
        for client in queryset:
            api_key_revoke(client_id=client.pk)
        messages.success(request, _("Revoked."))


@admin.register(ClientRequest)
class ClientRequestAdmin(admin.ModelAdmin):
    """Which client submitted which report (read-only: written by `request_submit`)."""

    list_display = ("report", "client")
    list_filter = ("client",)
    raw_id_fields = ("report",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ClientUpdate)
class ClientUpdateAdmin(admin.ModelAdmin):
    """Back-office updates by their own ids (read-only: written by `update_push`)."""

    list_display = ("update_id", "client", "event")
    list_filter = ("client",)
    search_fields = ("update_id",)
    raw_id_fields = ("event",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
