"""The number of SQL queries of a page does not grow with the parents, teachers or tags on it."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import ContactPhone, ExternalContact, FollowUser, FollowUserTag
from tests.admin_factories import answer_with_teachers, list_url, listed, parent_url, store_parent, text_of

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

MAX_LIST_QUERIES = 16
MAX_PAGE_QUERIES = 20


def add_parents(start: int, count: int, *, teachers: int = 3, tags: int = 2) -> None:
    """Parents straight into the database, each with teachers, tags and phones (display only)."""
    now = timezone.now()
    contacts = ExternalContact.objects.bulk_create(
        ExternalContact(
            external_userid=f"wo{i:05d}",
            name=f"家长{i}",
            avatar=f"https://wework.qpic.cn/avatar/{i}",
            type=1 + i % 2,
            gender=i % 3,
            subscriber_remark=f"学生{i}-妈妈",
            subscriber_remark_mobiles=[f"139{i:08d}"],
            last_refreshed_at=now - dt.timedelta(days=i % 10),
        )
        for i in range(start, start + count)
    )
    follow_users = FollowUser.objects.bulk_create(
        FollowUser(contact=contact, userid=f"teacher{t}", remark=f"老师{t}", remark_mobiles=[f"138{t:08d}"])
        for contact in contacts
        for t in range(teachers)
    )
    FollowUserTag.objects.bulk_create(
        FollowUserTag(follow_user=follow_user, group_name="年级", tag_name=f"标签{n}", type=1)
        for follow_user in follow_users
        for n in range(tags)
    )
    ContactPhone.objects.bulk_create(
        ContactPhone(contact=contact, number=f"139{i:08d}") for i, contact in enumerate(contacts, start)
    )


def queries_of(client, url, params=None) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(captured), response


@pytest.fixture(params=["viewer_client", "manager_client"])
def staff_client(request):
    return request.getfixturevalue(request.param)


def test_the_list_takes_as_many_queries_for_1_or_50_parents(staff_client):
    add_parents(0, 1)
    few, response = queries_of(staff_client, list_url())
    assert len(listed(response)) == 1

    add_parents(1, 49)
    many, response = queries_of(staff_client, list_url())

    assert len(listed(response)) == 50
    assert many == few
    assert many <= MAX_LIST_QUERIES


def test_a_filtered_and_searched_list_takes_as_many_queries_for_1_or_50_parents(staff_client):
    params = {"teacher": "teacher1", "tag": "标签1", "stale": "1", "q": "家长"}
    add_parents(1, 1)
    few, response = queries_of(staff_client, list_url(), params)
    assert len(listed(response)) == 1

    add_parents(11, 49)
    many, response = queries_of(staff_client, list_url(), params)

    assert len(listed(response)) > 1
    assert many == few
    assert many <= MAX_LIST_QUERIES


def test_the_parent_page_takes_as_many_queries_for_1_or_50_teachers(staff_client, wecom):
    one = store_parent(wecom, answer_with_teachers(1, "woONE"))
    fifty = store_parent(wecom, answer_with_teachers(50, "woFIFTY"))

    few, small_page = queries_of(staff_client, parent_url(one))
    many, large_page = queries_of(staff_client, parent_url(fifty))

    assert "老师备注0" in text_of(small_page)
    assert "老师备注49" in text_of(large_page)
    assert "标签49-1" in text_of(large_page)
    assert many == few
    assert many <= MAX_PAGE_QUERIES


def test_the_parent_page_takes_as_many_queries_with_a_long_history(viewer_client, wecom):
    contact = store_parent(wecom, answer_with_teachers(5))
    few, _ = queries_of(viewer_client, parent_url(contact))

    for n in range(40):
        store_parent(wecom, answer_with_teachers(5 + n % 3))
    many, _ = queries_of(viewer_client, parent_url(contact))

    assert many == few
