"""Why a job failed, stored as a code and its values and shown in the reader's language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_noop

from contacts.models import SyncJob
from contacts.services.ratelimit import clock_time
from contacts.services.runner import GAVE_UP_ON_LIMITS, RunSummary
from contacts.sharedcache import UNAVAILABLE
from contacts.texts import Message, TextCatalogue, problem_value
from contacts.wecom.errors import WeComError


def _gave_up_on_limits(values: Mapping[str, Any]) -> str:
    # The time to try again is stored as an instant and put in Beijing time when shown.
    text = str(GAVE_UP_ON_LIMITS) % {"seconds": round(values["seconds"]), "time": clock_time(values["next_try"])}
    if values.get("error"):
        text += " — " + values["error"]
    return text


JOB_ERRORS = TextCatalogue(
    {
        "not_queued": gettext_noop("任务无法加入队列（%(exception)s），请检查 TASK_BACKEND。"),
        "abandoned": gettext_noop(
            "已放弃：%(minutes)d 分钟没有进展，也没有后台进程在处理。"
            "请确认后台进程（python manage.py db_worker）在运行。"
        ),
        "internal": gettext_noop("内部错误（%(exception)s），详情见服务器日志，请联系系统管理员。"),
        "roster_failed": gettext_noop("读取学校通讯录失败：%(error)s"),
        "stopped": gettext_noop("任务已停止，其余家长会以同样方式失败：%(error)s"),
        "gave_up_on_limits": _gave_up_on_limits,
        "shared_cache_unavailable": lambda values: str(UNAVAILABLE),
    }
)


def stop_failure(summary: RunSummary) -> Message:
    """Why a run that stopped ended its job: WeCom's limits lasted too long, or every other parent would fail alike."""
    if not summary.gave_up_on_limits:
        return JOB_ERRORS.message("stopped", error=problem_value(summary.stopped_by))
    return limits_failure(limited_for=summary.limited_for or 0, next_try=summary.next_try, error=summary.stopped_by)


def limits_failure(*, limited_for: float, next_try: float, error: object) -> Message:
    """A job given up after WeCom limited its calls for `limited_for` seconds in a row; calls may go from `next_try`."""
    values: dict[str, Any] = {"seconds": limited_for, "next_try": next_try}
    if isinstance(error, WeComError):
        # WeCom's own answer (45009, say), beside the time to try again.
        values["error"] = problem_value(error)
    return JOB_ERRORS.message("gave_up_on_limits", **values)


def job_error_text(job: SyncJob) -> str:
    """Why the job failed, in the reader's language; empty when it did not."""
    return JOB_ERRORS.stored_text(job.failure, legacy=job.error)
