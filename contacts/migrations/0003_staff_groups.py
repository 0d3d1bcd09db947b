"""Create the staff groups 查看家长 and 家长管理员 (see contacts/staff_groups.py)."""

from django.db import migrations

GROUP_NAMES = ["查看家长", "家长管理员"]


def create_groups(apps, schema_editor):
    from contacts.staff_groups import ensure_staff_groups_in_migration

    ensure_staff_groups_in_migration(apps, schema_editor)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUP_NAMES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("contacts", "0002_cache_table"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
