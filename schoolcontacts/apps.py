"""The project's own names and admin site for the apps it is assembled from.

Django names an app in the admin after its AppConfig; these subclasses give the
libraries' apps names in the school's language, and make the admin site the school's.
"""

from axes.apps import AppConfig as AxesConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _
from django_tasks_db.apps import TasksAppConfig


class SchoolAdminConfig(AdminConfig):
    default_site = "contacts.admin_site.SchoolAdminSite"


class BackgroundTasksConfig(TasksAppConfig):
    verbose_name = _("任务队列")


class LoginLockoutsConfig(AxesConfig):
    verbose_name = _("登录锁定")
