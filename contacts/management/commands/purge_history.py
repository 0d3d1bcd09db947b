"""Delete history older than HISTORY_RETENTION_DAYS (or --days): refresh records, WeCom events, finished jobs;
and exports older than EXPORT_RETENTION_DAYS."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.services.retention import purge_expired_exports, purge_old_history, retention_cutoff

MAX_DAYS = 365 * 100


class Command(BaseCommand):
    help = (
        "Delete refresh records, WeCom callback events and finished jobs older than HISTORY_RETENTION_DAYS "
        "(default 730) or --days N. Each parent's latest answer and the latest job of each kind are kept; "
        "the audit log is not touched. Exports to Excel older than EXPORT_RETENTION_DAYS (default 7) are deleted "
        "with their files. The nightly sync_school does the same when it finishes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, metavar="N", help="keep the last N days instead (at least 1)")

    def handle(self, *args, **options) -> None:
        days = options["days"]
        if days is not None and not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be a whole number from 1 to {MAX_DAYS}.")
        cutoff = retention_cutoff(days=days)
        if cutoff is None:
            self.stdout.write("HISTORY_RETENTION_DAYS is 0: history is kept for ever; no history was deleted.")
        else:
            self.stdout.write(str(purge_old_history(older_than=cutoff)))
        exports = purge_expired_exports()
        self.stdout.write(
            f"Deleted {exports} export(s) to Excel older than {settings.EXPORT_RETENTION_DAYS} days, with their files."
        )
