"""Admin for reports and their taxonomy, with the offline map widget.

Status changes made here still go through `report_transition` (an admin action), so the
transition table and the audit trail hold in the admin as everywhere else. The status field
itself is read-only on the form.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.gis.admin import GISModelAdmin
from django.db.models import QuerySet
from django.shortcuts import render
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from geocity.errors import DomainError
from geocity.widgets import OfflineMapWidget

from . import services
from .models import (
    Category,
    CategoryAttribute,
    CategoryGroup,
    Comment,
    IdempotencyKey,
    Photo,
    Report,
    ReportEvent,
    ResponseTemplate,
    Subscription,
    Supporter,
)
from .workflow import Status


class CategoryAttributeInline(admin.TabularInline):
    model = CategoryAttribute
    extra = 0
    fields = ("order", "code", "datatype", "required", "description_uk", "description_en",
              "values")


class ViewOnlyAdmin(admin.ModelAdmin):
    """Records written only by the system (audit trail, rollups): shown, never edited.
    Also used by the apps above (dashboard)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CategoryGroup)
class CategoryGroupAdmin(admin.ModelAdmin):
    list_display = ("code", "name_uk", "name_en", "icon", "order")
    list_editable = ("order",)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("service_code", "icon", "name_uk", "name_en", "group", "sla_days",
                    "sla_hours", "is_hazard", "is_active")
    list_filter = ("group", "is_active", "is_hazard", "is_urgent", "photo_required")
    search_fields = ("service_code", "name_uk", "name_en", "keywords")
    inlines = [CategoryAttributeInline]


@admin.register(CategoryAttribute)
class CategoryAttributeAdmin(admin.ModelAdmin):
    list_display = ("category", "code", "datatype", "required", "order")
    list_filter = ("datatype", "required", "category__group")
    search_fields = ("code", "description_uk", "description_en", "category__service_code")


@admin.register(ResponseTemplate)
class ResponseTemplateAdmin(admin.ModelAdmin):
    list_display = ("title", "category", "department", "status")
    list_filter = ("status", "department")
    search_fields = ("title", "text_uk", "text_en")


class PhotoInline(admin.TabularInline):
    model = Photo
    extra = 0
    fields = ("preview", "kind", "state", "format", "width", "height", "created")
    readonly_fields = fields
    can_delete = False

    @admin.display(description=_("preview"))
    def preview(self, photo: Photo):
        if not photo.thumbnail:
            return "-"
        return format_html('<img src="{}" alt="" style="max-height:80px">', photo.thumbnail.url)


class EventInline(admin.TabularInline):
    model = ReportEvent
    extra = 0
    fields = ("created", "type", "actor", "actor_role", "from_status", "to_status",
              "to_department", "public_note", "internal_note")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class TransitionForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=Status.choices)
    note = forms.CharField(label=_("Public note"), required=False, widget=forms.Textarea)
    reason = forms.CharField(label=_("Reason"), required=False)
    duplicate_of = forms.IntegerField(label=_("Duplicate of report"), required=False)


@admin.register(Report)
class ReportAdmin(GISModelAdmin):
    gis_widget = OfflineMapWidget
    list_display = ("id", "category", "status", "department", "district", "priority",
                    "created", "due_at", "is_hazard", "is_hidden")
    list_filter = ("status", "priority", "is_hazard", "is_hidden", "source", "department",
                   "district", "category__group")
    search_fields = ("id", "description", "address", "contact_email", "contact_phone")
    date_hierarchy = "created"
    list_select_related = ("category", "department", "district")
    raw_id_fields = ("reporter", "assignee", "duplicate_of")
    readonly_fields = ("status", "token", "created", "updated", "assigned_at", "resolved_at",
                       "closed_at", "sla_paused_at", "sla_paused_seconds", "escalated_at",
                       "touched_at", "reopen_count", "supporters_count", "routing_rule",
                       "routing_explanation_uk", "routing_explanation_en", "department",
                       "district", "category")
    exclude = ("attributes",)
    inlines = [PhotoInline, EventInline]
    actions = ["transition_action"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Reports are records of public appeals: hide them, never delete them.
        return False

    def save_model(self, request, obj: Report, form, change: bool) -> None:
        """Edits of place, text and visibility go through the moderation service."""
        if not change:
            messages.error(request, _("Create reports through the map or the API."))
            return
        changed = set(form.changed_data)
        try:
            services.report_moderate(
                report_id=obj.pk, actor=request.user,
                is_hidden=obj.is_hidden if "is_hidden" in changed else None,
                description=obj.description if "description" in changed else None,
                location=obj.location if "location" in changed else None,
                note=_("Edited in the admin"),
            )
        except DomainError as exc:
            messages.error(request, exc.message)

    @admin.action(description=_("Change status (through the workflow)"))
    def transition_action(self, request, queryset: QuerySet[Report]):
        if "apply" in request.POST:
            form = TransitionForm(request.POST)
            if form.is_valid():
                done, failed = 0, []
                for report in queryset:
                    try:
                        services.report_transition(
                            report_id=report.pk, actor=request.user,
                            to_status=form.cleaned_data["status"],
                            note=form.cleaned_data["note"], reason=form.cleaned_data["reason"],
                            duplicate_of_id=form.cleaned_data["duplicate_of"])
                        done += 1
                    except DomainError as exc:
                        failed.append(f"#{report.pk}: {exc.message}")
                if done:
                    messages.success(request, _("%(n)d report(s) changed.") % {"n": done})
                for line in failed:
                    messages.error(request, line)
                return None
        else:
            form = TransitionForm()
        return render(request, "admin/reports/report/transition.html", {
            **self.admin_site.each_context(request), "form": form, "reports": queryset,
            "action": "transition_action", "opts": self.model._meta,
        })


@admin.register(ReportEvent)
class ReportEventAdmin(ViewOnlyAdmin):
    """The audit trail is append-only: readable, never editable."""

    list_display = ("created", "report", "type", "actor", "actor_role", "from_status",
                    "to_status", "to_department")
    list_filter = ("type", "actor_role", "to_status")
    search_fields = ("report__id", "public_note", "internal_note")
    raw_id_fields = ("report", "actor")
    list_select_related = ("report", "actor", "to_department")


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ("id", "report", "kind", "state", "format", "width", "height", "created")
    list_filter = ("kind", "state", "format")
    raw_id_fields = ("report", "uploaded_by")
    readonly_fields = ("gps",)


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("id", "report", "author", "is_staff_reply", "is_hidden", "created")
    list_filter = ("is_hidden", "is_staff_reply")
    list_editable = ("is_hidden",)
    search_fields = ("text", "report__id")
    raw_id_fields = ("report", "author")


@admin.register(Supporter)
class SupporterAdmin(admin.ModelAdmin):
    list_display = ("report", "user", "email", "created")
    raw_id_fields = ("report", "user")


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("report", "email", "lang", "is_active", "created")
    list_filter = ("is_active", "lang")
    search_fields = ("email",)
    raw_id_fields = ("report", "user")


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    """Read-only: which client retry keys map to which report (for support questions)."""

    list_display = ("key", "scope", "report", "created")
    search_fields = ("key", "scope", "report__id")
    raw_id_fields = ("report",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
