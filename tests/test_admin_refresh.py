"""Staff refresh a parent from WeCom: the button on the parent page and the list's bulk action."""

import re

import pytest
import requests
from django.urls import reverse
from django.utils import translation

from contacts.models import ConnectionState, ExternalContact, FollowUser
from tests.admin_factories import (
    inline_rows,
    list_url,
    logged_in,
    make_staff,
    parent_answer,
    parent_url,
    refresh_url,
    seed,
    shown_messages,
    store_parent,
    text_of,
    with_teacher_remark,
)

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

UNREACHABLE_HINT = "网络或企业微信暂时不可用，稍后重试；若持续出现，请检查服务器能否访问 WECOM_API_BASE。"
TRUSTED_IP_HINT = "请将本服务器的出口IP加入应用的「企业可信IP」。"
NOT_CONNECTED_HINT = "学校与该家长已无联系关系（家长删除了所有老师，或老师都删除了家长），企业微信不再提供其信息。"


def remarks_on(page: str) -> dict[str, str]:
    """Each follow user's userid and remark as the parent page shows them."""
    shown = {}
    for row in inline_rows(page):
        userid = re.search(r'<td class="field-teacher_display[^"]*"[^>]*>\s*<p>(.*?)</p>', row, re.S).group(1)
        remark = re.search(r'<td class="field-remark[^"]*"[^>]*>\s*<p>(.*?)</p>', row, re.S).group(1)
        shown[userid] = remark
    return shown


# -- one parent, from the parent page ------------------------------------------------------------------


def test_it_refreshes_and_says_nothing_changed(stored_parent, manager_client, wecom):
    wecom.answers(seed())

    response = manager_client.post(refresh_url(stored_parent))

    assert response.status_code == 302
    assert response["Location"] == parent_url(stored_parent)
    page = manager_client.get(response["Location"])
    assert shown_messages(page) == [("success", "已从企业微信刷新「李四」：无变化")]
    assert stored_parent.snapshots.count() == 1  # an unchanged answer adds no record


def test_it_refreshes_and_names_what_changed(stored_parent, manager_client, wecom):
    wecom.answers(with_teacher_remark(seed(), "rocky", "李主任"))

    response = manager_client.post(refresh_url(stored_parent), follow=True)

    assert response.redirect_chain == [(parent_url(stored_parent), 302)]
    [(level, text)] = shown_messages(response)
    assert level == "success"
    assert text.startswith("已从企业微信刷新「李四」：")
    assert "备注 (rocky)：李部长 → 李主任" in text
    assert remarks_on(text_of(response)) == {"rocky": "李主任", "tommy": "李总"}


def test_the_page_shows_the_new_name_after_a_refresh(stored_parent, manager_client, wecom):
    wecom.answers(parent_answer(name="李四四", subscriber_info={"remark": "李小红-爸爸", "remark_mobiles": []}))

    response = manager_client.post(refresh_url(stored_parent), follow=True)

    [(level, text)] = shown_messages(response)
    assert level == "success"
    assert "姓名：李四 → 李四四" in text
    page = text_of(response)
    assert "<title>李四四 |" in page
    assert "李小红-爸爸" in page


def test_refreshing_a_parent_that_does_not_exist_answers_not_found(manager_client, wecom):
    # As a parent the reader may not see does: the answer never tells which of the two it is.
    response = manager_client.post(reverse("admin:contacts_externalcontact_refresh", args=[999999]))

    assert response.status_code == 404
    assert wecom.contact_calls() == 0


FAILURES = {
    "84061": (lambda wecom: wecom.fails("woAAAA", 84061), NOT_CONNECTED_HINT),
    "60020": (lambda wecom: wecom.fails("woAAAA", 60020), TRUSTED_IP_HINT),
    "an HTML 502 page": (
        lambda wecom: wecom.sends("woAAAA", "<html><body>502 Bad Gateway</body></html>", status=502),
        UNREACHABLE_HINT,
    ),
    "a read timeout": (
        lambda wecom: wecom.sends("woAAAA", requests.exceptions.ReadTimeout("read timed out")),
        UNREACHABLE_HINT,
    ),
}


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_refresh_shows_the_error_with_its_hint_and_keeps_the_data(
    stored_parent, manager_client, wecom, failure
):
    make_it_fail, hint = FAILURES[failure]
    make_it_fail(wecom)

    response = manager_client.post(refresh_url(stored_parent), follow=True)

    assert response.redirect_chain == [(parent_url(stored_parent), 302)]
    [(level, text)] = shown_messages(response)
    assert level == "error"
    assert text.startswith("刷新失败：")
    assert hint in text
    assert "WeCom answered" not in text and "could not be reached" not in text  # no English in a Chinese page
    page = text_of(response)
    assert remarks_on(page) == {"rocky": "李部长", "tommy": "李总"}
    assert "李小明-爸爸" in page
    assert FollowUser.objects.filter(contact=stored_parent, ended_at__isnull=True).count() == 2
    assert stored_parent.snapshots.filter(raw__isnull=False).count() == 1


def test_a_failed_refresh_is_told_to_an_english_reader_in_english(stored_parent, manager_client, wecom):
    wecom.fails("woAAAA", 60020)

    with translation.override(translation.get_language()):
        response = manager_client.post(refresh_url(stored_parent), follow=True, HTTP_ACCEPT_LANGUAGE="en")

    [(_, text)] = shown_messages(response)
    assert "[60020] caller IP not in the trusted-IP list — Add this server's outgoing IP address" in text
    assert "不安全的访问IP" not in text and "请将本服务器" not in text
    # The parent's last error, in the page's 同步状态 section, reads the same way.
    page = text_of(response)
    assert "Add this server&#x27;s outgoing IP address" in page
    assert "请将本服务器" not in page


