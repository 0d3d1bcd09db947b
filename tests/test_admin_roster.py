"""The school roster in the admin: search by a child's name, filter by class and grade, children on the parent page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Department, ExternalContact, Guardianship
from contacts.services.roster import sync_roster
from contacts.wecom.client import get_client
from tests.admin_factories import (
    list_url,
    listed,
    other_parent_answer,
    parent_url,
    section,
    seed,
    store_parent,
    text_of,
)
from tests.test_roster_sync import CLASS_3_1, CLASS_4_2, GRADE_3, GRADE_4, FakeRoster, parent

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def roster(wecom) -> FakeRoster:
    """李四 (woAAAA) is 张小明's father in 三年级1班; 王五 (woBBBB) is 王小红's mother in 四年级 2班.

    李四's other child 李旧 has left the school.
    """
    store_parent(wecom, seed())
    store_parent(wecom, other_parent_answer("woBBBB"))
    fake = FakeRoster()
    fake.parents[CLASS_3_1] = [
        parent("p-li", ("s-ming", "张小明", "爸爸"), ("s-old", "李旧", "爸爸"), external_userid="woAAAA"),
    ]
    fake.parents[CLASS_4_2] = [parent("p-wang", ("s-hong", "王小红", "妈妈"), external_userid="woBBBB")]
    fake.install(wecom)
    sync_roster(client=get_client())
    fake.parents[CLASS_3_1] = [parent("p-li", ("s-ming", "张小明", "爸爸"), external_userid="woAAAA")]
    sync_roster(client=get_client())
    return fake


def contact(external_userid: str) -> ExternalContact:
    return ExternalContact.objects.get(external_userid=external_userid)


# -- search --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "found"),
    [("张小明", ["woAAAA"]), ("小红", ["woBBBB"]), ("王小红", ["woBBBB"]), ("李旧", []), ("woBBBB", ["woBBBB"])],
)
def test_search_by_a_childs_name_finds_the_parent(viewer_client, roster, term, found):
    assert listed(viewer_client.get(list_url(), {"q": term})) == found


def test_the_search_help_mentions_student_names(viewer_client, roster):
    assert "学生姓名" in text_of(viewer_client.get(list_url()))


# -- filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "found"),
    [
        ({"class": str(CLASS_3_1)}, ["woAAAA"]),
        ({"class": str(CLASS_4_2)}, ["woBBBB"]),
        ({"grade": str(GRADE_3)}, ["woAAAA"]),
        ({"grade": str(GRADE_4)}, ["woBBBB"]),
        ({"grade": str(GRADE_4), "class": str(CLASS_3_1)}, []),
        ({"class": "999"}, []),
        ({"class": "三年级"}, []),
    ],
)
def test_class_and_grade_filters(viewer_client, roster, params, found):
    assert sorted(listed(viewer_client.get(list_url(), params))) == found


def test_a_child_who_left_does_not_put_the_parent_in_the_class(viewer_client, roster, wecom):
    roster.parents[CLASS_4_2].append(parent("p-li", ("s-ming", "张小明", "爸爸"), external_userid="woAAAA"))
    roster.parents[CLASS_3_1] = []
    sync_roster(client=get_client())
    Guardianship.objects.filter(guardian__parent_userid="p-li").update(gone_at=timezone.now())

    assert listed(viewer_client.get(list_url(), {"class": str(CLASS_4_2)})) == ["woBBBB"]


def test_the_filter_choices_name_each_class_with_its_grade(viewer_client, roster):
    page = text_of(viewer_client.get(list_url()))
    assert f'?class={CLASS_3_1}"' in page and "三年级1班" in page
    assert "三年级 · 三年级1班" not in page, "a class name that says its grade is shown as it is"
    assert "四年级 · 2班" in page
    assert f'?grade={GRADE_3}"' in page and f'?grade={GRADE_4}"' in page


def test_a_class_gone_from_the_roster_is_no_choice(viewer_client, roster):
    Department.objects.filter(department_id=CLASS_4_2).update(gone_at=timezone.now())
    page = text_of(viewer_client.get(list_url()))
    assert f'?class={CLASS_4_2}"' not in page
    assert f'?class={CLASS_3_1}"' in page


# -- parent page ---------------------------------------------------------------------------------


def children_box(client, external_userid: str) -> str:
    return section(text_of(client.get(parent_url(contact(external_userid)))), "roster-children")


def test_the_parent_page_lists_the_children_with_class_and_relation(viewer_client, roster):
    box = children_box(viewer_client, "woAAAA")
    assert "子女" in box
    assert "张小明" in box and "三年级1班" in box and "爸爸" in box
    gone_on = timezone.localtime(Guardianship.objects.get(student__student_userid="s-old").gone_at)
    assert "李旧" in box and f"已离开（{gone_on:%Y-%m-%d}）" in box
    assert box.index("张小明") < box.index("李旧"), "current children first"
    assert "王小红" not in box


def test_the_children_come_before_the_refresh_history(viewer_client, roster):
    page = text_of(viewer_client.get(parent_url(contact("woBBBB"))))
    assert page.index('class="module roster-children"') < page.index('class="module refresh-history"')
    assert "王小红" in section(page, "roster-children") and "妈妈" in section(page, "roster-children")


def test_a_parent_not_on_the_roster_has_no_children(viewer_client, wecom):
    store_parent(wecom, seed())
    box = children_box(viewer_client, "woAAAA")
    assert "花名册中没有这位家长的子女。" in box


def test_the_parent_page_takes_as_many_queries_for_1_or_12_children(viewer_client, wecom):
    store_parent(wecom, seed())
    fake = FakeRoster().install(wecom)
    page = parent_url(contact("woAAAA"))

    def queries_with(children: int) -> int:
        fake.parents[CLASS_3_1] = [
            parent("p-li", *[(f"s{i}", f"学生{i}", "爸爸") for i in range(children)], external_userid="woAAAA")
        ]
        sync_roster(client=get_client())
        viewer_client.get(page)  # warm the login and permission caches
        with CaptureQueriesContext(connection) as captured:
            response = viewer_client.get(page)
        assert response.status_code == 200
        assert section(text_of(response), "roster-children").count("<tr>") == children + 1
        return len(captured)

    assert queries_with(1) == queries_with(12)
