"""A whole-school job starts only once confirmed: its button opens a page that says what will happen and
about how long it takes, and only that page's POST starts it, as the admin's delete confirmation does."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from contacts.models import ExternalContact, Guardian, JobKind, JobStatus, SyncJob
from tests.admin_factories import list_url, logged_in, make_staff, text_of

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.WECOM_CONCURRENCY = 1
    settings.WECOM_RATE_PER_MINUTE = 60


def start_url(kind: str) -> str:
    return reverse("admin:contacts_syncjob_start", args=[kind])


def store_parents(count: int, *, refreshed_at: dt.datetime | None = None, prefix: str = "wm") -> None:
    ExternalContact.objects.bulk_create(
        ExternalContact(external_userid=f"{prefix}{i:04d}", last_refreshed_at=refreshed_at) for i in range(count)
    )


def on_roster(*external_userids: str | None, gone: bool = False) -> None:
    now = timezone.now()
    Guardian.objects.bulk_create(
        Guardian(
            parent_userid=f"p-{external_userid}-{gone}",
            external_userid=external_userid,
            last_seen_at=now,
            gone_at=now if gone else None,
        )
        for external_userid in external_userids
    )


def confirmation(client, kind: str, **headers) -> str:
    response = client.get(start_url(kind), **headers)
    assert response.status_code == 200
    return text_of(response)


# -- who may see it ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("superuser", 200),
        ("学校管理员", 200),
        # Jobs are about the whole school: the permission to run them is not enough without seeing every parent.
        ("the permission alone", 403),
        ("the permission and every parent", 200),
        ("查看家长", 403),
        ("staff without permissions", 403),
    ],
)
def test_each_role_may_open_the_confirmation_only_if_it_may_start_jobs(role, status):
    if role == "superuser":
        user = make_staff("root", is_superuser=True)
    elif role == "the permission alone":
        user = make_staff("runner", perms=["run_syncjob"])
    elif role == "the permission and every parent":
        user = make_staff("runner", perms=["run_syncjob", "view_all_parents"])
    elif role == "staff without permissions":
        user = make_staff("nobody")
    else:
        user = make_staff("member", groups=[role])

    client = logged_in(user)

    for kind in JobKind.values:
        assert client.get(start_url(kind)).status_code == status
    assert not SyncJob.objects.exists()


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(start_url("sync_school"))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_an_unknown_kind_is_404(manager_client):
    assert manager_client.get(start_url("delete_everything")).status_code == 404


# -- what it says --------------------------------------------------------------------------------------


def test_the_page_asks_with_a_post_form_and_a_way_back(manager_client):
    page = confirmation(manager_client, "sync_school")

    assert "发起「同步全校」？" in page
    assert re.search(r'<form method="post">\s*<input type="hidden" name="csrfmiddlewaretoken"', page)
    assert 'value="开始「同步全校」"' in page
    assert f'href="{list_url()}" class="cancel-link">取消</a>' in page
    assert not SyncJob.objects.exists()


def test_confirming_starts_the_job_with_the_pages_csrf_token(manager):
    client = logged_in(manager, enforce_csrf_checks=True)
    page = text_of(client.get(start_url("refresh_all")))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    response = client.post(start_url("refresh_all"), {"csrfmiddlewaretoken": token})

    job = SyncJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:contacts_syncjob_change", args=[job.pk])
    assert job.created_by == manager


def test_a_school_never_synced_is_told_the_count_comes_with_the_roster(manager_client):
    page = confirmation(manager_client, "sync_school")

    assert "读取学校通讯录" in page
    assert "家长人数要读取通讯录后才知道" in page
    assert "约需" not in page


def test_the_whole_school_counts_each_parent_of_the_roster_and_the_stored_ones_once(manager_client):
    store_parents(3)  # wm0000, wm0001, wm0002
    on_roster("wm0001", "wm0002", "wmROSTERONLY", None)  # one not subscribed: no external_userid
    on_roster("wmLEFT", gone=True)

    page = confirmation(manager_client, "sync_school")

    assert "上次共 4 位" in page


def test_refreshing_all_says_how_many_parents_and_about_how_long(manager_client):
    store_parents(150)

    page = confirmation(manager_client, "refresh_all")

    assert "本系统已保存的全部 150 位家长" in page
    # 150 calls at 60 a minute: two and a half minutes, rounded up.
    assert "按每分钟最多 60 次企业微信调用、同时刷新 1 位估算，约需 3 分钟。" in page


def test_without_a_rate_limit_the_time_follows_the_concurrency(manager_client, settings):
    settings.WECOM_RATE_PER_MINUTE = 0
    settings.WECOM_CONCURRENCY = 2
    store_parents(3000)  # 3,000 × 0.1 s ÷ 2 at a time: 150 s

    page = confirmation(manager_client, "refresh_all")

    assert "按同时刷新 2 位估算，约需 3 分钟。" in page


def test_the_stale_refresh_counts_only_parents_not_refreshed_for_a_day(manager_client):
    store_parents(2, refreshed_at=timezone.now(), prefix="wmFRESH")
    store_parents(3, refreshed_at=timezone.now() - dt.timedelta(days=2), prefix="wmSTALE")
    store_parents(1, prefix="wmNEVER")

    page = confirmation(manager_client, "refresh_stale")

    assert "超过 24 小时未成功刷新的 4 位家长" in page
    assert "约需 1 分钟" in page


def test_an_active_job_of_that_kind_is_linked_instead_of_offered_again(manager_client):
    running = SyncJob.objects.create(kind=JobKind.SYNC_SCHOOL, status=JobStatus.RUNNING, started_at=timezone.now())

    page = confirmation(manager_client, "sync_school")

    assert "「同步全校」任务已在进行中" in page
    assert f'href="{reverse("admin:contacts_syncjob_change", args=[running.pk])}"' in page
    assert "开始「同步全校」" not in page


def test_the_page_speaks_english_when_asked(manager_client):
    store_parents(150)

    with translation.override(translation.get_language()):
        page = confirmation(manager_client, "refresh_all", HTTP_ACCEPT_LANGUAGE="en")

    assert "Start “Refresh all parents”?" in page
    assert "Refreshes from WeCom, one by one, all 150 parents stored here." in page
    assert "Counting at most 60 WeCom calls a minute and a concurrency of 1, it takes about 3 min." in page
    assert 'value="Start “Refresh all parents”"' in page
    assert not re.search(r"[\u4e00-\u9fff]", page.split('<div id="content-main">', 1)[1].split("</form>")[0])
