"""Refreshes, look-ups and every look at full phone numbers leave a row in the audit log."""

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from contacts.models import AuditAction, AuditEntry, ExternalContact, StaffMember
from contacts.services.audit import audit_result_text
from contacts.services.ratelimit import clock_time, rate_limiter_from_settings
from tests.admin_factories import (
    list_url,
    logged_in,
    lookup_url,
    make_staff,
    parent_answer,
    parent_url,
    refresh_url,
    seed,
    store_parent,
    text_of,
    with_teacher_remark,
)

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db


def entries(**filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(**filters).order_by("id"))


def test_refreshing_from_a_parent_page_is_recorded(stored_parent, manager, manager_client, wecom):
    wecom.answers(with_teacher_remark(seed(), "rocky", "李主任"))

    manager_client.post(refresh_url(stored_parent))

    [entry] = entries(action=AuditAction.REFRESH)
    assert entry.user == manager
    assert entry.username == "manager"
    assert entry.external_userid == "woAAAA"
    assert entry.contact == stored_parent
    assert entry.result["code"] == "refreshed"
    assert "备注 (rocky)：李部长 → 李主任" in audit_result_text(entry)
    assert entry.at is not None


def test_a_refresh_that_changed_nothing_is_recorded_too(stored_parent, manager, manager_client, wecom):
    wecom.answers(seed())

    manager_client.post(refresh_url(stored_parent))

    [entry] = entries(action=AuditAction.REFRESH)
    assert (entry.user, entry.external_userid, audit_result_text(entry)) == (manager, "woAAAA", "已刷新：无变化")


def test_a_failed_refresh_is_recorded_with_the_error(stored_parent, manager, manager_client, wecom):
    wecom.fails("woAAAA", 60020)

    manager_client.post(refresh_url(stored_parent))

    [entry] = entries(action=AuditAction.REFRESH)
    assert entry.user == manager
    assert entry.external_userid == "woAAAA"
    assert entry.contact == stored_parent
    assert entry.result["error"]["error"]["errcode"] == 60020
    assert audit_result_text(entry).startswith("失败：[60020]")
    assert "请将本服务器的出口IP加入应用的「企业可信IP」。" in audit_result_text(entry)


def test_a_refused_refresh_is_not_recorded_as_one(stored_parent, viewer_client, wecom):
    viewer_client.post(refresh_url(stored_parent))

    assert entries(action=AuditAction.REFRESH) == []


def test_a_lookup_is_recorded(manager, manager_client, wecom):
    wecom.answers(seed())

    manager_client.post(lookup_url(), {"external_userid": "woAAAA"})

    [entry] = entries(action=AuditAction.LOOKUP)
    assert entry.user == manager
    assert entry.external_userid == "woAAAA"
    assert entry.contact == ExternalContact.objects.get(external_userid="woAAAA")
    assert "新家长，首次保存" in audit_result_text(entry)
    assert entries(action=AuditAction.REFRESH) == []


def test_a_failed_lookup_is_recorded_without_a_parent(manager, manager_client, wecom):
    wecom.fails("wmUNKNOWN", 40096)

    manager_client.post(lookup_url(), {"external_userid": "wmUNKNOWN"})

    [entry] = entries(action=AuditAction.LOOKUP)
    assert entry.user == manager
    assert entry.external_userid == "wmUNKNOWN"
    assert entry.contact is None
    assert audit_result_text(entry).startswith("失败：[40096]")


def test_the_bulk_action_records_one_entry_per_parent(manager, manager_client, wecom):
    first = store_parent(wecom, parent_answer("woAAAA"))
    second = store_parent(wecom, parent_answer("woBBBB", name="王五"))
    wecom.answers(parent_answer("woAAAA"))
    wecom.fails("woBBBB", 84061)

    manager_client.post(list_url(), {"action": "refresh_selected", "_selected_action": [first.pk, second.pk]})

    recorded = {e.external_userid: e for e in entries(action=AuditAction.REFRESH)}
    assert set(recorded) == {"woAAAA", "woBBBB"}
    assert all(e.user == manager for e in recorded.values())
    assert audit_result_text(recorded["woAAAA"]) == "已刷新：无变化"
    assert audit_result_text(recorded["woBBBB"]).startswith("失败：[84061]")


def test_opening_a_parent_page_with_full_phones_is_recorded(stored_parent, manager, manager_client):
    response = manager_client.get(parent_url(stored_parent))

    assert "10000000000" in text_of(response)
    [entry] = entries(action=AuditAction.VIEW_PHONES)
    assert entry.user == manager
    assert entry.external_userid == "woAAAA"
    assert entry.contact == stored_parent


def test_each_look_at_full_phones_is_recorded(stored_parent, manager_client):
    manager_client.get(parent_url(stored_parent))
    manager_client.get(parent_url(stored_parent))

    assert len(entries(action=AuditAction.VIEW_PHONES)) == 2


