"""WeCom's rate-limit answers end: a command or a button gives up with a clear message, a job pauses, says so
on its page, and stops after WECOM_JOB_PATIENCE of limits in a row, leaving its parents for the next run.

WeCom answers 45009 to every call here. The pauses and patiences are shortened through the settings, so that
the tests take a second; tests/test_refresh_engine.py holds the real ones against a fake clock.
"""

import datetime as dt
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from contacts.models import ExternalContact, JobItem, JobItemStatus, JobKind, JobStatus, PauseReason, SyncJob
from contacts.selectors import job_progress
from contacts.services.job_errors import job_error_text, stop_failure
from contacts.services.jobs import start_job
from contacts.services.ratelimit import rate_limiter_from_settings
from contacts.services.runner import RateLimitPolicy, RunSummary
from contacts.wecom.errors import WeComError
from tests.admin_factories import (
    STORED_PARENTS,
    list_url,
    lookup_url,
    refresh_url,
    shown_messages,
    text_of,
)
from tests.conftest import API, TOKEN

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db



@pytest.fixture(autouse=True)
def _one_at_a_time(settings):
    settings.WECOM_CONCURRENCY = 1


@pytest.fixture
def wecom_limits_every_call(wecom, stored_parents):
    """The parents are stored; from now on WeCom answers 45009 to every one of them."""
    wecom.rsps.reset()
    wecom.rsps.get(f"{API}/gettoken", json={"errcode": 0, "errmsg": "ok", "access_token": TOKEN, "expires_in": 7200})
    for external_userid in STORED_PARENTS:
        wecom.fails(external_userid, 45009)
    return wecom


def calls_since(wecom, before: int) -> int:
    return wecom.contact_calls() - before


def stored_data() -> list[tuple]:
    """What is stored of each parent, their teachers and their snapshots (a failed try records only its error)."""
    return [
        (contact.external_userid, contact.name, contact.last_refreshed_at, contact.snapshots.count(),
         sorted(contact.follow_users.values_list("userid", "remark")))
        for contact in ExternalContact.objects.order_by("pk")
    ]


# -- the policies themselves ------------------------------------------------------------------------------


def test_the_real_policies_give_up_within_two_minutes_for_commands_and_ten_for_jobs():
    # A command's run gives up once the limits would outlast its patience; the last tries take seconds at most.
    assert RateLimitPolicy.for_command().patience <= 120 - 15
    assert RateLimitPolicy.for_job().patience == 10 * 60
    assert RateLimitPolicy.for_staff().patience == 0
    assert RateLimitPolicy.for_command().limit_pause == 60  # WeCom's per-minute block (doc 90454)


# -- a command ------------------------------------------------------------------------------------------------


def test_refresh_contacts_gives_up_with_a_clear_message_and_fails_no_parent(wecom_limits_every_call, settings):
    settings.WECOM_RATE_LIMIT_PAUSE = 0.1
    settings.WECOM_COMMAND_PATIENCE = 0.25
    before = wecom_limits_every_call.contact_calls()
    stored_before = stored_data()
    out, err = StringIO(), StringIO()

    started = time.monotonic()
    with pytest.raises(SystemExit) as exit_:
        call_command("refresh_contacts", "woAAAA", stdout=out, stderr=err)
    took = time.monotonic() - started

    assert exit_.value.code == 1
    assert took < 3
    assert 2 <= calls_since(wecom_limits_every_call, before) <= 4  # a try each pause, while patience lasts
    assert "Stopped: 企业微信持续限制调用频率" in err.getvalue()
    assert "[45009]" in err.getvalue()
    assert "FAILED" not in err.getvalue()
    assert "1 parent(s): 0 refreshed (0 new, 0 changed), 0 failed, 1 left for a later run." in out.getvalue()
    assert stored_data() == stored_before


