"""Sidebar filters of the parent list."""

import datetime as dt

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.models import FollowUser, FollowUserTag


class TeacherFilter(admin.SimpleListFilter):
    title = _("跟进老师")
    parameter_name = "teacher"

    def lookups(self, request, model_admin):
        userids = (
            FollowUser.objects.filter(ended_at__isnull=True)
            .order_by("userid")
            .values_list("userid", flat=True)
            .distinct()
        )
        return [(userid, userid) for userid in userids]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        followed = FollowUser.objects.filter(contact=OuterRef("pk"), userid=self.value(), ended_at__isnull=True)
        return queryset.filter(Exists(followed))


class TagFilter(admin.SimpleListFilter):
    title = _("老师打的标签")
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        names = (
            FollowUserTag.objects.exclude(tag_name__isnull=True)
            .filter(follow_user__ended_at__isnull=True)
            .order_by("tag_name")
            .values_list("tag_name", flat=True)
            .distinct()
        )
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        tagged = FollowUserTag.objects.filter(
            follow_user__contact=OuterRef("pk"), follow_user__ended_at__isnull=True, tag_name=self.value()
        )
        return queryset.filter(Exists(tagged))


class StaleFilter(admin.SimpleListFilter):
    title = _("刷新情况")
    parameter_name = "stale"

    DAYS = {"1": 1, "7": 7, "30": 30}

    def lookups(self, request, model_admin):
        return [
            ("1", _("超过 1 天未刷新")),
            ("7", _("超过 7 天未刷新")),
            ("30", _("超过 30 天未刷新")),
            ("never", _("从未成功刷新")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "never":
            return queryset.filter(last_refreshed_at__isnull=True)
        if value in self.DAYS:
            cutoff = timezone.now() - dt.timedelta(days=self.DAYS[value])
            return queryset.filter(Q(last_refreshed_at__lt=cutoff) | Q(last_refreshed_at__isnull=True))
        return queryset
