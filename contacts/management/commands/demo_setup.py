"""Prepare the demo: a staff login, and the simulator's school loaded through the WeCom API."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.models import RefreshTrigger
from contacts.services.batch import refresh_many
from contacts.services.roster import discover_external_userids
from contacts.wecom.client import get_client
from contacts.wecom.errors import WeComError


class Command(BaseCommand):
    help = "Create the demo login and load every parent of the school that WECOM_API_BASE serves."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="schoolcontacts-demo")

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            # It sets a known password on a superuser: never on a real installation.
            raise CommandError("demo_setup only runs with DEBUG on (make demo sets it).")
        self._ensure_superuser(options["username"], options["password"])
        client = get_client()
        try:
            external_userids = discover_external_userids(client=client)
        except WeComError as error:
            self.stderr.write(self.style.ERROR(f"Could not read the school roster: {error.describe()}"))
            raise SystemExit(1) from None
        summary = refresh_many(external_userids=external_userids, trigger=RefreshTrigger.COMMAND, client=client)
        if summary.refreshed == 0:
            self.stderr.write(self.style.ERROR(f"No parent could be loaded: {summary}"))
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS(f"School loaded: {summary}"))

    def _ensure_superuser(self, username: str, password: str) -> None:
        users = get_user_model().objects
        user = users.filter(username=username).first()
        if user is None:
            users.create_superuser(username=username, password=password, email="")
        else:
            user.set_password(password)
            user.is_staff = user.is_superuser = True
            user.save()
