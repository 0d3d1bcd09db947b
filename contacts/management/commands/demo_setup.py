"""Prepare the demo: a staff login, and the simulator's school loaded through the WeCom API."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

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
        self._ensure_superuser(options["username"], options["password"])
        client = get_client()
        try:
            external_userids = discover_external_userids(client=client)
        except WeComError as error:
            self.stderr.write(self.style.ERROR(f"Could not read the school roster: {error.describe()}"))
            raise SystemExit(1) from None
        summary = refresh_many(external_userids=external_userids, trigger=RefreshTrigger.COMMAND, client=client)
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
