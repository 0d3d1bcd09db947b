"""The three staff groups (roles) the migrations create, tested by what their members can do."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.db import connection
from django.urls import reverse

from contacts.models import AuditAction, AuditEntry, ExternalContact
from tests.admin_factories import (
    ALL_SEED_PHONES,
    MANAGER_GROUP,
    MASKED_SEED_PHONES,
    TEACHER_GROUP,
    VIEWER_GROUP,
    list_url,
    listed,
    logged_in,
    lookup_url,
    make_staff,
    parent_url,
    refresh_url,
    seed,
    shown_messages,
    text_of,
)

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db


def codenames(group_name: str) -> set[str]:
    return set(Group.objects.get(name=group_name).permissions.values_list("codename", flat=True))


ROLES = [MANAGER_GROUP, VIEWER_GROUP, TEACHER_GROUP]
TEACHER_READS = {
    "view_externalcontact",
    "view_followuser",
    "view_followusertag",
    "view_externalprofileattribute",
    "view_contactsnapshot",
    "view_department",
    "view_schoolclass",
    "view_student",
    "view_guardianship",
    "view_staffmember",
}
# Contact sheets: every role exports what it reads.
EXPORT = "export_externalcontact"


def test_the_migrations_created_the_three_groups():
    assert set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True)) == set(ROLES)
    assert not Group.objects.filter(name="家长管理员").exists()


def test_the_viewer_group_may_only_view_every_parent_and_export():
    assert codenames(VIEWER_GROUP) == TEACHER_READS | {"view_all_parents", "view_syncjob", "view_callbackevent", EXPORT}


def test_the_teacher_group_may_read_refresh_and_export_its_own_parents_but_not_jobs_or_wecom_events():
    assert codenames(TEACHER_GROUP) == TEACHER_READS | {"refresh_externalcontact", EXPORT}


def test_the_manager_group_may_also_refresh_look_up_run_jobs_and_see_phones():
    assert codenames(MANAGER_GROUP) == codenames(VIEWER_GROUP) | {
        "refresh_externalcontact",
        "lookup_externalcontact",
        "view_phone_numbers",
        "run_syncjob",
    }


def test_no_group_may_edit_or_read_the_audit_log():
    for name in ROLES:
        granted = codenames(name)
        assert not {c for c in granted if c.startswith(("add_", "change_", "delete_"))}, name
        assert "view_auditentry" not in granted, name


# -- 查看家长 -------------------------------------------------------------------------------------


def test_a_viewer_opens_the_list_and_the_parent_page(stored_parent, viewer_client):
    assert listed(viewer_client.get(list_url())) == ["woAAAA"]

    response = viewer_client.get(parent_url(stored_parent))

    assert response.status_code == 200
    page = text_of(response)
    assert "李小明-爸爸" in page
    assert "李部长" in page
    assert "刷新记录" in page


def test_a_viewer_sees_masked_phones(stored_parent, viewer_client):
    page = text_of(viewer_client.get(parent_url(stored_parent)))

    assert all(masked in page for masked in MASKED_SEED_PHONES)
    assert not any(phone in page for phone in ALL_SEED_PHONES)


def test_a_viewer_has_no_refresh_button_lookup_or_action(stored_parent, viewer_client):
    page = text_of(viewer_client.get(parent_url(stored_parent)))
    list_page = text_of(viewer_client.get(list_url()))

    assert refresh_url(stored_parent) not in page
    assert lookup_url() not in list_page
    assert 'value="refresh_selected"' not in list_page


def test_a_viewer_cannot_refresh_or_look_up(stored_parent, viewer_client, wecom):
    calls_before = wecom.contact_calls()

    assert viewer_client.post(refresh_url(stored_parent)).status_code == 403
    assert viewer_client.post(lookup_url(), {"external_userid": "woNEW"}).status_code == 403

    assert wecom.contact_calls() == calls_before


def test_a_viewer_reads_the_refresh_records(stored_parent, viewer_client):
    snapshot = stored_parent.snapshots.get()

    assert viewer_client.get(reverse("admin:contacts_contactsnapshot_changelist")).status_code == 200
    assert viewer_client.get(reverse("admin:contacts_contactsnapshot_change", args=[snapshot.pk])).status_code == 200


def test_a_viewer_cannot_read_the_audit_log(viewer_client):
    assert viewer_client.get(reverse("admin:contacts_auditentry_changelist")).status_code == 403


# -- 学校管理员 ------------------------------------------------------------------------------------


def test_a_manager_sees_full_phones(stored_parent, manager_client):
    page = text_of(manager_client.get(parent_url(stored_parent)))

    assert all(phone in page for phone in ALL_SEED_PHONES)
    assert AuditEntry.objects.filter(action=AuditAction.VIEW_PHONES).count() == 1


def test_a_manager_has_the_refresh_button_and_the_lookup_link(stored_parent, manager_client):
    page = text_of(manager_client.get(parent_url(stored_parent)))
    list_page = text_of(manager_client.get(list_url()))

    assert f'action="{refresh_url(stored_parent)}"' in page
    assert f'href="{lookup_url()}"' in list_page
    assert 'value="refresh_selected"' in list_page


def test_a_manager_refreshes_a_parent(stored_parent, manager_client, wecom):
    wecom.answers(seed())

    response = manager_client.post(refresh_url(stored_parent), follow=True)

    assert shown_messages(response) == [("success", "已从企业微信刷新「李四」：无变化")]
    assert stored_parent.snapshots.count() == 1  # an unchanged answer adds no record


def test_a_manager_looks_up_a_new_parent(manager_client, wecom):
    wecom.answers(seed())

    response = manager_client.post(lookup_url(), {"external_userid": "woAAAA"})

    assert response.status_code == 302
    assert ExternalContact.objects.filter(external_userid="woAAAA").exists()


def test_a_manager_still_cannot_edit_a_parent_or_read_the_audit_log(stored_parent, manager_client):
    assert manager_client.get(reverse("admin:contacts_externalcontact_add")).status_code == 403
    assert 'name="_save"' not in text_of(manager_client.get(parent_url(stored_parent)))
    assert manager_client.get(reverse("admin:contacts_auditentry_changelist")).status_code == 403


def test_leaving_the_group_takes_the_rights_away(stored_parent, manager, wecom):
    manager.groups.clear()
    client = logged_in(manager)

    assert client.get(list_url()).status_code == 403
    assert client.post(refresh_url(stored_parent)).status_code == 403


# -- 教师 ------------------------------------------------------------------------------------------


def test_a_teacher_reads_a_parent_they_follow_with_masked_phones(stored_parent, teacher_client):
    assert listed(teacher_client.get(list_url())) == ["woAAAA"]

    page = text_of(teacher_client.get(parent_url(stored_parent)))

    assert "李部长" in page
    assert all(masked in page for masked in MASKED_SEED_PHONES)
    assert not any(phone in page for phone in ALL_SEED_PHONES)


def test_a_teacher_refreshes_a_parent_they_follow(stored_parent, teacher_client, wecom):
    assert f'action="{refresh_url(stored_parent)}"' in text_of(teacher_client.get(parent_url(stored_parent)))
    wecom.answers(seed())
    calls_before = wecom.contact_calls()

    response = teacher_client.post(refresh_url(stored_parent), follow=True)

    assert shown_messages(response) == [("success", "已从企业微信刷新「李四」：无变化")]
    assert wecom.contact_calls() == calls_before + 1


def test_a_teacher_cannot_look_up_or_see_jobs_and_wecom_events(stored_parent, teacher_client, wecom):
    calls_before = wecom.contact_calls()

    assert lookup_url() not in text_of(teacher_client.get(list_url()))
    assert teacher_client.post(lookup_url(), {"external_userid": "woNEW"}).status_code == 403
    assert teacher_client.get(reverse("admin:contacts_syncjob_changelist")).status_code == 403
    assert teacher_client.get(reverse("admin:contacts_callbackevent_changelist")).status_code == 403
    assert teacher_client.get(reverse("admin:contacts_auditentry_changelist")).status_code == 403
    assert wecom.contact_calls() == calls_before


# -- the rename of 家长管理员 ------------------------------------------------------------------------


def rename_admin_group():
    migration = importlib.import_module("contacts.migrations.0007_staff_members_and_wecom_sign_in")
    migration.rename_admin_group(apps, SimpleNamespace(connection=connection))


def test_the_former_admin_group_is_renamed_with_its_members_and_rights():
    Group.objects.filter(name=MANAGER_GROUP).update(name="家长管理员")
    office = make_staff("office", groups=["家长管理员"])

    rename_admin_group()

    group = Group.objects.get(name=MANAGER_GROUP)
    assert list(group.user_set.all()) == [office]
    assert "refresh_externalcontact" in codenames(MANAGER_GROUP)
    assert not Group.objects.filter(name="家长管理员").exists()


def test_members_of_the_former_group_join_a_group_of_the_new_name_made_by_hand():
    former = Group.objects.create(name="家长管理员")
    office = make_staff("office", groups=["家长管理员"])
    head = make_staff("head", groups=[MANAGER_GROUP])

    rename_admin_group()

    assert set(Group.objects.get(name=MANAGER_GROUP).user_set.all()) == {office, head}
    assert not Group.objects.filter(pk=former.pk).exists()
