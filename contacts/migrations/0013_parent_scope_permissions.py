"""Seeing every parent and looking up new parents become permissions of their own
(contacts/scope.py): 查看家长 and 学校管理员 see every parent, 学校管理员 looks up new parents,
and 教师 may refresh their own families (see contacts/staff_groups.py)."""

from django.db import migrations


def update_groups(apps, schema_editor):
    from contacts.staff_groups import ensure_staff_groups_in_migration

    ensure_staff_groups_in_migration(apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ("contacts", "0012_stored_texts_in_the_readers_language"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="externalcontact",
            options={
                "ordering": ["name", "external_userid"],
                "permissions": [
                    ("refresh_externalcontact", "可以从企业微信刷新家长"),
                    ("view_phone_numbers", "可以查看完整手机号"),
                    ("view_all_parents", "可以查看全校家长"),
                    ("lookup_externalcontact", "可以按 external_userid 查找新家长"),
                ],
                "verbose_name": "家长",
                "verbose_name_plural": "家长",
            },
        ),
        migrations.RunPython(update_groups, migrations.RunPython.noop),
    ]
