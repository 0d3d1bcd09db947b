"""Sign-in throttling: a username is locked out from one address after too many wrong passwords.

The admin's real login form is posted, as a browser would; django-axes decides.
"""

import runpy
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import Permission
from django.db.models import F
from django.test import Client
from django.urls import reverse

from tests.admin_factories import PASSWORD, logged_in, make_staff, text_of

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

SCHOOL_ADDRESS = "203.0.113.7"
HOME_ADDRESS = "198.51.100.23"
LOCKED_OUT_TEXT = f"此账号已暂停从这里登录 {settings.LOGIN_LOCKOUT_MINUTES} 分钟。"


@pytest.fixture
def teacher(db):
    return make_staff("teacher", groups=["查看家长"])


@pytest.fixture
def colleague(db):
    return make_staff("colleague", groups=["查看家长"])


def sign_in(username: str, password: str, *, address: str, client: Client | None = None, **headers):
    client = client or Client()
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": reverse("admin:index")},
        REMOTE_ADDR=address,
        **headers,
    )


def signed_in(response) -> bool:
    return response.status_code == 302 and SESSION_KEY in response.wsgi_request.session


def fail_until_locked(username: str, *, address: str, **headers):
    """Wrong passwords up to the limit; the last answer is the lockout page."""
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT):
        response = sign_in(username, "wrong-password", address=address, **headers)
    return response


def let_the_lockout_pass() -> None:
    AccessAttempt.objects.update(
        attempt_time=F("attempt_time") - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES, seconds=1)
    )


# -- the lockout ------------------------------------------------------------------------------


def test_the_right_password_is_refused_after_too_many_wrong_ones(teacher):
    locked = fail_until_locked("teacher", address=SCHOOL_ADDRESS)

    response = sign_in("teacher", PASSWORD, address=SCHOOL_ADDRESS)

    assert locked.status_code == 429
    assert LOCKED_OUT_TEXT in text_of(locked)
    assert response.status_code == 429
    assert LOCKED_OUT_TEXT in text_of(response)
    assert not signed_in(response)


def test_fewer_wrong_passwords_than_the_limit_do_not_lock(teacher):
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT - 1):
        response = sign_in("teacher", "wrong-password", address=SCHOOL_ADDRESS)
        assert response.status_code == 200

    assert signed_in(sign_in("teacher", PASSWORD, address=SCHOOL_ADDRESS))


def test_signing_in_clears_the_earlier_failures(teacher):
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT - 1):
        sign_in("teacher", "wrong-password", address=SCHOOL_ADDRESS)
    assert signed_in(sign_in("teacher", PASSWORD, address=SCHOOL_ADDRESS))

    for _attempt in range(settings.LOGIN_FAILURE_LIMIT - 1):
        sign_in("teacher", "wrong-password", address=SCHOOL_ADDRESS)

    assert signed_in(sign_in("teacher", PASSWORD, address=SCHOOL_ADDRESS))


def test_a_colleague_behind_the_same_address_still_signs_in(teacher, colleague):
    fail_until_locked("teacher", address=SCHOOL_ADDRESS)

    assert signed_in(sign_in("colleague", PASSWORD, address=SCHOOL_ADDRESS))


def test_the_same_person_from_another_address_still_signs_in(teacher):
    fail_until_locked("teacher", address=SCHOOL_ADDRESS)

    assert signed_in(sign_in("teacher", PASSWORD, address=HOME_ADDRESS))


def test_it_signs_in_again_once_the_lockout_has_passed(teacher):
    fail_until_locked("teacher", address=SCHOOL_ADDRESS)
    let_the_lockout_pass()

    assert signed_in(sign_in("teacher", PASSWORD, address=SCHOOL_ADDRESS))


def test_an_attempt_during_the_lockout_starts_it_again(teacher):
    fail_until_locked("teacher", address=SCHOOL_ADDRESS)
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES - 1))
    sign_in("teacher", PASSWORD, address=SCHOOL_ADDRESS)
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=2))

    assert sign_in("teacher", PASSWORD, address=SCHOOL_ADDRESS).status_code == 429


def test_an_admin_unlocks_someone_by_deleting_the_record(teacher, superuser_client):
    fail_until_locked("teacher", address=SCHOOL_ADDRESS)
    attempt = AccessAttempt.objects.get(username="teacher")

    superuser_client.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})

    assert signed_in(sign_in("teacher", PASSWORD, address=SCHOOL_ADDRESS))


# -- what the page says, and what it does not ---------------------------------------------------


def test_the_login_page_states_the_rule(client):
    response = client.get(reverse("admin:login"))

    assert (
        f"连续 {settings.LOGIN_FAILURE_LIMIT} 次登录失败后，这个账号将暂停从当前网络地址登录 "
        f"{settings.LOGIN_LOCKOUT_MINUTES} 分钟。"
    ) in text_of(response)


