"""Who may see, refresh and look up parents in the admin, and that nobody may edit them."""

import pytest
from django.urls import reverse

from contacts.models import ExternalContact
from tests.admin_factories import (
    ALL_SEED_PHONES,
    logged_in,
    lookup_url,
    make_staff,
    parent_url,
    refresh_url,
    text_of,
)

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

AUDIT_LIST = "admin:contacts_auditentry_changelist"


def refresh_form(contact) -> str:
    return f'action="{refresh_url(contact)}"'


# -- the refresh button and the refresh view -------------------------------------------------


def test_it_hides_the_refresh_button_without_permission(stored_parent, viewer_client):
    response = viewer_client.get(parent_url(stored_parent))

    assert response.status_code == 200
    assert refresh_form(stored_parent) not in text_of(response)
    assert "从企业微信刷新</button>" not in text_of(response)


def test_it_shows_the_refresh_button_with_permission(stored_parent):
    # Only the two permissions that matter, not a group: the button follows the permission.
    client = logged_in(
        make_staff("refresher", perms=["view_externalcontact", "view_all_parents", "refresh_externalcontact"])
    )

    response = client.get(parent_url(stored_parent))

    assert response.status_code == 200
    assert refresh_form(stored_parent) in text_of(response)
    assert "从企业微信刷新</button>" in text_of(response)


def test_it_refuses_a_refresh_without_permission_and_does_not_call_wecom(stored_parent, viewer_client, wecom):
    calls_before = wecom.contact_calls()

    response = viewer_client.post(refresh_url(stored_parent))

    assert response.status_code == 403
    assert wecom.contact_calls() == calls_before
    assert stored_parent.snapshots.count() == 1


def test_the_refresh_permission_alone_does_not_open_parents_to_wecom_calls(stored_parent, wecom):
    refresher = logged_in(make_staff("refresher", perms=["refresh_externalcontact"]))
    calls_before = wecom.contact_calls()

    assert refresher.post(refresh_url(stored_parent)).status_code == 403
    assert refresher.get(lookup_url()).status_code == 403
    assert wecom.contact_calls() == calls_before


def test_it_refuses_to_refresh_on_a_get(stored_parent, manager_client, wecom):
    calls_before = wecom.contact_calls()

    response = manager_client.get(refresh_url(stored_parent))

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert wecom.contact_calls() == calls_before


def test_it_refuses_a_refresh_without_a_csrf_token(stored_parent, manager, wecom):
    client = logged_in(manager, enforce_csrf_checks=True)
    calls_before = wecom.contact_calls()

    response = client.post(refresh_url(stored_parent))

    assert response.status_code == 403
    assert wecom.contact_calls() == calls_before
    assert stored_parent.snapshots.count() == 1


# -- the look-up page --------------------------------------------------------------------------


def test_it_refuses_the_lookup_page_without_permission(viewer_client, wecom):
    assert viewer_client.get(lookup_url()).status_code == 403

    response = viewer_client.post(lookup_url(), {"external_userid": "woAAAA"})

    assert response.status_code == 403
    assert wecom.contact_calls() == 0
    assert not ExternalContact.objects.exists()


def test_it_refuses_a_lookup_without_a_csrf_token(manager, wecom):
    client = logged_in(manager, enforce_csrf_checks=True)

    response = client.post(lookup_url(), {"external_userid": "woAAAA"})

    assert response.status_code == 403
    assert wecom.contact_calls() == 0
    assert not ExternalContact.objects.exists()


def test_it_opens_the_lookup_page_with_permission(manager_client):
    response = manager_client.get(lookup_url())

    assert response.status_code == 200
    assert 'name="external_userid"' in text_of(response)


# -- nobody edits a parent ------------------------------------------------------------------------


@pytest.fixture(params=["manager", "superuser"])
def powerful_client(request):
    """The most powerful users there are: even they may not edit a parent."""
    return request.getfixturevalue(f"{request.param}_client")


