"""Phones typed as text are masked too, on every page that shows the text, unless the reader may see phones.

A teacher's description "爸爸手机 139 1234 5678，微信同号" showed in full to a viewer on the parent
page, in its history, in the list of refreshes and a refresh's page, and in the WeCom events.
"""

import re

import pytest
from django.urls import reverse

from contacts.models import CallbackEvent, CallbackStatus, ContactSnapshot, ExternalContact
from contacts.services.roster import sync_roster
from contacts.wecom.client import get_client
from tests.admin_factories import (
    history_of,
    inline_rows,
    list_url,
    logged_in,
    make_staff,
    parent_answer,
    parent_url,
    refresh_url,
    section,
    seed,
    shown_messages,
    store_parent,
    teacher,
    text_of,
)
from tests.test_roster_sync import CLASS_3_1, FakeRoster, parent
from tests.wecom_callbacks import event, post_event

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

DESCRIPTION = "爸爸手机 139 1234 5678，微信同号"
DESCRIPTION_MASKED = "爸爸手机 139 **** 5678，微信同号"
# Each text a parent, the school or a teacher typed, with a number of its own, as it was written.
TYPED = {
    "name": "李四 13700001101",
    "position": "电话 010-12345678",
    "corp_name": "腾讯 0755 1234 5678",
    "corp_full_name": "+86 139 0000 1104",
    "school_remark": "李小明-爸爸 139-0000-1105",
    "remark": "李部长 13900001106",
    "description": DESCRIPTION,
    "remark_corp_name": "腾讯 0086 13900001107",
    "channel": "13900001108",
    "tag": "爸爸 139 0000 1109",
    "profile_text": "手机 13900001110",
    "profile_title": "热线 13900001111",
    "profile_url": "tel:13900001113",
    "event_state": "13900001112",
}
MASKED = {
    "name": "李四 137****1101",
    "school_remark": "李小明-爸爸 139-****-1105",
    "description": DESCRIPTION_MASKED,
    "event_state": "139****1112",
}
# What an event's outcome said before its phones were masked when written.
OLD_OUTCOME = f"已刷新家长：描述 (rocky)：对接采购事物 → {DESCRIPTION}"
OLD_OUTCOME_MASKED = f"已刷新家长：描述 (rocky)：对接采购事物 → {DESCRIPTION_MASKED}"


def typed_answer() -> dict:
    """李四 once more, every text now holding a phone number."""
    answer = parent_answer(
        name=TYPED["name"],
        position=TYPED["position"],
        corp_name=TYPED["corp_name"],
        corp_full_name=TYPED["corp_full_name"],
        subscriber_info={"remark": TYPED["school_remark"], "remark_mobiles": []},
        external_profile={
            "external_attr": [
                {"type": 0, "name": "联系方式", "text": {"value": TYPED["profile_text"]}},
                {"type": 1, "name": "热线", "web": {"url": "https://example.com/", "title": TYPED["profile_title"]}},
                {"type": 1, "name": "电话", "web": {"url": TYPED["profile_url"], "title": "拨打"}},
            ]
        },
    )
    rocky = teacher("rocky", TYPED["remark"], tags=[TYPED["tag"]], createtime=1525779812)
    rocky.update(description=TYPED["description"], remark_corp_name=TYPED["remark_corp_name"], state=TYPED["channel"])
    answer["follow_user"] = [rocky]
    return answer


def written_phones(page: str) -> list[str]:
    """The phones of TYPED shown as they were written, or as their digits alone."""
    shown = []
    for text in TYPED.values():
        [number] = re.findall(r"\+?[\d][\d -]*\d", text)
        shown += [form for form in (number, re.sub(r"\D", "", number)) if form in page]
    return shown


@pytest.fixture
def typed_parent(wecom, client) -> ExternalContact:
    """李四, refreshed from the doc's example to TYPED by a WeCom event; and an event stored as it was before."""
    contact = store_parent(wecom, seed())
    wecom.answers(typed_answer())
    edited = event("edit_external_contact", external_userid="woAAAA", userid="rocky", state=TYPED["event_state"])
    post_event(client, edited)
    CallbackEvent.objects.create(
        fingerprint="stored-before",
        event="change_external_contact",
        change_type="edit_external_contact",
        external_userid="woAAAA",
        userid="rocky",
        payload={"ChangeType": "edit_external_contact", "State": TYPED["event_state"]},
        status=CallbackStatus.PROCESSED,
        outcome=OLD_OUTCOME,
        contact=contact,
    )
    contact.refresh_from_db()
    return contact


def latest_snapshot(contact: ExternalContact) -> ContactSnapshot:
    return contact.snapshots.order_by("-fetched_at", "-id").first()


def callback_event(fingerprint: str | None = None) -> CallbackEvent:
    events = CallbackEvent.objects.all()
    return events.get(fingerprint=fingerprint) if fingerprint else events.exclude(fingerprint="stored-before").get()


def snapshot_page(contact: ExternalContact) -> str:
    return reverse("admin:contacts_contactsnapshot_change", args=[latest_snapshot(contact).pk])


def event_page(fingerprint: str | None = None) -> str:
    return reverse("admin:contacts_callbackevent_change", args=[callback_event(fingerprint).pk])


