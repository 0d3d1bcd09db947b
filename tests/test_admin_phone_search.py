"""Phones cannot be found by search without the phone permission; a phone search by staff who may is recorded.

A member of 查看家长 sees 138****3737; before, typing candidate numbers into the search box
found the parent, and nothing was recorded.
"""

from html import unescape

import pytest
from django.urls import reverse
from django.utils import translation

from contacts.models import AuditAction, AuditEntry, CallbackEvent, ExternalContact
from contacts.services.audit import audit_result_text
from tests.admin_factories import (
    list_url,
    listed,
    logged_in,
    make_staff,
    parent_answer,
    parent_url,
    store_parent,
    teacher,
    text_of,
)
from tests.wecom_callbacks import event, post_event

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

YAO_PHONE = "13833993737"
# The same number, as staff would type it, whole or in part.
YAO_SEARCHES = [
    pytest.param("13833993737", id="whole"),
    pytest.param("138 3399 3737", id="spaced"),
    pytest.param("138-3399-3737", id="dashed"),
    pytest.param("+86 138 3399 3737", id="+86"),
    pytest.param("0086 13833993737", id="0086"),
    pytest.param("3399 3737", id="fragment"),
    pytest.param("3399", id="the four hidden digits"),
]
# Numbers typed into texts: a teacher's remark, the school's remark, a nickname.
TEXT_SEARCHES = [
    pytest.param("139 1234 5678", ["woTEXT"], id="a teacher's remark, as written"),
    pytest.param("1234 5678", ["woTEXT"], id="a teacher's remark, a fragment"),
    pytest.param("13912345678", ["woTEXT"], id="the school's remark, as written"),
    pytest.param("1234567", ["woTEXT"], id="the school's remark, a fragment"),
    pytest.param("13700001111", ["woNICK"], id="a nickname"),
    pytest.param("00001111", ["woNICK"], id="a nickname, a fragment"),
    pytest.param("８７６５ ４３２１", ["woTEXT"], id="full-width digits, a fragment"),
]
PERMITTED = ["manager", "superuser"]


def answer(external_userid: str, name: str, remark: str, mobiles: list[str], *teachers: dict) -> dict:
    answered = parent_answer(
        external_userid, name=name, subscriber_info={"remark": remark, "remark_mobiles": mobiles}
    )
    answered["follow_user"] = list(teachers)
    return answered


@pytest.fixture
def parents(wecom):
    """姚国庆, whose number the school noted; 王阿姨, whose number is in remarks only; one whose nickname is one."""
    store_parent(wecom, answer("woYAO", "姚国庆", "姚小华-爸爸", [YAO_PHONE], teacher("alice", "三年级2班 姚小华爸爸")))
    store_parent(
        wecom,
        answer(
            "woTEXT",
            "王阿姨",
            "王小明-妈妈 13912345678",
            [],
            teacher("bob", "妈妈 139 1234 5678"),
            teacher("erin", "妈妈 １３９ ８７６５ ４３２１"),
        ),
    )
    store_parent(wecom, answer("woNICK", "13700001111", "赵小东-爸爸", [], teacher("carol", "赵爸爸")))


@pytest.fixture
def client_of(request):
    """The logged-in client of a role: viewer, manager or superuser."""
    return lambda role: request.getfixturevalue(f"{role}_client")


def search(client, term: str, url: str | None = None) -> list[str]:
    return listed(client.get(url or list_url(), {"q": term}))


def rows(client, url: str, term: str) -> list:
    response = client.get(url, {"q": term})
    assert response.status_code == 200, response.status_code
    return list(response.context["cl"].result_list)


def snapshot_list_url() -> str:
    return reverse("admin:contacts_contactsnapshot_changelist")


def callback_list_url() -> str:
    return reverse("admin:contacts_callbackevent_changelist")


def phone_searches() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditAction.PHONE_SEARCH).order_by("id"))


# -- without the permission: nothing is found by a phone ----------------------------------------------


@pytest.mark.parametrize("term", YAO_SEARCHES)
def test_a_viewer_finds_nobody_by_a_phone_number(parents, viewer_client, term):
    assert search(viewer_client, term) == []


@pytest.mark.parametrize(("term", "_owner"), TEXT_SEARCHES)
def test_a_viewer_finds_nobody_by_a_phone_typed_into_a_text(parents, viewer_client, term, _owner):
    assert search(viewer_client, term) == []


def test_guessing_the_hidden_digits_of_a_masked_phone_finds_nobody(parents, viewer_client):
    yao = listed(viewer_client.get(list_url(), {"q": "姚国庆"}))
    assert yao == ["woYAO"]
    assert "138****3737" in text_of(viewer_client.get(parent_url_of("woYAO")))

    guesses = [f"138{middle:04d}3737" for middle in range(3390, 3410)]

    assert [guess for guess in guesses if search(viewer_client, guess)] == []


