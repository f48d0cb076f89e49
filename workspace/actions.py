"""The ticket page's action forms (built from the workflow table for this user and this
ticket) and running a posted action through the report services; domain errors in the
user's language."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from geocity.errors import DomainError, ValidationFailed
from reports import sla
from reports.models import Report, ResponseTemplate
from reports.roles import (
    department_ids,
    roles_for,
)
from reports.services import (
    comment_create,
    report_accept,
    report_assign,
    report_extend_sla,
    report_note_add,
    report_reassign,
    report_transition,
)
from reports.workflow import OPEN_STATUSES, TRANSITIONS, Status, next_statuses

from .forms import (
    user_label,
)
from .selectors import NOTE_REQUIRED, WORK_ROLES, workspace_scope

# --- Domain errors, in the user's language ------------------------------------------------

ERROR_MESSAGES = {
    "invalid_transition": gettext_lazy("This step is not possible from the ticket's status."),
    "transition_forbidden": gettext_lazy("You may not take this step on this ticket."),
    "reason_required": gettext_lazy("A reason is required."),
    "note_required": gettext_lazy("A note is required."),
    "duplicate_of_required": gettext_lazy("Choose the original report."),
    "duplicate_of_invalid": gettext_lazy("That report cannot be the original."),
    "assignee_invalid": gettext_lazy("The assignee must be a member of the ticket's department."),
    "assign_forbidden": gettext_lazy("Only the department's staff may assign its tickets."),
    "reassign_forbidden": gettext_lazy("Only the department's staff or a moderator may reassign."),
    "extend_forbidden": gettext_lazy("Only the department's staff may extend the deadline."),
    "no_department": gettext_lazy("The report has no department: route it first."),
    "same_department": gettext_lazy("The ticket already belongs to that department."),
    "department_invalid": gettext_lazy("Choose a department."),
    "sla_limit": gettext_lazy(
        "The law allows at most 45 days in total: choose fewer days (the latest possible "
        "deadline is shown above)."),
    "report_not_found": gettext_lazy("No such ticket in your workspace."),
    "not_in_scope": gettext_lazy("Not in your workspace."),
    "too_many_photos": gettext_lazy("Too many photos."),
    "photo_wrong_type": gettext_lazy("A file is not a supported image (JPEG, PNG, WebP, HEIC)."),
    "photo_too_big": gettext_lazy("A photo is larger than 10 MB."),
    "photo_too_many_pixels": gettext_lazy("A photo has more than 40 megapixels."),
    "photo_corrupt": gettext_lazy("A photo file is damaged."),
    "comment_required": gettext_lazy("Write a reply."),
    "comment_too_long": gettext_lazy("At most 2000 characters."),
    "stale": gettext_lazy("The ticket changed since you opened it; check it and try again."),
    "invalid": gettext_lazy("Check the form."),
}


def error_text(error: DomainError) -> str:
    """A translated message for a known code; the service's own message otherwise."""
    known = ERROR_MESSAGES.get(error.code)
    return str(known) if known else error.message


@dataclass
class Field:
    name: str
    label: str
    kind: str = "textarea"  # textarea, text, number, select, file
    required: bool = False
    value: str = ""
    errors: list[str] = field(default_factory=list)
    choices: list[tuple[str, str]] = field(default_factory=list)
    help: str = ""
    templates: list[dict] = field(default_factory=list)
    attrs: dict = field(default_factory=dict)


@dataclass
class ActionForm:
    key: str
    action: str
    title: str
    button: str
    fields: list[Field]
    to_status: str = ""
    error: str = ""
    danger: bool = False
    multipart: bool = False
    intro: str = ""


def _transition_title(frm: str, to: str) -> tuple[str, str]:
    """(title, button) for a transition, worded for what it means from here."""
    if to == Status.ASSIGNED:
        if frm == Status.IN_PROGRESS:
            return _("Pause work"), _("Pause")
        if frm == Status.NEEDS_INFO:
            return _("The reporter answered: resume"), _("Resume")
        if frm in (Status.RESOLVED, Status.CLOSED):
            return _("Reopen"), _("Reopen")
        if frm in (Status.REJECTED, Status.DUPLICATE):
            return _("Restore to the department"), _("Restore")
        return _("Approve and pass to the department"), _("Approve")
    titles = {
        Status.IN_PROGRESS: (_("Start work"), _("Start work")),
        Status.NEEDS_INFO: (_("Ask the reporter for information"), _("Ask")),
        Status.RESOLVED: (_("Resolve"), _("Mark resolved")),
        Status.REJECTED: (_("Reject"), _("Reject")),
        Status.DUPLICATE: (_("Mark as a duplicate"), _("Mark duplicate")),
        Status.CLOSED: (_("Close"), _("Close")),
        Status.NEW: (_("Back to triage"), _("Back to triage")),
        Status.MODERATION: (_("Back to moderation"), _("Back to moderation")),
    }
    return titles[Status(to)]


