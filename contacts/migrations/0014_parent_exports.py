"""Contact sheets: the permission to export parents to Excel (the roles get it after migrate, from
contacts/staff_groups.py), exports written in the background, and their entries in the audit log."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('contacts', '0013_parent_scope_permissions'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='externalcontact',
            options={'ordering': ['name', 'external_userid'], 'permissions': [('refresh_externalcontact', '可以从企业微信刷新家长'), ('view_phone_numbers', '可以查看完整手机号'), ('view_all_parents', '可以查看全校家长'), ('lookup_externalcontact', '可以按 external_userid 查找新家长'), ('export_externalcontact', '可以导出家长名单')], 'verbose_name': '家长', 'verbose_name_plural': '家长'},
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(choices=[('refresh', '从企业微信刷新'), ('lookup', '按 external_userid 查找'), ('view_phones', '查看完整手机号'), ('phone_search', '按手机号搜索'), ('export', '导出 Excel')], max_length=20, verbose_name='操作'),
        ),
        migrations.CreateModel(
            name='Export',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('username', models.CharField(max_length=150, verbose_name='用户名')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='导出时间')),
                ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='完成时间')),
                ('status', models.CharField(choices=[('queued', '排队中'), ('running', '生成中'), ('finished', '已完成'), ('failed', '失败')], default='queued', max_length=10, verbose_name='状态')),
                ('description', models.TextField(blank=True, verbose_name='筛选条件')),
                ('title', models.CharField(max_length=31, verbose_name='工作表名称')),
                ('columns', models.JSONField(default=list, verbose_name='列')),
                ('reveal_phones', models.BooleanField(default=False, verbose_name='含完整手机号')),
                ('language', models.CharField(blank=True, max_length=10, verbose_name='语言')),
                ('row_count', models.PositiveIntegerField(default=0, verbose_name='家长数')),
                ('contact_ids', models.JSONField(default=list, editable=False)),
                ('file_name', models.CharField(editable=False, max_length=64)),
                ('error', models.TextField(blank=True, verbose_name='错误')),
                ('user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='导出人')),
            ],
            options={
                'verbose_name': '导出文件',
                'verbose_name_plural': '导出文件',
                'ordering': ['-created_at', '-id'],
            },
        ),
    ]
