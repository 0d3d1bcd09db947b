"""The parent page lists every refresh: when, how it was started, and what changed from old to new."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from contacts.models import ContactSnapshot, ExternalContact, RefreshTrigger
from contacts.services.refresh import refresh_contact
from contacts.wecom.errors import WeComError
from tests.admin_factories import (
    history_of,
    inline_rows,
    parent_answer,
    parent_url,
    refresh_url,
    seed,
    store_parent,
    teacher,
    text_of,
    with_teacher_remark,
    without_teacher,
)

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db


def history_rows(page: str) -> list[list[str]]:
    """The cells of each history row, as text, newest first."""
    body = history_of(page).split("<tbody>", 1)[1]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S):
        cells = re.findall(r"<td>(.*?)</td>", row, flags=re.S)
        rows.append([re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip() for cell in cells])
    return rows


def shown_time(snapshot: ContactSnapshot) -> str:
    return timezone.localtime(snapshot.fetched_at).strftime("%Y-%m-%d %H:%M:%S")


def test_a_parent_never_refreshed_has_no_history(viewer_client):
    contact = ExternalContact.objects.create(external_userid="woNEW", name="新家长")

    page = text_of(viewer_client.get(parent_url(contact)))

    assert "尚无成功的刷新。" in history_of(page)


def test_the_first_refresh_is_listed_with_its_time_and_trigger(stored_parent, viewer_client):
    snapshot = stored_parent.snapshots.get()

    page = text_of(viewer_client.get(parent_url(stored_parent)))

    [[time, trigger, changes]] = history_rows(page)
    assert time == shown_time(snapshot)
    assert trigger == "命令行"
    assert changes.startswith("新家长，首次保存")


def test_the_time_is_shown_in_the_schools_time_zone(stored_parent, viewer_client):
    snapshot = stored_parent.snapshots.get()
    snapshot.fetched_at = dt.datetime(2024, 9, 1, 0, 30, 5, tzinfo=dt.UTC)
    snapshot.save()

    page = text_of(viewer_client.get(parent_url(stored_parent)))

    assert history_rows(page)[0][0] == "2024-09-01 08:30:05"


def test_a_staff_refresh_is_listed_with_who_started_it_and_what_changed(stored_parent, manager_client, wecom):
    wecom.answers(with_teacher_remark(seed(), "rocky", "李主任"))
    manager_client.post(refresh_url(stored_parent))
    latest, first = stored_parent.snapshots.all()

    page = text_of(manager_client.get(parent_url(stored_parent)))

    newest, oldest = history_rows(page)
    assert newest == [shown_time(latest), "教职工手动 · manager", "备注 (rocky)：李部长 → 李主任"]
    assert oldest[:2] == [shown_time(first), "命令行"]
    assert oldest[2].startswith("新家长，首次保存")


def test_a_refresh_that_changed_nothing_adds_no_row_but_shows_when_it_checked(stored_parent, viewer_client, wecom):
    first_check = stored_parent.last_refreshed_at
    store_parent(wecom, seed())
    stored_parent.refresh_from_db()

    page = text_of(viewer_client.get(parent_url(stored_parent)))

    [only_row] = history_rows(page)
    assert only_row[2].startswith("新家长，首次保存")
    assert stored_parent.last_refreshed_at > first_check
    checked = timezone.localtime(stored_parent.last_refreshed_at).strftime("%Y-%m-%d %H:%M:%S")
    changed = timezone.localtime(first_check).strftime("%Y-%m-%d %H:%M:%S")
    assert f"最近成功刷新：{checked}" in history_of(page)
    assert f"最近变化：{changed}" in history_of(page)


def test_a_failed_refresh_is_listed_with_the_error_and_what_to_do(stored_parent, viewer_client, wecom):
    wecom.fails("woAAAA", 60020)
    with pytest.raises(WeComError):
        refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.JOB)

    page = text_of(viewer_client.get(parent_url(stored_parent)))

    newest = history_rows(page)[0]
    assert newest[1] == "后台任务"
    assert newest[2].startswith("刷新失败：[60020] 不安全的访问IP")
    assert "企业可信IP" in newest[2]
    assert 'class="refresh-failed"' in history_of(page)


def test_the_same_failure_night_after_night_is_listed_once(stored_parent, viewer_client, wecom):
    for _night in range(3):
        wecom.fails("woAAAA", 60020)
        with pytest.raises(WeComError):
            refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.JOB)

    page = text_of(viewer_client.get(parent_url(stored_parent)))

    failure, creation = history_rows(page)
    assert failure[2].startswith("刷新失败：[60020]")
    assert creation[2].startswith("新家长，首次保存")


def test_a_parent_who_left_is_listed_as_no_longer_connected(stored_parent, viewer_client, wecom):
    wecom.fails("woAAAA", 84061)
    with pytest.raises(WeComError):
        refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.COMMAND)

    page = text_of(viewer_client.get(parent_url(stored_parent)))

    newest = history_rows(page)[0][2]
    assert newest.startswith("刷新失败：[84061]")
    assert newest.endswith("状态：正常 → 已无联系")


def test_every_change_of_one_refresh_is_listed(stored_parent, viewer_client, wecom):
    answer = parent_answer(name="李四四", gender=2)
    answer["follow_user"][1]["remark"] = "李总监"
    answer["follow_user"].append(teacher("amy", "班主任"))
    store_parent(wecom, answer)

    page = text_of(viewer_client.get(parent_url(stored_parent)))

    changes = history_rows(page)[0][2]
    assert "姓名：李四 → 李四四" in changes
    assert "性别：男性 → 女性" in changes
    assert "新增跟进老师：amy" in changes
    assert "备注 (tommy)：李总 → 李总监" in changes


def test_a_parent_who_came_back_is_listed_as_connected_again(stored_parent, viewer_client, wecom):
    wecom.fails("woAAAA", 84061)
    with pytest.raises(WeComError):
        refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.COMMAND)
    store_parent(wecom, seed())

    page = text_of(viewer_client.get(parent_url(stored_parent)))

    assert history_rows(page)[0][1:] == ["命令行", "状态：已无联系 → 正常"]


@pytest.mark.parametrize(
    "new_channel",
    [pytest.param("外联二维码2", id="another channel"), pytest.param("active", id="a channel spelled like a state")],
)
def test_a_teachers_changed_add_channel_is_named_as_such(stored_parent, viewer_client, wecom, new_channel):
    answer = seed()
    answer["follow_user"][1]["state"] = new_channel
    store_parent(wecom, answer)

    page = text_of(viewer_client.get(parent_url(stored_parent)))

    assert history_rows(page)[0][2] == f"添加渠道 (tommy)：外联二维码1 → {new_channel}"


def test_a_teacher_who_left_shows_when_the_relation_ended(stored_parent, viewer_client, wecom):
    store_parent(wecom, without_teacher(seed(), "tommy"))
    tommy = stored_parent.follow_users.get(userid="tommy")

    page = text_of(viewer_client.get(parent_url(stored_parent)))

    ended = timezone.localtime(tommy.ended_at).strftime("%Y-%m-%d %H:%M")
    [rocky_row, tommy_row] = inline_rows(page)
    assert "rocky" in rocky_row
    assert "跟进中" in rocky_row
    assert "tommy" in tommy_row
    assert f"已结束于 {ended}" in tommy_row
    assert "李总" in tommy_row  # the remark is kept
    assert "跟进关系结束：tommy" in history_rows(page)[0][2]


def test_a_teacher_who_came_back_is_following_again(stored_parent, viewer_client, wecom):
    store_parent(wecom, without_teacher(seed(), "tommy"))
    store_parent(wecom, seed())

    page = text_of(viewer_client.get(parent_url(stored_parent)))

    assert "已结束于" not in page
    assert "新增跟进老师：tommy" in history_rows(page)[0][2]


def test_the_history_links_to_all_refreshes_when_there_are_more_than_it_shows(stored_parent, viewer_client, wecom):
    for round_ in range(30):
        store_parent(wecom, parent_answer(name=f"李四{round_}"))

    page = text_of(viewer_client.get(parent_url(stored_parent)))

    assert len(history_rows(page)) == 30
    link = reverse("admin:contacts_contactsnapshot_changelist") + f"?contact__id__exact={stored_parent.pk}"
    assert f'href="{link}"' in history_of(page)
    assert "全部 31 条刷新记录" in history_of(page)


def test_the_link_to_all_refreshes_lists_only_this_parents(stored_parent, viewer_client, wecom):
    other = store_parent(wecom, parent_answer("woBBBB", name="王五"))
    store_parent(wecom, parent_answer(name="李四四"))
    url = reverse("admin:contacts_contactsnapshot_changelist") + f"?contact__id__exact={stored_parent.pk}"

    response = viewer_client.get(url)

    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert len(shown) == 2
    assert {snapshot.contact_id for snapshot in shown} == {stored_parent.pk}
    assert other.snapshots.count() == 1


def test_a_refresh_record_is_titled_by_its_parent_and_beijing_time(stored_parent, viewer_client):
    snapshot = stored_parent.snapshots.get()
    ContactSnapshot.objects.filter(pk=snapshot.pk).update(fetched_at=dt.datetime(2026, 11, 29, 12, 45, tzinfo=dt.UTC))

    page = text_of(viewer_client.get(reverse("admin:contacts_contactsnapshot_change", args=[snapshot.pk])))

    assert "<title>李四 · 2026-11-29 20:45 |" in page
    assert "<h2>李四 · 2026-11-29 20:45</h2>" in page
    assert f"{stored_parent.pk} @" not in page
    assert "12:45" not in page


def test_the_list_of_refresh_records_shows_failures_and_filters_them(stored_parent, viewer_client, wecom):
    wecom.fails("woAAAA", 84061)
    with pytest.raises(WeComError):
        refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.JOB)
    url = reverse("admin:contacts_contactsnapshot_changelist")

    every = text_of(viewer_client.get(url))
    failures = viewer_client.get(url + "?outcome=failed")
    successes = viewer_client.get(url + "?outcome=changed")

    assert "刷新失败：[84061]" in every
    assert "状态：正常 → 已无联系" in every
    assert [s.errcode for s in failures.context["cl"].result_list] == [84061]
    assert [s.changes["created"] for s in successes.context["cl"].result_list] == [True]


def test_a_failure_record_shows_its_error_and_no_answer(stored_parent, viewer_client, wecom):
    wecom.fails("woAAAA", 60020)
    with pytest.raises(WeComError):
        refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.JOB)
    failure = stored_parent.snapshots.filter(failure__isnull=False).get()

    page = text_of(viewer_client.get(reverse("admin:contacts_contactsnapshot_change", args=[failure.pk])))

    assert "刷新失败：[60020] 不安全的访问IP" in page
    assert "<pre class=\"raw-json\">" not in page


def test_an_answer_kept_without_a_stored_change_says_why_it_is_listed(stored_parent, viewer_client, wecom):
    answer = seed()
    answer["external_contact"]["a_field_wecom_added_later"] = 1
    store_parent(wecom, answer)

    page = text_of(viewer_client.get(parent_url(stored_parent)))

    assert history_rows(page)[0][2] == "保存的字段无变化；企业微信的原始返回有不同之处，已保留。"


def test_the_history_reads_in_english(stored_parent, viewer_client, wecom):
    wecom.fails("woAAAA", 84061)
    with pytest.raises(WeComError):
        refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.JOB)

    # The request leaves its language active in this thread: put the default back after it.
    with translation.override(translation.get_language()):
        page = text_of(viewer_client.get(parent_url(stored_parent), HTTP_ACCEPT_LANGUAGE="en"))

    assert "Last successful refresh" in history_of(page)
    assert "Last changed" in history_of(page)
    assert "Refresh failed: [84061]" in history_rows(page)[0][2]
    # Stored as a code, the failure is put into words for this reader only.
    assert "不存在外部联系人的关系" not in history_rows(page)[0][2]
