"""Read-only queries about stored parents, staff and jobs."""

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from contacts.models import (
    TEACHING_TYPES,
    ContactPhone,
    ContactSnapshot,
    Department,
    DepartmentType,
    ExternalContact,
    FollowUser,
    Guardian,
    Guardianship,
    JobItem,
    JobItemStatus,
    JobKind,
    JobStatus,
    StaffMember,
    SyncJob,
    member_label,
)
from contacts.models.jobs import ACTIVE_STATUSES
from contacts.privacy import PHONE_RUN_PATTERN, has_digits, phone_search_digits

# Eleven digits: a mobile, or a landline with its area code.
WHOLE_PHONE_DIGITS = 11


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


def follow_users_in_order(follow_users: QuerySet[FollowUser]) -> QuerySet[FollowUser]:
    """A parent's teachers as pages list them: current ones first, then by when they added the parent.

    Each comes with `teacher_name` (from the roster, None while unknown) and their tags.
    """
    return (
        follow_users.prefetch_related("tags")
        .annotate(teacher_name=Subquery(StaffMember.objects.filter(userid=OuterRef("userid")).values("name")[:1]))
        .annotate(has_ended=Case(When(ended_at__isnull=True, then=Value(0)), default=Value(1)))
        .order_by("has_ended", "createtime", "userid")
    )


def children_of(*, external_userid: str) -> QuerySet[Guardianship]:
    """A parent's children on the school roster, with their class; those still on it first (one query)."""
    return (
        Guardianship.objects.filter(guardian__external_userid=external_userid)
        .select_related("student__department")
        .annotate(has_left=Case(When(gone_at__isnull=True, then=Value(0)), default=Value(1)))
        .order_by("has_left", "student__name", "student__student_userid")
    )


def text_contains(field: str, term: str, *, may_search_phones: bool) -> Q:
    """`field` (a text people typed) contains `term`.

    Without the phone permission, a term with digits is not looked for in a text that may hold a
    phone number: finding a parent there would tell the digits the reader sees masked. The text
    is still found by its other words, and a text without a phone by its digits too.
    """
    found = Q(**{f"{field}__icontains": term})
    if may_search_phones or not has_digits(term):
        return found
    return found & ~Q(**{f"{field}__regex": PHONE_RUN_PATTERN})


def search_contacts(
    *, contacts: QuerySet[ExternalContact], term: str, may_search_phones: bool
) -> QuerySet[ExternalContact]:
    """Parents matching what staff typed in the search box.

    An exact external_userid is answered from its unique index alone. Otherwise the
    term is looked for in the name, the school's remark, the unionid, a teacher's
    userid or remark, and the name of a child on the school roster. Only staff who may
    see phone numbers find parents by a phone: a whole number, or four digits or more of
    one, in the stored phones and in the texts (see `text_contains`).
    """
    term = term.strip()
    if not term:
        return contacts
    exact = contacts.filter(external_userid=term)
    if exact.exists():
        return exact

    def text(field: str) -> Q:
        return text_contains(field, term, may_search_phones=may_search_phones)

    teachers = FollowUser.objects.filter(contact=OuterRef("pk"))
    matches = (
        text("name")
        | text("subscriber_remark")
        | Q(unionid=term)
        | Exists(teachers.filter(userid=term))
        | Exists(teachers.filter(text("remark")))
        | Exists(
            Guardianship.objects.filter(
                text("student__name"),
                guardian__external_userid=OuterRef("external_userid"),
                gone_at__isnull=True,
            )
        )
    )
    digits = phone_search_digits(term) if may_search_phones else ""
    if digits:
        matches |= Exists(ContactPhone.objects.filter(_phone_number_matches(digits), contact=OuterRef("pk")))
    return contacts.filter(matches)


def _phone_number_matches(digits: str) -> Q:
    # A whole mobile or landline is found through the index; a fragment is looked for within the numbers.
    if len(digits) >= WHOLE_PHONE_DIGITS:
        return Q(number=digits)
    return Q(number__contains=digits)


def search_snapshots(
    *, snapshots: QuerySet[ContactSnapshot], term: str, may_search_phones: bool
) -> QuerySet[ContactSnapshot]:
    """The refreshes of the parents a search of the parent list would find."""
    if not term.strip():
        return snapshots
    parents = search_contacts(contacts=ExternalContact.objects.all(), term=term, may_search_phones=may_search_phones)
    return snapshots.filter(contact__in=parents)


# -- staff ---------------------------------------------------------------------------------------


def member_names(*, userids: Iterable[str]) -> dict[str, str]:
    """The names of the members among `userids` whose name the roster sync read (one query)."""
    wanted = set(userids)
    if not wanted:
        return {}
    named = StaffMember.objects.filter(userid__in=wanted, name__isnull=False).exclude(name="")
    return dict(named.values_list("userid", "name"))


def member_label_of(*, userid: str) -> str:
    """A member as pages show them: "罗凯 (rocky)", or the userid alone while no name is known."""
    return member_label(userid, member_names(userids=[userid]).get(userid))


def classes_taught(*, userid: str) -> QuerySet[Department]:
    """The classes on the roster a member heads or teaches (department_admins of type 3 or 4)."""
    return Department.objects.filter(
        type=DepartmentType.CLASS,
        gone_at__isnull=True,
        admins__userid=userid,
        admins__type__in=TEACHING_TYPES,
        admins__gone_at__isnull=True,
    ).distinct()


def current_children(*, external_userids: Iterable[str]) -> dict[str, list[Guardianship]]:
    """The children on the roster now of each parent, by external_userid, by name (one query)."""
    links = (
        Guardianship.objects.filter(
            guardian__external_userid__in=set(external_userids), gone_at__isnull=True, student__gone_at__isnull=True
        )
        .select_related("guardian", "student__department")
        .order_by("student__name", "student__student_userid")
    )
    children: dict[str, list[Guardianship]] = {}
    for link in links:
        children.setdefault(link.guardian.external_userid, []).append(link)
    return children


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
