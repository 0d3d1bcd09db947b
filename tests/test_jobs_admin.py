"""The job page and the start buttons: permissions, progress, failures with hints, and self-refresh while active.

The page that asks before a job starts is tested in test_jobs_start_confirmation.py.
"""

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from contacts.models import ExternalContact, JobItem, JobItemStatus, JobKind, JobStatus, SyncJob
from contacts.services.job_errors import JOB_ERRORS
from contacts.wecom.errors import WeComError
from tests.admin_factories import list_url, logged_in, make_staff, shown_messages, text_of

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

NOT_CONNECTED_HINT = "学校与该家长已无联系关系（家长删除了所有老师，或老师都删除了家长），企业微信不再提供其信息。"
NOT_CONNECTED_HINT_EN = "The school is no longer connected to this parent"
NEVER_STORED = "这位家长从未保存在本系统中，没有本地数据。"
KEPT = "本地数据已保留，并标记为“已无联系”。"


@pytest.fixture(autouse=True)
def _one_at_a_time(settings):
    settings.WECOM_CONCURRENCY = 1


def start_url(kind: str) -> str:
    return reverse("admin:contacts_syncjob_start", args=[kind])


def job_page(job: SyncJob) -> str:
    return reverse("admin:contacts_syncjob_change", args=[job.pk])


def job_with_items(status: JobStatus, *, done: int = 0, failed: int = 0, pending: int = 0) -> SyncJob:
    job = SyncJob.objects.create(kind=JobKind.SYNC_SCHOOL, status=status, started_at=timezone.now())
    items = [JobItem(job=job, external_userid=f"wmDONE{i}", status=JobItemStatus.DONE) for i in range(done)]
    items += [failed_item(job, f"wmFAILED{i}", WeComError.from_errcode(84061)) for i in range(failed)]
    items += [JobItem(job=job, external_userid=f"wmPENDING{i}") for i in range(pending)]
    JobItem.objects.bulk_create(items)
    return job


def failed_item(job: SyncJob, external_userid: str, error: WeComError) -> JobItem:
    """A failed parent as the job records it."""
    return JobItem(
        job=job,
        external_userid=external_userid,
        status=JobItemStatus.FAILED,
        errcode=error.errcode,
        failure=error.as_record(),
    )


# -- the job page --------------------------------------------------------------------------------------


def test_the_page_of_a_running_job_shows_its_progress_and_reloads_itself(manager_client):
    job = job_with_items(JobStatus.RUNNING, done=5, failed=1, pending=4)

    page = text_of(manager_client.get(job_page(job)))

    assert '<progress max="100" value="60"' in page
    assert "已刷新：<strong>5</strong>" in page
    assert "失败：<strong>1</strong>" in page
    assert "剩余：<strong>4</strong>" in page
    assert '<meta http-equiv="refresh" content="3">' in page
    assert "刷新中" in page


def test_the_page_of_a_finished_job_lists_failures_with_hints_and_stays_still(manager_client):
    job = job_with_items(JobStatus.FINISHED, done=3, failed=2)

    page = text_of(manager_client.get(job_page(job)))

    assert 'http-equiv="refresh"' not in page
    assert "刷新失败的家长（2）" in page
    assert "wmFAILED0" in page and "wmFAILED1" in page
    assert NOT_CONNECTED_HINT in page
    assert "已完成" in page
    assert '<div class="readonly">-</div>' in page  # the job's own error: none
    assert ">None<" not in page


def test_a_failed_parent_never_stored_is_not_linked_and_no_data_is_said_to_be_kept(manager_client):
    job = job_with_items(JobStatus.FINISHED, failed=1)

    page = text_of(manager_client.get(job_page(job)))

    assert "（未保存）" in page
    assert NEVER_STORED in page
    assert "已保留" not in page
    assert "?q=wmFAILED0" not in page  # no link to a search that finds nothing


