"""Phone numbers are shown as 100****0000 unless the staff member may see them whole."""

import pytest
from django.urls import reverse

from contacts.models import ContactSnapshot
from tests.admin_factories import (
    ALL_SEED_PHONES,
    MASKED_SEED_PHONES,
    list_url,
    listed,
    logged_in,
    make_staff,
    other_parent_answer,
    parent_answer,
    parent_url,
    refresh_url,
    seed,
    shown_messages,
    store_parent,
    text_of,
)

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

NEW_PHONE = "13912345678"


def snapshot_url(snapshot: ContactSnapshot) -> str:
    return reverse("admin:contacts_contactsnapshot_change", args=[snapshot.pk])


def snapshot_list_url() -> str:
    return reverse("admin:contacts_contactsnapshot_changelist")


def assert_no_full_phone(page: str, phones=(*ALL_SEED_PHONES, NEW_PHONE)) -> None:
    leaked = [phone for phone in phones if phone in page]
    assert not leaked, f"full phone numbers shown: {leaked}"


@pytest.fixture
def parent_whose_phones_changed(stored_parent, wecom):
    """李四, refreshed once more after the school noted a new phone number instead of the old ones."""
    store_parent(wecom, parent_answer(subscriber_info={"remark": "李小明-爸爸", "remark_mobiles": [NEW_PHONE]}))
    return stored_parent


@pytest.fixture
def refresher_client():
    """May refresh, but not see full phone numbers."""
    return logged_in(
        make_staff("refresher", perms=["view_externalcontact", "view_all_parents", "refresh_externalcontact"])
    )


def test_the_parent_page_masks_every_phone_without_the_permission(stored_parent, viewer_client):
    response = viewer_client.get(parent_url(stored_parent))

    page = text_of(response)
    assert '<div class="readonly">100****0000, 100****0001</div>' in page
    assert "<p>100****0003, 100****0004</p>" in page
    assert_no_full_phone(page)


def test_the_mask_keeps_the_first_three_and_last_four_digits(stored_parent, viewer_client):
    page = text_of(viewer_client.get(parent_url(stored_parent)))

    for masked in MASKED_SEED_PHONES:
        assert masked in page


def test_the_parent_page_shows_full_phones_with_the_permission(stored_parent, manager_client):
    page = text_of(manager_client.get(parent_url(stored_parent)))

    assert '<div class="readonly">10000000000, 10000000001</div>' in page
    assert "<p>10000000003, 10000000004</p>" in page
    assert not any(masked in page for masked in MASKED_SEED_PHONES)


def test_the_raw_answer_is_masked_without_the_permission(stored_parent, viewer_client):
    snapshot = stored_parent.snapshots.get()

    response = viewer_client.get(snapshot_url(snapshot))

    assert response.status_code == 200
    page = text_of(response)
    assert '"raw-json"' in page
    for masked in MASKED_SEED_PHONES:
        assert masked in page
    assert_no_full_phone(page)


def test_the_raw_answer_is_whole_with_the_permission(stored_parent, manager_client):
    snapshot = stored_parent.snapshots.get()

    page = text_of(manager_client.get(snapshot_url(snapshot)))

    for phone in ALL_SEED_PHONES:
        assert phone in page


def test_the_refresh_history_masks_changed_phones(parent_whose_phones_changed, viewer_client):
    page = text_of(viewer_client.get(parent_url(parent_whose_phones_changed)))

    assert "学校备注的手机号：100****0000, 100****0001 → 139****5678" in page
    assert_no_full_phone(page)


def test_the_refresh_history_shows_changed_phones_with_the_permission(parent_whose_phones_changed, manager_client):
    page = text_of(manager_client.get(parent_url(parent_whose_phones_changed)))

    assert f"学校备注的手机号：10000000000, 10000000001 → {NEW_PHONE}" in page


def test_the_list_of_refreshes_masks_changed_phones(parent_whose_phones_changed, viewer_client):
    response = viewer_client.get(snapshot_list_url())

    page = text_of(response)
    assert "100****0000, 100****0001 → 139****5678" in page
    assert_no_full_phone(page)


def test_a_changed_snapshot_page_masks_its_summary_and_raw_answer(parent_whose_phones_changed, viewer_client):
    latest = parent_whose_phones_changed.snapshots.first()

    page = text_of(viewer_client.get(snapshot_url(latest)))

    assert "139****5678" in page
    assert_no_full_phone(page)


def test_the_refresh_message_masks_changed_phones_without_the_permission(stored_parent, refresher_client, wecom):
    wecom.answers(parent_answer(subscriber_info={"remark": "李小明-爸爸", "remark_mobiles": [NEW_PHONE]}))

    response = refresher_client.post(refresh_url(stored_parent), follow=True)

    [(level, text)] = shown_messages(response)
    assert level == "success"
    assert "100****0000, 100****0001 → 139****5678" in text
    assert_no_full_phone(text_of(response))


def test_the_refresh_message_shows_changed_phones_with_the_permission(stored_parent, manager_client, wecom):
    wecom.answers(parent_answer(subscriber_info={"remark": "李小明-爸爸", "remark_mobiles": [NEW_PHONE]}))

    response = manager_client.post(refresh_url(stored_parent), follow=True)

    [(_, text)] = shown_messages(response)
    assert f"10000000000, 10000000001 → {NEW_PHONE}" in text


def test_a_teachers_changed_phones_are_masked_in_the_history(stored_parent, viewer_client, wecom):
    answer = seed()
    answer["follow_user"][0]["remark_mobiles"] = [NEW_PHONE]
    store_parent(wecom, answer)

    page = text_of(viewer_client.get(parent_url(stored_parent)))

    assert "备注手机号 (rocky)：100****0003, 100****0004 → 139****5678" in page
    assert_no_full_phone(page)


@pytest.mark.parametrize("phone", ["10000000000", "10000000003", "100-0000-0003", "100 0000 0001"])
def test_staff_who_may_see_phones_find_a_parent_by_a_full_phone_number(stored_parent, manager_client, wecom, phone):
    store_parent(wecom, other_parent_answer())

    response = manager_client.get(list_url(), {"q": phone})

    assert listed(response) == ["woAAAA"]


def test_a_masked_number_finds_nobody(stored_parent, viewer_client):
    response = viewer_client.get(list_url(), {"q": "100****0000"})

    assert listed(response) == []
