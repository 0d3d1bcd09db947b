"""Prepare the demo: a staff login, and the simulator's school loaded through the WeCom API."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Create the demo login, then sync the school that WECOM_API_BASE serves (as sync_school does)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="schoolcontacts-demo")

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            # It sets a known password on a superuser: never on a real installation.
            raise CommandError("demo_setup only runs with DEBUG on (make demo sets it).")
        self._ensure_superuser(options["username"], options["password"])
        # The whole-school sync, recorded as a job: the demo's job list shows how it went.
        call_command("sync_school", stdout=self.stdout, stderr=self.stderr)

    def _ensure_superuser(self, username: str, password: str) -> None:
        users = get_user_model().objects
        user = users.filter(username=username).first()
        if user is None:
            users.create_superuser(username=username, password=password, email="")
        else:
            user.set_password(password)
            user.is_staff = user.is_superuser = True
            user.save()
