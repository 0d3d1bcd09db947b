"""Values WeCom might send that a database column would refuse or cut: refused or kept whole."""

import pytest

from contacts.models import ExternalContact, FollowUser, RefreshTrigger
from contacts.services.refresh import refresh_contact
from contacts.wecom.errors import WeComError

pytestmark = pytest.mark.django_db


def refresh():
    return refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.COMMAND)


def test_long_free_text_is_stored_whole(wecom, seed_answer):
    long_remark = "很长的备注" * 120
    seed_answer["follow_user"][0]["remark"] = long_remark
    seed_answer["external_contact"]["name"] = "名" * 400
    wecom.answers(seed_answer)

    refresh()

    assert FollowUser.objects.get(userid="rocky").remark == long_remark
    assert ExternalContact.objects.get().name == "名" * 400
    assert refresh().changes.is_empty  # stored as sent, so the next refresh sees no change


def test_an_unknown_gender_or_tag_type_code_is_kept(wecom, seed_answer):
    seed_answer["external_contact"]["gender"] = -1
    seed_answer["follow_user"][0]["tags"][0]["type"] = 3
    wecom.answers(seed_answer)

    refresh()

    assert ExternalContact.objects.get().gender == -1
    assert FollowUser.objects.get(userid="rocky").tags.get().type == 3


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda a: a["external_contact"]["external_profile"]["external_attr"][0].update(type=40000), "type"),
        (lambda a: a["external_contact"].update(gender="²"), "gender"),
        (lambda a: a["external_contact"].update(type="--1"), "type"),
        (lambda a: a["follow_user"][0].update(createtime="9" * 5000), "createtime"),
        (lambda a: a["follow_user"][0].update(userid="u" * 129), "userid"),
        (lambda a: a["external_contact"].update(unionid="x" * 200), "unionid"),
    ],
)
def test_a_value_that_cannot_be_stored_is_refused_and_changes_nothing(wecom, seed_answer, mutate, where):
    mutate(seed_answer)
    seed_answer["external_contact"]["external_userid"] = "woAAAA"
    wecom.answers(seed_answer)

    with pytest.raises(WeComError, match=where):
        refresh()

    assert not ExternalContact.objects.exists()


def test_a_very_long_phone_is_kept_but_not_indexed(wecom, seed_answer):
    seed_answer["external_contact"]["subscriber_info"]["remark_mobiles"] = ["1" * 100]
    wecom.answers(seed_answer)

    refresh()

    contact = ExternalContact.objects.get()
    assert contact.subscriber_remark_mobiles == ["1" * 100]
    assert sorted(contact.phones.values_list("number", flat=True)) == ["10000000003", "10000000004"]


def test_phones_are_indexed_as_staff_type_them(wecom, seed_answer):
    seed_answer["external_contact"]["subscriber_info"]["remark_mobiles"] = ["+86 139-1234-5678", "0086 13800000000"]
    wecom.answers(seed_answer)

    refresh()

    numbers = set(ExternalContact.objects.get().phones.values_list("number", flat=True))
    assert {"13912345678", "13800000000"} <= numbers


def test_deeply_nested_json_is_an_error_not_a_crash(wecom):
    wecom.sends("woAAAA", "[" * 100_000 + "]" * 100_000, content_type="application/json")

    with pytest.raises(WeComError, match="not JSON"):
        refresh()
