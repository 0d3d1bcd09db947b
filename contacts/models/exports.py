"""Parent lists exported to Excel in the background, each a file only its owner downloads.

A small export is written straight into the response and leaves no record here (the audit log
keeps it). A larger one is written by a worker: the record keeps whom it is for, which parents,
in which order, whether it holds full phone numbers, and the file's name under EXPORT_ROOT,
a folder no URL serves. Records and files expire after EXPORT_RETENTION_DAYS.
"""

from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("生成中")
    FINISHED = "finished", _("已完成")
    FAILED = "failed", _("失败")


EXPORT_ACTIVE_STATUSES = [ExportStatus.QUEUED, ExportStatus.RUNNING]


class Export(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("导出人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    username = models.CharField(_("用户名"), max_length=150)
    created_at = models.DateTimeField(_("导出时间"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    description = models.TextField(_("筛选条件"), blank=True)
    title = models.CharField(_("工作表名称"), max_length=31)
    # The keys of contacts.services.exports.COLUMNS, in the order of the sheet.
    columns = models.JSONField(_("列"), default=list)
    reveal_phones = models.BooleanField(_("含完整手机号"), default=False)
    # The language of the headers, the requester's.
    language = models.CharField(_("语言"), max_length=10, blank=True)
    row_count = models.PositiveIntegerField(_("家长数"), default=0)
    # The parents as the list showed them when the export was asked for, in its order;
    # emptied once the file is written.
    contact_ids = models.JSONField(default=list, editable=False)
    # A random name under EXPORT_ROOT: nothing else finds the file.
    file_name = models.CharField(max_length=64, editable=False)
    error = models.TextField(_("错误"), blank=True)
    # While a worker writes the file it renews this every quarter lease (JOB_LEASE_SECONDS); an
    # export whose writer stopped renewing it is written again, at most MAX_EXPORT_ATTEMPTS times.
    # On an export queued again, when that was.
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Tries at writing the file so far. (A plain integer: no CHECK constraint to validate on a big table.)
    attempts = models.IntegerField(_("生成次数"), default=0, editable=False)

    class Meta:
        verbose_name = pgettext_lazy("one", "导出文件")
        verbose_name_plural = pgettext_lazy("many", "导出文件")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.title} #{self.pk}"

    @property
    def path(self) -> Path:
        return Path(settings.EXPORT_ROOT) / self.file_name

    @property
    def is_active(self) -> bool:
        return self.status in EXPORT_ACTIVE_STATUSES