def test_sync_school_gives_up_like_any_command_and_its_job_says_why(sandbox, settings):
    settings.WECOM_RATE_LIMIT_PAUSE = 0.1
    settings.WECOM_COMMAND_PATIENCE = 0.25
    for external_userid in sandbox.school.external_userids():
        sandbox.set_fault(external_userid, "45009")  # the roster reads; every parent is limited
    err = StringIO()

    with pytest.raises(SystemExit) as exit_:
        call_command("sync_school", stdout=StringIO(), stderr=err)

    assert exit_.value.code == 1
    assert "Stopped: 企业微信持续限制调用频率" in err.getvalue()
    job = SyncJob.objects.get()
    assert job.status == JobStatus.FAILED and "企业微信持续限制调用频率" in job_error_text(job)
    progress = job_progress(job=job)
    assert (progress.done, progress.failed, progress.left) == (0, 0, progress.total)
    assert sandbox.stats["errcodes"]["45009"] <= 4


# -- a job ---------------------------------------------------------------------------------------------------


def test_a_job_pauses_then_fails_with_the_reason_leaving_its_parents_for_the_next_run(
    wecom_limits_every_call, settings, django_capture_on_commit_callbacks
):
    settings.WECOM_RATE_LIMIT_PAUSE = 0.1
    settings.WECOM_JOB_PATIENCE = 0.35
    before = wecom_limits_every_call.contact_calls()

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        job = start_job(kind=JobKind.REFRESH_ALL)
    took = time.monotonic() - started

    job.refresh_from_db()
    assert took < 5
    assert job.status == JobStatus.FAILED
    assert job.failure["code"] == "gave_up_on_limits"
    assert "企业微信持续限制调用频率" in job_error_text(job) and "[45009]" in job_error_text(job)
    assert job.pause_reason == PauseReason.WECOM_LIMIT
    assert job.started_at < job.paused_until <= job.finished_at + dt.timedelta(seconds=1)
    progress = job_progress(job=job)
    assert (progress.failed, progress.left) == (0, len(STORED_PARENTS))
    assert not JobItem.objects.filter(job=job).exclude(status=JobItemStatus.PENDING).exists()
    assert calls_since(wecom_limits_every_call, before) <= 5


def paused_job(*, minutes: int = 1, kind: JobKind = JobKind.SYNC_SCHOOL) -> SyncJob:
    job = SyncJob.objects.create(
        kind=kind,
        status=JobStatus.RUNNING,
        started_at=timezone.now(),
        paused_until=timezone.now() + dt.timedelta(minutes=minutes),
        pause_reason=PauseReason.WECOM_LIMIT,
    )
    JobItem.objects.bulk_create(JobItem(job=job, external_userid=f"wm{i}") for i in range(3))
    return job


def job_page(client, job: SyncJob) -> str:
    from django.urls import reverse

    return text_of(client.get(reverse("admin:contacts_syncjob_change", args=[job.pk])))


@pytest.mark.parametrize("who", ["manager_client", "viewer_client", "superuser_client"])
def test_the_page_of_a_paused_job_says_so_and_when_it_tries_again(who, request):
    job = paused_job()
    client = request.getfixturevalue(who)

    page = job_page(client, job)

    next_try = timezone.localtime(job.paused_until).strftime("%H:%M")
    assert f"已暂停：企业微信频率限制，下次尝试 {next_try}（北京时间）" in page
    assert '<meta http-equiv="refresh"' in page


def test_the_paused_notice_speaks_english_when_asked(manager_client):
    job = paused_job()

    with translation.override("en"):
        page = text_of(manager_client.get(f"/admin/contacts/syncjob/{job.pk}/change/", HTTP_ACCEPT_LANGUAGE="en"))

    next_try = timezone.localtime(job.paused_until).strftime("%H:%M")
    assert f"Paused: WeCom rate limit, next try at {next_try} (Beijing time)" in page


