"""The search box of the parent list: ids, names, remarks, teachers, and phone numbers for staff who may see them."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.admin_factories import list_url, listed, other_parent_answer, seed, store_parent

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def two_parents(wecom):
    """李四 (woAAAA, the doc's example) and 王五 (woBBBB), who share nothing searchable."""
    store_parent(wecom, seed())
    store_parent(wecom, other_parent_answer("woBBBB"))


def search(client, term: str) -> list[str]:
    return listed(client.get(list_url(), {"q": term}))


@pytest.mark.parametrize(
    ("term", "found"),
    [
        pytest.param("woAAAA", ["woAAAA"], id="external_userid"),
        pytest.param("woBBBB", ["woBBBB"], id="other external_userid"),
        pytest.param("李四", ["woAAAA"], id="name"),
        pytest.param("四", ["woAAAA"], id="part of the name"),
        pytest.param("王", ["woBBBB"], id="part of the other name and remarks"),
        pytest.param("李小明", ["woAAAA"], id="part of the school's remark"),
        pytest.param("小红-妈妈", ["woBBBB"], id="end of the school's remark"),
        pytest.param("unAAAAA", ["woAAAA"], id="unionid"),
        pytest.param("rocky", ["woAAAA"], id="teacher userid"),
        pytest.param("alice", ["woBBBB"], id="other teacher userid"),
        pytest.param("李部长", ["woAAAA"], id="teacher remark"),
        pytest.param("部长", ["woAAAA"], id="part of a teacher remark"),
        pytest.param("  woAAAA  ", ["woAAAA"], id="id with spaces around"),
    ],
)
def test_it_finds_parents_by(two_parents, viewer_client, term, found):
    assert search(viewer_client, term) == found


@pytest.mark.parametrize(
    ("term", "found"),
    [
        pytest.param("10000000000", ["woAAAA"], id="subscriber phone"),
        pytest.param("10000000001", ["woAAAA"], id="second subscriber phone"),
        pytest.param("10000000003", ["woAAAA"], id="teacher's phone"),
        pytest.param("100-0000-0003", ["woAAAA"], id="teacher's phone with dashes"),
        pytest.param("100 0000 0004", ["woAAAA"], id="teacher's phone with spaces"),
        pytest.param("+86 100 0000 0000", ["woAAAA"], id="phone with country code"),
        pytest.param("13800000003", ["woBBBB"], id="other teacher's phone"),
        pytest.param("0000 00000", ["woAAAA"], id="part of a phone, spaced"),
        pytest.param("1380", ["woBBBB"], id="four digits of a phone"),
    ],
)
def test_staff_who_may_see_phones_find_parents_by(two_parents, manager_client, term, found):
    assert search(manager_client, term) == found


@pytest.mark.parametrize(
    "term",
    [
        pytest.param("不存在的人", id="unknown name"),
        pytest.param("woAAA", id="part of an id is not an id"),
        pytest.param("10000000009", id="unknown phone"),
        pytest.param("0000000", id="part of a phone is not a phone"),
        pytest.param("roc", id="part of a teacher userid"),
        pytest.param("unAAA", id="part of a unionid"),
    ],
)
def test_it_shows_no_rows_when_nothing_matches(two_parents, viewer_client, term):
    response = viewer_client.get(list_url(), {"q": term})

    assert listed(response) == []
    assert response.context["cl"].result_count == 0


@pytest.mark.parametrize("term", ["10000000009", "100 0000 0009", "999"])
def test_staff_who_may_see_phones_find_nobody_by_an_unknown_number(two_parents, manager_client, term):
    assert search(manager_client, term) == []


def test_an_empty_search_lists_everyone(two_parents, viewer_client):
    assert sorted(search(viewer_client, "")) == ["woAAAA", "woBBBB"]
    assert sorted(search(viewer_client, "   ")) == ["woAAAA", "woBBBB"]


def test_an_exact_external_userid_is_answered_by_its_unique_index_alone(two_parents, viewer_client):
    with CaptureQueriesContext(connection) as captured:
        found = search(viewer_client, "woAAAA")

    assert found == ["woAAAA"]
    sqls = [query["sql"] for query in captured.captured_queries]
    assert not [sql for sql in sqls if " LIKE " in sql.upper()], "a LIKE scan for an exact id"
    assert not [sql for sql in sqls if "contacts_contactphone" in sql], "the phones were searched for an exact id"
    id_filters = [sql for sql in sqls if re.search(r'WHERE "contacts_externalcontact"\."external_userid" = ', sql)]
    assert id_filters, "no query filters on external_userid"
    for sql in id_filters:
        where = sql[sql.index('WHERE "contacts_externalcontact"."external_userid" = ') :]
        assert " OR " not in where.upper()
        assert "EXISTS" not in where.upper()


def test_a_name_search_does_look_further(two_parents, viewer_client):
    with CaptureQueriesContext(connection) as captured:
        found = search(viewer_client, "李四")

    assert found == ["woAAAA"]
    assert any(" LIKE " in query["sql"].upper() for query in captured.captured_queries)
