"""The shared cache down is a clear message, not a 500: pages say what to check, commands stop at the first
cache error with exit status 2, a job fails once; stored data stays as it was.

The cache is a real Redis client pointed at a port where nothing listens.
"""

import logging
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from contacts.models import ExternalContact, JobItem, JobItemStatus, JobKind, JobStatus, RefreshTrigger, SyncJob
from contacts.selectors import job_progress
from contacts.services.job_errors import job_error_text
from contacts.services.jobs import run_job_chunk
from contacts.services.runner import RateLimitPolicy, refresh_concurrently
from contacts.sharedcache import SharedCacheUnavailable
from tests.admin_factories import (
    STORED_PARENTS,
    list_url,
    lookup_url,
    refresh_url,
    shown_messages,
    text_of,
)

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1
MESSAGE_ZH = "共享缓存不可用：请检查 CACHE_URL 是否正确、Redis 是否在运行"
MESSAGE_EN = "Shared cache unavailable: check CACHE_URL and that Redis is running"


@pytest.fixture(autouse=True)
def _one_at_a_time(settings):
    settings.WECOM_CONCURRENCY = 1


@pytest.fixture
def cache_down(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": UNREACHABLE_REDIS}
    }


def stored_data() -> list[tuple]:
    return [
        (c.external_userid, c.name, c.last_refreshed_at, c.last_attempt_at, c.last_failure, c.snapshots.count())
        for c in ExternalContact.objects.order_by("pk")
    ]


# -- pages -------------------------------------------------------------------------------------------------------


def test_the_refresh_button_says_what_to_check_and_changes_nothing(stored_parents, wecom, manager_client, cache_down):
    before, calls = stored_data(), wecom.contact_calls()

    response = manager_client.post(refresh_url(stored_parents[0]), follow=True)

    assert response.status_code == 200
    [(level, text)] = shown_messages(response)
    assert level == "error"
    assert text.startswith(MESSAGE_ZH) and text.endswith("本地数据未改动。")
    assert stored_data() == before
    assert wecom.contact_calls() == calls


def test_the_refresh_button_says_it_in_english_when_asked(stored_parents, manager_client, cache_down):
    manager_client.cookies["django_language"] = "en"

    response = manager_client.post(refresh_url(stored_parents[0]), follow=True)

    [(_, text)] = shown_messages(response)
    assert text.startswith(MESSAGE_EN)


def test_the_lookup_says_what_to_check(stored_parents, manager_client, cache_down):
    response = manager_client.post(lookup_url(), {"external_userid": "woNEWPARENT"})

    assert response.status_code == 200
    assert MESSAGE_ZH in text_of(response)
    assert not ExternalContact.objects.filter(external_userid="woNEWPARENT").exists()


def test_the_bulk_action_says_it_once_and_changes_nothing(stored_parents, wecom, manager_client, cache_down):
    before, calls = stored_data(), wecom.contact_calls()

    response = manager_client.post(
        list_url(),
        {"action": "refresh_selected", "_selected_action": [c.pk for c in stored_parents], "index": "0"},
        follow=True,
    )

    assert response.status_code == 200
    [(level, text)] = shown_messages(response)
    assert level == "error" and text.startswith(MESSAGE_ZH)
    assert stored_data() == before
    assert wecom.contact_calls() == calls


@pytest.mark.parametrize("kind", [JobKind.SYNC_SCHOOL, JobKind.REFRESH_ALL, JobKind.REFRESH_STALE])
def test_a_start_button_says_what_to_check_and_starts_no_job(kind, manager_client, cache_down):
    response = manager_client.post(reverse("admin:contacts_syncjob_start", args=[kind]), follow=True)

    assert response.status_code == 200
    [(level, text)] = shown_messages(response)
    assert level == "error" and text.startswith(MESSAGE_ZH)
    assert not SyncJob.objects.exists()


def test_viewers_are_still_refused_before_anything_is_tried(stored_parents, viewer_client, cache_down):
    assert viewer_client.post(refresh_url(stored_parents[0])).status_code == 403
    assert viewer_client.post(lookup_url(), {"external_userid": "woAAAA"}).status_code == 403


# -- commands -----------------------------------------------------------------------------------------------------


def test_refresh_contacts_all_stops_at_the_first_cache_error_with_status_2(stored_parents, wecom, cache_down, caplog):
    before, calls = stored_data(), wecom.contact_calls()
    out = StringIO()

    with caplog.at_level(logging.INFO), pytest.raises(CommandError) as stopped:
        call_command("refresh_contacts", "--all", stdout=out, stderr=StringIO())

    assert stopped.value.returncode == 2
    assert MESSAGE_ZH in str(stopped.value) and MESSAGE_EN in str(stopped.value)
    assert "FAILED" not in out.getvalue()
    assert [record for record in caplog.records if record.exc_info] == []  # not one traceback per parent
    assert stored_data() == before
    assert wecom.contact_calls() == calls


def test_refresh_contacts_with_threads_stops_likewise(stored_parents, cache_down):
    with pytest.raises(CommandError) as stopped:
        call_command("refresh_contacts", "--all", "--concurrency", "3", stdout=StringIO(), stderr=StringIO())

    assert stopped.value.returncode == 2


def test_sync_school_stops_with_status_2_and_records_no_job(cache_down):
    with pytest.raises(CommandError) as stopped:
        call_command("sync_school", stdout=StringIO(), stderr=StringIO())

    assert stopped.value.returncode == 2
    assert MESSAGE_ZH in str(stopped.value)
    assert not SyncJob.objects.exists()


# -- the engine and the jobs ---------------------------------------------------------------------------------------


def test_the_engine_raises_one_error_and_reports_no_parent(stored_parents, cache_down):
    outcomes = []

    with pytest.raises(SharedCacheUnavailable):
        refresh_concurrently(
            external_userids=STORED_PARENTS,
            trigger=RefreshTrigger.JOB,
            policy=RateLimitPolicy.for_job(),
            concurrency=1,
            on_outcome=outcomes.append,
        )

    assert outcomes == []


def test_a_running_job_fails_once_with_the_message_and_keeps_its_items_pending(stored_parents, settings):
    job = SyncJob.objects.create(kind=JobKind.REFRESH_ALL, status=JobStatus.RUNNING)
    JobItem.objects.bulk_create(JobItem(job=job, external_userid=external_userid) for external_userid in STORED_PARENTS)
    before = stored_data()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": UNREACHABLE_REDIS}
    }

    with pytest.raises(SharedCacheUnavailable):
        run_job_chunk(job_id=job.pk, worker_id="worker-1")

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.failure["code"] == "shared_cache_unavailable"
    assert job_error_text(job).startswith(MESSAGE_ZH)
    with translation.override("en"):
        assert job_error_text(job).startswith(MESSAGE_EN)  # put into words for each reader
    assert job_progress(job=job).left == len(STORED_PARENTS)
    assert not JobItem.objects.filter(job=job).exclude(status=JobItemStatus.PENDING).exists()
    assert stored_data() == before
