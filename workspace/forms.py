"""Forms of the department workspace: the queue filters and the bulk action.

They only parse and type-check input; every rule about what may happen to a ticket lives
in reports.services and reports.workflow.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from layers.models import Department, District
from reports.models import Category
from reports.roles import department_ids, is_moderator
from reports.workflow import OPEN_STATUSES, Status

User = get_user_model()

TRIAGE = "triage"
DUE_CHOICES = [
    ("", _("Any deadline")),
    ("overdue", _("Overdue")),
    ("due_soon", _("Due soon")),
    ("on_time", _("Not overdue")),
]
PER_PAGE_CHOICES = [(n, str(n)) for n in (25, 50, 100, 200)]
DEFAULT_PER_PAGE = 50


def workspace_departments(user):
    """Departments whose queue `user` works: their own, or all for moderators."""
    qs = Department.objects.filter(is_active=True).order_by("name_uk")
    return qs if is_moderator(user) else qs.filter(pk__in=department_ids(user))


def colleagues(department_ids_: list[int] | set[int] | frozenset[int]):
    """Active members of these departments, for assignment."""
    return (
        User.objects.filter(is_active=True, membership__department_id__in=list(department_ids_))
        .distinct().order_by("first_name", "last_name", "username")
    )


def user_label(user) -> str:
    return user.get_full_name() or user.get_username()


class QueueFilterForm(forms.Form):
    department = forms.ChoiceField(label=_("Department"), required=False)
    status = forms.MultipleChoiceField(
        label=_("Status"), required=False, choices=Status.choices,
        widget=forms.CheckboxSelectMultiple)
    category = forms.ModelChoiceField(
        label=_("Category"), required=False, to_field_name="service_code",
        queryset=Category.objects.order_by("group__order", "order", "service_code"),
        empty_label=_("All categories"))
    district = forms.ModelChoiceField(
        label=_("District"), required=False, to_field_name="code",
        queryset=District.objects.only("id", "code", "name_uk", "name_en").order_by("name_uk"),
        empty_label=_("All districts"))
    due = forms.ChoiceField(label=_("Deadline"), required=False, choices=DUE_CHOICES)
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    q = forms.CharField(label=_("Search"), required=False, max_length=200,
                        widget=forms.TextInput(attrs={
                            "type": "search", "placeholder": _("Number, address or text")}))
    per_page = forms.TypedChoiceField(label=_("Per page"), required=False, coerce=int,
                                      choices=PER_PAGE_CHOICES, empty_value=DEFAULT_PER_PAGE)

    def __init__(self, data, *, user, departments: list[Department], people: list, **kwargs):
        data = data.copy()
        if not data.getlist("status"):
            data.setlist("status", sorted(OPEN_STATUSES))  # the open queue by default
        if not data.get("per_page"):
            data["per_page"] = str(DEFAULT_PER_PAGE)
        super().__init__(data, **kwargs)
        choices = [("", _("All my departments") if not is_moderator(user)
                    else _("All departments"))]
        if is_moderator(user):
            choices.append((TRIAGE, _("Triage: no department")))
        choices += [(d.code, d.name) for d in departments]
        self.fields["department"].choices = choices
        self.fields["assignee"].choices = [
            ("", _("Anyone")), ("me", _("Me")), ("none", _("Nobody yet")),
            *[(str(p.pk), user_label(p)) for p in people],
        ]

    def statuses(self) -> list[str]:
        chosen = self.cleaned_data.get("status") if self.is_valid() else None
        return list(chosen) if chosen else sorted(OPEN_STATUSES)


class BulkActionForm(forms.Form):
    ACTIONS = [("assign", _("Assign to")), ("status", _("Change status to"))]

    ids = forms.TypedMultipleChoiceField(coerce=int, required=True,
                                         error_messages={"required": _("Select tickets first.")})
    action = forms.ChoiceField(choices=ACTIONS)
    assignee = forms.CharField(required=False)
    to_status = forms.ChoiceField(required=False, choices=[("", "")] + list(Status.choices))
    note = forms.CharField(required=False, max_length=4000, widget=forms.Textarea)
    reason = forms.CharField(required=False, max_length=4000)
    duplicate_of = forms.IntegerField(required=False, min_value=1)
    next = forms.CharField(required=False, max_length=2000)

    MAX_TICKETS = 200

    def __init__(self, data, **kwargs):
        super().__init__(data, **kwargs)
        raw = data.getlist("ids") if hasattr(data, "getlist") else data.get("ids", [])
        # any integers: whether each is in the user's queue is decided per ticket
        self.fields["ids"].choices = [(v, v) for v in raw if str(v).isdigit()]

    def clean_ids(self):
        ids = list(dict.fromkeys(self.cleaned_data["ids"]))
        if len(ids) > self.MAX_TICKETS:
            raise forms.ValidationError(
                _("At most %(n)s tickets at a time.") % {"n": self.MAX_TICKETS})
        return ids

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "status" and not cleaned.get("to_status"):
            self.add_error("to_status", _("Choose the new status."))
        if cleaned.get("action") == "assign" and not cleaned.get("assignee"):
            self.add_error("assignee", _("Choose a colleague."))
        return cleaned