def test_opening_a_parent_page_with_masked_phones_is_not_recorded(stored_parent, viewer_client):
    response = viewer_client.get(parent_url(stored_parent))

    assert response.status_code == 200
    assert AuditEntry.objects.count() == 0


def test_the_list_page_records_nothing(stored_parent, manager_client):
    manager_client.get(list_url())

    assert AuditEntry.objects.count() == 0


def test_the_audit_log_lists_who_did_what(stored_parent, superuser_client, manager_client, wecom):
    wecom.fails("woAAAA", 60020)
    manager_client.post(refresh_url(stored_parent))

    page = text_of(superuser_client.get(reverse("admin:contacts_auditentry_changelist")))

    assert "manager" in page
    assert "从企业微信刷新" in page
    assert "woAAAA" in page
    assert "失败：[60020] 不安全的访问IP" in page


def test_the_audit_log_tells_the_outcome_in_the_readers_language(
    stored_parent, superuser_client, manager_client, wecom
):
    wecom.fails("woAAAA", 60020)
    manager_client.post(refresh_url(stored_parent))

    with translation.override(translation.get_language()):
        page = text_of(superuser_client.get(reverse("admin:contacts_auditentry_changelist"), HTTP_ACCEPT_LANGUAGE="en"))

    assert "Failed: [60020] caller IP not in the trusted-IP list" in page
    assert "不安全的访问IP" not in page


def test_a_refresh_that_names_a_teacher_is_recorded_with_their_name(stored_parent, manager_client, wecom):
    StaffMember.objects.create(userid="rocky", name="罗凯", last_seen_at=timezone.now())
    wecom.answers(with_teacher_remark(seed(), "rocky", "李主任"))

    manager_client.post(refresh_url(stored_parent))

    [entry] = entries(action=AuditAction.REFRESH)
    assert "备注 (罗凯 (rocky))：李部长 → 李主任" in audit_result_text(entry)


def test_a_refresh_held_back_by_wecoms_limit_is_told_with_the_time_in_beijing(
    stored_parent, superuser_client, manager_client, wecom
):
    rate_limiter_from_settings().pause(60)
    manager_client.post(refresh_url(stored_parent))
    [entry] = entries(action=AuditAction.REFRESH)
    next_try = clock_time(entry.result["error"]["held_back"]["until"])

    with translation.override(translation.get_language()):
        english = text_of(
            superuser_client.get(reverse("admin:contacts_auditentry_changelist"), HTTP_ACCEPT_LANGUAGE="en")
        )

    with translation.override("zh-hans"):
        chinese = audit_result_text(entry)
    assert chinese == f"失败：企业微信限制了调用频率，调用已暂停，请在 {next_try}（北京时间）之后再试。"
    assert f"Failed: WeCom limits calls: they are paused; try again after {next_try} (Beijing time)." in english


def test_an_entry_written_before_results_were_stored_as_codes_shows_its_text(superuser, superuser_client):
    AuditEntry.objects.create(
        user=superuser, username="root", action=AuditAction.REFRESH, external_userid="woOLD", outcome="旧的结果"
    )

    assert "旧的结果" in text_of(superuser_client.get(reverse("admin:contacts_auditentry_changelist")))


def test_the_audit_log_cannot_be_edited_even_by_a_superuser(stored_parent, superuser_client, manager_client):
    manager_client.get(parent_url(stored_parent))
    entry = AuditEntry.objects.get()

    assert superuser_client.get(reverse("admin:contacts_auditentry_add")).status_code == 403
    assert superuser_client.post(reverse("admin:contacts_auditentry_delete", args=[entry.pk])).status_code == 403
    assert 'name="_save"' not in text_of(
        superuser_client.get(reverse("admin:contacts_auditentry_change", args=[entry.pk]))
    )
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_a_staff_member_with_the_phone_permission_alone_is_recorded_too(stored_parent):
    user = make_staff("phones", perms=["view_externalcontact", "view_all_parents", "view_phone_numbers"])

    logged_in(user).get(parent_url(stored_parent))

    [entry] = entries(action=AuditAction.VIEW_PHONES)
    assert entry.user == user


def test_opening_a_refresh_record_with_full_phones_is_recorded(stored_parent, manager, manager_client):
    snapshot = stored_parent.snapshots.get()

    response = manager_client.get(reverse("admin:contacts_contactsnapshot_change", args=[snapshot.pk]))

    assert "10000000000" in text_of(response)
    [entry] = entries(action=AuditAction.VIEW_PHONES)
    assert entry.user == manager
    assert entry.external_userid == "woAAAA"


@pytest.mark.parametrize("refused", ["no view permission", "a POST"])
def test_a_refused_parent_page_records_no_phone_view(stored_parent, manager_client, refused):
    if refused == "a POST":
        response = manager_client.post(parent_url(stored_parent), {"name": "改名"})
    else:
        client = logged_in(make_staff("phones-only", perms=["view_phone_numbers"]))
        response = client.get(parent_url(stored_parent))

    assert response.status_code == 403
    assert entries(action=AuditAction.VIEW_PHONES) == []
