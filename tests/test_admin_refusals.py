"""A refused page is an admin page that says why and what the reader may open instead; and pages
do not link to what their reader may not open."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation

from contacts.models import JobKind, JobStatus, RefreshTrigger, SyncJob
from contacts.services.refresh import refresh_contact
from tests.admin_factories import list_url, logged_in, lookup_url, make_staff, parent_url, seed, text_of

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

GENERAL_REFUSAL = "您的账号没有打开这个页面的权限。"
WHOM_TO_ASK = "需要更多权限时，请联系这位管理员。"
LOOKUP_REFUSAL = "按 external_userid 查找家长需要“学校管理员”组的权限。"


@pytest.fixture(autouse=True)
def _restore_language():
    # A request activates its language for the whole thread; later tests expect the default.
    with translation.override(translation.get_language()):
        yield


def users_url() -> str:
    return reverse("admin:auth_user_changelist")


def user_url(user) -> str:
    return reverse("admin:auth_user_change", args=[user.pk])


def job_url(job: SyncJob) -> str:
    return reverse("admin:contacts_syncjob_change", args=[job.pk])


def assert_refused_in_the_admin(response, reason: str) -> str:
    page = text_of(response)
    assert response.status_code == 403
    assert response.templates[0].name == "admin/permission_denied.html"
    assert '<div id="site-name"><a href="/admin/">家校通讯录</a></div>' in page
    assert reason in page
    assert WHOM_TO_ASK in page
    assert f'href="{reverse("admin:index")}" class="back-to-index"' in page
    return page


# -- refusals, role by role ------------------------------------------------------------------------


def test_a_viewer_refused_the_lookup_is_told_why_and_offered_the_parent_list(viewer_client):
    page = assert_refused_in_the_admin(viewer_client.get(lookup_url()), LOOKUP_REFUSAL)

    allowed = page[page.index('class="allowed-pages"') :]
    assert f'href="{list_url()}"' in allowed
    assert reverse("admin:contacts_syncjob_changelist") in allowed
    assert users_url() not in allowed
    assert reverse("admin:contacts_auditentry_changelist") not in allowed


def test_a_viewer_refused_a_job_start_is_told_which_group_may(viewer_client):
    response = viewer_client.post(reverse("admin:contacts_syncjob_start", args=[JobKind.SYNC_SCHOOL]))

    assert_refused_in_the_admin(response, "发起全校任务需要“学校管理员”组的权限。")
    assert not SyncJob.objects.exists()


@pytest.mark.parametrize("role", ["viewer_client", "manager_client"])
def test_school_staff_refused_the_user_pages_see_the_admin_page(role, request, superuser):
    client = request.getfixturevalue(role)

    assert_refused_in_the_admin(client.get(users_url()), GENERAL_REFUSAL)
    assert_refused_in_the_admin(client.get(user_url(superuser)), GENERAL_REFUSAL)


def test_a_manager_refused_the_audit_log_sees_the_admin_page(manager_client):
    page = assert_refused_in_the_admin(
        manager_client.get(reverse("admin:contacts_auditentry_changelist")), GENERAL_REFUSAL
    )

    assert f'href="{list_url()}"' in page[page.index('class="allowed-pages"') :]


def test_a_manager_opens_the_lookup(manager_client):
    assert manager_client.get(lookup_url()).status_code == 200


def test_a_superuser_is_refused_nothing(superuser_client, superuser):
    for url in (lookup_url(), users_url(), user_url(superuser), reverse("admin:contacts_auditentry_changelist")):
        response = superuser_client.get(url)
        assert response.status_code == 200, url


def test_a_refusal_in_english(viewer_client):
    response = viewer_client.get(lookup_url(), HTTP_ACCEPT_LANGUAGE="en")

    page = text_of(response)
    assert response.status_code == 403
    assert "Looking up a parent by external_userid needs the school administrators group." in page
    assert "Back to the home page" in page
    assert "学校管理员" not in page


# -- no links to pages the reader may not open -------------------------------------------------


@pytest.mark.parametrize("role", ["viewer_client", "manager_client", "superuser_client"])
def test_the_job_page_names_who_started_it_without_linking_the_user_page(role, request, manager):
    job = SyncJob.objects.create(kind=JobKind.SYNC_SCHOOL, status=JobStatus.FINISHED, created_by=manager)

    page = text_of(request.getfixturevalue(role).get(job_url(job)))

    assert '<div class="readonly">manager</div>' in page
    assert user_url(manager) not in page


@pytest.mark.parametrize("role", ["viewer_client", "manager_client", "superuser_client"])
def test_parent_and_snapshot_pages_name_who_refreshed_without_linking_the_user_page(role, request, wecom):
    refresher = make_staff("refresher", groups=["学校管理员"])
    wecom.answers(seed())
    contact = refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.STAFF, triggered_by=refresher).contact
    snapshot = contact.snapshots.get()
    client = request.getfixturevalue(role)

    parent_page = text_of(client.get(parent_url(contact)))
    snapshot_page = text_of(client.get(reverse("admin:contacts_contactsnapshot_change", args=[snapshot.pk])))

    for page in (parent_page, snapshot_page):
        assert '<div class="readonly">refresher</div>' in page
        assert user_url(refresher) not in page


def test_a_job_started_by_a_deleted_user_shows_no_one(superuser_client, manager):
    job = SyncJob.objects.create(kind=JobKind.SYNC_SCHOOL, status=JobStatus.FINISHED, created_by=manager)
    get_user_model().objects.filter(pk=manager.pk).delete()

    response = superuser_client.get(job_url(job))

    assert response.status_code == 200
    assert '<div class="readonly">-</div>' in text_of(response)


def test_staff_with_one_permission_only_are_refused_inside_the_admin(wecom):
    # The refresh permission alone opens no parent: refused, with the page that says so.
    client = logged_in(make_staff("refresher", perms=["refresh_externalcontact"]))

    assert_refused_in_the_admin(client.get(lookup_url()), LOOKUP_REFUSAL)
