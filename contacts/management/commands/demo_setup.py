"""Prepare the demo: a staff login, and the simulator's school loaded through the WeCom API.

Before the sync it says what the simulated school holds, and after it what came of it:
a few of the simulator's parents have left the school on purpose, as some do in any
school, and their FAILED lines must read as that, not as a fault of the demo.
"""

from __future__ import annotations

import contextlib
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.models import ExternalContact, JobKind, SyncJob
from contacts.selectors import failed_errcodes

NOT_CONNECTED_ERRCODE = 84061


class Command(BaseCommand):
    help = (
        "Create the demo login, then sync the school that WECOM_API_BASE serves (as sync_school does), "
        "saying what the simulated school holds and why some of its parents fail."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="schoolcontacts-demo")

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            # It sets a known password on a superuser: never on a real installation.
            raise CommandError("demo_setup only runs with DEBUG on (make demo sets it).")
        self._ensure_superuser(options["username"], options["password"])
        school = simulated_school(settings.WECOM_API_BASE)
        if school is not None:
            self._describe(school)
        # The whole-school sync, recorded as a job: the demo's job list shows how it went.
        with contextlib.suppress(SystemExit):  # some parents failed: what they are is said next
            call_command("sync_school", stdout=self.stdout, stderr=self.stderr)
        job = SyncJob.objects.filter(kind=JobKind.SYNC_SCHOOL).first()
        if job is not None and self._explain(job, school):
            raise CommandError(f"The sync went wrong beyond the parents who left: see 同步任务 #{job.pk} in the admin.")

    def _ensure_superuser(self, username: str, password: str) -> None:
        users = get_user_model().objects
        user = users.filter(username=username).first()
        if user is None:
            users.create_superuser(username=username, password=password, email="")
        else:
            user.set_password(password)
            user.is_staff = user.is_superuser = True
            user.save()

    def _describe(self, school: dict[str, Any]) -> None:
        parts = school["composition"]
        linked = parts["subscribed"] + parts["contact_only"]
        lines = [
            f"The WeCom simulator serves the school {school['school']}: {school['parents']} parents on the roster "
            f"of {school['classes']} classes.",
            f"  {linked} of them have a WeCom external_userid ({parts['subscribed']} follow 学校通知, "
            f"{parts['contact_only']} are only a teacher's contact);",
            f"  {parts['roster_only']} are on the roster only, never linked to WeCom: there is nothing to fetch.",
        ]
        lost = parts["lost"]
        if lost:
            lines += [
                f"  {lost} of the {linked} have left the school on purpose, as some parents do: WeCom answers "
                f"{NOT_CONNECTED_ERRCODE} (no relationship) for them,",
                f"  so the sync prints {lost} FAILED lines for them and stores {linked - lost} parents.",
            ]
        self.stdout.write("\n".join(lines) + "\n")

    def _explain(self, job: SyncJob, school: dict[str, Any] | None) -> bool:
        """Say what the failures were; True when some were not the parents who left on purpose."""
        failures = failed_errcodes(job=job)
        left = failures.pop(NOT_CONNECTED_ERRCODE, 0)
        expected = school["composition"]["lost"] if school is not None else left
        stored = ExternalContact.objects.count()
        lines = [f"\n{stored} parents stored (see 家长 in the admin)."]
        if left:
            lines.append(
                f"The {left} FAILED lines ({NOT_CONNECTED_ERRCODE}) are the parents who left the school on purpose; "
                "nothing is wrong. A stored parent who leaves is kept and marked 已无联系 (no longer connected)."
            )
        self.stdout.write("\n".join(lines))
        unexpected = sum(failures.values()) + max(left - expected, 0)
        if unexpected:
            self.stderr.write(self.style.ERROR(f"{unexpected} other parent(s) failed."))
        return bool(unexpected)


def simulated_school(api_base: str) -> dict[str, Any] | None:
    """The simulator's own account of its school (GET /sandbox/info); None when WeCom is not the simulator."""
    base = api_base.rstrip("/").removesuffix("/cgi-bin")
    try:
        answer = requests.get(f"{base}/sandbox/info", timeout=5)
        answer.raise_for_status()
        info = answer.json()
    except (requests.RequestException, ValueError):
        return None
    return info if isinstance(info, dict) and isinstance(info.get("composition"), dict) else None
