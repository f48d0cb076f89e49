"""Who a user is, in the workflow's terms. Roles come from Django groups and memberships.

Groups: `resident`, `moderator`, `official`, `admin` (superusers count as admin). Department
staff are users with a `layers.Membership`; they act only on their departments' reports.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from .workflow import Role

GROUP_RESIDENT = "resident"
GROUP_MODERATOR = "moderator"
GROUP_OFFICIAL = "official"
GROUP_ADMIN = "admin"
ROLE_GROUPS = (GROUP_RESIDENT, GROUP_MODERATOR, GROUP_OFFICIAL, GROUP_ADMIN)


def _group_names(user) -> frozenset[str]:
    """Group names, cached on the user object for the request."""
    if not user or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_geocity_groups", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._geocity_groups = cached
    return cached


def department_ids(user) -> frozenset[int]:
    """Departments the user works for (cached on the user object)."""
    if not user or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_geocity_departments", None)
    if cached is None:
        cached = frozenset(user.departments.values_list("id", flat=True))
        user._geocity_departments = cached
    return cached


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated
                and (user.is_superuser or GROUP_ADMIN in _group_names(user)))


def is_moderator(user) -> bool:
    return is_admin(user) or GROUP_MODERATOR in _group_names(user)


def is_official(user) -> bool:
    return GROUP_OFFICIAL in _group_names(user)


def is_staff_member(user) -> bool:
    return bool(department_ids(user))


def is_read_only(user) -> bool:
    """An official with no department and no moderation rights: reads, never writes."""
    return is_official(user) and not is_moderator(user) and not is_staff_member(user)


def can_read_everything(user) -> bool:
    """Officials, moderators and admins read every report, hidden ones included."""
    return is_admin(user) or is_moderator(user) or is_official(user)


def can_see_dashboard(user) -> bool:
    return is_admin(user) or is_official(user)


def can_use_workspace(user) -> bool:
    return is_staff_member(user) or is_moderator(user)


def roles_for(user, report=None) -> set[Role]:
    """The workflow roles `user` holds; for `report`, reporter and staff are per report."""
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return set()
    roles: set[Role] = set()
    if is_admin(user):
        roles.add(Role.ADMIN)
    if is_moderator(user):
        roles.add(Role.MODERATOR)
    if is_official(user):
        roles.add(Role.OFFICIAL)
    if report is not None:
        if report.reporter_id and report.reporter_id == user.pk:
            roles.add(Role.REPORTER)
        if report.department_id and report.department_id in department_ids(user):
            roles.add(Role.STAFF)
    return roles


def can_see_contact(user, report) -> bool:
    """Reporter contact data: the assigned department's staff, moderators and admins only."""
    return bool(roles_for(user, report) & {Role.STAFF, Role.MODERATOR, Role.ADMIN})
