"""The background task queue's own records (django-tasks-db), for whoever runs the system.

School staff follow their work on the job pages; the raw queue, with its arguments and
tracebacks, is for superusers.
"""

from django.contrib import admin
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from contacts.admin.permissions import ReadOnlyAdminMixin, SuperuserOnlyAdminMixin

# django_tasks_db registers its admin first (it comes before contacts in INSTALLED_APPS).
admin.site.unregister(DBTaskResult)


@admin.register(DBTaskResult)
class TaskRecordAdmin(ReadOnlyAdminMixin, SuperuserOnlyAdminMixin, DBTaskResultAdmin):
    pass
