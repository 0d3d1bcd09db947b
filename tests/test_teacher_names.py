"""Teachers are shown by name and userid ("罗凯 (rocky)") wherever the roster sync read their name:
the parent page, the teacher filter, the refresh history and the events WeCom reported."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import ContactSnapshot, RefreshTrigger, StaffMember
from contacts.services.refresh import refresh_contact
from contacts.services.roster import sync_roster
from contacts.wecom.client import get_client
from tests.admin_factories import (
    history_of,
    inline_rows,
    list_url,
    parent_url,
    refresh_url,
    seed,
    shown_messages,
    text_of,
    with_teacher_remark,
)
from tests.test_admin_history import history_rows
from tests.wecom_callbacks import event, post_event

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def rocky_is_named(db) -> None:
    """The roster sync read rocky's name; tommy's it did not."""
    StaffMember.objects.create(userid="rocky", name="罗凯", status=1, last_seen_at=timezone.now())


def teachers_on(page: str) -> list[str]:
    return [
        unescape(re.search(r'<td class="field-teacher_display[^"]*"[^>]*>\s*<p>(.*?)</p>', row, re.S).group(1))
        for row in inline_rows(page)
    ]


def test_the_parent_page_names_each_teacher(stored_parent, rocky_is_named, viewer_client):
    assert teachers_on(text_of(viewer_client.get(parent_url(stored_parent)))) == ["罗凯 (rocky)", "tommy"]


def test_the_teacher_filter_offers_teachers_by_name(stored_parent, rocky_is_named, viewer_client):
    response = viewer_client.get(list_url())

    teacher_filter = next(
        spec for spec in response.context["cl"].filter_specs if getattr(spec, "parameter_name", "") == "teacher"
    )
    assert list(teacher_filter.lookup_choices) == [("rocky", "罗凯 (rocky)"), ("tommy", "tommy")]


def test_the_history_and_the_refresh_message_name_the_teacher(stored_parent, rocky_is_named, manager_client, wecom):
    wecom.answers(with_teacher_remark(seed(), "rocky", "李主任"))

    response = manager_client.post(refresh_url(stored_parent), follow=True)

    assert "备注 (罗凯 (rocky))：李部长 → 李主任" in shown_messages(response)[0][1]
    assert history_rows(text_of(response))[0][2] == "备注 (罗凯 (rocky))：李部长 → 李主任"


def test_the_refresh_records_name_the_teacher(stored_parent, rocky_is_named, manager_client, wecom):
    wecom.answers(with_teacher_remark(seed(), "rocky", "李主任"))
    manager_client.post(refresh_url(stored_parent))
    snapshot = ContactSnapshot.objects.latest("fetched_at")

    listing = unescape(text_of(manager_client.get(reverse("admin:contacts_contactsnapshot_changelist"))))
    one = unescape(text_of(manager_client.get(reverse("admin:contacts_contactsnapshot_change", args=[snapshot.pk]))))

    assert "备注 (罗凯 (rocky))：李部长 → 李主任" in listing
    assert "备注 (罗凯 (rocky))：李部长 → 李主任" in one


def test_the_refresh_records_read_the_names_in_one_query_however_many_rows(stored_parent, manager_client, wecom):
    StaffMember.objects.create(userid="rocky", name="罗凯", last_seen_at=timezone.now())
    url = reverse("admin:contacts_contactsnapshot_changelist")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert manager_client.get(url).status_code == 200
        return len(captured)

    few = queries()
    for remark in ("李主任", "李校长", "李老师"):
        wecom.answers(with_teacher_remark(seed(), "rocky", remark))
        manager_client.post(refresh_url(stored_parent))
    assert queries() == few


def test_an_ended_relation_reported_by_wecom_names_the_teacher(stored_parent, rocky_is_named, client, viewer_client):
    post_event(client, event("del_external_contact", external_userid="woAAAA", userid="rocky"))

    history = history_of(text_of(viewer_client.get(parent_url(stored_parent))))

    assert "老师 罗凯 (rocky) 删除了这位家长" in unescape(history)


def test_names_come_from_the_roster_sync_of_the_simulated_school(sandbox, viewer_client):
    contact = refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.COMMAND).contact
    sync_roster(client=get_client())

    assert teachers_on(text_of(viewer_client.get(parent_url(contact)))) == ["罗凯 (rocky)", "唐明 (tommy)"]
