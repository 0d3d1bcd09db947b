"""What became of a WeCom event, stored as codes and values and shown in the reader's language.

A teacher is kept as pages show them, "罗凯 (rocky)": a name is the same in every language,
and the event tells who it was then.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext, gettext_noop

from contacts.callbacks.events import TRANSFER_FAIL_REASONS
from contacts.models import CallbackEvent
from contacts.texts import TextCatalogue


def _transfer_failed(values: Mapping[str, Any]) -> str:
    code = str(values.get("reason", ""))
    label = TRANSFER_FAIL_REASONS.get(code)
    return gettext("接替老师 %(teacher)s 接替失败：%(reason)s") % {
        "teacher": values.get("teacher", ""),
        "reason": f"{label}（{code}）" if label else code or gettext("未说明原因"),
    }


OUTCOMES = TextCatalogue(
    {
        "no_external_userid": gettext_noop("事件中没有 ExternalUserID。"),
        "no_id": gettext_noop("事件中没有 Id。"),
        "not_handled": gettext_noop("本系统不处理此类事件。"),
        "internal_error": gettext_noop("处理时出现内部错误，详见服务器日志。"),
        "too_late": gettext_noop("超过一天未能处理，已放弃；此后的同步会按企业微信的最新数据更新家长。"),
        "interrupted": gettext_noop(
            "处理中断：处理它的后台进程停止了 %(attempts)s 次，已放弃；请检查回调队列的后台进程（db_worker）。"
        ),
        "refreshed": gettext_noop("已刷新家长：%(summary)s"),
        "refresh_failed": gettext_noop("刷新家长失败：%(error)s"),
        "parent_lost": gettext_noop("家长已无联系：%(error)s"),
        "teacher_deleted_parent": gettext_noop("老师 %(teacher)s 删除了这位家长"),
        "parent_deleted_teacher": gettext_noop("家长删除了老师 %(teacher)s"),
        "relation_ended": gettext_noop("%(what)s，该跟进关系已结束（记录保留）。"),
        "relation_not_active": gettext_noop("%(what)s；本地没有进行中的该跟进关系，无需更新。"),
        "transfer_failed": _transfer_failed,
        "roster_read_failed": gettext_noop("读取家校通讯录失败：%(error)s"),
        "roster_parent_unknown": gettext_noop("花名册中没有家长 %(userid)s，无需更新。"),
        "roster_parent_removed": gettext_noop("家长 %(userid)s 已标记为离开花名册。"),
        "roster_parent_added": gettext_noop("花名册已新增家长 %(userid)s。"),
        "roster_parent_updated": gettext_noop("花名册已更新家长 %(userid)s。"),
        "roster_student_unknown": gettext_noop("花名册中没有学生 %(userid)s，无需更新。"),
        "roster_student_removed": gettext_noop("学生 %(userid)s 已标记为离开花名册。"),
        "roster_student_added": gettext_noop("花名册已新增学生 %(userid)s。"),
        "roster_student_updated": gettext_noop("花名册已更新学生 %(userid)s。"),
    }
)


def outcome_text(event: CallbackEvent) -> str:
    """What became of the event, one line per step, in the reader's language."""
    return OUTCOMES.stored_text(event.result, legacy=event.outcome)
