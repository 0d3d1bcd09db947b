"""History is kept HISTORY_RETENTION_DAYS: the nightly sync and `purge_history` delete what is older."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from contacts.models import (
    AuditAction,
    AuditEntry,
    CallbackEvent,
    ContactSnapshot,
    ExternalContact,
    JobItem,
    JobKind,
    JobStatus,
    RefreshTrigger,
    SyncJob,
)
from contacts.services.jobs import start_job
from contacts.services.retention import purge_old_history, retention_cutoff

pytestmark = pytest.mark.django_db

NOW = timezone.now()
LONG_AGO = NOW - dt.timedelta(days=800)
LATELY = NOW - dt.timedelta(days=10)
CUTOFF = NOW - dt.timedelta(days=730)


def parent(external_userid: str = "woAAAA") -> ExternalContact:
    return ExternalContact.objects.create(external_userid=external_userid, name="李四")


def record(contact: ExternalContact, when: dt.datetime, *, failed: bool = False) -> ContactSnapshot:
    return ContactSnapshot.objects.create(
        contact=contact,
        fetched_at=when,
        trigger=RefreshTrigger.JOB,
        raw=None if failed else {"external_contact": {"external_userid": contact.external_userid}},
        error="[60020] 不安全的访问IP" if failed else "",
        errcode=60020 if failed else None,
    )


def callback_event(when: dt.datetime, number: int) -> CallbackEvent:
    event = CallbackEvent.objects.create(
        fingerprint=f"event-{number}", event="change_external_contact", payload={"ExternalUserID": "woAAAA"}
    )
    CallbackEvent.objects.filter(pk=event.pk).update(received_at=when)
    return event


def job(kind: JobKind, finished_at: dt.datetime, status: JobStatus = JobStatus.FINISHED) -> SyncJob:
    created = SyncJob.objects.create(kind=kind, status=status, finished_at=finished_at)
    JobItem.objects.create(job=created, external_userid="woAAAA")
    return created


def remaining(model, objects) -> list:
    return list(model.objects.filter(pk__in=[o.pk for o in objects]).order_by("pk"))


def test_old_refresh_records_go_and_each_parents_latest_answer_stays():
    li, wang = parent("woAAAA"), parent("woBBBB")
    old = [record(li, LONG_AGO), record(li, LONG_AGO + dt.timedelta(days=1), failed=True)]
    li_latest_answer = record(li, LONG_AGO + dt.timedelta(days=2))
    li_failure_since = record(li, LONG_AGO + dt.timedelta(days=3), failed=True)
    li_recent = record(li, LATELY, failed=True)
    wang_old, wang_recent = record(wang, LONG_AGO), record(wang, LATELY)

    summary = purge_old_history(older_than=CUTOFF, batch_size=2)

    assert summary.refresh_records == 4
    kept = remaining(ContactSnapshot, [*old, li_latest_answer, li_failure_since, li_recent, wang_old, wang_recent])
    assert kept == [li_latest_answer, li_recent, wang_recent]


def test_old_callback_events_go_in_batches():
    old = [callback_event(LONG_AGO, number) for number in range(5)]
    recent = callback_event(LATELY, 99)

    summary = purge_old_history(older_than=CUTOFF, batch_size=2)

    assert summary.callback_events == 5
    assert remaining(CallbackEvent, [*old, recent]) == [recent]


def test_old_jobs_go_with_their_items_but_the_latest_of_each_kind_and_the_active_ones_stay():
    old_sync = job(JobKind.SYNC_SCHOOL, LONG_AGO)
    last_good_sync = job(JobKind.SYNC_SCHOOL, LONG_AGO + dt.timedelta(days=1))
    failed_sync = job(JobKind.SYNC_SCHOOL, LONG_AGO + dt.timedelta(days=2), status=JobStatus.FAILED)
    old_refresh = job(JobKind.REFRESH_ALL, LONG_AGO)
    last_refresh = job(JobKind.REFRESH_ALL, LONG_AGO + dt.timedelta(days=1))
    recent_refresh = job(JobKind.REFRESH_STALE, LATELY)

    summary = purge_old_history(older_than=CUTOFF)

    assert summary.jobs == 2
    jobs = [old_sync, last_good_sync, failed_sync, old_refresh, last_refresh, recent_refresh]
    assert remaining(SyncJob, jobs) == [last_good_sync, failed_sync, last_refresh, recent_refresh]
    assert JobItem.objects.count() == 4


def test_the_audit_log_is_kept_whatever_its_age(admin_user):
    entry = AuditEntry.objects.create(user=admin_user, username="admin", action=AuditAction.VIEW_PHONES)
    AuditEntry.objects.filter(pk=entry.pk).update(at=LONG_AGO)

    purge_old_history(older_than=NOW)

    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_the_limit_comes_from_the_setting_and_0_keeps_history_for_ever(settings):
    settings.HISTORY_RETENTION_DAYS = 30
    assert retention_cutoff(now=NOW) == NOW - dt.timedelta(days=30)
    assert retention_cutoff(days=7, now=NOW) == NOW - dt.timedelta(days=7)

    settings.HISTORY_RETENTION_DAYS = 0
    assert retention_cutoff(now=NOW) is None


def test_the_command_says_what_it_deleted(settings):
    settings.HISTORY_RETENTION_DAYS = 730
    li = parent()
    record(li, LONG_AGO)
    record(li, LONG_AGO + dt.timedelta(days=1))
    callback_event(LONG_AGO, 1)
    out = StringIO()

    call_command("purge_history", stdout=out)

    assert out.getvalue().startswith("Deleted 1 refresh record(s), 1 WeCom event(s) and 0 job(s) older than ")
    assert ContactSnapshot.objects.count() == 1


def test_the_command_takes_another_number_of_days(settings):
    settings.HISTORY_RETENTION_DAYS = 730
    li = parent()
    record(li, LATELY)
    record(li, NOW)
    out = StringIO()

    call_command("purge_history", "--days", "5", stdout=out)

    assert "Deleted 1 refresh record(s)" in out.getvalue()


def test_the_command_deletes_nothing_when_history_is_kept_for_ever(settings):
    settings.HISTORY_RETENTION_DAYS = 0
    li = parent()
    record(li, LONG_AGO)
    record(li, LONG_AGO + dt.timedelta(days=1))
    out = StringIO()

    call_command("purge_history", stdout=out)

    assert "kept for ever" in out.getvalue()
    assert ContactSnapshot.objects.count() == 2


@pytest.mark.parametrize("days", ["0", "-3"])
def test_the_command_refuses_a_number_of_days_below_1(days):
    with pytest.raises(CommandError, match="--days must be"):
        call_command("purge_history", "--days", days, stdout=StringIO())


def test_the_nightly_sync_applies_the_retention_when_it_finishes(sandbox, settings):
    settings.HISTORY_RETENTION_DAYS = 30
    stored = parent(sandbox.school.external_userids(include_lost=False)[0])
    old = record(stored, LONG_AGO)
    old_event = callback_event(LONG_AGO, 1)

    with pytest.raises(SystemExit):  # the school's lost parents fail; the sync still finishes
        call_command("sync_school", "--concurrency", "1", stdout=StringIO(), stderr=StringIO())

    assert SyncJob.objects.get().status == JobStatus.FINISHED
    assert not ContactSnapshot.objects.filter(pk=old.pk).exists()
    assert not CallbackEvent.objects.filter(pk=old_event.pk).exists()
    assert stored.snapshots.filter(raw__isnull=False).exists()  # the answer the sync just stored


def test_a_refresh_job_leaves_history_alone(settings, wecom, seed_answer):
    settings.HISTORY_RETENTION_DAYS = 30
    li = parent()
    old = record(li, LONG_AGO)
    record(li, LONG_AGO + dt.timedelta(days=1))
    wecom.answers(seed_answer)

    start_job(kind=JobKind.REFRESH_ALL)

    assert ContactSnapshot.objects.filter(pk=old.pk).exists()
