"""The teachers page (what the roster sync read of the staff), and linking an account to a WeCom member."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import Department, DepartmentAdmin, DepartmentAdminType, DepartmentType, StaffMember, WeComAccount
from tests.admin_factories import MANAGER_GROUP, TEACHER_GROUP, VIEWER_GROUP, linked, logged_in, make_staff, text_of

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

MEMBERS_URL = "admin:contacts_staffmember_changelist"


def member(userid: str, name: str, *teaches: tuple[Department, DepartmentAdminType, str]) -> StaffMember:
    now = timezone.now()
    for department, admin_type, subject in teaches:
        DepartmentAdmin.objects.create(
            department=department, userid=userid, type=admin_type, subject=subject, last_seen_at=now
        )
    return StaffMember.objects.create(userid=userid, name=name, status=1, last_seen_at=now)


@pytest.fixture
def class_3_1(db) -> Department:
    return Department.objects.create(
        department_id=31, name="三年级1班", type=DepartmentType.CLASS, last_seen_at=timezone.now()
    )


@pytest.fixture
def rocky(class_3_1) -> StaffMember:
    return member("rocky", "罗凯", (class_3_1, DepartmentAdminType.HEAD_TEACHER, "语文"))


# -- the teachers page, walked as each role ------------------------------------------------------


@pytest.mark.parametrize("groups", [[MANAGER_GROUP], [VIEWER_GROUP], [TEACHER_GROUP]])
def test_every_role_reads_the_teachers_and_what_they_teach(rocky, groups):
    # A teacher reads at least themselves (tests/test_scope.py: whom else).
    client = logged_in(linked(make_staff("someone", groups=groups), "rocky"))

    page = text_of(client.get(reverse(MEMBERS_URL)))

    assert "罗凯" in page and "rocky" in page
    assert "三年级1班 班主任（语文）" in page
    detail = text_of(client.get(reverse("admin:contacts_staffmember_change", args=[rocky.pk])))
    assert "三年级1班 班主任（语文）" in detail


def test_the_superuser_reads_the_teachers(rocky, superuser_client):
    assert superuser_client.get(reverse(MEMBERS_URL)).status_code == 200


def test_staff_without_a_role_may_not_read_the_teachers(rocky):
    client = logged_in(make_staff("nobody"))

    assert client.get(reverse(MEMBERS_URL)).status_code == 403


def test_nobody_edits_the_teachers(rocky, superuser_client):
    assert superuser_client.get(reverse("admin:contacts_staffmember_add")).status_code == 403
    page = text_of(superuser_client.get(reverse("admin:contacts_staffmember_change", args=[rocky.pk])))
    assert 'name="_save"' not in page


def test_a_role_that_ended_is_not_shown(rocky, class_3_1, viewer_client):
    DepartmentAdmin.objects.filter(userid="rocky").update(gone_at=timezone.now())

    assert "三年级1班 班主任" not in text_of(viewer_client.get(reverse(MEMBERS_URL)))


def test_the_teachers_page_takes_as_many_queries_for_2_or_20_teachers(class_3_1, viewer_client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert viewer_client.get(reverse(MEMBERS_URL)).status_code == 200
        return len(captured)

    for number in range(2):
        member(f"t{number}", f"老师{number}", (class_3_1, DepartmentAdminType.SUBJECT_TEACHER, "数学"))
    few = queries()
    for number in range(2, 20):
        member(f"t{number}", f"老师{number}", (class_3_1, DepartmentAdminType.SUBJECT_TEACHER, "数学"))
    assert queries() == few


# -- linking an account to a WeCom member ----------------------------------------------------------


def change_form(user, **changes) -> dict[str, str]:
    """The account page's form as a browser would post it, with the 企业微信登录 inline."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": "",
        "email": "",
        "is_active": "on",
        "date_joined_0": "2024-09-01",
        "date_joined_1": "08:00:00",
        "initial-date_joined_0": "2024-09-01",
        "initial-date_joined_1": "08:00:00",
        "wecom_account-TOTAL_FORMS": "1",
        "wecom_account-INITIAL_FORMS": "0",
        "wecom_account-MIN_NUM_FORMS": "0",
        "wecom_account-MAX_NUM_FORMS": "1",
        "wecom_account-0-id": "",
        "wecom_account-0-user": str(user.pk),
        "wecom_account-0-userid": "",
    }
    if user.is_staff:
        data["is_staff"] = "on"
    return {**data, **changes}


def account_url(user) -> str:
    return reverse("admin:auth_user_change", args=[user.pk])


def test_a_superuser_links_an_account_to_a_member(superuser_client):
    office = make_staff("office", groups=[VIEWER_GROUP])

    response = superuser_client.post(account_url(office), change_form(office, **{"wecom_account-0-userid": "t008"}))

    assert response.status_code == 302, response.context["errors"] if response.context else response
    assert WeComAccount.objects.get(user=office).userid == "t008"
    assert "t008" in text_of(superuser_client.get(reverse("admin:auth_user_changelist")))


def test_a_userid_links_one_account_only(superuser_client):
    WeComAccount.objects.create(user=make_staff("first"), userid="t008")
    second = make_staff("second")

    response = superuser_client.post(account_url(second), change_form(second, **{"wecom_account-0-userid": "t008"}))

    assert response.status_code == 200
    assert "企业微信userid" in text_of(response) and "已存在" in text_of(response)
    assert not WeComAccount.objects.filter(user=second).exists()


def test_only_a_superuser_sees_or_changes_the_link(db):
    user_admin = make_staff("user-admin")
    user_admin.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="auth", codename__endswith="_user")
    )
    office = make_staff("office")
    WeComAccount.objects.create(user=office, userid="t008")
    client = logged_in(user_admin)

    page = text_of(client.get(account_url(office)))
    saved = client.post(account_url(office), change_form(office, first_name="王", **{"wecom_account-0-userid": "t999"}))

    assert "企业微信登录" not in page
    assert saved.status_code == 302, "the rest of the account is saved"
    assert get_user_model().objects.get(pk=office.pk).first_name == "王"
    assert WeComAccount.objects.get(user=office).userid == "t008"
