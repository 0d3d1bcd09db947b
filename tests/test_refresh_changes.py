import copy

import pytest

from contacts.models import FollowUser, RefreshTrigger
from contacts.services.changes import ContactChanges
from contacts.services.refresh import refresh_contact

pytestmark = pytest.mark.django_db


def refresh():
    return refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.COMMAND)


def test_a_refresh_without_changes_says_so(wecom, seed_answer):
    wecom.answers(seed_answer)
    refresh()

    result = refresh()

    assert result.changes.is_empty
    assert result.changes.summary() == "无变化"


def test_it_reports_each_change_old_to_new(wecom, seed_answer):
    wecom.answers(seed_answer)
    refresh()
    edited = copy.deepcopy(seed_answer)
    edited["external_contact"]["name"] = "李四四"
    edited["external_contact"]["subscriber_info"]["remark"] = "李小明-父亲"
    edited["follow_user"][0]["remark"] = "李主任"
    edited["follow_user"][0]["tags"] = [{"group_name": "年级", "tag_name": "三年级", "type": 1}]
    del edited["follow_user"][1]
    edited["follow_user"].append({"userid": "lucy", "remark": "李小明爸爸", "createtime": 1600000000})
    wecom.answers(edited)

    changes = refresh().changes

    assert changes.fields["name"] == ["李四", "李四四"]
    assert changes.fields["subscriber_remark"] == ["李小明-爸爸", "李小明-父亲"]
    assert changes.follow_users_added == ["lucy"]
    assert changes.follow_users_removed == ["tommy"]
    assert changes.follow_users_changed["rocky"]["remark"] == ["李部长", "李主任"]
    assert changes.follow_users_changed["rocky"]["tags"] == [["标签分组名称/标签名称 (1)"], ["年级/三年级 (1)"]]
    summary = changes.summary()
    assert "姓名：李四 → 李四四" in summary
    assert "备注 (rocky)：李部长 → 李主任" in summary
    assert "新增跟进老师：lucy" in summary
    assert "跟进关系结束：tommy" in summary
    assert list(FollowUser.objects.get(userid="rocky").tags.values_list("tag_name", flat=True)) == ["三年级"]


def test_a_teacher_who_left_is_kept_with_the_time_the_relation_ended(wecom, seed_answer):
    wecom.answers(seed_answer)
    refresh()
    without_tommy = copy.deepcopy(seed_answer)
    del without_tommy["follow_user"][1]
    wecom.answers(without_tommy)

    refresh()

    tommy = FollowUser.objects.get(userid="tommy")
    assert tommy.ended_at is not None
    assert tommy.remark == "李总"


def test_a_teacher_who_comes_back_is_active_again(wecom, seed_answer):
    without_tommy = copy.deepcopy(seed_answer)
    del without_tommy["follow_user"][1]
    wecom.answers(seed_answer)
    wecom.answers(without_tommy)
    wecom.answers(seed_answer)
    refresh()
    refresh()

    changes = refresh().changes

    assert changes.follow_users_added == ["tommy"]
    assert FollowUser.objects.get(userid="tommy").ended_at is None


def test_changed_phones_are_masked_in_the_summary_unless_revealed(wecom, seed_answer):
    wecom.answers(seed_answer)
    refresh()
    edited = copy.deepcopy(seed_answer)
    edited["external_contact"]["subscriber_info"]["remark_mobiles"] = ["13912345678"]
    wecom.answers(edited)

    changes = refresh().changes

    assert "139****5678" in changes.summary()
    assert "13912345678" not in changes.summary()
    assert "13912345678" in changes.summary(reveal_phones=True)


def test_the_change_summary_survives_the_snapshot(wecom, seed_answer):
    wecom.answers(seed_answer)
    refresh()
    edited = copy.deepcopy(seed_answer)
    edited["follow_user"][1]["remark"] = "李总经理"
    wecom.answers(edited)

    result = refresh()

    stored = ContactChanges.from_json(result.contact.snapshots.first().changes)
    assert stored == result.changes
    assert stored.summary() == "备注 (tommy)：李总 → 李总经理"
