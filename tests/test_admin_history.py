"""The parent page lists every refresh: when, how it was started, and what changed from old to new."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

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
    for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S):
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


def test_a_refresh_that_changed_nothing_says_so(stored_parent, viewer_client, wecom):
    store_parent(wecom, seed())

    page = text_of(viewer_client.get(parent_url(stored_parent)))

    assert history_rows(page)[0][1:] == ["命令行", "无变化"]


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
    for _ in range(30):
        store_parent(wecom, seed())

    page = text_of(viewer_client.get(parent_url(stored_parent)))

    assert len(history_rows(page)) == 30
    link = reverse("admin:contacts_contactsnapshot_changelist") + f"?contact__id__exact={stored_parent.pk}"
    assert f'href="{link}"' in history_of(page)
    assert "全部 31 条刷新记录" in history_of(page)


def test_the_link_to_all_refreshes_lists_only_this_parents(stored_parent, viewer_client, wecom):
    other = store_parent(wecom, parent_answer("woBBBB", name="王五"))
    store_parent(wecom, seed())
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
