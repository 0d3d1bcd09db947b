"""Background jobs over many parents: start one, list its parents, refresh them in chunks.

A job runs as tasks (django-tasks, see contacts/tasks.py), each queued once the
transaction that asks for it has committed:

1. `start_job` records the job and queues its preparation. The database refuses a
   second active job of the same kind (a partial unique constraint), so two staff
   members pressing the button at once still start one job.
2. `prepare_job` reads and stores the school roster (sync_school only), writes one item per
   parent, and queues one chunk task per CHUNK_SIZE items and the job's watch.
3. Each `run_job_chunk` claims up to a chunk of pending items that no worker holds, in a
   short transaction with SELECT ... FOR UPDATE SKIP LOCKED, so workers on several machines
   sharing one PostgreSQL split the job and no parent is refreshed twice. (SQLite has
   no row locks; Django then leaves the clause out, and SQLite's single writer makes the
   claim exclusive anyway.) The chunk is refreshed with the concurrent runner and each
   outcome is written as it comes, in one UPDATE.
4. The chunk that leaves no pending item marks the job finished, with a conditional
   UPDATE, so exactly once.

When WeCom limits calls the job pauses, and says until when on its page (`paused_until`);
after WECOM_JOB_PATIENCE of limits in a row it stops as failed, with the reason, and the
items not refreshed stay pending: nothing is marked failed because of a limit. With the
shared cache down nothing can be done: the job fails at once, saying what to check.

A claim is a lease of JOB_LEASE_SECONDS, which a thread of the chunk renews every quarter
lease while the worker lives, however long a parent takes. A worker that dies (kill -9, a
machine lost) renews nothing: its leases run out and its items are free again. The job's
watch, a task queued again every half lease while the job runs, runs a chunk that takes
them back, so another worker finishes the job within about 1.5 leases. An outcome is
written only by the worker that still holds the item, so none is counted twice.

A job that no worker holds and that made no progress for ABANDONED_AFTER (every worker
gone, or a worker killed while reading the roster) is marked failed by the next start of
its kind, the nightly sync among them, instead of refusing it.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from contacts import tasks
from contacts.callbacks.services import requeue_stalled_events
from contacts.db import one_writer_at_a_time
from contacts.models import JobItem, JobItemStatus, JobKind, JobStatus, PauseReason, RefreshTrigger, SyncJob
from contacts.models.jobs import ACTIVE_STATUSES
from contacts.selectors import stored_external_userids
from contacts.services.job_errors import JOB_ERRORS, limits_failure, stop_failure
from contacts.services.leases import Renewing, lease_duration, queue_watch
from contacts.services.retention import purge_expired_history
from contacts.services.roster import sync_roster
from contacts.services.runner import (
    LimitsOutlasted,
    Pause,
    RateLimitPolicy,
    RefreshOutcome,
    RunSummary,
    call_within_limits,
    refresh_concurrently,
)
from contacts.sharedcache import SharedCacheUnavailable, ensure_shared_cache_available
from contacts.texts import Message, error_value
from contacts.wecom.client import WeComClient, get_client
from contacts.wecom.errors import WeComError

logger = logging.getLogger(__name__)

# Parents per chunk task: enough to keep a worker's threads busy for a while, few enough
# that several workers share even a small job.
CHUNK_SIZE = 200
DEFAULT_STALE_HOURS = 24.0
MAX_STALE_HOURS = 24 * 365 * 10
# A job that no worker holds and that made no progress for this long is given up by the next
# start of its kind: long enough for a queued job to wait for a busy worker, short enough
# that a dead one never holds up the nightly sync.
ABANDONED_AFTER = dt.timedelta(minutes=5)
ITEM_BATCH_SIZE = 1000
# JobItem.claimed_by
MAX_WORKER_ID_LENGTH = 128

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
    task backend the whole job has run when this returns. Raises SharedCacheUnavailable,
    recording nothing, when the shared cache does not answer: the job could not work.
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
    ensure_shared_cache_available()

    job = _create_job(kind=kind, user=user, stale_hours=stale_hours)
    try:
        transaction.on_commit(partial(tasks.prepare_sync_job.enqueue, job.pk, chunk_size))
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
    client = client or get_client()
    try:
        # Reading the roster waits out WeCom's limits as the refreshes do, and says so on the job's page.
        external_userids = call_within_limits(
            partial(_targets, job=job, client=client),
            client=client,
            policy=RateLimitPolicy.for_job(),
            on_pause=lambda pause: _note_pause(job_id=job_id, pause=pause),
        )
        with transaction.atomic():
            if not SyncJob.objects.filter(pk=job_id, status=first_status).update(status=JobStatus.RUNNING):
                return
            JobItem.objects.bulk_create(
                (JobItem(job_id=job_id, external_userid=external_userid) for external_userid in external_userids),
                batch_size=ITEM_BATCH_SIZE,
            )
    except LimitsOutlasted as limits:
        failure = limits_failure(limited_for=limits.limited_for, next_try=limits.next_try, error=limits.error)
        _end_job(job_id=job_id, status=JobStatus.FAILED, error=failure)
        return
    except WeComError as error:
        failure = JOB_ERRORS.message("roster_failed", error=error_value(error))
        _end_job(job_id=job_id, status=JobStatus.FAILED, error=failure)
        return
    except SharedCacheUnavailable as error:
        _end_job(job_id=job_id, status=JobStatus.FAILED, error=_cache_unavailable(error))
        raise
    except Exception as exc:
        logger.exception("preparing job %s failed", job_id)
        _end_job(job_id=job_id, status=JobStatus.FAILED, error=_internal_error(exc))
        return

    if not external_userids:
        finish_job_if_done(job_id=job_id)
        return
    if not enqueue_chunks:
        return
    chunks = math.ceil(len(external_userids) / chunk_size)
    transaction.on_commit(partial(_queue_chunks, job_id=job_id, chunk_size=chunk_size, chunks=chunks))
    transaction.on_commit(partial(_queue_watch, job_id=job_id, chunk_size=chunk_size))


def run_job_chunk(
    *,
    job_id: int,
    worker_id: str,
    chunk_size: int = CHUNK_SIZE,
    client: WeComClient | None = None,
    trigger: RefreshTrigger = RefreshTrigger.JOB,
    concurrency: int | None = None,
    on_outcome: Callable[[RefreshOutcome], None] | None = None,
    policy: RateLimitPolicy | None = None,
) -> RunSummary | None:
    """Claim up to `chunk_size` pending items of a running job that no worker holds, and refresh their parents.

    The items are leased to `worker_id`, and the leases renewed while the chunk runs.
    Returns the run's counts, or None when there was nothing to do. `on_outcome` hears
    each parent's outcome after it is recorded. A client given is used as it is; without
    one the engine makes its own. `policy`: how long WeCom's limits are waited out, a
    job's by default.
    """
    worker_id = worker_id[:MAX_WORKER_ID_LENGTH]
    job = SyncJob.objects.filter(pk=job_id).select_related("created_by").first()
    if job is None or job.status != JobStatus.RUNNING:
        return None
    try:
        claimed = _claim_items(job_id=job_id, worker_id=worker_id, limit=chunk_size)
        if not claimed:
            finish_job_if_done(job_id=job_id)
            return None

        def record(outcome: RefreshOutcome) -> None:
            _record_outcome(item_id=claimed[outcome.external_userid], worker_id=worker_id, outcome=outcome)
            if on_outcome is not None:
                on_outcome(outcome)

        renew = partial(_renew_leases, job_id=job_id, worker_id=worker_id)
        with Renewing(renew, what=f"job {job_id}'s parents held by {worker_id}"):
            summary = refresh_concurrently(
                external_userids=list(claimed),
                trigger=trigger,
                policy=policy or RateLimitPolicy.for_job(),
                triggered_by=job.created_by,
                client=client,
                concurrency=concurrency,
                on_outcome=record,
                on_pause=lambda pause: _note_pause(job_id=job_id, pause=pause),
            )
    except SharedCacheUnavailable as error:
        # Every parent would fail alike: the job fails once, its items stay pending.
        _end_job(job_id=job_id, status=JobStatus.FAILED, error=_cache_unavailable(error))
        raise
    except Exception as exc:
        logger.exception("a chunk of job %s failed", job_id)
        _end_job(job_id=job_id, status=JobStatus.FAILED, error=_internal_error(exc))
        return None
    if summary.stopped_by is not None:
        # Every other parent would fail alike (a configuration error, WeCom down), or WeCom
        # kept limiting calls: stop the job, leaving the rest pending.
        _end_job(job_id=job_id, status=JobStatus.FAILED, error=stop_failure(summary))
    else:
        finish_job_if_done(job_id=job_id)
    return summary


def watch_job(*, job_id: int, chunk_size: int, worker_id: str) -> RunSummary | None:
    """Take back what dead workers left of a running job, and watch it again half a lease later.

    It runs a chunk like any other: the items it claims are those no live worker holds,
    whether never claimed or left by a worker whose lease ran out. Returns that chunk's
    counts, or None once the job has ended (and then the watch stops).
    """
    if not SyncJob.objects.filter(pk=job_id, status=JobStatus.RUNNING).exists():
        return None
    # Queued before the chunk runs: should this worker die in it, the watch goes on.
    transaction.on_commit(partial(_queue_watch, job_id=job_id, chunk_size=chunk_size))
    return run_job_chunk(job_id=job_id, worker_id=worker_id, chunk_size=chunk_size)


def run_job_here(
    *,
    kind: JobKind | str,
    worker_id: str,
    concurrency: int | None = None,
    client: WeComClient | None = None,
    on_prepared: Callable[[SyncJob, int], None] | None = None,
    on_outcome: Callable[[RefreshOutcome], None] | None = None,
    policy: RateLimitPolicy | None = None,
) -> tuple[SyncJob, RunSummary | None]:
    """Run a job to its end in this process, without a worker (commands, a nightly timer).

    It is a job like any other: it takes the one-active-job lock (JobAlreadyActive when
    the admin's job of that kind runs), records every parent's outcome for the job page,
    and its end is what the health check reports. `on_prepared` hears the job and how many
    parents it has once they are listed (the roster read, for sync_school).
    Raises SharedCacheUnavailable when the shared cache does not answer.
    """
    ensure_shared_cache_available()
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
            policy=policy,
        )
        finish_job_if_done(job_id=job.pk)
        job.refresh_from_db()
    return job, summary


def finish_job_if_done(*, job_id: int) -> bool:
    """Mark a running job finished when no item is pending; True for the one call that did.

    The end of a whole-school sync (the nightly job) applies HISTORY_RETENTION_DAYS and queues again
    the WeCom events whose worker died.
    """
    if JobItem.objects.filter(job_id=job_id, status=JobItemStatus.PENDING).exists():
        return False
    finished = _end_job(job_id=job_id, status=JobStatus.FINISHED, only_from=[JobStatus.RUNNING])
    if finished and SyncJob.objects.filter(pk=job_id, kind=JobKind.SYNC_SCHOOL).exists():
        _purge_expired_history()
        # WeCom's events left behind by a callbacks worker that died, when none has arrived since.
        requeue_stalled_events()
    return finished


def _purge_expired_history() -> None:
    try:
        purge_expired_history()
    except DatabaseError:
        # The sync itself is done and recorded; the next one tries again.
        logger.exception("deleting expired history failed")


def give_up_stalled_job(*, job: SyncJob, now: dt.datetime | None = None) -> bool:
    """Mark an active job failed when no worker holds any of its items and it made no progress
    for ABANDONED_AFTER; True if it was.

    A live lease counts as activity until it runs out, so a job a live worker holds is never
    given up, however long it takes.
    """
    now = now or timezone.now()
    activity = JobItem.objects.filter(job=job).aggregate(
        finished=Max("finished_at"), claimed=Max("claimed_at"), held_until=Max("lease_expires_at")
    )
    last = max(t for t in (job.created_at, job.started_at, *activity.values()) if t)
    if now - last < ABANDONED_AFTER:
        return False
    minutes = int(ABANDONED_AFTER.total_seconds() // 60)
    return _end_job(job_id=job.pk, status=JobStatus.FAILED, error=JOB_ERRORS.message("abandoned", minutes=minutes))


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
    """Lease up to `limit` pending items that no worker holds to this one: {external_userid: item id}.

    No worker holds an item never claimed, nor one whose lease ran out: its worker died.
    """
    now = timezone.now()
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    with transaction.atomic():
        rows = list(
            JobItem.objects.select_for_update(skip_locked=True)
            .filter(free, job_id=job_id, status=JobItemStatus.PENDING)
            .order_by("pk")
            .values_list("pk", "external_userid", "claimed_by")[:limit]
        )
        if rows:
            JobItem.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(
                claimed_by=worker_id, claimed_at=now, lease_expires_at=now + lease_duration(), claims=F("claims") + 1
            )
    for previous, count in Counter(previous for _, _, previous in rows if previous).items():
        logger.warning(
            "job %s: %s takes back %d parent(s) from %s, which stopped renewing its lease",
            job_id,
            worker_id,
            count,
            previous,
        )
    return {external_userid: pk for pk, external_userid, _ in rows}


def _renew_leases(*, job_id: int, worker_id: str) -> int:
    """Extend this worker's leases on the job's pending items; items taken back meanwhile stay with their taker."""
    with one_writer_at_a_time():
        return JobItem.objects.filter(job_id=job_id, claimed_by=worker_id, status=JobItemStatus.PENDING).update(
            lease_expires_at=timezone.now() + lease_duration()
        )


def _record_outcome(*, item_id: int, worker_id: str, outcome: RefreshOutcome) -> None:
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
    # Only a pending item this worker still holds: an outcome is written once, even when the
    # item was taken back from a worker thought dead that then woke up.
    with one_writer_at_a_time():
        JobItem.objects.filter(pk=item_id, status=JobItemStatus.PENDING, claimed_by=worker_id).update(**fields)


def _queue_chunks(*, job_id: int, chunk_size: int, chunks: int) -> None:
    for _chunk in range(chunks):
        tasks.refresh_sync_job_chunk.enqueue(job_id, chunk_size)


def _queue_watch(*, job_id: int, chunk_size: int) -> None:
    queue_watch(tasks.watch_sync_job, job_id, chunk_size, after=lease_duration() / 2)


def _note_pause(*, job_id: int, pause: Pause) -> None:
    """Show on the job's page that it waits out WeCom's limit, and until when."""
    reason = PauseReason.WECOM_LIMIT if pause.by_wecom else PauseReason.CALL_BUDGET
    with one_writer_at_a_time():
        SyncJob.objects.filter(pk=job_id, status__in=[JobStatus.DISCOVERING, JobStatus.RUNNING]).update(
            paused_until=pause.until, pause_reason=reason
        )


def _end_job(
    *, job_id: int, status: JobStatus, error: Message | None = None, only_from: list[JobStatus] | None = None
) -> bool:
    """`error` is a JOB_ERRORS message, shown on the job page in the reader's language."""
    ended = SyncJob.objects.filter(pk=job_id, status__in=only_from or ACTIVE_STATUSES).update(
        status=status, finished_at=timezone.now(), failure=error
    )
    return ended == 1


def _cache_unavailable(error: SharedCacheUnavailable) -> Message:
    return JOB_ERRORS.message("shared_cache_unavailable", exception=error.cause_name)


def _internal_error(exc: Exception) -> Message:
    return JOB_ERRORS.message("internal", exception=type(exc).__name__)