def test_a_parent_who_left_the_school_is_marked_no_longer_connected(stored_parent, manager_client, wecom):
    wecom.fails("woAAAA", 84061)

    response = manager_client.post(refresh_url(stored_parent), follow=True)

    [(_, text)] = shown_messages(response)
    assert "已标记为“已无联系”，本地数据已保留。" in text
    stored_parent.refresh_from_db()
    assert stored_parent.state == ConnectionState.NOT_CONNECTED
    assert '<div class="readonly">已无联系</div>' in text_of(response)


@pytest.mark.parametrize("errcode", [60020])
def test_a_configuration_error_leaves_the_parent_connected(stored_parent, manager_client, wecom, errcode):
    wecom.fails("woAAAA", errcode)

    response = manager_client.post(refresh_url(stored_parent), follow=True)

    [(_, text)] = shown_messages(response)
    assert "本地数据未改动。" in text
    stored_parent.refresh_from_db()
    assert stored_parent.state == ConnectionState.ACTIVE
    assert stored_parent.last_errcode == errcode


# -- many parents, from the list --------------------------------------------------------------------------


@pytest.fixture
def three_parents(wecom):
    return [
        store_parent(wecom, parent_answer("woAAAA")),
        store_parent(wecom, parent_answer("woBBBB", name="王五")),
        store_parent(wecom, parent_answer("woCCCC", name="赵六")),
    ]


def run_action(client, contacts):
    return client.post(
        list_url(),
        {"action": "refresh_selected", "_selected_action": [c.pk for c in contacts], "index": "0"},
        follow=True,
    )


def test_the_action_refreshes_the_selected_parents_and_counts_the_outcomes(three_parents, manager_client, wecom):
    unchanged, changed, failing = three_parents
    wecom.answers(parent_answer("woAAAA"))
    wecom.answers(with_teacher_remark(parent_answer("woBBBB", name="王五"), "rocky", "王主任"))
    wecom.fails("woCCCC", 84061)

    response = run_action(manager_client, three_parents)

    assert response.status_code == 200
    messages = shown_messages(response)
    assert messages[0] == ("error", "已刷新 2 位家长，其中 1 位有变化，1 位失败。")
    assert any(level == "error" and text.startswith("woCCCC: [84061]") for level, text in messages[1:])
    changed.refresh_from_db()
    failing.refresh_from_db()
    assert changed.follow_users.get(userid="rocky").remark == "王主任"
    assert failing.state == ConnectionState.NOT_CONNECTED
    assert unchanged.snapshots.count() == 1
    assert failing.snapshots.filter(raw__isnull=False).count() == 1


def test_the_action_reports_success_when_nothing_failed(three_parents, manager_client, wecom):
    wecom.answers(parent_answer("woAAAA"))
    wecom.answers(parent_answer("woBBBB", name="王五五"))

    response = run_action(manager_client, three_parents[:2])

    assert shown_messages(response) == [("success", "已刷新 2 位家长，其中 1 位有变化，0 位失败。")]
    assert wecom.contact_calls() == 3 + 2


def test_a_configuration_error_stops_the_action_and_counts_the_rest_as_failed(three_parents, manager_client, wecom):
    for contact in three_parents:
        wecom.fails(contact.external_userid, 60020)
    calls_before = wecom.contact_calls()

    response = run_action(manager_client, three_parents)

    messages = shown_messages(response)
    assert messages[0] == ("error", "已刷新 0 位家长，其中 0 位有变化，3 位失败。")
    assert ("error", "遇到配置错误，其余 2 位家长未尝试。") in messages
    assert any(TRUSTED_IP_HINT in text for _, text in messages)
    assert wecom.contact_calls() == calls_before + 1


def test_the_action_refuses_more_than_200_parents_at_once(manager_client, wecom):
    ExternalContact.objects.bulk_create(
        ExternalContact(external_userid=f"wo{i:04d}", name=f"家长{i}") for i in range(201)
    )

    response = manager_client.post(
        list_url(),
        {"action": "refresh_selected", "select_across": "1", "index": "0", "_selected_action": ["1"]},
        follow=True,
    )

    assert shown_messages(response) == [("warning", "一次最多刷新 200 位家长；更多家长请使用命令 refresh_contacts。")]
    assert wecom.contact_calls() == 0


def test_the_action_is_not_offered_without_the_permission(three_parents, viewer_client, wecom):
    page = viewer_client.get(list_url())

    assert page.status_code == 200
    assert 'value="refresh_selected"' not in text_of(page)

    calls_before = wecom.contact_calls()
    run_action(viewer_client, three_parents)

    assert wecom.contact_calls() == calls_before
    assert all(c.snapshots.count() == 1 for c in three_parents)


def test_the_action_is_offered_with_the_permission(three_parents):
    client = logged_in(
        make_staff("refresher", perms=["view_externalcontact", "view_all_parents", "refresh_externalcontact"])
    )

    page = client.get(list_url())

    assert '<option value="refresh_selected">刷新所选家长</option>' in text_of(page)
    assert ExternalContact.objects.count() == 3


def test_a_parent_that_never_failed_shows_no_last_error(stored_parent, viewer_client):
    page = text_of(viewer_client.get(parent_url(stored_parent)))

    shown = re.search(r'field-last_error_display.*?<div class="readonly">(.*?)</div>', page, flags=re.S).group(1)
    assert shown == "-"
