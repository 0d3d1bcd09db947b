from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from contacts.admin import audit, callbacks, jobs, parents, snapshots, staff  # noqa: F401 - registers the admins

admin.site.site_header = _("家校通讯录")
admin.site.site_title = _("家校通讯录")
admin.site.index_title = _("学校家长信息")
