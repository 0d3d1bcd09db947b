"""Background jobs over many parents, and each parent's outcome within a job.

A job's work is its items: one per parent. Workers claim items, so several workers
on several machines split one job and no parent is refreshed twice. A claim is a lease:
the worker renews it while it lives, and an item whose lease ran out is claimed again
by another worker (contacts.services.jobs).
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class JobKind(models.TextChoices):
    SYNC_SCHOOL = "sync_school", _("同步全校")
    REFRESH_ALL = "refresh_all", _("刷新全部家长")
    REFRESH_STALE = "refresh_stale", _("刷新过期家长")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    DISCOVERING = "discovering", _("读取花名册")
    RUNNING = "running", _("刷新中")
    FINISHED = "finished", _("已完成")
    FAILED = "failed", _("失败")


ACTIVE_STATUSES = [JobStatus.QUEUED, JobStatus.DISCOVERING, JobStatus.RUNNING]


class PauseReason(models.TextChoices):
    WECOM_LIMIT = "wecom_limit", _("企业微信频率限制")
    CALL_BUDGET = "call_budget", _("本系统调用额度已用完")


class SyncJob(models.Model):
    kind = models.CharField(_("任务"), max_length=20, choices=JobKind.choices)
    status = models.CharField(_("状态"), max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED)
    stale_hours = models.FloatField(_("过期小时数"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发起人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    # Why the job failed, as a code and its values (contacts.services.jobs.JOB_ERRORS).
    failure = models.JSONField(_("错误"), null=True, blank=True)
    # Text written before failures were stored as codes; shown for those jobs only.
    error = models.TextField(_("错误"), blank=True)
    # Set while the job waits out WeCom's rate limit, for its page; left as it was when the job ends.
    paused_until = models.DateTimeField(_("暂停至"), null=True, blank=True)
    pause_reason = models.CharField(_("暂停原因"), max_length=20, choices=PauseReason.choices, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "同步任务")
        verbose_name_plural = pgettext_lazy("many", "同步任务")
        ordering = ["-created_at", "-id"]
        permissions = [("run_syncjob", _("可以发起全校同步和批量刷新"))]
        constraints = [
            # The database itself refuses a second running job of the same kind.
            models.UniqueConstraint(
                fields=["kind"], condition=Q(status__in=ACTIVE_STATUSES), name="one_active_job_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def is_paused(self, *, now: dt.datetime) -> bool:
        """True while the active job waits out a rate limit."""
        return self.is_active and self.paused_until is not None and self.paused_until > now


class JobItemStatus(models.TextChoices):
    PENDING = "pending", _("待刷新")
    DONE = "done", _("已刷新")
    FAILED = "failed", _("失败")


class JobItem(models.Model):
    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="items")
    external_userid = models.CharField(_("external_userid"), max_length=128)
    status = models.CharField(_("状态"), max_length=10, choices=JobItemStatus.choices, default=JobItemStatus.PENDING)
    claimed_at = models.DateTimeField(_("领取时间"), null=True, blank=True)
    claimed_by = models.CharField(_("领取者"), max_length=128, blank=True)
    # Null: nobody has claimed the item. In the past: its worker stopped, anyone may take it back.
    lease_expires_at = models.DateTimeField(_("租约到期"), null=True, blank=True)
    claims = models.PositiveSmallIntegerField(_("领取次数"), default=0)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    changed = models.BooleanField(_("有变化"), default=False)
    created = models.BooleanField(_("新家长"), default=False)
    errcode = models.IntegerField(_("错误码"), null=True, blank=True)
    # The parent's failure as WeComError.as_record(), shown in the reader's language.
    failure = models.JSONField(_("错误"), null=True, blank=True)
    # Text written before failures were stored as records; shown for those rows only.
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "任务明细")
        verbose_name_plural = pgettext_lazy("many", "任务明细")
        ordering = ["job", "id"]
        constraints = [models.UniqueConstraint(fields=["job", "external_userid"], name="unique_item_per_job")]
        indexes = [models.Index(fields=["job", "status"])]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.external_userid}"
