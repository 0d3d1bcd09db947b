import copy
import datetime as dt

import pytest

from contacts.models import (
    ConnectionState,
    ContactSnapshot,
    ExternalContact,
    ExternalProfileAttribute,
    FollowUser,
    RefreshTrigger,
)
from contacts.services.refresh import refresh_contact

pytestmark = pytest.mark.django_db


def test_it_stores_every_value_of_the_seed_example(wecom, seed_answer):
    wecom.answers(seed_answer)

    result = refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.COMMAND)

    contact = ExternalContact.objects.get(external_userid="woAAAA")
    assert result.created
    assert (contact.name, contact.position, contact.corp_name, contact.corp_full_name) == (
        "李四",
        "Mangaer",
        "腾讯",
        "腾讯科技有限公司",
    )
    assert contact.avatar == "http://p.qlogo.cn/bizmail/IcsdgagqefergqerhewSdage/0"
    assert (contact.type, contact.gender, contact.unionid, contact.is_subscribe) == (2, 1, "unAAAAA", True)
    assert contact.get_type_display() == "企业微信用户"
    assert contact.get_gender_display() == "男性"
    assert contact.subscriber_tag_ids == ["TAG_ID1", "TAG_ID2"]
    assert contact.subscriber_remark_mobiles == ["10000000000", "10000000001"]
    assert contact.subscriber_remark == "李小明-爸爸"
    assert contact.state == ConnectionState.ACTIVE
    assert contact.last_refreshed_at == contact.last_attempt_at
    assert contact.last_trigger == RefreshTrigger.COMMAND
    assert contact.last_failure is None and contact.last_error == ""

    attributes = list(ExternalProfileAttribute.objects.filter(contact=contact).order_by("position"))
    assert [(a.type, a.name) for a in attributes] == [(0, "文本名称"), (1, "网页名称"), (2, "测试app")]
    assert attributes[0].text_value == "文本"
    assert (attributes[1].web_url, attributes[1].web_title) == ("http://www.test.com", "标题")
    assert (attributes[2].miniprogram_appid, attributes[2].miniprogram_pagepath, attributes[2].miniprogram_title) == (
        "wxAAAAA",
        "/index",
        "my miniprogram",
    )

    rocky = FollowUser.objects.get(contact=contact, userid="rocky")
    assert (rocky.remark, rocky.description, rocky.remark_corp_name) == ("李部长", "对接采购事物", "腾讯科技")
    assert rocky.createtime == dt.datetime(2018, 5, 8, 11, 43, 32, tzinfo=dt.UTC)
    assert rocky.remark_mobiles == ["10000000003", "10000000004"]
    assert rocky.state is None
    assert [(t.group_name, t.tag_name, t.type) for t in rocky.tags.all()] == [("标签分组名称", "标签名称", 1)]
    tommy = FollowUser.objects.get(contact=contact, userid="tommy")
    assert (tommy.remark, tommy.description, tommy.state) == ("李总", "采购问题咨询", "外联二维码1")
    assert tommy.createtime == dt.datetime(2018, 5, 9, 16, 0, 37, tzinfo=dt.UTC)
    assert tommy.remark_mobiles is None
    assert tommy.ended_at is None


def test_it_stores_unsent_fields_as_null_not_empty(wecom):
    wecom.answers(
        {
            "errcode": 0,
            "errmsg": "ok",
            "external_contact": {"external_userid": "wmPARENT", "name": "王芳", "type": 1, "gender": 2},
            "follow_user": [{"userid": "zhanglaoshi", "remark": "王小红-妈妈", "createtime": 1700000000}],
        }
    )

    refresh_contact(external_userid="wmPARENT", trigger=RefreshTrigger.COMMAND)

    contact = ExternalContact.objects.get(external_userid="wmPARENT")
    for name in ("position", "avatar", "corp_name", "corp_full_name", "unionid", "is_subscribe", "subscriber_remark"):
        assert getattr(contact, name) is None, name
    assert contact.subscriber_remark_mobiles is None
    assert contact.attributes.count() == 0


def test_it_keeps_every_raw_answer_that_differs_from_the_stored_one(wecom, seed_answer):
    changed = copy.deepcopy(seed_answer)
    changed["external_contact"]["name"] = "李四四"
    wecom.answers(seed_answer)
    wecom.answers(changed)
    refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.COMMAND)

    refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.JOB)

    snapshots = list(ContactSnapshot.objects.order_by("id"))
    assert [s.trigger for s in snapshots] == [RefreshTrigger.COMMAND, RefreshTrigger.JOB]
    assert snapshots[0].raw == seed_answer
    assert snapshots[0].changes["created"] is True
    assert snapshots[1].raw == changed
    assert snapshots[1].changes["created"] is False


def test_it_records_the_staff_member_who_asked(wecom, seed_answer, django_user_model):
    teacher = django_user_model.objects.create_user(username="office", password="x")
    wecom.answers(seed_answer)

    refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.STAFF, triggered_by=teacher)

    contact = ExternalContact.objects.get(external_userid="woAAAA")
    assert contact.last_triggered_by == teacher
    assert contact.snapshots.get().triggered_by == teacher


def test_it_keeps_an_attribute_of_unknown_type(wecom, seed_answer):
    unknown = {"type": 7, "name": "视频号", "channels": {"nickname": "学校"}}
    seed_answer["external_contact"]["external_profile"]["external_attr"].append(unknown)
    wecom.answers(seed_answer)

    refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.COMMAND)

    attribute = ExternalProfileAttribute.objects.get(position=3)
    assert attribute.type == 7
    assert attribute.raw == unknown
    assert str(attribute.type_label) == "未知类型 7"
