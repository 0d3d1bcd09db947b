"""Refreshing many parents: one parent's failure never stops the others, but some errors stop all."""

import pytest
import requests
from django.db import DatabaseError

from contacts.models import FollowUser, RefreshTrigger
from contacts.services.batch import MAX_UNREACHABLE_IN_A_ROW, refresh_many
from contacts.wecom.errors import ErrorKind

pytestmark = pytest.mark.django_db


def answer_for(seed_answer: dict, external_userid: str) -> dict:
    seed_answer["external_contact"]["external_userid"] = external_userid
    return seed_answer


def test_a_failing_parent_does_not_stop_the_others(wecom, seed_answer):
    wecom.fails("wmONE", 84061)
    wecom.answers(answer_for(seed_answer, "wmTWO"))
    outcomes = []

    summary = refresh_many(external_userids=["wmONE", "wmTWO"], trigger=RefreshTrigger.JOB, on_outcome=outcomes.append)

    assert (summary.refreshed, summary.failed, summary.skipped) == (1, 1, 0)
    assert [o.external_userid for o in outcomes] == ["wmONE", "wmTWO"]
    assert outcomes[0].error.errcode == 84061


def test_the_rate_limit_stops_the_batch_instead_of_prolonging_the_block(wecom):
    for external_userid in ("wmONE", "wmTWO", "wmTHREE"):
        wecom.fails(external_userid, 45009)

    summary = refresh_many(external_userids=["wmONE", "wmTWO", "wmTHREE"], trigger=RefreshTrigger.JOB)

    assert wecom.contact_calls() == 1
    assert summary.stopped_by.kind is ErrorKind.RATE_LIMITED
    assert summary.skipped == 2
    assert "2 not tried" in str(summary)


def test_it_stops_when_wecom_stays_unreachable(wecom):
    ids = [f"wm{i:04d}" for i in range(MAX_UNREACHABLE_IN_A_ROW + 3)]
    for external_userid in ids:
        wecom.sends(external_userid, requests.exceptions.ConnectTimeout("down"))

    summary = refresh_many(external_userids=ids, trigger=RefreshTrigger.JOB)

    assert summary.failed == MAX_UNREACHABLE_IN_A_ROW
    assert summary.skipped == 3
    assert summary.stopped_by.kind is ErrorKind.TRANSIENT


def test_a_database_failure_on_one_parent_is_reported_and_the_batch_goes_on(wecom, seed_answer, monkeypatch):
    wecom.answers(answer_for(seed_answer, "wmONE"))
    original = FollowUser.objects.bulk_create
    calls = {"n": 0}

    def fail_first_time(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise DatabaseError("disk full")
        return original(*args, **kwargs)

    # The database is the edge here: it refuses the first write.
    monkeypatch.setattr(FollowUser.objects, "bulk_create", fail_first_time)
    outcomes = []
    second = dict(seed_answer, external_contact=dict(seed_answer["external_contact"], external_userid="wmTWO"))
    wecom.answers(second)

    summary = refresh_many(external_userids=["wmONE", "wmTWO"], trigger=RefreshTrigger.JOB, on_outcome=outcomes.append)

    assert (summary.refreshed, summary.failed) == (1, 1)
    assert "保存家长时发生内部错误" in outcomes[0].error.describe()
    assert "disk full" not in outcomes[0].error.describe()
