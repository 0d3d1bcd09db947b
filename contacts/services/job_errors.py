"""Why a job failed, stored as a code and its values and shown in the reader's language."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from contacts.models import SyncJob
from contacts.texts import TextCatalogue

JOB_ERRORS = TextCatalogue(
    {
        "not_queued": gettext_noop("任务无法加入队列（%(exception)s），请检查 TASK_BACKEND。"),
        "stalled": gettext_noop(
            "已放弃：%(minutes)d 分钟没有进展。请确认后台进程（python manage.py db_worker）在运行。"
        ),
        "internal": gettext_noop("内部错误（%(exception)s），详情见服务器日志，请联系系统管理员。"),
        "roster_failed": gettext_noop("读取学校通讯录失败：%(error)s"),
        "stopped": gettext_noop("任务已停止，其余家长会以同样方式失败：%(error)s"),
    }
)


def job_error_text(job: SyncJob) -> str:
    """Why the job failed, in the reader's language; empty when it did not."""
    return JOB_ERRORS.stored_text(job.failure, legacy=job.error)
