"""`manage.py create_api_key NAME [--contact C] [--department CODE ...]`: a new Open311 key.

The key is printed once; only its hash is stored. `--department` lets the client push
status updates (servicerequestupdates POST) for those departments' reports.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from geocity.errors import DomainError
from layers.models import Department
from open311.services import api_key_create


class Command(BaseCommand):
    help = "Create an Open311 API client and print its key (shown once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="A unique name for the client application.")
        parser.add_argument("--contact", default="", help="Who runs the client (e-mail, team).")
        parser.add_argument(
            "--department", action="append", default=[], metavar="CODE",
            help="A department code whose reports the client may update; repeatable.",
        )

    def handle(self, *args, name: str, contact: str, department: list[str], **options) -> None:
        codes = sorted({c.strip() for c in department if c.strip()})
        departments = list(Department.objects.filter(code__in=codes))
        unknown = sorted(set(codes) - {d.code for d in departments})
        if unknown:
            known = ", ".join(Department.objects.order_by("code").values_list("code", flat=True))
            raise CommandError(
                f"Unknown department code(s): {', '.join(unknown)}. Known: {known or 'none'}."
            )
        try:
            with transaction.atomic():
                client, key = api_key_create(name=name, contact=contact)
                if departments:
                    client.departments.set(departments)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        scope = f" (departments: {', '.join(codes)})" if codes else ""
        self.stderr.write(f"Created API client {client.name!r}{scope}. The key is shown once:")
        self.stdout.write(key)
