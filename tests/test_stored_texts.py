"""Texts stored as a code and values are put into words when read, in the reader's language."""

import json

import pytest
from django.utils import translation

from contacts.callbacks.outcomes import OUTCOMES
from contacts.services.changes import ContactChanges
from contacts.services.job_errors import JOB_ERRORS
from contacts.texts import changes_value, error_value
from contacts.wecom.errors import WeComError


def stored(message: dict) -> dict:
    """Through JSON, as a JSONField keeps it."""
    return json.loads(json.dumps(message))


def test_an_unknown_code_is_refused_where_it_is_written():
    with pytest.raises(KeyError, match="no_such_code"):
        JOB_ERRORS.message("no_such_code")


def test_a_message_is_rendered_in_the_language_of_the_reader():
    message = stored(JOB_ERRORS.message("abandoned", minutes=5))

    with translation.override("zh-hans"):
        assert JOB_ERRORS.render(message).startswith("已放弃：5 分钟没有进展，也没有后台进程在处理。")
    with translation.override("en"):
        assert JOB_ERRORS.render(message).startswith("Abandoned: no progress and no worker for 5 minutes.")


def test_an_error_and_changes_among_the_values_are_rendered_too():
    failed = stored(OUTCOMES.message("refresh_failed", error=error_value(WeComError.from_errcode(48002))))
    refreshed = stored(
        OUTCOMES.message("refreshed", summary=changes_value(ContactChanges(fields={"name": ["李四", "李五"]})))
    )

    with translation.override("en"):
        assert OUTCOMES.render(failed).startswith("Refreshing the parent failed: [48002] API not permitted")
        assert OUTCOMES.render(refreshed) == "Parent refreshed: Name: 李四 → 李五"
    with translation.override("zh-hans"):
        assert OUTCOMES.render(failed).startswith("刷新家长失败：[48002] API接口无权限调用")
        assert OUTCOMES.render(refreshed) == "已刷新家长：姓名：李四 → 李五"


def test_a_message_within_a_message_is_rendered_in_place():
    message = stored(
        OUTCOMES.message("relation_ended", what=OUTCOMES.message("teacher_deleted_parent", teacher="罗凯 (rocky)"))
    )

    with translation.override("zh-hans"):
        assert OUTCOMES.render(message) == "老师 罗凯 (rocky) 删除了这位家长，该跟进关系已结束（记录保留）。"


def test_a_code_this_version_does_not_know_shows_what_there_is():
    assert OUTCOMES.render({"code": "from_a_newer_version", "userid": "rocky"}) == "from_a_newer_version rocky"
