"""The school's members and what they teach, the accounts they sign in to with WeCom, and the roles:
家长管理员 becomes 学校管理员 (its members stay in it), and 教师 is added (see contacts/staff_groups.py).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


FORMER_ADMIN, ADMIN, TEACHER = "家长管理员", "学校管理员", "教师"


def rename_admin_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    groups = Group.objects.using(schema_editor.connection.alias)
    former = groups.filter(name=FORMER_ADMIN).first()
    if former is None:
        return
    current = groups.filter(name=ADMIN).first()
    if current is None:
        former.name = ADMIN
        former.save(update_fields=["name"])
        return
    # A group of the new name already exists (made by hand): one group keeps everyone and every right.
    current.user_set.add(*former.user_set.all())
    current.permissions.add(*former.permissions.all())
    former.delete()


def restore_admin_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    groups = Group.objects.using(schema_editor.connection.alias)
    groups.filter(name=TEACHER).delete()
    if not groups.filter(name=FORMER_ADMIN).exists():
        groups.filter(name=ADMIN).update(name=FORMER_ADMIN)


def create_groups(apps, schema_editor):
    from contacts.staff_groups import ensure_staff_groups_in_migration

    ensure_staff_groups_in_migration(apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contacts', '0006_audit_phone_search'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='StaffMember',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('first_seen_at', models.DateTimeField(auto_now_add=True, verbose_name='首次同步')),
                ('last_seen_at', models.DateTimeField(verbose_name='最近同步')),
                ('gone_at', models.DateTimeField(blank=True, help_text='最近一次同步时企业微信已不再列出', null=True, verbose_name='已离开花名册')),
                ('userid', models.CharField(max_length=128, unique=True, verbose_name='成员userid')),
                ('name', models.TextField(blank=True, null=True, verbose_name='姓名')),
                ('status', models.SmallIntegerField(blank=True, choices=[(1, '已激活'), (2, '已禁用'), (4, '未激活'), (5, '已退出企业')], null=True, verbose_name='企业微信状态')),
            ],
            options={
                'verbose_name': '老师',
                'verbose_name_plural': '老师',
                'ordering': ['name', 'userid'],
            },
        ),
        migrations.CreateModel(
            name='WeComAccount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('userid', models.CharField(help_text='该成员在企业微信通讯录中的账号（userid）。关联后，该成员可用企业微信登录这个账号。', max_length=64, unique=True, verbose_name='企业微信userid')),
                ('linked_at', models.DateTimeField(auto_now_add=True, verbose_name='关联时间')),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='wecom_account', to=settings.AUTH_USER_MODEL, verbose_name='账号')),
            ],
            options={
                'verbose_name': '企业微信账号',
                'verbose_name_plural': '企业微信账号',
            },
        ),
        migrations.CreateModel(
            name='DepartmentAdmin',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('first_seen_at', models.DateTimeField(auto_now_add=True, verbose_name='首次同步')),
                ('last_seen_at', models.DateTimeField(verbose_name='最近同步')),
                ('gone_at', models.DateTimeField(blank=True, help_text='最近一次同步时企业微信已不再列出', null=True, verbose_name='已离开花名册')),
                ('userid', models.CharField(db_index=True, max_length=128, verbose_name='成员userid')),
                ('type', models.SmallIntegerField(choices=[(1, '学校负责人'), (2, '年级负责人'), (3, '班主任'), (4, '任课老师'), (5, '学段负责人')], verbose_name='职责')),
                ('subject', models.CharField(blank=True, default='', max_length=64, verbose_name='科目')),
                ('department', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='admins', to='contacts.department', verbose_name='部门')),
            ],
            options={
                'verbose_name': '任教',
                'verbose_name_plural': '任教',
                'ordering': ['department', 'type', 'userid'],
                'constraints': [models.UniqueConstraint(fields=('department', 'userid', 'type', 'subject'), name='unique_department_admin')],
            },
        ),
        migrations.RunPython(rename_admin_group, restore_admin_group),
        migrations.RunPython(create_groups, migrations.RunPython.noop),
    ]
