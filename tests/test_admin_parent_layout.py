"""What a teacher reads first: the children on the parent list, and a parent's page that starts with
the parent, their children and every teacher's remarks; read-only tables a phone can show as cards.

How the pages look at 390 and 1366 px wide is tested in a browser (tests/test_browser_phone.py).
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from contacts.models import Department, DepartmentType, Guardian, Guardianship, Student
from tests.admin_factories import (
    inline_rows,
    list_url,
    parent_url,
    section,
    seed,
    store_parent,
    text_of,
)

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def li_si(wecom):
    """李四 (woAAAA), father of 李小明 in 三年级1班 and of 李大明, who left the school."""
    contact = store_parent(wecom, seed())
    now = timezone.now()
    klass = Department.objects.create(department_id=31, name="三年级1班", type=DepartmentType.CLASS, last_seen_at=now)
    guardian = Guardian.objects.create(parent_userid="p-li", external_userid="woAAAA", last_seen_at=now)
    for name, gone_at in (("李小明", None), ("李大明", now)):
        student = Student.objects.create(student_userid=f"s-{name}", name=name, department=klass, last_seen_at=now)
        Guardianship.objects.create(
            guardian=guardian, student=student, relation="爸爸", last_seen_at=now, gone_at=gone_at
        )
    return contact


def test_the_list_shows_each_parents_children_with_their_class(li_si, viewer_client):
    page = text_of(viewer_client.get(list_url()))

    [cell] = re.findall(r'<td class="field-children_display">(.*?)</td>', page, flags=re.S)
    assert "李小明" in cell and "三年级1班" in cell
    assert "李大明" not in cell, "a child who left the school is not listed"


def test_the_page_puts_the_children_and_the_teachers_before_the_profile_and_the_history(li_si, viewer_client):
    page = text_of(viewer_client.get(parent_url(li_si)))

    order = [
        page.index('class="module roster-children"'),
        page.index('id="follow_users-group"'),
        page.index('id="attributes-group"'),
        page.index('class="module refresh-history"'),
    ]
    assert order == sorted(order)
    assert page.index("李四") < order[0]


def test_each_cell_of_a_teachers_row_is_named_for_a_phone(li_si, viewer_client):
    page = text_of(viewer_client.get(parent_url(li_si)))

    rocky = inline_rows(page)[0]
    assert 'data-label="备注"' in rocky and "李部长" in rocky
    assert 'data-label="描述"' in rocky and "对接采购事物" in rocky


def test_what_wecom_did_not_send_shows_as_empty_not_none(li_si, viewer_client):
    page = text_of(viewer_client.get(parent_url(li_si)))

    tommy = inline_rows(page)[1]  # no remark_corp_name in the seed answer
    assert re.search(r'<td class="field-remark_corp_name empty"[^>]*><p>-</p></td>', tommy)
    assert ">None<" not in section(page, "inline-group")
    assert 'class="readonly">None<' not in page, "nobody started the refresh: the command did"


def test_every_admin_page_brings_the_phone_layout(li_si, viewer_client):
    for url in (list_url(), parent_url(li_si)):
        assert 'href="/static/contacts/phone.css"' in text_of(viewer_client.get(url))
