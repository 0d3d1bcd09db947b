"""A WeCom event whose worker died while applying it is applied again, not left "received" for ever.

A worker claims the event first; the claim runs out after JOB_LEASE_SECONDS. The events whose claim
ran out are queued again after every event a worker applies and at the end of the nightly sync.
Tasks run inline here (the test settings); tests/test_callback_queue_postgres.py uses real workers.
"""

import datetime as dt
import json

import pytest
import responses
from django.utils import timezone

from contacts import tasks
from contacts.callbacks.outcomes import outcome_text
from contacts.callbacks.services import MAX_EVENT_ATTEMPTS, process_event, requeue_stalled_events
from contacts.models import CallbackEvent, CallbackStatus, JobKind, JobStatus, SyncJob
from contacts.services.jobs import finish_job_if_done
from tests.admin_factories import seed, with_teacher_remark
from tests.conftest import API

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

LEASE_SECONDS = 60


@pytest.fixture(autouse=True)
def lease(settings):
    settings.JOB_LEASE_SECONDS = LEASE_SECONDS


@pytest.fixture
def edited_in_wecom(stored_parent, wecom):
    """WeCom now says 李主任 for rocky's remark on woAAAA."""
    wecom.answers(with_teacher_remark(seed(), "rocky", "李主任"))
    return wecom


def stored_event(number: int = 1, **fields) -> CallbackEvent:
    """An edit_external_contact event for woAAAA, stored as accept_event stores it, no task queued."""
    event = CallbackEvent.objects.create(
        fingerprint=f"{number:064x}",
        event="change_external_contact",
        change_type="edit_external_contact",
        external_userid="woAAAA",
        userid="rocky",
        payload={},
    )
    CallbackEvent.objects.filter(pk=event.pk).update(**fields)
    return CallbackEvent.objects.get(pk=event.pk)


def ago(seconds: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=seconds)


def rockys_remark(stored_parent) -> str:
    return stored_parent.follow_users.get(userid="rocky").remark


def test_an_event_whose_worker_died_is_applied_when_its_claim_runs_out(edited_in_wecom, stored_parent):
    event = stored_event(claimed_at=ago(LEASE_SECONDS + 5), attempts=1)

    assert requeue_stalled_events() == 1

    event.refresh_from_db()
    assert event.status == CallbackStatus.PROCESSED
    assert event.attempts == 2
    assert rockys_remark(stored_parent) == "李主任"


def test_an_event_a_live_worker_holds_is_neither_applied_again_nor_queued(edited_in_wecom, stored_parent):
    event = stored_event(claimed_at=ago(LEASE_SECONDS - 5), attempts=1)
    calls = edited_in_wecom.contact_calls()

    assert requeue_stalled_events() == 0
    process_event(event_id=event.pk)

    event.refresh_from_db()
    assert event.status == CallbackStatus.RECEIVED
    assert event.attempts == 1
    assert edited_in_wecom.contact_calls() == calls


def test_an_event_whose_workers_died_again_and_again_fails_and_says_why(edited_in_wecom, stored_parent):
    event = stored_event(claimed_at=ago(LEASE_SECONDS + 5), attempts=MAX_EVENT_ATTEMPTS)
    calls = edited_in_wecom.contact_calls()

    requeue_stalled_events()

    event.refresh_from_db()
    assert event.status == CallbackStatus.FAILED
    assert outcome_text(event) == (
        f"处理中断：处理它的后台进程停止了 {MAX_EVENT_ATTEMPTS} 次，已放弃；请检查回调队列的后台进程（db_worker）。"
    )
    assert event.processed_at is not None
    assert edited_in_wecom.contact_calls() == calls
    assert rockys_remark(stored_parent) != "李主任"


def test_an_event_never_queued_is_queued_an_hour_after_it_arrived(edited_in_wecom, stored_parent):
    waiting = stored_event(1)
    lost = stored_event(2)
    CallbackEvent.objects.filter(pk=lost.pk).update(received_at=ago(3600 + 5))

    assert requeue_stalled_events() == 1

    assert CallbackEvent.objects.get(pk=lost.pk).status == CallbackStatus.PROCESSED
    assert CallbackEvent.objects.get(pk=waiting.pk).status == CallbackStatus.RECEIVED


def test_the_next_event_a_worker_applies_takes_up_the_one_left_behind(edited_in_wecom, stored_parent):
    left_behind = stored_event(1, claimed_at=ago(LEASE_SECONDS + 5), attempts=1)
    new = stored_event(2)

    tasks.process_callback_event.enqueue(event_id=new.pk)

    assert CallbackEvent.objects.get(pk=new.pk).status == CallbackStatus.PROCESSED
    assert CallbackEvent.objects.get(pk=left_behind.pk).status == CallbackStatus.PROCESSED


def test_the_end_of_the_nightly_sync_takes_up_an_event_left_behind(edited_in_wecom, stored_parent):
    left_behind = stored_event(claimed_at=ago(LEASE_SECONDS + 5), attempts=1)
    job = SyncJob.objects.create(kind=JobKind.SYNC_SCHOOL, status=JobStatus.RUNNING)

    assert finish_job_if_done(job_id=job.pk)

    assert CallbackEvent.objects.get(pk=left_behind.pk).status == CallbackStatus.PROCESSED


def test_a_worker_whose_claim_was_taken_meanwhile_does_not_overwrite_the_outcome(wecom, stored_parent):
    event = stored_event()
    answer = with_teacher_remark(seed(), "rocky", "李主任")

    def slow_wecom(request):
        # This worker waited on WeCom longer than a lease: another took the event and finished it.
        CallbackEvent.objects.filter(pk=event.pk).update(
            claimed_by="another-worker", status=CallbackStatus.PROCESSED, result=[{"code": "not_handled"}]
        )
        return 200, {}, json.dumps(answer)

    wecom.rsps.remove(responses.GET, f"{API}/externalcontact/get")
    wecom.rsps.add_callback(responses.GET, f"{API}/externalcontact/get", callback=slow_wecom)

    process_event(event_id=event.pk)

    event.refresh_from_db()
    assert event.status == CallbackStatus.PROCESSED
    assert event.claimed_by == "another-worker"
    assert event.result == [{"code": "not_handled"}]


def test_an_event_left_behind_is_queued_again_once_a_lease_at_most(kept_tasks):
    event = stored_event(claimed_at=ago(LEASE_SECONDS + 5), attempts=1)

    assert requeue_stalled_events() == 1
    assert requeue_stalled_events() == 0  # its task waits in the queue: not queued twice
    assert requeue_stalled_events(now=timezone.now() + dt.timedelta(seconds=LEASE_SECONDS + 1)) == 1

    assert [result.kwargs for result in kept_tasks] == [{"event_id": event.pk}] * 2


def test_an_event_not_applied_within_a_day_is_given_up_not_applied_late(edited_in_wecom, stored_parent):
    old = stored_event(1)
    CallbackEvent.objects.filter(pk=old.pk).update(received_at=ago(24 * 3600 + 5))
    late_task = stored_event(2)
    CallbackEvent.objects.filter(pk=late_task.pk).update(received_at=ago(24 * 3600 + 5))
    calls = edited_in_wecom.contact_calls()

    assert requeue_stalled_events() == 0
    process_event(event_id=late_task.pk)  # its own task, run at last

    for event in CallbackEvent.objects.all():
        assert event.status == CallbackStatus.FAILED
        assert outcome_text(event) == "超过一天未能处理，已放弃；此后的同步会按企业微信的最新数据更新家长。"
    assert edited_in_wecom.contact_calls() == calls
    assert rockys_remark(stored_parent) != "李主任"