def test_a_failed_parent_who_is_stored_is_named_and_linked_to_their_page(manager_client):
    job = job_with_items(JobStatus.FINISHED)
    parent = ExternalContact.objects.create(external_userid="wmSTORED", name="王芳")
    failed_item(job, "wmSTORED", WeComError.from_errcode(84061)).save()

    page = text_of(manager_client.get(job_page(job)))

    change_url = reverse("admin:contacts_externalcontact_change", args=[parent.pk])
    assert f'<a href="{change_url}">王芳</a>' in page
    assert KEPT in page
    assert NEVER_STORED not in page


def test_a_failure_that_is_not_about_the_connection_says_nothing_about_local_data(manager_client):
    job = job_with_items(JobStatus.FINISHED)
    failed_item(job, "wmBUSY", WeComError.unreachable("externalcontact/get: ReadTimeout")).save()

    page = text_of(manager_client.get(job_page(job)))

    assert "无法连接企业微信（externalcontact/get: ReadTimeout）" in page
    assert KEPT not in page and NEVER_STORED not in page


def test_a_failure_recorded_before_errors_were_stored_as_codes_is_shown_as_it_was(manager_client):
    job = job_with_items(JobStatus.FINISHED)
    old_text = "[60020] 旧的说明 / old text"
    JobItem.objects.create(job=job, external_userid="wmOLD", status=JobItemStatus.FAILED, errcode=60020, error=old_text)

    assert old_text in text_of(manager_client.get(job_page(job)))


def test_why_a_job_failed_is_shown_in_the_readers_language(manager_client):
    job = SyncJob.objects.create(
        kind=JobKind.SYNC_SCHOOL,
        status=JobStatus.FAILED,
        failure=JOB_ERRORS.message("abandoned", minutes=5),
    )

    chinese = text_of(manager_client.get(job_page(job), HTTP_ACCEPT_LANGUAGE="zh-hans"))
    with translation.override(translation.get_language()):
        english = text_of(manager_client.get(job_page(job), HTTP_ACCEPT_LANGUAGE="en"))

    assert "已放弃：5 分钟没有进展" in chinese
    assert "Abandoned: no progress and no worker for 5 minutes" in english
    assert "已放弃" not in english


def test_a_long_list_of_failures_is_cut_and_says_so(manager_client):
    job = job_with_items(JobStatus.FINISHED, failed=205)

    page = text_of(manager_client.get(job_page(job)))

    assert "刷新失败的家长（205）" in page
    assert "仅显示前 200 位" in page
    assert page.count("wmFAILED") == 200


def test_a_queued_job_says_it_waits_for_a_worker(manager_client):
    job = SyncJob.objects.create(kind=JobKind.REFRESH_ALL)

    page = text_of(manager_client.get(job_page(job)))

    assert "db_worker" in page
    assert 'http-equiv="refresh"' in page


def test_viewers_may_follow_a_job_but_see_no_start_buttons(viewer_client):
    job = job_with_items(JobStatus.RUNNING, done=1, pending=1)

    assert viewer_client.get(job_page(job)).status_code == 200
    assert viewer_client.get(reverse("admin:contacts_syncjob_changelist")).status_code == 200
    assert start_url("sync_school") not in text_of(viewer_client.get(list_url()))


def test_the_job_list_shows_each_jobs_progress(manager_client):
    job_with_items(JobStatus.FINISHED, done=3, failed=1)

    page = text_of(manager_client.get(reverse("admin:contacts_syncjob_changelist")))

    assert "4 / 4" in page
    assert "（1 失败）" in page


def test_jobs_cannot_be_added_or_edited(superuser_client):
    job = job_with_items(JobStatus.FINISHED, done=1)

    assert superuser_client.get(reverse("admin:contacts_syncjob_add")).status_code == 403
    response = superuser_client.post(job_page(job), {"kind": "refresh_all", "status": "queued"})
    assert response.status_code == 403
    job.refresh_from_db()
    assert job.status == JobStatus.FINISHED


