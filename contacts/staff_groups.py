"""The two staff groups a school admin assigns people to.

查看家长 (view parents): read parents, their children and teachers' remarks, refresh history,
job progress and the WeCom events received; phones masked.
家长管理员 (parent administrators): also refresh from WeCom, look up new parents, start the
whole-school sync and bulk refreshes, see full phones.

They are created by a migration and brought up to date after every `migrate`
(post_migrate), so a permission added later reaches existing installations; a
permission a school removed from a group by hand is not added back unless it is new.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

VIEWER = "查看家长"
MANAGER = "家长管理员"
READ = [
    "view_externalcontact",
    "view_followuser",
    "view_followusertag",
    "view_externalprofileattribute",
    "view_contactsnapshot",
    "view_syncjob",
    "view_department",
    "view_student",
    "view_guardianship",
    "view_callbackevent",
]
MANAGE = [*READ, "refresh_externalcontact", "view_phone_numbers", "run_syncjob"]
GROUPS = {VIEWER: READ, MANAGER: MANAGE}


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
