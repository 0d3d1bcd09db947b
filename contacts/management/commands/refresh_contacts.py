"""Refresh parents from WeCom: named ones, all stored ones, or the stale ones."""

import datetime as dt
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.management.progress import (
    OutcomePrinter,
    add_concurrency_argument,
    report_summary,
    shared_cache_unavailable,
)
from contacts.models import RefreshTrigger
from contacts.selectors import stored_external_userids
from contacts.services.runner import RateLimitPolicy, default_concurrency, refresh_concurrently
from contacts.sharedcache import SharedCacheUnavailable

MAX_STALE_HOURS = 24 * 365 * 10


class Command(BaseCommand):
    help = (
        "Refresh parents (WeCom external contacts) from WeCom and print what changed. "
        "WECOM_CONCURRENCY parents at a time, within WECOM_RATE_PER_MINUTE and WECOM_RATE_PER_HOUR. "
        "Exits 1 when any parent failed or was left (WeCom kept limiting calls), 2 when the shared cache is down."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("external_userids", nargs="*", metavar="EXTERNAL_USERID")
        parser.add_argument("--all", action="store_true", help="every stored parent")
        parser.add_argument(
            "--stale-hours",
            type=float,
            metavar="H",
            help="only stored parents not refreshed successfully in the last H hours",
        )
        add_concurrency_argument(parser)

    def handle(self, *args, **options) -> None:
        external_userids = self._select(options)
        if not external_userids:
            self.stdout.write("No parents to refresh.")
            return
        # Named parents get their lines in the order given; the others as they come.
        named = bool(options["external_userids"])
        printer = OutcomePrinter(self, total=len(external_userids), in_order=external_userids if named else None)
        try:
            summary = refresh_concurrently(
                external_userids=external_userids,
                trigger=RefreshTrigger.COMMAND,
                policy=RateLimitPolicy.for_command(),
                concurrency=options["concurrency"] or default_concurrency(),
                on_outcome=printer,
            )
        except SharedCacheUnavailable as error:
            raise shared_cache_unavailable(error) from None
        finally:
            printer.close()
        if report_summary(self, summary):
            sys.exit(1)

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

