"""The school's admin site: its names and the order of its apps.

It is Django's default admin site (`schoolcontacts.apps.SchoolAdminConfig` makes it so),
so `admin.site` and `@admin.register` mean this site everywhere. It lives outside the
contacts.admin package: importing that package registers the admins on this very site.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

SCHOOL_APP = "contacts"


class SchoolAdminSite(admin.AdminSite):
    site_header = _("家校通讯录")
    site_title = _("家校通讯录")
    index_title = _("学校家长信息")

    def get_app_list(self, request, app_label=None):
        # What the school works with comes first; the rest (sign-in, background tasks,
        # lockouts) is for whoever runs the system and keeps Django's alphabetical order.
        apps = super().get_app_list(request, app_label)
        return sorted(apps, key=lambda app: app["app_label"] != SCHOOL_APP)