@pytest.mark.parametrize(
    ("term", "found"),
    [
        pytest.param("王小明-妈妈", ["woTEXT"], id="the words of a text with a phone"),
        pytest.param("妈妈", ["woTEXT"], id="a word of a text with a phone"),
        pytest.param("2班", ["woYAO"], id="digits of a text without a phone"),
        pytest.param("woNICK", ["woNICK"], id="an external_userid"),
    ],
)
def test_a_viewer_still_finds_parents_by_what_they_see(parents, viewer_client, term, found):
    assert search(viewer_client, term) == found


def test_a_viewers_searches_are_not_recorded(parents, viewer_client):
    search(viewer_client, "13833993737")

    assert phone_searches() == []


def test_a_viewer_finds_no_refresh_and_no_event_by_a_phone(parents, viewer_client, yao_event):
    assert rows(viewer_client, snapshot_list_url(), "138 3399 3737") == []
    assert rows(viewer_client, snapshot_list_url(), "13700001111") == []
    assert rows(viewer_client, callback_list_url(), "138 3399 3737") == []
    assert {s.contact.external_userid for s in rows(viewer_client, snapshot_list_url(), "姚国庆")} == {"woYAO"}
    assert rows(viewer_client, callback_list_url(), "姚国庆") == [yao_event]


# -- with the permission: found, and recorded ------------------------------------------------------------


@pytest.mark.parametrize("role", PERMITTED)
@pytest.mark.parametrize("term", YAO_SEARCHES)
def test_staff_who_may_see_phones_find_the_parent_by_phone(parents, client_of, role, term):
    assert search(client_of(role), term) == ["woYAO"]


@pytest.mark.parametrize("role", PERMITTED)
@pytest.mark.parametrize(("term", "found"), TEXT_SEARCHES)
def test_staff_who_may_see_phones_find_a_phone_typed_into_a_text(parents, client_of, role, term, found):
    assert search(client_of(role), term) == found


@pytest.mark.parametrize("role", PERMITTED)
def test_each_phone_search_is_recorded_with_its_term_and_what_it_found(parents, client_of, role):
    client = client_of(role)

    search(client, "138 3399 3737")
    search(client, "138 3399 3737")
    search(client, "9999 9999")

    entries = phone_searches()
    assert [entry.username for entry in entries] == [{"manager": "manager", "superuser": "root"}[role]] * 3
    assert [audit_result_text(entry) for entry in entries] == [
        "在「家长」中搜索「138 3399 3737」：1 条结果",
        "在「家长」中搜索「138 3399 3737」：1 条结果",
        "在「家长」中搜索「9999 9999」：0 条结果",
    ]
    assert [str(entry.contact) if entry.contact else None for entry in entries] == ["姚国庆", "姚国庆", None]


def test_a_search_without_a_phone_is_not_recorded(parents, manager_client):
    search(manager_client, "姚国庆")
    search(manager_client, "2班")
    search(manager_client, "")

    assert phone_searches() == []


def test_a_phone_search_of_refreshes_and_events_is_recorded(parents, manager_client, yao_event):
    assert {s.contact.external_userid for s in rows(manager_client, snapshot_list_url(), YAO_PHONE)} == {"woYAO"}
    assert rows(manager_client, callback_list_url(), YAO_PHONE) == [yao_event]

    assert [audit_result_text(entry) for entry in phone_searches()] == [
        f"在「刷新记录」中搜索「{YAO_PHONE}」：2 条结果",
        f"在「回调事件」中搜索「{YAO_PHONE}」：1 条结果",
    ]


def test_the_phone_permission_alone_makes_searches_by_phone_possible_and_recorded(parents):
    client = logged_in(make_staff("reader", perms=["view_externalcontact", "view_all_parents", "view_phone_numbers"]))

    assert search(client, YAO_PHONE) == ["woYAO"]
    assert [entry.username for entry in phone_searches()] == ["reader"]


def test_a_superuser_finds_who_searched_a_number_in_the_audit_log(parents, manager_client, superuser_client):
    search(manager_client, "138-3399-3737")
    search(manager_client, "姚国庆")

    response = superuser_client.get(reverse("admin:contacts_auditentry_changelist"), {"q": "138-3399-3737"})

    [entry] = response.context["cl"].result_list
    assert entry.username == "manager"
    assert entry.get_action_display() == "按手机号搜索"


