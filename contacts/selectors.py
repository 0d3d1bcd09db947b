"""Read-only queries about stored parents."""

import datetime as dt
import math
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from contacts.models import (
    ContactPhone,
    Department,
    ExternalContact,
    FollowUser,
    Guardian,
    Guardianship,
    JobItem,
    JobItemStatus,
    JobKind,
    JobStatus,
    SyncJob,
)
from contacts.models.jobs import ACTIVE_STATUSES
from contacts.privacy import normalize_phone


def stored_external_userids(*, stale_for: dt.timedelta | None = None) -> list[str]:
    """Every stored parent's id, or only those not refreshed successfully within `stale_for`."""
    contacts = _stored_contacts(stale_for=stale_for)
    return list(contacts.order_by("external_userid").values_list("external_userid", flat=True))


def _stored_contacts(*, stale_for: dt.timedelta | None) -> QuerySet[ExternalContact]:
    contacts = ExternalContact.objects.all()
    if stale_for is not None:
        cutoff = timezone.now() - stale_for
        contacts = contacts.filter(Q(last_refreshed_at__lt=cutoff) | Q(last_refreshed_at__isnull=True))
    return contacts


def with_teacher_count(contacts: QuerySet[ExternalContact]) -> QuerySet[ExternalContact]:
    """Annotate `teacher_count`: teachers currently following each parent.

    A correlated subquery rather than a JOIN + GROUP BY, so a page of 50 parents
    counts only their own teachers.
    """
    counts = (
        FollowUser.objects.filter(contact=OuterRef("pk"), ended_at__isnull=True)
        .order_by()
        .values("contact")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return contacts.annotate(teacher_count=Coalesce(Subquery(counts, output_field=IntegerField()), 0))


def search_contacts(*, contacts: QuerySet[ExternalContact], term: str) -> QuerySet[ExternalContact]:
    """Parents matching what staff typed in the search box.

    An exact external_userid is answered from its unique index alone. Otherwise the
    term is looked for in the name, the school's remark, the unionid, a teacher's
    userid or remark, the name of a child on the school roster, and (as a whole
    number) the phone numbers.
    """
    term = term.strip()
    if not term:
        return contacts
    exact = contacts.filter(external_userid=term)
    if exact.exists():
        return exact

    teachers = FollowUser.objects.filter(contact=OuterRef("pk"))
    matches = (
        Q(name__icontains=term)
        | Q(subscriber_remark__icontains=term)
        | Q(unionid=term)
        | Exists(teachers.filter(userid=term))
        | Exists(teachers.filter(remark__icontains=term))
        | Exists(
            Guardianship.objects.filter(
                guardian__external_userid=OuterRef("external_userid"),
                gone_at__isnull=True,
                student__name__icontains=term,
            )
        )
    )
    phone = normalize_phone(term)
    if phone.isdigit() and len(phone) >= 5:
        matches |= Exists(ContactPhone.objects.filter(contact=OuterRef("pk"), number=phone))
    return contacts.filter(matches)


def last_finished_job(*, kind: JobKind = JobKind.SYNC_SCHOOL) -> SyncJob | None:
    return SyncJob.objects.filter(kind=kind, status=JobStatus.FINISHED).order_by("-finished_at").first()


# -- background jobs ---------------------------------------------------------------------

FAILURES_SHOWN = 200


@dataclass(frozen=True)
class JobProgress:
    """A job's items by outcome; `created` and `changed` are among `done`."""

    total: int
    done: int
    created: int
    changed: int
    failed: int
    left: int
    percent: int


def job_progress(*, job: SyncJob) -> JobProgress:
    """How far a job has come, in one aggregate query over its items."""
    done, failed = Q(status=JobItemStatus.DONE), Q(status=JobItemStatus.FAILED)
    counts = JobItem.objects.filter(job=job).aggregate(
        total=Count("pk"),
        done=Count("pk", filter=done),
        created=Count("pk", filter=done & Q(created=True)),
        changed=Count("pk", filter=done & Q(changed=True)),
        failed=Count("pk", filter=failed),
    )
    total, finished = counts["total"], counts["done"] + counts["failed"]
    # No items: not listed yet (queued, reading the roster), or a job with nothing to do.
    percent = finished * 100 // total if total else (0 if job.is_active else 100)
    return JobProgress(**counts, left=total - finished, percent=percent)


def failed_job_items(*, job: SyncJob, limit: int = FAILURES_SHOWN) -> list[JobItem]:
    """The first `limit` failed items of a job, in the order they were listed.

    Each carries `contact_pk` and `contact_name` of the stored parent, None for an id never stored.
    """
    stored = ExternalContact.objects.filter(external_userid=OuterRef("external_userid"))
    return list(
        JobItem.objects.filter(job=job, status=JobItemStatus.FAILED)
        .annotate(
            contact_pk=Subquery(stored.values("pk")[:1]),
            contact_name=Subquery(stored.values("name")[:1]),
        )
        .order_by("pk")[:limit]
    )


# One parent's WeCom call as a school's server sees it: WeCom's answer (docs/performance.md
# simulates 50 ms) and storing it. Only for the estimate shown before a job starts.
TYPICAL_CALL_SECONDS = 0.1


@dataclass(frozen=True)
class JobEstimate:
    """What a job would do if started now: `parents` is None when only reading the roster will tell."""

    parents: int | None
    minutes: int | None  # rounded up; None when `parents` is


def job_estimate(*, kind: JobKind | str, stale_for: dt.timedelta) -> JobEstimate:
    """How many parents a job of this kind would refresh, and about how long it would take.

    The time is the slower of WECOM_RATE_PER_MINUTE and WECOM_CONCURRENCY parents at a time;
    a whole-school sync also reads the roster, one call per class.
    """
    calls = 0
    if kind == JobKind.SYNC_SCHOOL:
        # The parents of the last roster read and those stored; a school never synced is unknown.
        roster = Guardian.objects.filter(external_userid__isnull=False, gone_at__isnull=True)
        parents = (
            ExternalContact.objects.order_by()
            .values_list("external_userid")
            .union(roster.order_by().values_list("external_userid"))
            .count()
        )
        if not parents:
            return JobEstimate(parents=None, minutes=None)
        calls = Department.objects.count() + 1
    else:
        parents = _stored_contacts(stale_for=stale_for if kind == JobKind.REFRESH_STALE else None).count()
    calls += parents
    concurrency = max(int(getattr(settings, "WECOM_CONCURRENCY", 1)), 1)
    rate_per_minute = int(getattr(settings, "WECOM_RATE_PER_MINUTE", 0))
    seconds = calls * TYPICAL_CALL_SECONDS / concurrency
    if rate_per_minute > 0:
        seconds = max(seconds, calls * 60 / rate_per_minute)
    return JobEstimate(parents=parents, minutes=math.ceil(seconds / 60))


def failed_errcodes(*, job: SyncJob) -> dict[int | None, int]:
    """How many of a job's parents failed, by errcode (None: no errcode, e.g. WeCom unreachable)."""
    rows = JobItem.objects.filter(job=job, status=JobItemStatus.FAILED).values("errcode").annotate(n=Count("pk"))
    return {row["errcode"]: row["n"] for row in rows.order_by()}


def active_job(*, kind: JobKind | str) -> SyncJob | None:
    """The queued or running job of this kind, if there is one (there is never more than one)."""
    return SyncJob.objects.filter(kind=kind, status__in=ACTIVE_STATUSES).first()


def with_job_counts(jobs: QuerySet[SyncJob]) -> QuerySet[SyncJob]:
    """Annotate `item_total`, `item_done` and `item_failed` on each job, for lists of jobs."""
    return jobs.annotate(
        item_total=Count("items"),
        item_done=Count("items", filter=Q(items__status=JobItemStatus.DONE)),
        item_failed=Count("items", filter=Q(items__status=JobItemStatus.FAILED)),
    )
