"""Background jobs in the admin: the job list, the read-only job page, and the start buttons' views.

Staff with `contacts.run_syncjob` start a job from the parent list (POST only, CSRF
checked); everybody with `contacts.view_syncjob` follows its progress on the job page,
which reloads itself while the job is active. Jobs are about the whole school: only staff who
see every parent read or start them.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from contacts.admin.permissions import NotFoundAdminMixin, WholeSchoolAdminMixin, staff_name
from contacts.admin_site import NotAllowed
from contacts.models import JobKind, JobStatus, SyncJob
from contacts.scope import sees_all_parents
from contacts.selectors import failed_job_items, job_progress, with_job_counts
from contacts.services.jobs import DEFAULT_STALE_HOURS, JobAlreadyActive, JobNotStarted, start_job
from contacts.sharedcache import SharedCacheUnavailable

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
    fields = ("kind", "status", "stale_hours", "created_by_name", "created_at", "started_at", "finished_at", "error")
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
    def created_by_name(self, job: SyncJob) -> str | None:
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

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        if job is not None:
            progress = job_progress(job=job)
            extra_context = {
                **(extra_context or {}),
                "progress": progress,
                "failures": failed_job_items(job=job) if progress.failed else [],
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
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not can_run_jobs(request):
            raise NotAllowed(gettext("发起全校任务需要“学校管理员”组的权限。"))
        if kind not in JobKind.values:
            raise Http404
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
