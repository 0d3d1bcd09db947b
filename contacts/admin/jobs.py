"""Background jobs in the admin: the job list, the read-only job page, and the start buttons' views.

Staff with `contacts.run_syncjob` start a job from the parent list: the button opens a
page that says what the job will do and about how long it takes, and only its POST
(CSRF checked) starts the job, as the admin's own delete confirmation does. Everybody
with `contacts.view_syncjob` follows its progress on the job page, which reloads itself
while the job is active. Jobs are about the whole school: only staff who see every parent
read or start them.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from contacts.admin.permissions import NotFoundAdminMixin, WholeSchoolAdminMixin, staff_name
from contacts.admin_site import NotAllowed
from contacts.models import JobItem, JobKind, JobStatus, SyncJob
from contacts.scope import sees_all_parents
from contacts.selectors import JobEstimate, active_job, failed_job_items, job_estimate, job_progress, with_job_counts
from contacts.services.job_errors import job_error_text
from contacts.services.jobs import DEFAULT_STALE_HOURS, JobAlreadyActive, JobNotStarted, start_job
from contacts.sharedcache import SharedCacheUnavailable
from contacts.texts import error_text
from contacts.wecom.errors import WeComError

RUN_PERMISSION = "contacts.run_syncjob"
# Seconds between reloads of an active job's page: often enough to watch it move, rarely
# enough that a page left open costs nothing.
REFRESH_SECONDS = 3


def can_run_jobs(request: HttpRequest) -> bool:
    return request.user.has_perm(RUN_PERMISSION) and sees_all_parents(user=request.user)


def job_url(job: SyncJob) -> str:
    return reverse("admin:contacts_syncjob_change", args=[job.pk])


@admin.register(SyncJob)
class SyncJobAdmin(WholeSchoolAdminMixin, NotFoundAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "kind", "status", "progress_display", "created_by", "created_at", "finished_at")
    list_filter = ("kind", "status")
    list_per_page = 25
    list_select_related = ("created_by",)
    fields = (
        "kind",
        "status",
        "stale_hours",
        "created_by_name",
        "created_at",
        "started_at",
        "finished_at",
        "error_display",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # A finished job may go; an active one is still being worked on.
        if obj is not None and obj.is_active:
            return False
        return super().has_delete_permission(request, obj)

    def get_queryset(self, request):
        return with_job_counts(super().get_queryset(request))

    def get_fields(self, request, obj=None):
        if obj is not None and obj.kind != JobKind.REFRESH_STALE:
            return [name for name in self.fields if name != "stale_hours"]
        return self.fields

    @admin.display(description=_("发起人"))
    def created_by_name(self, job: SyncJob) -> str:
        return staff_name(job.created_by)

    @admin.display(description=_("进度"))
    def progress_display(self, job: SyncJob) -> str:
        text = gettext("%(finished)d / %(total)d") % {
            "finished": job.item_done + job.item_failed,
            "total": job.item_total,
        }
        if job.item_failed:
            text += " " + gettext("（%(failed)d 失败）") % {"failed": job.item_failed}
        return text

    @admin.display(description=_("错误"))
    def error_display(self, job: SyncJob) -> str:
        return job_error_text(job) or self.get_empty_value_display()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        if job is not None:
            progress = job_progress(job=job)
            extra_context = {
                **(extra_context or {}),
                "progress": progress,
                "failures": [failure_row(item) for item in failed_job_items(job=job)] if progress.failed else [],
                "auto_refresh": job.is_active,
                "refresh_seconds": REFRESH_SECONDS,
                "waiting_for_worker": job.status == JobStatus.QUEUED,
                "paused": job.is_paused(now=timezone.now()),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    # -- starting a job ---------------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "start/<str:kind>/",
                self.admin_site.admin_view(self.start_view),
                name="contacts_syncjob_start",
            ),
            *super().get_urls(),
        ]

    def start_view(self, request: HttpRequest, kind: str) -> HttpResponse:
        """GET: what the job will do, and a button to start it; POST: start it."""
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        if not can_run_jobs(request):
            raise NotAllowed(gettext("发起全校任务需要“学校管理员”组的权限。"))
        if kind not in JobKind.values:
            raise Http404
        if request.method == "GET":
            return self._start_confirmation(request, JobKind(kind))
        kind_label = JobKind(kind).label
        stale_hours = DEFAULT_STALE_HOURS if kind == JobKind.REFRESH_STALE else None
        try:
            job = start_job(kind=kind, user=request.user, stale_hours=stale_hours)
        except JobAlreadyActive as exc:
            running = exc.job
            self.message_user(
                request,
                format_html(
                    '{} <a href="{}">{}</a>',
                    gettext("「%(kind)s」任务已在进行中，请等它结束后再发起：") % {"kind": kind_label},
                    job_url(running),
                    running,
                ),
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:contacts_externalcontact_changelist"))
        except JobNotStarted:
            self.message_user(
                request, gettext("任务未能加入队列，请联系系统管理员（详见服务器日志）。"), messages.ERROR
            )
            return HttpResponseRedirect(reverse("admin:contacts_externalcontact_changelist"))
        except SharedCacheUnavailable as error:
            self.message_user(request, error.describe(language=get_language()), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:contacts_externalcontact_changelist"))
        self.message_user(
            request, gettext("已发起「%(kind)s」任务，本页显示其进度。") % {"kind": kind_label}, messages.SUCCESS
        )
        return HttpResponseRedirect(job_url(job))

    def _start_confirmation(self, request: HttpRequest, kind: JobKind) -> HttpResponse:
        estimate = job_estimate(kind=kind, stale_for=dt.timedelta(hours=DEFAULT_STALE_HOURS))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("发起「%(kind)s」？") % {"kind": kind.label},
            "kind": kind,
            "what": _what_the_job_does(kind, estimate),
            "how_long": _how_long(estimate),
            "running": active_job(kind=kind),
            "parent_list_url": reverse("admin:contacts_externalcontact_changelist"),
        }
        return TemplateResponse(request, "admin/contacts/syncjob/start_confirmation.html", context)


def _what_the_job_does(kind: JobKind, estimate: JobEstimate) -> str:
    if kind == JobKind.SYNC_SCHOOL:
        if estimate.parents is None:
            return gettext(
                "从企业微信读取学校通讯录（班级、学生和家长）并保存，再逐一刷新通讯录中的每位家长；"
                "家长人数要读取通讯录后才知道。"
            )
        return gettext(
            "从企业微信读取学校通讯录（班级、学生和家长）并保存，再逐一刷新通讯录中和本系统已保存的家长，"
            "上次共 %(parents)d 位。"
        ) % {"parents": estimate.parents}
    if kind == JobKind.REFRESH_STALE:
        return gettext("从企业微信逐一刷新超过 %(hours)d 小时未成功刷新的 %(parents)d 位家长。") % {
            "hours": DEFAULT_STALE_HOURS,
            "parents": estimate.parents,
        }
    return gettext("从企业微信逐一刷新本系统已保存的全部 %(parents)d 位家长。") % {"parents": estimate.parents}


def _how_long(estimate: JobEstimate) -> str:
    if estimate.minutes is None:
        return ""
    rate, concurrency = settings.WECOM_RATE_PER_MINUTE, settings.WECOM_CONCURRENCY
    if rate > 0:
        basis = gettext("按每分钟最多 %(rate)d 次企业微信调用、同时刷新 %(concurrency)d 位估算") % {
            "rate": rate,
            "concurrency": concurrency,
        }
    else:
        basis = gettext("按同时刷新 %(concurrency)d 位估算") % {"concurrency": concurrency}
    return gettext("%(basis)s，约需 %(minutes)d 分钟。") % {"basis": basis, "minutes": max(estimate.minutes, 1)}


def failure_row(item: JobItem) -> dict:
    """A failed parent on the job page: named and linked when stored, its error in the reader's language."""
    stored = item.contact_pk is not None
    reason = error_text(item.failure, legacy=item.error)
    if item.failure and WeComError.from_record(item.failure).not_connected:
        # What became of the local data depends on whether there was any.
        if stored:
            reason += " " + gettext("本地数据已保留，并标记为“已无联系”。")
        else:
            reason += " " + gettext("这位家长从未保存在本系统中，没有本地数据。")
    return {
        "external_userid": item.external_userid,
        "name": item.contact_name or "",
        "url": reverse("admin:contacts_externalcontact_change", args=[item.contact_pk]) if stored else "",
        "errcode": item.errcode,
        "reason": reason,
    }
