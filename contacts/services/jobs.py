"""Background jobs over many parents: start one, list its parents, refresh them in chunks.

A job runs as tasks (django-tasks, see contacts/tasks.py):

1. `start_job` records the job and enqueues its preparation. The database refuses a
   second active job of the same kind (a partial unique constraint), so two staff
   members pressing the button at once still start one job.
2. `prepare_job` reads and stores the school roster (sync_school only), writes one item per parent
   and enqueues one chunk task per CHUNK_SIZE items.
3. Each `run_job_chunk` claims up to a chunk of items nobody claimed yet, in a short
   transaction with SELECT ... FOR UPDATE SKIP LOCKED, so workers on several machines
   sharing one PostgreSQL split the job and no parent is refreshed twice. (SQLite has
   no row locks; Django then leaves the clause out, and SQLite's single writer makes the
   claim exclusive anyway.) The chunk is refreshed with the concurrent runner and each
   outcome is written as it comes, in one UPDATE.
4. The chunk that leaves no pending item marks the job finished, with a conditional
   UPDATE, so exactly once.

A worker that dies mid-chunk leaves its items claimed; the job then makes no progress,
and after STALLED_AFTER a new start of its kind marks it failed instead of being refused.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from contacts.db import one_writer_at_a_time
from contacts.models import JobItem, JobItemStatus, JobKind, JobStatus, RefreshTrigger, SyncJob
from contacts.models.jobs import ACTIVE_STATUSES
from contacts.selectors import stored_external_userids
from contacts.services.batch import RefreshOutcome
from contacts.services.job_errors import JOB_ERRORS
from contacts.services.roster import sync_roster
from contacts.services.runner import RunSummary, refresh_concurrently
from contacts.texts import Message, error_value
from contacts.wecom.client import WeComClient, get_client
from contacts.wecom.errors import WeComError

logger = logging.getLogger(__name__)

# Parents per chunk task: enough to keep a worker's threads busy for a while, few enough
# that several workers share even a small job.
CHUNK_SIZE = 200
DEFAULT_STALE_HOURS = 24.0
MAX_STALE_HOURS = 24 * 365 * 10
STALLED_AFTER = dt.timedelta(minutes=30)
ITEM_BATCH_SIZE = 1000

_FIRST_STATUS = {
    JobKind.SYNC_SCHOOL: JobStatus.DISCOVERING,
    JobKind.REFRESH_ALL: JobStatus.RUNNING,
    JobKind.REFRESH_STALE: JobStatus.RUNNING,
}


class JobAlreadyActive(Exception):
    """A job of this kind is queued or running; `job` is that job."""

    def __init__(self, job: SyncJob) -> None:
        super().__init__(f"{job.get_kind_display()} #{job.pk} is still {job.status}")
        self.job = job


class JobNotStarted(Exception):
    """The job was recorded but its task could not be queued; the job is marked failed."""


def start_job(
    *,
    kind: JobKind | str,
    user: AbstractBaseUser | None = None,
    stale_hours: float | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> SyncJob:
    """Record a job and queue it; raises JobAlreadyActive when one of that kind is active.

    `stale_hours` applies to refresh_stale only (24 h by default). With the immediate
    task backend the whole job has run when this returns.
    """
    kind = JobKind(kind)
    if kind is JobKind.REFRESH_STALE:
        stale_hours = DEFAULT_STALE_HOURS if stale_hours is None else float(stale_hours)
        if not 0 <= stale_hours <= MAX_STALE_HOURS:
            raise ValueError(f"stale_hours must be from 0 to {MAX_STALE_HOURS}")
    else:
        stale_hours = None
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")

    job = _create_job(kind=kind, user=user, stale_hours=stale_hours)
    from contacts.tasks import prepare_sync_job

    try:
        prepare_sync_job.enqueue(job.pk, chunk_size)
    except Exception as exc:
        logger.exception("queueing %s failed", job)
        _end_job(
            job_id=job.pk,
            status=JobStatus.FAILED,
            error=JOB_ERRORS.message("not_queued", exception=type(exc).__name__),
        )
        raise JobNotStarted(str(job)) from exc
    job.refresh_from_db()
    return job


def prepare_job(
    *, job_id: int, chunk_size: int = CHUNK_SIZE, client: WeComClient | None = None, enqueue_chunks: bool = True
) -> None:
    """List the job's parents as items and queue the chunk tasks; runs once per job.

    With enqueue_chunks off the caller refreshes the items itself (run_job_here).
    """
    job = SyncJob.objects.filter(pk=job_id).first()
    if job is None:
        return
    first_status = _FIRST_STATUS[JobKind(job.kind)]
    # Only the first run of this task goes on; a second one (or a job given up meanwhile) stops here.
    if not SyncJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=first_status, started_at=timezone.now()
    ):
        return
    try:
        external_userids = _targets(job=job, client=client)
        with transaction.atomic():
            if not SyncJob.objects.filter(pk=job_id, status=first_status).update(status=JobStatus.RUNNING):
                return
            JobItem.objects.bulk_create(
                (JobItem(job_id=job_id, external_userid=external_userid) for external_userid in external_userids),
                batch_size=ITEM_BATCH_SIZE,
            )
    except WeComError as error:
        failure = JOB_ERRORS.message("roster_failed", error=error_value(error))
        _end_job(job_id=job_id, status=JobStatus.FAILED, error=failure)
        return
    except Exception as exc:
        logger.exception("preparing job %s failed", job_id)
        _end_job(job_id=job_id, status=JobStatus.FAILED, error=_internal_error(exc))
        return

    if not external_userids:
        finish_job_if_done(job_id=job_id)
        return
    if not enqueue_chunks:
        return
    from contacts.tasks import refresh_sync_job_chunk

    for _chunk in range(math.ceil(len(external_userids) / chunk_size)):
        refresh_sync_job_chunk.enqueue(job_id, chunk_size)


def run_job_chunk(
    *,
    job_id: int,
    worker_id: str,
    chunk_size: int = CHUNK_SIZE,
    client: WeComClient | None = None,
    trigger: RefreshTrigger = RefreshTrigger.JOB,
    concurrency: int | None = None,
    on_outcome: Callable[[RefreshOutcome], None] | None = None,
) -> RunSummary | None:
    """Claim up to `chunk_size` unclaimed items of a running job and refresh their parents.

    Returns the run's counts, or None when there was nothing to do. `on_outcome` hears
    each parent's outcome after it is recorded.
    """
    job = SyncJob.objects.filter(pk=job_id).select_related("created_by").first()
    if job is None or job.status != JobStatus.RUNNING:
        return None
    try:
        claimed = _claim_items(job_id=job_id, worker_id=worker_id, limit=chunk_size)
        if not claimed:
            finish_job_if_done(job_id=job_id)
            return None

        def record(outcome: RefreshOutcome) -> None:
            _record_outcome(item_id=claimed[outcome.external_userid], outcome=outcome)
            if on_outcome is not None:
                on_outcome(outcome)

        summary = refresh_concurrently(
            external_userids=list(claimed),
            trigger=trigger,
            triggered_by=job.created_by,
            client=client or get_client(),
            concurrency=concurrency,
            on_outcome=record,
        )
    except Exception as exc:
        logger.exception("a chunk of job %s failed", job_id)
        _end_job(job_id=job_id, status=JobStatus.FAILED, error=_internal_error(exc))
        return None
    if summary.stopped_by is not None:
        # Every other parent would fail alike (a configuration error, WeCom down): stop the job.
        _end_job(
            job_id=job_id,
            status=JobStatus.FAILED,
            error=JOB_ERRORS.message("stopped", error=error_value(summary.stopped_by)),
        )
    else:
        finish_job_if_done(job_id=job_id)
    return summary


def run_job_here(
    *,
    kind: JobKind | str,
    worker_id: str,
    concurrency: int | None = None,
    client: WeComClient | None = None,
    on_prepared: Callable[[SyncJob, int], None] | None = None,
    on_outcome: Callable[[RefreshOutcome], None] | None = None,
) -> tuple[SyncJob, RunSummary | None]:
    """Run a job to its end in this process, without a worker (commands, a nightly timer).

    It is a job like any other: it takes the one-active-job lock (JobAlreadyActive when
    the admin's job of that kind runs), records every parent's outcome for the job page,
    and its end is what the health check reports. `on_prepared` hears the job and how many
    parents it has once they are listed (the roster read, for sync_school).
    """
    client = client or get_client()
    job = _create_job(kind=JobKind(kind), user=None, stale_hours=None)
    prepare_job(job_id=job.pk, client=client, enqueue_chunks=False)
    job.refresh_from_db()
    total = JobItem.objects.filter(job=job).count() if job.status == JobStatus.RUNNING else 0
    if on_prepared is not None:
        on_prepared(job, total)
    summary = None
    if job.status == JobStatus.RUNNING:
        summary = run_job_chunk(
            job_id=job.pk,
            worker_id=worker_id,
            chunk_size=max(total, 1),
            client=client,
            trigger=RefreshTrigger.COMMAND,
            concurrency=concurrency,
            on_outcome=on_outcome,
        )
        finish_job_if_done(job_id=job.pk)
        job.refresh_from_db()
    return job, summary


def finish_job_if_done(*, job_id: int) -> bool:
    """Mark a running job finished when no item is pending; True for the one call that did."""
    if JobItem.objects.filter(job_id=job_id, status=JobItemStatus.PENDING).exists():
        return False
    return _end_job(job_id=job_id, status=JobStatus.FINISHED, only_from=[JobStatus.RUNNING])


def give_up_stalled_job(*, job: SyncJob, now: dt.datetime | None = None) -> bool:
    """Mark an active job failed when nothing has happened in it for STALLED_AFTER; True if it was."""
    now = now or timezone.now()
    activity = JobItem.objects.filter(job=job).aggregate(finished=Max("finished_at"), claimed=Max("claimed_at"))
    last = max(t for t in (job.created_at, job.started_at, activity["finished"], activity["claimed"]) if t)
    if now - last < STALLED_AFTER:
        return False
    minutes = int(STALLED_AFTER.total_seconds() // 60)
    return _end_job(job_id=job.pk, status=JobStatus.FAILED, error=JOB_ERRORS.message("stalled", minutes=minutes))


# -- steps ------------------------------------------------------------------------------


def _create_job(*, kind: JobKind, user: AbstractBaseUser | None, stale_hours: float | None) -> SyncJob:
    # The insert itself is the check: the constraint holds even when two starts race.
    # A job that ended between our insert and our look, or one given up as stalled,
    # makes room: try again.
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return SyncJob.objects.create(kind=kind, created_by=user, stale_hours=stale_hours)
        except IntegrityError:
            active = SyncJob.objects.filter(kind=kind, status__in=ACTIVE_STATUSES).first()
            if active is not None and not give_up_stalled_job(job=active):
                raise JobAlreadyActive(active) from None
    raise JobNotStarted(f"{kind}: another job of this kind kept starting")


def _targets(*, job: SyncJob, client: WeComClient | None) -> list[str]:
    """The parents a job refreshes, each once: for sync_school, the roster's and the stored ones."""
    if job.kind == JobKind.SYNC_SCHOOL:
        # Stores the roster (classes, students, guardians) on the way.
        discovered = sync_roster(client=client or get_client()).external_userids
        return list(dict.fromkeys([*discovered, *stored_external_userids()]))
    if job.kind == JobKind.REFRESH_STALE:
        return stored_external_userids(stale_for=dt.timedelta(hours=job.stale_hours or DEFAULT_STALE_HOURS))
    return stored_external_userids()


def _claim_items(*, job_id: int, worker_id: str, limit: int) -> dict[str, int]:
    """Mark up to `limit` unclaimed pending items as this worker's: {external_userid: item id}."""
    with transaction.atomic():
        rows = list(
            JobItem.objects.select_for_update(skip_locked=True)
            .filter(job_id=job_id, status=JobItemStatus.PENDING, claimed_at__isnull=True)
            .order_by("pk")
            .values_list("pk", "external_userid")[:limit]
        )
        if rows:
            JobItem.objects.filter(pk__in=[pk for pk, _ in rows]).update(
                claimed_by=worker_id[:128], claimed_at=timezone.now()
            )
    return {external_userid: pk for pk, external_userid in rows}


def _record_outcome(*, item_id: int, outcome: RefreshOutcome) -> None:
    fields: dict[str, Any] = {"finished_at": timezone.now()}
    if outcome.error is not None:
        fields.update(status=JobItemStatus.FAILED, errcode=outcome.error.errcode, failure=outcome.error.as_record())
    else:
        result = outcome.result
        fields.update(
            status=JobItemStatus.DONE,
            created=result.created,
            changed=not result.created and not result.changes.is_empty,
        )
    # Only a pending item: an outcome is written once, whatever happens to the job around it.
    with one_writer_at_a_time():
        JobItem.objects.filter(pk=item_id, status=JobItemStatus.PENDING).update(**fields)


def _end_job(
    *, job_id: int, status: JobStatus, error: Message | None = None, only_from: list[JobStatus] | None = None
) -> bool:
    """`error` is a JOB_ERRORS message, shown on the job page in the reader's language."""
    ended = SyncJob.objects.filter(pk=job_id, status__in=only_from or ACTIVE_STATUSES).update(
        status=status, finished_at=timezone.now(), failure=error
    )
    return ended == 1


def _internal_error(exc: Exception) -> Message:
    return JOB_ERRORS.message("internal", exception=type(exc).__name__)