def test_the_lockout_page_says_what_happened_and_whom_to_ask(teacher):
    page = text_of(fail_until_locked("teacher", address=SCHOOL_ADDRESS))

    assert "家校通讯录" in page  # the admin's own header
    assert f"连续 {settings.LOGIN_FAILURE_LIMIT} 次登录失败" in page
    assert "请联系学校负责本系统的管理员" in page
    assert reverse("admin:login") in page


def test_the_lockout_page_in_english(teacher):
    page = text_of(fail_until_locked("teacher", address=SCHOOL_ADDRESS, HTTP_ACCEPT_LANGUAGE="en"))

    assert f"for {settings.LOGIN_LOCKOUT_MINUTES} min" in page
    assert "此账号" not in page


def test_the_lockout_page_does_not_tell_whether_the_username_exists(teacher):
    existing = fail_until_locked("teacher", address=SCHOOL_ADDRESS)
    unknown = fail_until_locked("nobody-by-this-name", address=SCHOOL_ADDRESS)

    assert existing.status_code == unknown.status_code == 429
    assert text_of(existing) == text_of(unknown)
    assert "teacher" not in text_of(existing)


# -- the record, and who may read it -------------------------------------------------------------


def test_the_lockout_is_recorded(teacher):
    fail_until_locked("teacher", address=SCHOOL_ADDRESS)

    attempt = AccessAttempt.objects.get(username="teacher", ip_address=SCHOOL_ADDRESS)
    assert attempt.failures_since_start == settings.LOGIN_FAILURE_LIMIT
    failures = AccessFailureLog.objects.filter(username="teacher", ip_address=SCHOOL_ADDRESS).order_by("attempt_time")
    assert [failure.locked_out for failure in failures] == [False] * (settings.LOGIN_FAILURE_LIMIT - 1) + [True]


def test_superusers_see_the_lockouts_in_the_admin(teacher, superuser_client):
    fail_until_locked("teacher", address=SCHOOL_ADDRESS)

    attempts = superuser_client.get(reverse("admin:axes_accessattempt_changelist"))
    failures = superuser_client.get(reverse("admin:axes_accessfailurelog_changelist"))

    assert attempts.status_code == failures.status_code == 200
    assert SCHOOL_ADDRESS in text_of(attempts)
    assert SCHOOL_ADDRESS in text_of(failures)
    assert "登录锁定" in text_of(superuser_client.get(reverse("admin:index")))


@pytest.mark.parametrize("group", ["查看家长", "学校管理员"])
def test_school_staff_cannot_see_who_was_locked_out(group, teacher):
    fail_until_locked("teacher", address=SCHOOL_ADDRESS)
    staff = logged_in(make_staff("office", groups=[group]))
    attempt = AccessAttempt.objects.get()

    for url in (
        reverse("admin:axes_accessattempt_changelist"),
        reverse("admin:axes_accessattempt_change", args=[attempt.pk]),
        reverse("admin:axes_accessfailurelog_changelist"),
    ):
        assert staff.get(url).status_code == 403, url
    assert "登录锁定" not in text_of(staff.get(reverse("admin:index")))


def test_an_axes_permission_given_by_hand_does_not_open_the_records(teacher):
    fail_until_locked("teacher", address=SCHOOL_ADDRESS)
    staff = make_staff("office", groups=["学校管理员"])
    codenames = ["view_accessattempt", "delete_accessattempt"]
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="axes", codename__in=codenames))
    attempt = AccessAttempt.objects.get()
    client = logged_in(staff)
    delete_url = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])

    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()


# -- the client's address ----------------------------------------------------------------------


def test_without_a_proxy_a_forged_address_header_does_not_unlock(teacher):
    fail_until_locked("teacher", address=SCHOOL_ADDRESS)

    response = sign_in("teacher", PASSWORD, address=SCHOOL_ADDRESS, HTTP_X_REAL_IP=HOME_ADDRESS)

    assert response.status_code == 429


def test_behind_the_proxy_the_address_it_reports_counts(teacher, monkeypatch, settings):
    monkeypatch.setenv("BEHIND_TLS_PROXY", "on")
    proxied = runpy.run_path(str(Path(settings.BASE_DIR) / "schoolcontacts" / "settings.py"))
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = proxied["AXES_IPWARE_META_PRECEDENCE_ORDER"]
    proxy = "127.0.0.1"

    fail_until_locked("teacher", address=proxy, HTTP_X_REAL_IP=SCHOOL_ADDRESS)

    assert sign_in("teacher", PASSWORD, address=proxy, HTTP_X_REAL_IP=SCHOOL_ADDRESS).status_code == 429
    assert AccessAttempt.objects.get().ip_address == SCHOOL_ADDRESS
    assert signed_in(sign_in("teacher", PASSWORD, address=proxy, HTTP_X_REAL_IP=HOME_ADDRESS))
