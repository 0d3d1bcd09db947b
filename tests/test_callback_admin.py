"""The list of received WeCom events in the admin: what came, when, for whom, and what became of it; read-only."""

import pytest
from django.urls import reverse
from django.utils import translation

from contacts.models import CallbackEvent, CallbackStatus
from tests.admin_factories import logged_in, make_staff, parent_url, seed, text_of, with_teacher_remark
from tests.wecom_callbacks import event, post_event

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db


def list_url() -> str:
    return reverse("admin:contacts_callbackevent_changelist")


def change_url(stored: CallbackEvent) -> str:
    return reverse("admin:contacts_callbackevent_change", args=[stored.pk])


@pytest.fixture
def events(stored_parent, wecom, client):
    """An edit that refreshed 李四, a failed refresh, and an event nobody handles."""
    wecom.answers(with_teacher_remark(seed(), "rocky", "李主任"))
    post_event(client, event("edit_external_contact", external_userid="woAAAA", userid="rocky"))
    wecom.fails("woAAAA", 48002)
    post_event(client, event("add_external_contact", external_userid="woAAAA", userid="tommy"))
    post_event(client, "<xml><MsgType>event</MsgType><Event>change_contact</Event></xml>")
    return list(CallbackEvent.objects.order_by("id"))


def test_the_list_shows_time_event_parent_status_and_outcome(events, viewer_client, stored_parent):
    response = viewer_client.get(list_url())

    assert response.status_code == 200
    page = text_of(response)
    assert [e.pk for e in response.context["cl"].result_list] == [e.pk for e in reversed(events)]
    assert "老师编辑了家长" in page and "edit_external_contact" in page
    assert "家长（外部联系人）变更" in page
    assert f'href="{parent_url(stored_parent)}"' in page
    assert "已处理" in page and "处理失败" in page and "已忽略" in page
    assert "李部长 → 李主任" in page


def test_the_list_filters_by_status(events, viewer_client):
    response = viewer_client.get(list_url(), {"status__exact": CallbackStatus.FAILED})

    [failed] = response.context["cl"].result_list
    assert failed.change_type == "add_external_contact"


def test_an_event_page_shows_its_content_and_cannot_be_saved(events, superuser_client):
    stored = events[0]

    response = superuser_client.get(change_url(stored))

    page = text_of(response)
    assert response.status_code == 200
    assert "&quot;ExternalUserID&quot;: &quot;woAAAA&quot;" in page or '"ExternalUserID": "woAAAA"' in page
    assert 'name="_save"' not in page
    assert superuser_client.post(change_url(stored), {"outcome": "forged"}).status_code == 403
    stored.refresh_from_db()
    assert stored.outcome != "forged"


def test_events_cannot_be_added_or_deleted(events, superuser_client):
    stored = events[0]

    assert superuser_client.get(reverse("admin:contacts_callbackevent_add")).status_code == 403
    assert superuser_client.post(reverse("admin:contacts_callbackevent_delete", args=[stored.pk])).status_code == 403
    response = superuser_client.post(list_url(), {"action": "delete_selected", "_selected_action": [stored.pk]})
    assert response.status_code in (200, 302)
    assert CallbackEvent.objects.count() == len(events)
    assert "delete_selected" not in text_of(superuser_client.get(list_url()))


def test_staff_without_the_permission_cannot_see_events(events):
    outsider = logged_in(make_staff("outsider", perms=["view_externalcontact"]))

    assert outsider.get(list_url()).status_code == 403


def test_the_viewer_group_may_see_events(viewer_client):
    assert viewer_client.get(list_url()).status_code == 200


def test_the_list_speaks_english_when_asked(events, viewer_client):
    with translation.override("zh-hans"):
        page = text_of(viewer_client.get(list_url(), HTTP_ACCEPT_LANGUAGE="en"))

    assert "A teacher edited the parent" in page
    assert "Parent (external contact) change" in page
    assert "老师编辑了家长" not in page


def test_outcomes_are_told_in_the_readers_language(events, superuser_client, stored_parent, client):
    post_event(client, event("del_follow_user", external_userid="woAAAA", userid="tommy"))

    with translation.override(translation.get_language()):
        listed = text_of(superuser_client.get(list_url(), HTTP_ACCEPT_LANGUAGE="en"))
        failed = text_of(superuser_client.get(change_url(events[1]), HTTP_ACCEPT_LANGUAGE="en"))
        history = text_of(superuser_client.get(parent_url(stored_parent), HTTP_ACCEPT_LANGUAGE="en"))

    assert "Parent refreshed: Remark (rocky): 李部长 → 李主任" in listed
    assert "This app does not handle this kind of event." in listed
    assert "Refreshing the parent failed: [48002] API not permitted for this app" in failed
    assert "刷新家长失败" not in failed and "API接口无权限调用" not in failed
    assert "The parent deleted teacher tommy; the relation has ended (the record is kept)." in history
    assert "家长删除了老师" not in history


def test_an_event_handled_before_outcomes_were_stored_as_codes_shows_its_text(events, superuser_client):
    CallbackEvent.objects.filter(pk=events[0].pk).update(result=[], outcome="旧的处理结果")

    assert "旧的处理结果" in text_of(superuser_client.get(change_url(events[0])))
