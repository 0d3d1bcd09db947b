import datetime as dt

import pytest

from contacts.wecom.errors import WeComError
from contacts.wecom.parsing import parse_external_contact


def test_it_reads_every_value_of_the_seed_example(seed_answer):
    parsed = parse_external_contact(seed_answer)

    assert parsed.external_userid == "woAAAA"
    assert parsed.fields == {
        "name": "李四",
        "position": "Mangaer",
        "avatar": "http://p.qlogo.cn/bizmail/IcsdgagqefergqerhewSdage/0",
        "corp_name": "腾讯",
        "corp_full_name": "腾讯科技有限公司",
        "type": 2,
        "gender": 1,
        "unionid": "unAAAAA",
        "is_subscribe": True,
        "subscriber_tag_ids": ["TAG_ID1", "TAG_ID2"],
        "subscriber_remark_mobiles": ["10000000000", "10000000001"],
        "subscriber_remark": "李小明-爸爸",
    }
    text, web, mini = parsed.attributes
    assert (text.type, text.name, text.text_value) == (0, "文本名称", "文本")
    assert (web.type, web.name, web.web_url, web.web_title) == (1, "网页名称", "http://www.test.com", "标题")
    assert (mini.miniprogram_appid, mini.miniprogram_pagepath, mini.miniprogram_title) == (
        "wxAAAAA",
        "/index",
        "my miniprogram",
    )
    rocky, tommy = parsed.follow_users
    assert rocky.userid == "rocky"
    assert rocky.remark == "李部长"
    assert rocky.description == "对接采购事物"
    assert rocky.createtime == dt.datetime(2018, 5, 8, 11, 43, 32, tzinfo=dt.UTC)
    assert rocky.remark_corp_name == "腾讯科技"
    assert rocky.remark_mobiles == ["10000000003", "10000000004"]
    assert rocky.state is None
    assert [(t.group_name, t.tag_name, t.type) for t in rocky.tags] == [("标签分组名称", "标签名称", 1)]
    assert (tommy.remark, tommy.description, tommy.state, tommy.tags) == ("李总", "采购问题咨询", "外联二维码1", ())
    assert tommy.createtime.tzinfo is not None


def test_it_keeps_unsent_fields_unknown_for_a_wechat_parent():
    parsed = parse_external_contact(
        {
            "errcode": 0,
            "external_contact": {"external_userid": "wmPARENT", "name": "王芳", "type": 1, "gender": 2},
            "follow_user": [{"userid": "zhanglaoshi", "remark": "王小红-妈妈", "createtime": 1700000000}],
        }
    )

    for absent in ("position", "corp_name", "corp_full_name", "unionid", "avatar", "is_subscribe"):
        assert parsed.fields[absent] is None
    assert parsed.fields["subscriber_remark"] is None
    assert parsed.fields["subscriber_remark_mobiles"] is None
    assert parsed.attributes == ()
    assert parsed.follow_users[0].remark_mobiles is None
    assert parsed.follow_users[0].tags == ()


def test_it_reads_an_answer_as_a_third_party_app_sees_it(seed_answer):
    contact = seed_answer["external_contact"]
    del contact["avatar"], contact["unionid"], contact["subscriber_info"]["remark_mobiles"]
    contact["gender"] = 0
    del seed_answer["follow_user"][0]["remark_mobiles"]

    parsed = parse_external_contact(seed_answer)

    assert parsed.fields["avatar"] is None
    assert parsed.fields["unionid"] is None
    assert parsed.fields["subscriber_remark_mobiles"] is None
    assert parsed.fields["gender"] == 0
    assert parsed.follow_users[0].remark_mobiles is None


def test_it_keeps_phones_as_strings_whether_sent_as_numbers_or_strings(seed_answer):
    seed_answer["external_contact"]["subscriber_info"]["remark_mobiles"] = [13912345678, "013912345678"]

    parsed = parse_external_contact(seed_answer)

    assert parsed.fields["subscriber_remark_mobiles"] == ["13912345678", "013912345678"]
    assert parsed.follow_users[0].remark_mobiles == ["10000000003", "10000000004"]


def test_it_accepts_numbers_sent_as_strings(seed_answer):
    seed_answer["external_contact"]["type"] = "1"
    seed_answer["follow_user"][0]["createtime"] = "1525779812"

    parsed = parse_external_contact(seed_answer)

    assert parsed.fields["type"] == 1
    assert parsed.follow_users[0].createtime == dt.datetime(2018, 5, 8, 11, 43, 32, tzinfo=dt.UTC)


def test_it_keeps_an_attribute_of_unknown_type_whole(seed_answer):
    unknown = {"type": 9, "name": "视频号", "channels": {"nickname": "学校视频号"}}
    seed_answer["external_contact"]["external_profile"]["external_attr"].append(unknown)

    parsed = parse_external_contact(seed_answer)

    assert parsed.attributes[3].type == 9
    assert parsed.attributes[3].name == "视频号"
    assert parsed.attributes[3].raw == unknown
    assert parsed.attributes[3].text_value is None


def test_it_ignores_fields_it_does_not_know(seed_answer):
    seed_answer["external_contact"]["new_field"] = {"anything": [1, 2]}
    seed_answer["follow_user"][1]["oper_userid"] = "someone"
    seed_answer["next_field"] = True

    parsed = parse_external_contact(seed_answer)

    assert parsed.external_userid == "woAAAA"
    assert len(parsed.follow_users) == 2


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda a: a.pop("external_contact"), "external_contact"),
        (lambda a: a["external_contact"].pop("external_userid"), "external_userid"),
        (lambda a: a.update(external_contact=["not", "an", "object"]), "external_contact"),
        (lambda a: a.update(follow_user={"userid": "rocky"}), "follow_user"),
        (lambda a: a["follow_user"][0].update(createtime="yesterday"), "follow_user[0].createtime"),
        (lambda a: a["follow_user"][0].update(tags=[["标签"]]), "follow_user[0].tags[0]"),
        (lambda a: a["follow_user"][1].pop("userid"), "follow_user[1].userid"),
        (lambda a: a["external_contact"].update(gender=True), "external_contact.gender"),
        (lambda a: a["external_contact"]["subscriber_info"].update(remark_mobiles="139"), "remark_mobiles"),
        (lambda a: a["external_contact"].update(name={"zh": "李四"}), "external_contact.name"),
        (lambda a: a["follow_user"].append({"userid": "rocky"}), "twice"),
    ],
)
def test_it_names_where_an_answer_has_the_wrong_shape(seed_answer, mutate, where):
    mutate(seed_answer)

    with pytest.raises(WeComError) as raised:
        parse_external_contact(seed_answer)

    assert where in str(raised.value)
    assert raised.value.permanent