def test_a_phone_search_is_told_in_the_language_of_whoever_reads_the_audit_log(
    parents, manager_client, superuser_client
):
    search(manager_client, "138-3399-3737")

    # The request leaves its language active in this thread: put the default back after it.
    with translation.override(translation.get_language()):
        page = text_of(
            superuser_client.get(reverse("admin:contacts_auditentry_changelist"), HTTP_ACCEPT_LANGUAGE="en")
        )

    assert "Searched Parents for “138-3399-3737”: 1 results" in unescape(page)
    assert "条结果" not in page


def test_the_audit_log_stays_closed_to_staff_who_are_not_superusers(parents, manager_client):
    search(manager_client, YAO_PHONE)

    assert manager_client.get(reverse("admin:contacts_auditentry_changelist")).status_code == 403


# -- no way around the search box -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", *PERMITTED])
@pytest.mark.parametrize(
    ("url", "lookup"),
    [
        pytest.param(list_url, "subscriber_remark__icontains", id="parents by the school's remark"),
        pytest.param(list_url, "name__contains", id="parents by name"),
        pytest.param(list_url, "subscriber_remark_mobiles__icontains", id="parents by the noted phones"),
        pytest.param(snapshot_list_url, "raw__icontains", id="refreshes by the raw answer"),
        pytest.param(snapshot_list_url, "changes__icontains", id="refreshes by what changed"),
        pytest.param(snapshot_list_url, "contact__name__icontains", id="refreshes by the parent's name"),
        pytest.param(callback_list_url, "outcome__icontains", id="events by their outcome"),
        pytest.param(callback_list_url, "payload__icontains", id="events by their content"),
    ],
)
def test_a_list_address_cannot_filter_by_a_text(parents, yao_event, client_of, role, url, lookup):
    response = client_of(role).get(url(), {lookup: "3399"})

    assert response.status_code == 400


def test_the_filters_a_list_offers_still_work(parents, viewer_client, yao_event):
    yao = parent_of("woYAO")

    assert listed(viewer_client.get(list_url(), {"type__exact": "2", "teacher": "alice"})) == ["woYAO"]
    refreshes = viewer_client.get(snapshot_list_url(), {"contact__id__exact": yao.pk, "trigger__exact": "callback"})
    assert [s.contact_id for s in refreshes.context["cl"].result_list] == [yao.pk]
    events = viewer_client.get(callback_list_url(), {"status__exact": "processed"})
    assert list(events.context["cl"].result_list) == [yao_event]


# -- the tag filter ----------------------------------------------------------------------------------------


@pytest.fixture
def tagged(wecom):
    """A parent whose teacher tagged him with his number."""
    return store_parent(
        wecom, answer("woTAG", "钱七", "钱小七-爸爸", [], teacher("dave", "钱爸爸", tags=["爸爸 139 1234 5678"]))
    )


def tag_choices(client) -> list[str]:
    response = client.get(list_url())
    [tag_filter] = [f for f in response.context["cl"].filter_specs if getattr(f, "parameter_name", None) == "tag"]
    return [value for value, _label in tag_filter.lookup_choices]


def test_a_viewer_sees_the_tags_phones_masked_and_filters_by_what_they_see(tagged, viewer_client):
    assert tag_choices(viewer_client) == ["爸爸 139 **** 5678"]
    assert listed(viewer_client.get(list_url(), {"tag": "爸爸 139 **** 5678"})) == ["woTAG"]
    assert "139 1234 5678" not in text_of(viewer_client.get(list_url()))


def test_a_viewer_cannot_guess_a_tag_by_its_phone(tagged, viewer_client):
    assert listed(viewer_client.get(list_url(), {"tag": "爸爸 139 1234 5678"})) == []


def test_staff_who_may_see_phones_filter_by_the_whole_tag(tagged, manager_client):
    assert tag_choices(manager_client) == ["爸爸 139 1234 5678"]
    assert listed(manager_client.get(list_url(), {"tag": "爸爸 139 1234 5678"})) == ["woTAG"]


# -- helpers needing the database -------------------------------------------------------------------------


@pytest.fixture
def yao_event(parents, wecom, client):
    """WeCom told that a teacher edited 姚国庆; the event refreshed him."""
    wecom.answers(answer("woYAO", "姚国庆", "姚小华-爸爸", [YAO_PHONE], teacher("alice", "三年级2班 姚小华的爸爸")))
    post_event(client, event("edit_external_contact", external_userid="woYAO", userid="alice"))
    return CallbackEvent.objects.get()


def parent_of(external_userid: str) -> ExternalContact:
    return ExternalContact.objects.get(external_userid=external_userid)


def parent_url_of(external_userid: str) -> str:
    return parent_url(parent_of(external_userid))
