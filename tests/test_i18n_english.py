"""The admin speaks English when asked, and Chinese by default; the English catalogue is complete."""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation

from contacts.models import ExternalContact
from contacts.services.changes import FIELD_LABELS, ContactChanges

PO_FILE = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO_FILE = PO_FILE.with_suffix(".mo")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\{\s*\w+\s*\}\}")


def _po_entries() -> list[dict]:
    """Each entry of the .po file: its flags, msgid and msgstr (obsolete entries left out)."""
    entries = []
    for block in PO_FILE.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith("#~")]
        entry = {"flags": [], "msgctxt": None, "msgid": None, "msgstr": None}
        key = None
        for line in lines:
            if line.startswith("#,"):
                entry["flags"] += [flag.strip() for flag in line[2:].split(",")]
            elif line.startswith("#"):
                continue
            elif line.startswith(("msgctxt ", "msgid ", "msgstr ")):
                key, _, text = line.partition(" ")
                entry[key] = ast.literal_eval(text)
            elif line.startswith('"') and key:
                entry[key] += ast.literal_eval(line)
        if entry["msgid"] is not None:
            entries.append(entry)
    return entries


@pytest.fixture(autouse=True)
def _restore_language():
    # A request activates its language for the whole thread; later tests expect the default.
    with translation.override(translation.get_language()):
        yield


@pytest.fixture
def staff_client(client, django_user_model):
    django_user_model.objects.create_superuser(username="admin", email="admin@example.com", password="pw-for-tests")
    # django-axes checks every sign-in against its lockouts and needs the request to do it.
    assert client.login(request=HttpRequest(), username="admin", password="pw-for-tests")
    return client


@pytest.mark.django_db
def test_admin_index_in_english(staff_client):
    response = staff_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert response.status_code == 200
    assert "School Contacts" in page
    assert "Parents" in page
    assert "Refresh history" in page
    assert "家校通讯录" not in page


@pytest.mark.django_db
def test_admin_index_in_chinese(staff_client):
    response = staff_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    page = response.content.decode()
    assert response.status_code == 200
    assert "家校通讯录" in page
    assert "家长" in page
    assert "School Contacts" not in page


@pytest.mark.django_db
def test_parent_list_in_english(staff_client):
    ExternalContact.objects.create(external_userid="wmI18N", name="李四", type=1)
    response = staff_client.get(reverse("admin:contacts_externalcontact_changelist"), HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert response.status_code == 200
    assert "School Contacts" in page
    assert "Parents" in page
    assert "Refresh status" in page  # a filter title
    assert "Teachers following" in page  # a column
    assert "WeChat user" in page  # a choice
    assert "Never" in page  # never refreshed
    assert "Look up by external_userid" in page
    assert "刷新情况" not in page


@pytest.mark.django_db
def test_parent_list_in_chinese(staff_client):
    ExternalContact.objects.create(external_userid="wmI18N", name="李四", type=1)
    response = staff_client.get(reverse("admin:contacts_externalcontact_changelist"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    page = response.content.decode()
    assert response.status_code == 200
    assert "家校通讯录" in page
    assert "家长" in page
    assert "刷新情况" in page
    assert "跟进老师数" in page
    assert "微信用户" in page
    assert "Refresh status" not in page


@pytest.mark.django_db
def test_parent_page_in_english(staff_client):
    contact = ExternalContact.objects.create(external_userid="wmI18N", name="李四", type=1)
    response = staff_client.get(
        reverse("admin:contacts_externalcontact_change", args=[contact.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Basic information" in page
    assert "Refresh history" in page
    assert "No successful refresh yet." in page
    assert "Refresh from WeCom" in page
    assert "基本信息" not in page


def test_change_summary_in_english():
    with translation.override("en"):
        assert ContactChanges(fields={"name": ["李四", "李五"]}).summary() == "Name: 李四 → 李五"
        assert ContactChanges().summary() == "No changes"
        assert ContactChanges(created=True).summary() == "New parent, saved for the first time"
        assert ContactChanges(fields={"is_subscribe": [None, True]}).summary() == (
            "Subscribed to school notifications: (empty) → Yes"
        )


def test_change_summary_stays_chinese_by_default():
    with translation.override("zh-hans"):
        assert ContactChanges(fields={"name": ["李四", "李五"]}).summary() == "姓名：李四 → 李五"
        assert ContactChanges().summary() == "无变化"


def test_every_field_label_has_english():
    with translation.override("en"):
        for label in FIELD_LABELS.values():
            english = translation.gettext(label)
            assert english, label
            assert not re.search(r"[\u4e00-\u9fff]", english), label


def test_every_message_translated():
    entries = _po_entries()
    header, messages = entries[0], entries[1:]
    assert header["msgid"] == ""
    assert len(messages) > 100
    untranslated = [entry["msgid"] for entry in messages if not entry["msgstr"]]
    assert untranslated == []
    fuzzy = [entry["msgid"] for entry in entries if "fuzzy" in entry["flags"]]
    assert fuzzy == []
    still_chinese = [entry["msgid"] for entry in messages if re.search(r"[\u4e00-\u9fff]", entry["msgstr"])]
    assert still_chinese == []


def test_placeholders_kept():
    for entry in _po_entries()[1:]:
        assert sorted(PLACEHOLDER.findall(entry["msgid"])) == sorted(PLACEHOLDER.findall(entry["msgstr"])), entry


def test_compiled_catalogue_matches_po():
    """The .mo kept in the repository carries every translation of the .po."""
    with MO_FILE.open("rb") as mo:
        catalogue = gettext.GNUTranslations(mo)
    stale = [
        entry["msgid"]
        for entry in _po_entries()[1:]
        if (
            catalogue.pgettext(entry["msgctxt"], entry["msgid"])
            if entry["msgctxt"]
            else catalogue.gettext(entry["msgid"])
        )
        != entry["msgstr"]
    ]
    assert stale == []
