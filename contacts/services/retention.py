"""Keep history no longer than HISTORY_RETENTION_DAYS: personal data is not kept for ever.

What goes, once older than the limit:

- refresh records (WeCom's answers, what changed, failures), but each parent's latest
  answer, whatever its age: it is the evidence of what the parent page shows;
- WeCom's callback events, whose decrypted payloads name parents and teachers;
- finished jobs with their per-parent outcomes, but the latest of each kind (and the
  latest that finished well), which the health check and the job list report.

Parent lists exported to Excel in the background go sooner: their files and records are
deleted after EXPORT_RETENTION_DAYS (7 by default), whatever HISTORY_RETENTION_DAYS says.

What stays: the parents, their teachers and the roster as WeCom last described them
(current data, not history), and the audit log, which records who saw whose data and
is kept, or deleted, under the school's own rules for such records.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from contacts.db import one_writer_at_a_time
from contacts.models import CallbackEvent, ContactSnapshot, Export, JobStatus, SyncJob
from contacts.models.jobs import ACTIVE_STATUSES

logger = logging.getLogger(__name__)

# Rows deleted per statement: short transactions, however much has piled up.
BATCH_SIZE = 1000
# The names exports are written under (Export.file_name, and the file while it is written): only
# these are ever deleted from EXPORT_ROOT, whatever else someone keeps there.
_EXPORT_FILE = re.compile(r"[0-9a-f]{32}\.xlsx((\.\d+)?\.part)?")


@dataclass(frozen=True)
class PurgeSummary:
    older_than: dt.datetime
    refresh_records: int = 0
    callback_events: int = 0
    jobs: int = 0

    def __str__(self) -> str:
        return (
            f"Deleted {self.refresh_records} refresh record(s), {self.callback_events} WeCom event(s) and "
            f"{self.jobs} job(s) older than {timezone.localtime(self.older_than):%Y-%m-%d %H:%M}; "
            "each parent's latest answer and the latest job of each kind are kept."
        )


def retention_cutoff(*, days: int | None = None, now: dt.datetime | None = None) -> dt.datetime | None:
    """The time before which history goes: `days` (HISTORY_RETENTION_DAYS by default) before now.

    None when history is kept for ever (0 days).
    """
    days = settings.HISTORY_RETENTION_DAYS if days is None else days
    if days <= 0:
        return None
    return (now or timezone.now()) - dt.timedelta(days=days)


def purge_expired_history() -> PurgeSummary | None:
    """Apply HISTORY_RETENTION_DAYS and EXPORT_RETENTION_DAYS now; None when history is kept for ever."""
    purge_expired_exports()
    cutoff = retention_cutoff()
    if cutoff is None:
        return None
    return purge_old_history(older_than=cutoff)


def purge_old_history(*, older_than: dt.datetime, batch_size: int = BATCH_SIZE) -> PurgeSummary:
    """Delete the history older than `older_than` (see the module's docstring for what stays)."""
    summary = PurgeSummary(
        older_than=older_than,
        refresh_records=_purge_refresh_records(older_than=older_than, batch_size=batch_size),
        callback_events=_purge_callback_events(older_than=older_than, batch_size=batch_size),
        jobs=_purge_jobs(older_than=older_than),
    )
    logger.info("%s", summary)
    return summary


def _purge_refresh_records(*, older_than: dt.datetime, batch_size: int) -> int:
    deleted, after = 0, 0
    while True:
        # In id order from where the last batch ended: the records kept are not read again.
        batch = list(
            ContactSnapshot.objects.filter(fetched_at__lt=older_than, pk__gt=after)
            .order_by("pk")
            .values_list("pk", "contact_id")[:batch_size]
        )
        if not batch:
            return deleted
        after = batch[-1][0]
        latest_answers = set(
            ContactSnapshot.objects.filter(contact_id__in={contact_id for _, contact_id in batch}, raw__isnull=False)
            .order_by()
            .values("contact_id")
            .annotate(latest=Max("pk"))
            .values_list("latest", flat=True)
        )
        doomed = [pk for pk, _ in batch if pk not in latest_answers]
        if doomed:
            with one_writer_at_a_time():
                deleted += ContactSnapshot.objects.filter(pk__in=doomed).delete()[0]


def _purge_callback_events(*, older_than: dt.datetime, batch_size: int) -> int:
    deleted = 0
    while True:
        batch = list(
            CallbackEvent.objects.filter(received_at__lt=older_than).order_by("pk").values_list("pk", flat=True)[
                :batch_size
            ]
        )
        if not batch:
            return deleted
        with one_writer_at_a_time():
            deleted += CallbackEvent.objects.filter(pk__in=batch).delete()[0]


def _purge_jobs(*, older_than: dt.datetime) -> int:
    # The health check reports the latest finished sync, the job list the latest of each kind.
    kept = {
        latest
        for statuses in ([JobStatus.FINISHED], [JobStatus.FINISHED, JobStatus.FAILED])
        for latest in SyncJob.objects.filter(status__in=statuses)
        .order_by()
        .values("kind")
        .annotate(latest=Max("pk"))
        .values_list("latest", flat=True)
    }
    expired = (
        SyncJob.objects.filter(finished_at__lt=older_than).exclude(status__in=ACTIVE_STATUSES).exclude(pk__in=kept)
    )
    jobs = 0
    # One job at a time: each takes its thousands of items with it in one statement.
    for job_id in list(expired.values_list("pk", flat=True)):
        with one_writer_at_a_time():
            jobs += SyncJob.objects.filter(pk=job_id).delete()[1].get(SyncJob._meta.label, 0)
    return jobs


def purge_expired_exports(*, now: dt.datetime | None = None) -> int:
    """Delete exports older than EXPORT_RETENTION_DAYS, their files with them; returns how many.

    Files under EXPORT_ROOT whose record is gone (a worker stopped while writing one, a record
    deleted by hand) go by their age alike.
    """
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.EXPORT_RETENTION_DAYS)
    deleted = 0
    for export in Export.objects.filter(created_at__lt=cutoff).only("pk", "file_name"):
        export.path.unlink(missing_ok=True)
        for unfinished in export.path.parent.glob(export.path.name + ".*part"):
            unfinished.unlink(missing_ok=True)
        deleted += Export.objects.filter(pk=export.pk).delete()[0]
    root = Path(settings.EXPORT_ROOT)
    if root.is_dir():
        for path in root.iterdir():
            if _EXPORT_FILE.fullmatch(path.name) and path.stat().st_mtime < cutoff.timestamp():
                path.unlink(missing_ok=True)
    if deleted:
        logger.info("Deleted %d export(s) older than %d days", deleted, settings.EXPORT_RETENTION_DAYS)
    return deleted
