"""Create an API token for automation and print it once (it is stored only as a keyed hash)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from devices import tokens
from devices.models import ApiScope
from devices.models.tokens import parse_networks


class Command(BaseCommand):
    help = (
        "Create an API token for USER and print it once. Scopes: " + ", ".join(ApiScope.values)
        + "; never more than USER's role allows, then or later."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="What the token is for.")
        parser.add_argument("--scopes", required=True, help="Comma-separated, e.g. devices:read,actions:write.")
        parser.add_argument("--expires-days", type=int, default=settings.API_TOKEN_DEFAULT_DAYS,
                            help=f"Days until it expires (default {settings.API_TOKEN_DEFAULT_DAYS}).")
        parser.add_argument("--allowed-networks", default="", help="Comma-separated networks it may be used from.")

    def handle(self, username: str, name: str, scopes: str, expires_days: int, allowed_networks: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user {username!r}.")
        try:
            _, plain = tokens.issue(user, name, [s.strip() for s in scopes.split(",") if s.strip()],
                                    days=expires_days, networks=parse_networks(allowed_networks))
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        # The only output on stdout, so that `$(manage.py create_api_token ...)` is the token alone.
        self.stdout.write(plain)
