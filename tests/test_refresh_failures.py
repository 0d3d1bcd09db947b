import copy

import pytest
import requests
from django.forms.models import model_to_dict

from contacts.models import (
    ConnectionState,
    ContactPhone,
    ContactSnapshot,
    ExternalContact,
    ExternalProfileAttribute,
    FollowUser,
    FollowUserTag,
    RefreshTrigger,
)
from contacts.services.refresh import refresh_contact
from contacts.texts import error_text
from contacts.wecom.errors import WeComError

pytestmark = pytest.mark.django_db

SYNC_FIELDS = {"last_attempt_at", "last_failure", "last_error", "last_errcode", "updated_at"}


def everything_stored() -> dict:
    def rows(model, exclude=()):
        return sorted(
            ({k: v for k, v in model_to_dict(obj).items() if k not in exclude} for obj in model.objects.all()),
            key=repr,
        )

    return {
        "contacts": rows(ExternalContact, SYNC_FIELDS),
        "follow_users": rows(FollowUser),
        "tags": rows(FollowUserTag),
        "attributes": rows(ExternalProfileAttribute),
        "phones": rows(ContactPhone),
        "answers": ContactSnapshot.objects.filter(raw__isnull=False).count(),
    }


def refresh(external_userid="woAAAA"):
    return refresh_contact(external_userid=external_userid, trigger=RefreshTrigger.COMMAND)


@pytest.fixture
def stored_parent(wecom, seed_answer):
    wecom.answers(seed_answer)
    refresh()
    wecom.rsps.reset()
    wecom.rsps.get(
        "https://wecom.test/cgi-bin/gettoken",
        json={"errcode": 0, "errmsg": "ok", "access_token": "T2", "expires_in": 7200},
    )
    return ExternalContact.objects.get(external_userid="woAAAA")


BAD_ANSWERS = {
    "an HTML error page": dict(body="<html><body>502 Bad Gateway</body></html>", status=502),
    "HTML with HTTP 200": dict(body="<html><body>维护中</body></html>", status=200),
    "truncated JSON": dict(body='{"errcode": 0, "errmsg": "ok", "external_contact": {"external_us', status=200),
    "a read timeout": dict(body=requests.exceptions.ReadTimeout("read timed out")),
    "a refused connection": dict(body=requests.exceptions.ConnectionError("refused")),
}


@pytest.mark.parametrize("kind", BAD_ANSWERS)
def test_a_failed_refresh_leaves_the_stored_parent_as_it_was(stored_parent, wecom, kind):
    before = everything_stored()
    wecom.sends("woAAAA", **BAD_ANSWERS[kind])

    with pytest.raises(WeComError):
        refresh()

    assert everything_stored() == before
    stored_parent.refresh_from_db()
    assert stored_parent.last_attempt_at > stored_parent.last_refreshed_at
    assert stored_parent.last_failure


def test_an_answer_of_the_wrong_shape_changes_nothing(stored_parent, wecom, seed_answer):
    before = everything_stored()
    broken = copy.deepcopy(seed_answer)
    broken["follow_user"][0]["tags"] = "标签"
    broken["external_contact"]["name"] = "改了名"
    wecom.answers(broken)

    with pytest.raises(WeComError, match=r"follow_user\[0\]\.tags"):
        refresh()

    assert everything_stored() == before


@pytest.mark.parametrize("errcode", [60020, 48002, 40001, 84074, 60011])
def test_a_configuration_error_is_recorded_with_its_hint(stored_parent, wecom, errcode):
    before = everything_stored()
    wecom.fails("woAAAA", errcode)

    with pytest.raises(WeComError) as raised:
        refresh()

    assert everything_stored() == before
    stored_parent.refresh_from_db()
    assert stored_parent.last_errcode == errcode
    assert stored_parent.last_failure["errcode"] == errcode
    assert raised.value.hint_zh in error_text(stored_parent.last_failure)
    assert stored_parent.state == ConnectionState.ACTIVE


@pytest.mark.parametrize("errcode", [84061, 40096])
def test_it_marks_a_stored_parent_no_longer_connected_and_keeps_its_data(stored_parent, wecom, errcode):
    before = everything_stored()
    wecom.fails("woAAAA", errcode)

    with pytest.raises(WeComError):
        refresh()

    stored_parent.refresh_from_db()
    assert stored_parent.state == ConnectionState.NOT_CONNECTED
    assert stored_parent.state_changed_at is not None
    after = everything_stored()
    for row in after["contacts"] + before["contacts"]:
        row.pop("state"), row.pop("state_changed_at"), row.pop("last_changed_at")
    assert after == before
    assert stored_parent.follow_users.count() == 2


def test_a_parent_who_comes_back_is_active_again(stored_parent, wecom, seed_answer):
    wecom.fails("woAAAA", 84061)
    with pytest.raises(WeComError):
        refresh()
    wecom.rsps.reset()
    wecom.rsps.get(
        "https://wecom.test/cgi-bin/gettoken",
        json={"errcode": 0, "errmsg": "ok", "access_token": "T3", "expires_in": 7200},
    )
    wecom.answers(seed_answer)

    result = refresh()

    assert result.contact.state == ConnectionState.ACTIVE
    assert "state" in result.changes.fields


@pytest.mark.parametrize("errcode", [84061, 40096])
def test_an_unknown_parent_that_is_not_connected_stores_nothing(wecom, errcode):
    wecom.fails("wmNEVERSEEN", errcode)

    with pytest.raises(WeComError) as raised:
        refresh("wmNEVERSEEN")

    assert raised.value.not_connected
    assert not ExternalContact.objects.exists()


@pytest.mark.parametrize("bad_id", ["", "   ", "wo AAAA", "<script>", "x" * 200])
def test_a_malformed_id_is_refused_before_calling_wecom(wecom, bad_id):
    with pytest.raises(WeComError, match="not a valid external_userid"):
        refresh(bad_id)

    assert len(wecom.rsps.calls) == 0


def test_an_answer_about_another_parent_is_refused(wecom, seed_answer):
    wecom.rsps.get("https://wecom.test/cgi-bin/externalcontact/get", json=seed_answer)

    with pytest.raises(WeComError, match="answered 'woAAAA'"):
        refresh("woBBBB")

    assert not ExternalContact.objects.exists()