# -- the start buttons -----------------------------------------------------------------------------------


def test_managers_see_the_three_start_buttons_on_the_parent_list(manager_client):
    page = text_of(manager_client.get(list_url()))

    buttons = (("sync_school", "同步全校"), ("refresh_all", "刷新全部家长"), ("refresh_stale", "刷新过期家长"))
    for kind, label in buttons:
        # A link to the page that asks first, never a form that starts the job at once.
        assert f'href="{start_url(kind)}"' in page
        assert f'action="{start_url(kind)}"' not in page
        assert label in page


def test_starting_a_job_opens_its_page_with_a_message(manager_client, manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(start_url("refresh_all"), follow=True)

    job = SyncJob.objects.get()
    assert response.redirect_chain == [(job_page(job), 302)]
    assert shown_messages(response) == [("success", "已发起「刷新全部家长」任务，本页显示其进度。")]
    assert job.created_by == manager
    assert job.status == JobStatus.FINISHED  # nothing stored, and the immediate backend ran it


def test_the_stale_button_refreshes_parents_older_than_a_day(manager_client):
    manager_client.post(start_url("refresh_stale"))

    assert SyncJob.objects.get().stale_hours == 24


def test_a_second_start_of_an_active_kind_is_refused_with_a_link_to_the_running_job(manager_client):
    running = job_with_items(JobStatus.RUNNING, pending=3)

    response = manager_client.post(start_url("sync_school"), follow=True)

    assert response.redirect_chain == [(list_url(), 302)]
    assert SyncJob.objects.count() == 1
    [(level, text)] = shown_messages(response)
    assert level == "error"
    assert "「同步全校」任务已在进行中" in text
    assert f'<a href="{job_page(running)}">' in text


def test_staff_without_the_permission_get_403(viewer_client):
    assert viewer_client.post(start_url("sync_school")).status_code == 403
    assert not SyncJob.objects.exists()


def test_a_get_only_asks_and_starts_nothing(manager_client):
    response = manager_client.get(start_url("sync_school"))

    assert response.status_code == 200
    assert not SyncJob.objects.exists()


def test_other_methods_are_not_allowed(manager_client):
    assert manager_client.put(start_url("sync_school")).status_code == 405
    assert manager_client.delete(start_url("sync_school")).status_code == 405
    assert not SyncJob.objects.exists()


def test_a_post_without_the_csrf_token_is_refused(manager):
    client = logged_in(manager, enforce_csrf_checks=True)

    assert client.post(start_url("sync_school")).status_code == 403
    assert not SyncJob.objects.exists()


def test_an_unknown_kind_is_404(manager_client):
    assert manager_client.post(start_url("delete_everything")).status_code == 404


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.post(start_url("sync_school"))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_the_permission_alone_is_enough_to_start(db):
    staff = make_staff("runner", perms=["run_syncjob", "view_syncjob", "view_externalcontact", "view_all_parents"])

    response = logged_in(staff).post(start_url("refresh_all"))

    assert response.status_code == 302
    assert SyncJob.objects.get().created_by == staff


def test_the_job_page_speaks_english_when_asked(manager_client):
    job = job_with_items(JobStatus.RUNNING, done=1, failed=1, pending=2)

    # The request switches this thread's language; later tests expect the default back.
    with translation.override(translation.get_language()):
        page = text_of(manager_client.get(job_page(job), HTTP_ACCEPT_LANGUAGE="en"))

    assert "Progress" in page
    assert "Parents whose refresh failed (1)" in page
    assert "this page reloads every 3 seconds" in page
    assert "Refreshed: <strong>1</strong>" in page
    assert "：" not in page  # no full-width colon left from a Chinese label
    assert NOT_CONNECTED_HINT_EN in page
    assert "Never stored here: there is no local data." in page
    assert "剩余" not in page
    assert "不存在外部联系人的关系" not in page