def _templates_for(templates: list[ResponseTemplate], status: str, lang: str) -> list[dict]:
    return [{"title": t.title,
             "text": t.text_en if lang == "en" and t.text_en else t.text_uk}
            for t in templates if not t.status or t.status == status]


def _transition_form(report: Report, to: Status, templates, values, nearby) -> ActionForm:
    transition = TRANSITIONS[(Status(report.status), to)]
    requires = set(transition.requires)
    title, button = _transition_title(report.status, to)
    fields: list[Field] = []
    lang = report.lang
    tpl = _templates_for(templates, to.value, lang)
    if to == Status.REJECTED:
        fields.append(Field("reason", _("Reason (sent to the reporter)"), required=True,
                            templates=tpl))
    elif to == Status.DUPLICATE:
        fields.append(Field("duplicate_of", _("Number of the original report"), kind="number",
                            required=True, attrs={"min": 1, "list": "nearby-numbers"},
                            help=_("Nearby open reports are listed below.") if nearby else ""))
        fields.append(Field("note", _("Public note (optional)"), templates=tpl))
    elif to == Status.NEEDS_INFO:
        fields.append(Field("note", _("Question to the reporter"), required=True,
                            templates=tpl))
    elif to == Status.RESOLVED:
        fields.append(Field("note", _("What was done (public)"), required=True, templates=tpl))
        fields.append(Field("photos", _("“After” photos (optional, up to 5)"), kind="file",
                            attrs={"accept": "image/*", "multiple": True}))
    else:
        if "reason" in requires:
            fields.append(Field("reason", _("Reason"), required=True))
        fields.append(Field("note", _("Public note (optional)"),
                            required="note" in requires, templates=tpl))
    fields.append(Field("internal_note", _("Internal note (staff only)")))
    for f in fields:
        f.value = values.get(f.name, "") if f.kind != "file" else ""
    return ActionForm(
        key=f"transition:{to.value}", action="transition", to_status=to.value, title=title,
        button=button, fields=fields, multipart=to == Status.RESOLVED,
        danger=to in (Status.REJECTED, Status.DUPLICATE),
    )


def build_actions(request: HttpRequest, report: Report, *, templates, nearby, people,
                  departments, failed_key: str = "", error: DomainError | None = None,
                  values=None) -> list[ActionForm]:
    """The action forms the transition table and the services allow this user here."""
    user = request.user
    roles = roles_for(user, report)
    values = values or {}

    def vals(key: str) -> dict:
        return values if key == failed_key else {}

    forms: list[ActionForm] = []
    is_open = report.status in OPEN_STATUSES
    works_here = bool(roles & WORK_ROLES)
    if works_here and is_open and report.department_id and report.assignee_id != user.pk \
            and report.department_id in department_ids(user):
        forms.append(ActionForm(key="accept", action="accept", title=_("Take this ticket"),
                                button=_("Take it"), fields=[],
                                intro=_("You become its assignee.")))
    for to in next_statuses(report.status, roles):
        if to == Status.MODERATION:
            continue  # the system's step only
        if report.department_id is None and to in (Status.ASSIGNED, Status.IN_PROGRESS,
                                                   Status.RESOLVED):
            continue  # route it first (the reassign form below)
        key = f"transition:{to.value}"
        forms.append(_transition_form(report, to, templates, vals(key), nearby))
    if works_here and is_open and report.department_id:
        v = vals("assign")
        choices = [("", _("Nobody"))] + [(str(p.pk), user_label(p)) for p in people]
        forms.append(ActionForm(
            key="assign", action="assign", title=_("Assign to a colleague"), button=_("Assign"),
            fields=[Field("assignee", _("Colleague"), kind="select", choices=choices,
                          value=v.get("assignee", str(report.assignee_id or "")))]))
    if works_here and is_open:
        v = vals("reassign")
        routed = report.department_id is not None
        forms.append(ActionForm(
            key="reassign", action="reassign",
            title=_("Pass to another department") if routed else _("Route to a department"),
            button=_("Reassign") if routed else _("Route"),
            fields=[
                Field("department", _("Department"), kind="select", required=True,
                      choices=[("", "—")] + [(str(d.pk), d.name) for d in departments
                                             if d.pk != report.department_id],
                      value=v.get("department", "")),
                Field("reason", _("Reason"), required=True, value=v.get("reason", "")),
            ]))
    if works_here and is_open and report.due_at:
        v = vals("extend")
        latest = sla.max_due_at(report.created, report.sla_paused_seconds)
        forms.append(ActionForm(
            key="extend", action="extend", title=_("Extend the deadline"), button=_("Extend"),
            intro=_("The law allows at most 45 days in total: the latest deadline is "
                    "%(d)s. The reporter is told.")
            % {"d": timezone.localtime(latest).strftime("%d.%m.%Y %H:%M")},
            fields=[
                Field("days", _("Days"), kind="number", required=True,
                      value=v.get("days", ""), attrs={"min": 1, "max": 30}),
                Field("reason", _("Reason (sent to the reporter)"), required=True,
                      value=v.get("reason", "")),
            ]))
    if works_here:
        v = vals("comment")
        forms.append(ActionForm(
            key="comment", action="comment", title=_("Public reply"), button=_("Publish reply"),
            fields=[Field("text", _("Reply"), required=True, value=v.get("text", ""),
                          templates=_templates_for(templates, "", report.lang),
                          attrs={"maxlength": 2000})]))
        v = vals("note")
        forms.append(ActionForm(
            key="note", action="note", title=_("Internal note"), button=_("Add note"),
            fields=[Field("internal_note", _("Note for colleagues (not shown to residents)"),
                          required=True, value=v.get("internal_note", ""),
                          attrs={"maxlength": 4000})]))
    if error is not None:
        for form in forms:
            if form.key == failed_key:
                form.error = error_text(error)
                for f in form.fields:
                    f.errors = [str(e) for e in error.fields.get(f.name, [])]
    return forms


