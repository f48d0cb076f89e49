"""`manage.py revoke_api_key NAME`: the client's key stops working at once."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from geocity.errors import DomainError
from open311.models import ApiClient
from open311.services import api_key_revoke


class Command(BaseCommand):
    help = "Revoke an Open311 API client's key."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="The client's name, as given to create_api_key.")

    def handle(self, *args, name: str, **options) -> None:
        client = ApiClient.objects.filter(name=name.strip()).first()
        if client is None:
            raise CommandError(f"No API client named {name!r}.")
        if not client.is_active:
            self.stdout.write(f"API client {client.name!r} was already revoked.")
            return
        try:
            api_key_revoke(client_id=client.pk)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Revoked the key of API client {client.name!r}.")
