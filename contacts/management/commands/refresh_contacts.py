"""Refresh parents from WeCom: named ones, all stored ones, or the stale ones."""

import datetime as dt
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.models import RefreshTrigger
from contacts.selectors import stored_external_userids
from contacts.services.batch import RefreshOutcome, refresh_many

MAX_STALE_HOURS = 24 * 365 * 10


class Command(BaseCommand):
    help = "Refresh parents (WeCom external contacts) from WeCom and print what changed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("external_userids", nargs="*", metavar="EXTERNAL_USERID")
        parser.add_argument("--all", action="store_true", help="every stored parent")
        parser.add_argument(
            "--stale-hours",
            type=float,
            metavar="H",
            help="only stored parents not refreshed successfully in the last H hours",
        )

    def handle(self, *args, **options) -> None:
        external_userids = self._select(options)
        if not external_userids:
            self.stdout.write("No parents to refresh.")
            return
        summary = refresh_many(
            external_userids=external_userids, trigger=RefreshTrigger.COMMAND, on_outcome=self._print_outcome
        )
        if summary.stopped_by is not None and summary.skipped:
            self.stderr.write(
                self.style.ERROR(f"Stopped: {summary.stopped_by.describe()} — the other parents would fail alike.")
            )
        failed = summary.failed + summary.skipped
        self.stdout.write(self.style.ERROR(str(summary)) if failed else self.style.SUCCESS(str(summary)))
        if failed:
            sys.exit(1)

    def _print_outcome(self, outcome: RefreshOutcome) -> None:
        if outcome.error is not None:
            self.stderr.write(self.style.ERROR(f"FAILED  {outcome.external_userid}: {outcome.error.describe()}"))
            return
        result = outcome.result
        label = f"{outcome.external_userid} {result.contact.name or ''}".strip()
        self.stdout.write(f"{'NEW' if result.created else 'OK':<7} {label}: {result.changes.summary()}")

    def _select(self, options: dict) -> list[str]:
        named = options["external_userids"]
        stale_hours = options["stale_hours"]
        if named and (options["all"] or stale_hours is not None):
            raise CommandError("Name parents, or use --all / --stale-hours, not both.")
        if stale_hours is not None and not 0 <= stale_hours <= MAX_STALE_HOURS:
            raise CommandError(f"--stale-hours must be a number from 0 to {MAX_STALE_HOURS}.")
        if named:
            return list(dict.fromkeys(named))
        if stale_hours is not None:
            return stored_external_userids(stale_for=dt.timedelta(hours=stale_hours))
        if options["all"]:
            return stored_external_userids()
        raise CommandError("Name at least one EXTERNAL_USERID, or use --all or --stale-hours H.")