PAGES = {
    "parent list": lambda contact: list_url(),
    "parent page": parent_url,
    "refresh list": lambda contact: reverse("admin:contacts_contactsnapshot_changelist"),
    "refresh page": snapshot_page,
    "event list": lambda contact: reverse("admin:contacts_callbackevent_changelist"),
    "event page": lambda contact: event_page(),
    "old event page": lambda contact: event_page("stored-before"),
}
DESCRIPTION_CHANGE = "描述 (rocky)：对接采购事物 → {}"
# What each page shows of the typed texts: (as staff who may see phones read it, as a viewer reads it).
SHOWN = {
    "parent list": (TYPED["school_remark"], MASKED["school_remark"]),
    "parent page": (DESCRIPTION, DESCRIPTION_MASKED),
    "refresh list": (DESCRIPTION_CHANGE.format(DESCRIPTION), DESCRIPTION_CHANGE.format(DESCRIPTION_MASKED)),
    "refresh page": (f"&quot;description&quot;: &quot;{DESCRIPTION}&quot;", DESCRIPTION_MASKED),
    "event list": (OLD_OUTCOME, OLD_OUTCOME_MASKED),
    "event page": (f"&quot;State&quot;: &quot;{TYPED['event_state']}&quot;", MASKED["event_state"]),
    "old event page": (OLD_OUTCOME, OLD_OUTCOME_MASKED),
}


@pytest.mark.parametrize("page", PAGES)
def test_a_viewer_sees_no_phone_typed_into_a_text(typed_parent, viewer_client, page):
    response = viewer_client.get(PAGES[page](typed_parent))

    assert response.status_code == 200
    html = text_of(response)
    assert SHOWN[page][1] in html
    assert written_phones(html) == []


@pytest.mark.parametrize("role", ["manager", "superuser"])
@pytest.mark.parametrize("page", PAGES)
def test_staff_who_may_see_phones_see_them_in_texts(typed_parent, request, role, page):
    client = request.getfixturevalue(f"{role}_client")

    html = text_of(client.get(PAGES[page](typed_parent)))

    assert SHOWN[page][0] in html


def test_every_text_of_the_parent_page_is_masked_for_a_viewer(typed_parent, viewer_client):
    html = text_of(viewer_client.get(parent_url(typed_parent)))

    assert "<title>李四 137****1101 |" in html
    assert '<div class="readonly">李四 137****1101</div>' in html
    assert "&rsaquo; 李四 137****1101\n</div>" in html
    assert '<div class="readonly">电话 010-****5678</div>' in html
    assert '<div class="readonly">腾讯 075* **** 5678</div>' in html
    assert '<div class="readonly">+86 139 **** 1104</div>' in html
    assert '<div class="readonly">李小明-爸爸 139-****-1105</div>' in html
    [rocky] = [row for row in inline_rows(html) if "<p>rocky</p>" in row]
    for masked in ("李部长 139****1106", DESCRIPTION_MASKED, "腾讯 0086 139****1107", "139****1108"):
        assert f"<p>{masked}</p>" in rocky
    assert "爸爸 139 **** 1109" in rocky
    assert "手机 139****1110" in html
    assert "热线 139****1111" in html
    assert "拨打 (tel:139****1113)" in html


def test_the_history_of_the_parent_page_masks_typed_phones(typed_parent, viewer_client, manager_client):
    masked = history_of(text_of(viewer_client.get(parent_url(typed_parent))))
    whole = history_of(text_of(manager_client.get(parent_url(typed_parent))))

    assert DESCRIPTION_CHANGE.format(DESCRIPTION_MASKED) in masked
    assert "姓名：李四 → 李四 137****1101" in masked
    assert written_phones(masked) == []
    assert DESCRIPTION_CHANGE.format(DESCRIPTION) in whole


def test_a_masked_text_is_still_shown_as_text(wecom, viewer_client):
    answer = seed()
    answer["follow_user"][0]["description"] = "<b>爸爸</b> 139 1234 5678 <script>alert(1)</script>"
    contact = store_parent(wecom, answer)

    html = text_of(viewer_client.get(parent_url(contact)))

    assert "&lt;b&gt;爸爸&lt;/b&gt; 139 **** 5678 &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>爸爸</b>" not in html
    assert "<script>alert(1)" not in html


def test_a_text_wecom_did_not_send_shows_as_empty_not_as_none(wecom, viewer_client):
    answer = seed()
    answer["follow_user"][1].pop("remark_corp_name", None)
    contact = store_parent(wecom, answer)

    html = text_of(viewer_client.get(parent_url(contact)))

    assert ">None<" not in html


@pytest.fixture
def refresher_client():
    """May refresh, and so select parents on the list, but not see full phone numbers."""
    return logged_in(
        make_staff("refresher", perms=["view_externalcontact", "view_all_parents", "refresh_externalcontact"])
    )


def test_the_list_names_a_row_for_screen_readers_with_its_phones_masked(typed_parent, refresher_client):
    html = text_of(refresher_client.get(list_url()))

    assert 'aria-label="选择此对象执行操作 - 李四 137****1101"' in html
    assert written_phones(html) == []


def test_the_refresh_message_masks_a_phone_in_the_name(typed_parent, refresher_client, wecom):
    wecom.answers(typed_answer())

    response = refresher_client.post(refresh_url(typed_parent), follow=True)

    assert shown_messages(response) == [("success", "已从企业微信刷新「李四 137****1101」：无变化")]


def test_the_children_on_the_roster_are_shown_with_phones_masked(stored_parent, wecom, viewer_client, manager_client):
    roster = FakeRoster()
    roster.parents[CLASS_3_1] = [parent("p-li", ("s-ming", "张小明", "爸爸 13900001115"), external_userid="woAAAA")]
    roster.install(wecom)
    sync_roster(client=get_client())

    masked = section(text_of(viewer_client.get(parent_url(stored_parent))), "roster-children")
    whole = section(text_of(manager_client.get(parent_url(stored_parent))), "roster-children")

    assert "<td>爸爸 139****1115</td>" in masked
    assert "<td>爸爸 13900001115</td>" in whole
