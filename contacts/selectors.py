"""Read-only queries about stored parents."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from contacts.models import (
    ContactPhone,
    ExternalContact,
    FollowUser,
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
    contacts = ExternalContact.objects.all()
    if stale_for is not None:
        cutoff = timezone.now() - stale_for
        contacts = contacts.filter(Q(last_refreshed_at__lt=cutoff) | Q(last_refreshed_at__isnull=True))
    return list(contacts.order_by("external_userid").values_list("external_userid", flat=True))


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
    """A job's items by outcome; `created` and `changed` are among `done`.

    `taken_back`: items claimed again after their worker died (its lease ran out).
    """

    total: int
    done: int
    created: int
    changed: int
    failed: int
    taken_back: int
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
        taken_back=Count("pk", filter=Q(claims__gt=1)),
    )
    total, finished = counts["total"], counts["done"] + counts["failed"]
    # No items: not listed yet (queued, reading the roster), or a job with nothing to do.
    percent = finished * 100 // total if total else (0 if job.is_active else 100)
    return JobProgress(**counts, left=total - finished, percent=percent)


def failed_job_items(*, job: SyncJob, limit: int = FAILURES_SHOWN) -> list[JobItem]:
    """The first `limit` failed items of a job, in the order they were listed."""
    return list(JobItem.objects.filter(job=job, status=JobItemStatus.FAILED).order_by("pk")[:limit])


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
