"""The sidebar filters of the parent list each keep the right parents and only them."""

import datetime as dt

import pytest
from django.utils import timezone

from contacts.models import ConnectionState, ExternalContact, RefreshTrigger
from contacts.services.refresh import refresh_contact
from contacts.wecom.errors import WeComError
from tests.admin_factories import (
    list_url,
    listed,
    other_parent_answer,
    parent_answer,
    seed,
    store_parent,
    teacher,
)

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def school(wecom):
    """Four parents who differ in every filtered field.

    woAAAA 李四: WeCom user, male, subscribed, teachers rocky (tag 标签名称) and tommy, refreshed now.
    woBBBB 王五: WeChat user, female, not subscribed, teacher alice (tag 三年级), refreshed 10 days ago.
    woCCCC 赵六: WeCom user, gender unknown, unsubscribed; rocky and carol stopped following him,
                 tommy still does; no longer connected; last refreshed 3 days ago.
    woDDDD 孙七: never refreshed.
    """
    store_parent(wecom, seed())

    store_parent(wecom, other_parent_answer("woBBBB"))
    ExternalContact.objects.filter(external_userid="woBBBB").update(
        last_refreshed_at=timezone.now() - dt.timedelta(days=10)
    )

    first = parent_answer("woCCCC", name="赵六", gender=0, is_subscribe=0)
    first["follow_user"].append(teacher("carol", "赵老师", tags=["已毕业"]))
    store_parent(wecom, first)
    later = parent_answer("woCCCC", name="赵六", gender=0, is_subscribe=0)
    later["follow_user"] = [f for f in later["follow_user"] if f["userid"] == "tommy"]
    store_parent(wecom, later)
    wecom.fails("woCCCC", 84061)
    with pytest.raises(WeComError):
        refresh_contact(external_userid="woCCCC", trigger=RefreshTrigger.COMMAND)
    ExternalContact.objects.filter(external_userid="woCCCC").update(
        last_refreshed_at=timezone.now() - dt.timedelta(days=3)
    )

    ExternalContact.objects.create(external_userid="woDDDD", name="孙七")

    assert ExternalContact.objects.get(external_userid="woCCCC").state == ConnectionState.NOT_CONNECTED


def filtered(client, **params) -> list[str]:
    response = client.get(list_url(), params)
    # An unknown parameter makes the admin redirect with ?e=1 instead of filtering.
    assert response.status_code == 200, response.status_code
    return sorted(listed(response))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({}, ["woAAAA", "woBBBB", "woCCCC", "woDDDD"], id="no filter"),
        pytest.param({"type__exact": "2"}, ["woAAAA", "woCCCC"], id="type WeCom user"),
        pytest.param({"type__exact": "1"}, ["woBBBB"], id="type WeChat user"),
        pytest.param({"gender__exact": "1"}, ["woAAAA"], id="male"),
        pytest.param({"gender__exact": "2"}, ["woBBBB"], id="female"),
        pytest.param({"gender__exact": "0"}, ["woCCCC"], id="gender unknown"),
        pytest.param({"is_subscribe__exact": "1"}, ["woAAAA"], id="subscribed"),
        pytest.param({"is_subscribe__exact": "0"}, ["woCCCC"], id="not subscribed"),
        pytest.param({"is_subscribe__isnull": "True"}, ["woBBBB", "woDDDD"], id="subscription not sent"),
        pytest.param({"state__exact": "not_connected"}, ["woCCCC"], id="no longer connected"),
        pytest.param({"state__exact": "active"}, ["woAAAA", "woBBBB", "woDDDD"], id="connected"),
        pytest.param({"teacher": "rocky"}, ["woAAAA"], id="teacher rocky, not where he stopped"),
        pytest.param({"teacher": "tommy"}, ["woAAAA", "woCCCC"], id="teacher tommy"),
        pytest.param({"teacher": "alice"}, ["woBBBB"], id="teacher alice"),
        pytest.param({"teacher": "carol"}, [], id="a teacher who stopped following everyone"),
        pytest.param({"tag": "标签名称"}, ["woAAAA"], id="tag of a current teacher only"),
        pytest.param({"tag": "三年级"}, ["woBBBB"], id="tag 三年级"),
        pytest.param({"tag": "已毕业"}, [], id="tag of a teacher who stopped"),
        pytest.param({"stale": "1"}, ["woBBBB", "woCCCC", "woDDDD"], id="stale 1 day"),
        pytest.param({"stale": "7"}, ["woBBBB", "woDDDD"], id="stale 7 days"),
        pytest.param({"stale": "30"}, ["woDDDD"], id="stale 30 days"),
        pytest.param({"stale": "never"}, ["woDDDD"], id="never refreshed"),
        pytest.param({"teacher": "tommy", "type__exact": "2", "stale": "1"}, ["woCCCC"], id="combined"),
    ],
)
def test_the_filter_keeps_the_right_parents(school, viewer_client, params, expected):
    assert filtered(viewer_client, **params) == expected


def test_a_filter_combines_with_a_search(school, viewer_client):
    assert filtered(viewer_client, teacher="tommy", q="赵") == ["woCCCC"]


def test_the_teacher_filter_offers_only_teachers_who_still_follow_someone(school, viewer_client):
    response = viewer_client.get(list_url())

    [teacher_filter] = [
        f for f in response.context["cl"].filter_specs if getattr(f, "parameter_name", None) == "teacher"
    ]
    offered = [value for value, _label in teacher_filter.lookup_choices]
    assert offered == ["alice", "rocky", "tommy"]


def test_the_stale_filter_offers_its_choices(school, viewer_client):
    page = viewer_client.get(list_url()).content.decode()

    for label in ("超过 1 天未刷新", "超过 7 天未刷新", "超过 30 天未刷新", "从未成功刷新"):
        assert label in page


def test_the_tag_filter_offers_only_tags_of_teachers_who_still_follow_someone(school, viewer_client):
    response = viewer_client.get(list_url())

    [tag_filter] = [f for f in response.context["cl"].filter_specs if getattr(f, "parameter_name", None) == "tag"]
    offered = sorted(value for value, _label in tag_filter.lookup_choices)
    assert offered == sorted(["三年级", "标签名称"])