def test_why_a_job_gave_up_is_told_in_the_readers_language_with_the_time_in_beijing(manager_client):
    # 12:45:10 UTC: calls may go again from 20:46 in Beijing.
    next_try = dt.datetime(2026, 11, 29, 12, 45, 10, tzinfo=dt.UTC).timestamp()
    summary = RunSummary(stopped_by=WeComError.from_errcode(45009), limited_for=600, next_try=next_try)
    job = SyncJob.objects.create(
        kind=JobKind.SYNC_SCHOOL, status=JobStatus.FAILED, finished_at=timezone.now(), failure=stop_failure(summary)
    )

    chinese = job_page(manager_client, job)
    with translation.override(translation.get_language()):
        english = text_of(
            manager_client.get(f"/admin/contacts/syncjob/{job.pk}/change/", HTTP_ACCEPT_LANGUAGE="en")
        )

    assert "企业微信持续限制调用频率（连续 600 秒）" in chinese and "请在 20:46（北京时间）之后再试" in chinese
    assert "WeCom kept limiting calls (600 s in a row)" in english
    assert "try again after 20:46 (Beijing time)" in english and "[45009] API call frequency over the limit" in english
    assert "企业微信持续限制调用频率" not in english and "接口调用超过限制" not in english


def test_a_pause_that_is_over_or_a_job_that_ended_shows_no_notice(manager_client):
    over = paused_job(minutes=-1)
    ended = paused_job(kind=JobKind.REFRESH_ALL)
    SyncJob.objects.filter(pk=ended.pk).update(status=JobStatus.FAILED, finished_at=timezone.now())

    assert "已暂停" not in job_page(manager_client, over)
    assert "已暂停" not in job_page(manager_client, ended)


# -- the buttons ------------------------------------------------------------------------------------------------


def test_the_refresh_button_gives_up_at_once_and_stops_the_others_calling(wecom_limits_every_call, manager_client):
    contact = ExternalContact.objects.get(external_userid="woAAAA")
    before = wecom_limits_every_call.contact_calls()

    started = time.monotonic()
    response = manager_client.post(refresh_url(contact), follow=True)
    took = time.monotonic() - started

    assert took < 3
    assert calls_since(wecom_limits_every_call, before) == 1
    [(level, text)] = shown_messages(response)
    assert level == "error" and "[45009]" in text and "本地数据未改动" in text
    # Every other caller sharing the cache now waits for WeCom's window instead of prolonging the block.
    assert rate_limiter_from_settings().paused_until() > time.time() + 50


def test_while_calls_are_paused_the_button_says_when_to_try_again_without_asking_wecom(
    wecom, stored_parents, manager_client
):
    rate_limiter_from_settings().pause(60)
    before = wecom.contact_calls()

    started = time.monotonic()
    response = manager_client.post(refresh_url(stored_parents[0]), follow=True)
    took = time.monotonic() - started

    assert took < 3
    assert calls_since(wecom, before) == 0
    [(level, text)] = shown_messages(response)
    assert level == "error"
    assert "企业微信限制了调用频率，调用已暂停，请在" in text and "（北京时间）之后再试" in text


def test_while_calls_are_paused_the_lookup_says_when_to_try_again(wecom, stored_parents, manager_client):
    rate_limiter_from_settings().pause(60)

    response = manager_client.post(lookup_url(), {"external_userid": "woNEWPARENT"})

    assert response.status_code == 200
    assert "企业微信限制了调用频率，调用已暂停" in text_of(response)
    assert not ExternalContact.objects.filter(external_userid="woNEWPARENT").exists()


def test_the_bulk_action_stops_at_the_first_limit_and_says_when_to_try_again(wecom_limits_every_call, manager_client):
    before = wecom_limits_every_call.contact_calls()

    response = manager_client.post(
        list_url(),
        {
            "action": "refresh_selected",
            "_selected_action": list(ExternalContact.objects.values_list("pk", flat=True)),
            "index": "0",
        },
        follow=True,
    )

    assert calls_since(wecom_limits_every_call, before) == 1
    messages = shown_messages(response)
    assert messages[0] == ("error", "已刷新 0 位家长，其中 0 位有变化，3 位失败。")
    assert any("企业微信限制了调用频率，其余 3 位家长未刷新，请在" in text for _, text in messages)
