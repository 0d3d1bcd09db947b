"""The three staff groups (roles) a school admin assigns people to.

学校管理员 (school administrators, called 家长管理员 until migration 0007 renamed the group, its
members kept): everything staff can do: read every parent, refresh from WeCom, look up new
parents, start the whole-school sync and bulk refreshes, see full phones, export parents.
查看家长 (the office): read every parent, their children and teachers' remarks, refresh history,
job progress and the WeCom events received, export them to Excel; phones masked.
教师 (a teacher): read and refresh their own families (contacts/scope.py), their children and
teachers' remarks and refresh history, export them to Excel; phones masked (in the sheets too);
no jobs, no WeCom events, no look-up of new parents. A member signing in with WeCom for the first time
gets this role.

Seeing every parent is the permission `view_all_parents`, not membership of a group: the scope
of each page is decided by contacts.scope from permissions alone.

They are created by a migration and brought up to date after every `migrate`
(post_migrate), so a permission added later reaches existing installations; a
permission a school removed from a group by hand is not added back unless it is new.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

ADMIN = "学校管理员"
VIEWER = "查看家长"
TEACHER = "教师"

TEACHER_READ = [
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
]
# Contact sheets: every role exports the parents it reads, phones masked as on its pages.
EXPORT = ["export_externalcontact"]
TEACHER_PERMISSIONS = [*TEACHER_READ, "refresh_externalcontact", *EXPORT]
READ = [*TEACHER_READ, "view_all_parents", "view_syncjob", "view_callbackevent"]
MANAGE = [*READ, "refresh_externalcontact", "lookup_externalcontact", "view_phone_numbers", "run_syncjob"]
GROUPS = {ADMIN: [*MANAGE, *EXPORT], VIEWER: [*READ, *EXPORT], TEACHER: TEACHER_PERMISSIONS}


def ensure_staff_groups(*, apps=global_apps, using: str = "default") -> None:
    contacts_config = apps.get_app_config("contacts")
    # Permissions are normally created after all migrations; the groups need them now.
    create_permissions(contacts_config, apps=apps, verbosity=0, using=using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _created = Group.objects.using(using).get_or_create(name=name)
        wanted = Permission.objects.using(using).filter(content_type__app_label="contacts", codename__in=codenames)
        group.permissions.add(*wanted)


def ensure_staff_groups_in_migration(apps, schema_editor) -> None:
    """ensure_staff_groups() as a migration's RunPython step, with the migration's historical models."""
    app_config = apps.get_app_config("contacts")
    # create_permissions() skips apps without a models module; historical apps have none.
    app_config.models_module = True
    try:
        ensure_staff_groups(apps=apps, using=schema_editor.connection.alias)
    finally:
        app_config.models_module = None