def _int_or_none(raw: str | None, name: str) -> int | None:
    raw = (raw or "").strip().lstrip("#")
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationFailed(f"{name} must be a whole number.", code="invalid",
                               fields={name: [_("A whole number.")]})
    return int(raw)


def perform_action(request: HttpRequest, report: Report) -> tuple[str, str]:
    """Run the posted action through the services; returns (form key, success message)."""
    post = request.POST
    action = post.get("action", "")
    user = request.user
    seen = post.get("status_seen")
    if action == "transition":
        to = post.get("to_status", "")
        key = f"transition:{to}"
        if seen and seen != report.status:
            raise ValidationFailed("stale", code="stale")
        note = post.get("note", "")
        if to in NOTE_REQUIRED and not note.strip():
            # the page asks for a public answer: a reasoned reply is the city's duty
            raise ValidationFailed("note required", code="note_required",
                                   fields={"note": [_("This field is required.")]})
        report_transition(
            report_id=report.pk, actor=user, to_status=to, note=note,
            internal_note=post.get("internal_note", ""), reason=post.get("reason", ""),
            duplicate_of_id=_int_or_none(post.get("duplicate_of"), "duplicate_of"),
            photos=request.FILES.getlist("photos"),
        )
        return key, _("Status changed: %(s)s.") % {"s": Status(to).label}
    if action == "accept":
        report_accept(report_id=report.pk, actor=user)
        return "accept", _("The ticket is yours.")
    if action == "assign":
        assignee = _int_or_none(post.get("assignee"), "assignee")
        report_assign(report_id=report.pk, actor=user, assignee_id=assignee)
        return "assign", _("Assignee changed.")
    if action == "reassign":
        department = _int_or_none(post.get("department"), "department")
        if department is None:
            raise ValidationFailed("department required", code="department_invalid",
                                   fields={"department": [_("Choose a department.")]})
        report_reassign(report_id=report.pk, actor=user, department_id=department,
                        reason=post.get("reason", ""))
        return "reassign", _("Passed to another department.")
    if action == "extend":
        days = _int_or_none(post.get("days"), "days")
        report_extend_sla(report_id=report.pk, actor=user, days=days or 0,
                          reason=post.get("reason", ""))
        return "extend", _("Deadline extended.")
    if action == "comment":
        comment_create(report_id=report.pk, author=user, text=post.get("text", ""))
        return "comment", _("Reply published.")
    if action == "note":
        text = post.get("internal_note", "")
        if not text.strip():
            raise ValidationFailed("note required", code="note_required",
                                   fields={"internal_note": [_("This field is required.")]})
        report_note_add(report_id=report.pk, actor=user, internal_note=text)
        return "note", _("Internal note added.")
    if action == "merge":
        other = _int_or_none(post.get("other"), "other")
        key = f"merge:{other}"
        if other is None or not workspace_scope(user).filter(pk=other).exists():
            raise ValidationFailed("not in scope", code="not_in_scope")
        report_transition(report_id=other, actor=user, to_status=Status.DUPLICATE,
                          duplicate_of_id=report.pk,
                          internal_note=_("Merged from the ticket page of #%(n)s.")
                          % {"n": report.pk})
        return key, _("#%(o)s marked as a duplicate of this ticket.") % {"o": other}
    raise ValidationFailed("Unknown action.", code="invalid")