def test_nobody_can_add_a_parent(powerful_client):
    response = powerful_client.get(reverse("admin:contacts_externalcontact_add"))

    assert response.status_code == 403


def test_the_parent_page_has_no_save_button(stored_parent, powerful_client):
    response = powerful_client.get(parent_url(stored_parent))

    assert response.status_code == 200
    page = text_of(response)
    assert 'name="_save"' not in page
    assert 'name="_continue"' not in page
    assert 'name="name"' not in page  # read-only: no input for the name


def test_posting_the_parent_page_changes_nothing(stored_parent, powerful_client):
    response = powerful_client.post(
        parent_url(stored_parent), {"name": "被改了", "subscriber_remark": "被改了", "_save": "保存"}
    )

    assert response.status_code == 403
    stored_parent.refresh_from_db()
    assert stored_parent.name == "李四"
    assert stored_parent.subscriber_remark == "李小明-爸爸"


def test_nobody_can_delete_a_parent(stored_parent, powerful_client):
    url = reverse("admin:contacts_externalcontact_delete", args=[stored_parent.pk])

    assert powerful_client.get(url).status_code == 403
    assert powerful_client.post(url, {"post": "yes"}).status_code == 403
    assert ExternalContact.objects.filter(pk=stored_parent.pk).exists()


def test_the_list_offers_no_bulk_delete(stored_parent, powerful_client):
    response = powerful_client.get(reverse("admin:contacts_externalcontact_changelist"))

    assert response.status_code == 200
    assert 'value="delete_selected"' not in text_of(response)

    powerful_client.post(
        reverse("admin:contacts_externalcontact_changelist"),
        {"action": "delete_selected", "_selected_action": [stored_parent.pk], "post": "yes"},
    )

    assert ExternalContact.objects.filter(pk=stored_parent.pk).exists()


# -- the audit log ----------------------------------------------------------------------------------


@pytest.fixture(params=["viewer", "manager"])
def ordinary_client(request):
    return request.getfixturevalue(f"{request.param}_client")


def test_the_audit_log_is_hidden_from_staff_who_are_not_superusers(ordinary_client):
    assert ordinary_client.get(reverse(AUDIT_LIST)).status_code == 403

    index = ordinary_client.get(reverse("admin:index"))

    assert index.status_code == 200
    assert reverse(AUDIT_LIST) not in text_of(index)
    assert reverse("admin:contacts_externalcontact_changelist") in text_of(index)


def test_the_audit_log_is_shown_to_superusers(superuser_client):
    assert superuser_client.get(reverse(AUDIT_LIST)).status_code == 200

    index = superuser_client.get(reverse("admin:index"))

    assert reverse(AUDIT_LIST) in text_of(index)


def test_the_view_permission_on_audit_entries_does_not_open_the_audit_log():
    client = logged_in(make_staff("almost-root", perms=["view_auditentry", "view_externalcontact"]))

    assert client.get(reverse(AUDIT_LIST)).status_code == 403


# -- people who are not staff ------------------------------------------------------------------------


def test_a_user_who_is_not_staff_is_sent_to_the_login_page(stored_parent):
    client = logged_in(make_staff("parent-user", groups=["学校管理员"], is_staff=False))

    for url in (
        reverse("admin:contacts_externalcontact_changelist"),
        parent_url(stored_parent),
        lookup_url(),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


def test_a_user_who_is_not_staff_cannot_refresh(stored_parent, wecom):
    client = logged_in(make_staff("parent-user", groups=["学校管理员"], is_staff=False))
    calls_before = wecom.contact_calls()

    response = client.post(refresh_url(stored_parent))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert wecom.contact_calls() == calls_before


def test_an_anonymous_visitor_sees_no_parent_data(stored_parent, client):
    response = client.get(parent_url(stored_parent), follow=True)

    page = text_of(response)
    assert "李小明" not in page
    assert all(phone not in page for phone in ALL_SEED_PHONES)
    assert response.redirect_chain[-1][0].startswith(reverse("admin:login"))
