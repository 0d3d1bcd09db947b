"""An answer identical to the stored one costs one read and the time of the check; a change is stored whole."""

import copy
import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import ConnectionState, ContactSnapshot, ExternalContact, FollowUser, RefreshTrigger
from contacts.services.checked import CheckedRecorder
from contacts.services.refresh import refresh_contact
from contacts.services.runner import RateLimitPolicy, refresh_concurrently
from contacts.wecom.errors import WeComError

pytestmark = pytest.mark.django_db


def refresh(external_userid="woAAAA", **options):
    return refresh_contact(external_userid=external_userid, trigger=RefreshTrigger.COMMAND, **options)


def stored(external_userid="woAAAA") -> ExternalContact:
    return ExternalContact.objects.get(external_userid=external_userid)


def another(answer: dict, external_userid: str) -> dict:
    other = copy.deepcopy(answer)
    other["external_contact"]["external_userid"] = external_userid
    other["external_contact"]["unionid"] = f"un-{external_userid}"
    return other


@pytest.fixture
def stored_parent(wecom, seed_answer):
    wecom.answers(seed_answer)
    refresh()
    return stored()


def test_an_unchanged_answer_writes_no_history_and_only_the_time_of_the_check(stored_parent, wecom, seed_answer):
    wecom.answers(seed_answer)

    result = refresh(triggered_by=None)

    assert result.unchanged
    assert not result.created
    assert result.changes.summary() == "无变化"
    assert ContactSnapshot.objects.count() == 1
    after = stored()
    assert after.last_refreshed_at > stored_parent.last_refreshed_at
    assert after.last_attempt_at == after.last_refreshed_at
    assert after.last_changed_at == stored_parent.last_changed_at
    assert FollowUser.objects.filter(contact=after).count() == 2


def test_an_unchanged_answer_takes_one_read_and_one_write(stored_parent, wecom, seed_answer):
    wecom.answers(seed_answer)

    with CaptureQueriesContext(connection) as queries:
        refresh()

    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    assert statements == ["SELECT", "UPDATE"]


def test_an_unchanged_answer_with_a_recorder_only_reads_until_the_recorder_writes(stored_parent, wecom, seed_answer):
    wecom.answers(seed_answer)
    recorder = CheckedRecorder()

    with CaptureQueriesContext(connection) as queries:
        refresh(checked=recorder)
    assert len(queries) == 1
    assert stored().last_refreshed_at == stored_parent.last_refreshed_at

    with CaptureQueriesContext(connection) as queries:
        recorder.flush()

    assert len(queries) == 1
    assert stored().last_refreshed_at > stored_parent.last_refreshed_at


def test_the_same_answer_in_another_key_order_or_with_another_errmsg_is_unchanged(stored_parent, wecom, seed_answer):
    reordered = {key: seed_answer[key] for key in reversed(list(seed_answer))}
    reordered["external_contact"] = dict(reversed(list(seed_answer["external_contact"].items())))
    reordered["errmsg"] = "ok, hint: [1700000000_123]"
    wecom.answers(reordered)

    assert refresh().unchanged
    assert ContactSnapshot.objects.count() == 1


def test_a_changed_answer_is_stored_with_its_snapshot_and_time_of_change(stored_parent, wecom, seed_answer):
    changed = copy.deepcopy(seed_answer)
    changed["follow_user"][0]["remark"] = "李主任"
    wecom.answers(changed)

    result = refresh()

    assert not result.unchanged
    assert result.changes.follow_users_changed == {"rocky": {"remark": ["李部长", "李主任"]}}
    after = stored()
    assert after.follow_users.get(userid="rocky").remark == "李主任"
    assert after.last_changed_at == after.last_refreshed_at > stored_parent.last_changed_at
    latest = ContactSnapshot.objects.order_by("-id").first()
    assert latest.raw == changed
    assert latest.changes["follow_users_changed"] == {"rocky": {"remark": ["李部长", "李主任"]}}


def test_the_answer_after_a_change_is_recognised_as_unchanged(stored_parent, wecom, seed_answer):
    changed = copy.deepcopy(seed_answer)
    changed["external_contact"]["name"] = "李四四"
    wecom.answers(changed)
    wecom.answers(changed)
    refresh()

    assert refresh().unchanged
    assert ContactSnapshot.objects.count() == 2
    assert stored().name == "李四四"


def test_an_answer_that_differs_only_in_what_is_not_stored_is_kept_without_a_change(stored_parent, wecom, seed_answer):
    with_new_key = copy.deepcopy(seed_answer)
    with_new_key["external_contact"]["a_field_wecom_added_later"] = "新内容"
    wecom.answers(with_new_key)

    result = refresh()

    assert result.unchanged
    latest = ContactSnapshot.objects.order_by("-id").first()
    assert latest.raw == with_new_key
    assert latest.changes["fields"] == {}
    assert stored().last_changed_at == stored_parent.last_changed_at


def test_a_parent_lost_last_time_who_answers_the_same_is_connected_again(stored_parent, wecom, seed_answer):
    wecom.fails("woAAAA", 84061)
    with pytest.raises(WeComError):
        refresh()
    lost = stored()
    assert lost.state == ConnectionState.NOT_CONNECTED
    wecom.answers(seed_answer)

    result = refresh()

    assert result.changes.fields == {"state": [ConnectionState.NOT_CONNECTED, ConnectionState.ACTIVE]}
    back = stored()
    assert back.state == ConnectionState.ACTIVE
    assert back.state_changed_at > lost.state_changed_at
    assert back.last_failure is None
    assert back.last_errcode is None
    assert back.last_changed_at == back.last_refreshed_at
    latest = ContactSnapshot.objects.order_by("-id").first()
    assert latest.changes["fields"] == {"state": ["not_connected", "active"]}


def answer_with_bad_tags(answer: dict) -> dict:
    bad = copy.deepcopy(answer)
    bad["follow_user"][0]["tags"] = "标签"
    return bad


FAILURES = {
    "an errcode": lambda wecom, answer: wecom.fails("woAAAA", 60020),
    "WeCom unreachable": lambda wecom, answer: wecom.sends("woAAAA", "<html>502</html>", status=502),
    "an answer that cannot be parsed": lambda wecom, answer: wecom.answers(answer_with_bad_tags(answer)),
}


@pytest.mark.parametrize("failure", FAILURES)
def test_an_identical_answer_after_a_failure_clears_the_error_at_once(stored_parent, wecom, seed_answer, failure):
    FAILURES[failure](wecom, seed_answer)
    with pytest.raises(WeComError):
        refresh()
    assert stored().last_failure
    wecom.answers(seed_answer)

    result = refresh(checked=CheckedRecorder())

    assert result.unchanged
    after = stored()
    assert after.last_failure is None
    assert after.last_errcode is None
    assert after.last_refreshed_at == after.last_attempt_at > stored_parent.last_refreshed_at
    assert ContactSnapshot.objects.filter(raw__isnull=False).count() == 1


def test_a_failure_is_kept_in_the_history_once_until_something_else_happens(stored_parent, wecom, seed_answer):
    for errcode in (60020, 60020, 48002):
        wecom.fails("woAAAA", errcode)
        with pytest.raises(WeComError):
            refresh()
    wecom.answers(seed_answer)
    refresh()
    wecom.fails("woAAAA", 48002)
    with pytest.raises(WeComError):
        refresh()

    failures = ContactSnapshot.objects.filter(failure__isnull=False).order_by("id")
    assert [f.errcode for f in failures] == [60020, 48002, 48002]
    assert all(f.raw is None and f.trigger == RefreshTrigger.COMMAND for f in failures)


def test_wecoms_too_many_calls_is_not_kept_in_the_history(stored_parent, wecom):
    wecom.fails("woAAAA", 45009)

    with pytest.raises(WeComError):
        refresh()

    assert stored().last_errcode == 45009
    assert not ContactSnapshot.objects.filter(failure__isnull=False).exists()


def test_a_parent_stored_without_a_fingerprint_is_stored_whole_once_then_recognised(stored_parent, wecom, seed_answer):
    ExternalContact.objects.update(answer_hash="")
    wecom.answers(seed_answer)
    wecom.answers(seed_answer)

    with CaptureQueriesContext(connection) as first_time:
        first = refresh()
    with CaptureQueriesContext(connection) as second_time:
        second = refresh()

    assert first.unchanged and second.unchanged
    assert stored().answer_hash
    assert ContactSnapshot.objects.count() == 1  # the same answer as the one kept: nothing new
    assert len(second_time) < len(first_time)


def parents_answering_as_stored(wecom, seed_answer: dict, count: int) -> list[str]:
    """Store `count` parents; WeCom's next answer for each is the one stored."""
    ids = [f"wo{i:04d}" for i in range(count)]
    for external_userid in ids:
        wecom.answers(another(seed_answer, external_userid))
        refresh(external_userid)
        wecom.answers(another(seed_answer, external_userid))
    return ids


def test_a_recorder_writes_many_parents_in_one_update_each_with_its_own_trigger(wecom, seed_answer, admin_user):
    ids = parents_answering_as_stored(wecom, seed_answer, 5)
    before = timezone.now()
    recorder = CheckedRecorder(flush_every=1000)

    for external_userid in ids:
        refresh_contact(
            external_userid=external_userid, trigger=RefreshTrigger.STAFF, triggered_by=admin_user, checked=recorder
        )
    with CaptureQueriesContext(connection) as queries:
        recorder.flush()

    assert len(queries) == 1
    for contact in ExternalContact.objects.all():
        assert contact.last_refreshed_at >= before
        assert contact.last_trigger == RefreshTrigger.STAFF
        assert contact.last_triggered_by == admin_user


def test_a_recorder_writes_by_itself_every_so_many_parents(wecom, seed_answer):
    ids = parents_answering_as_stored(wecom, seed_answer, 3)
    before = timezone.now()
    recorder = CheckedRecorder(flush_every=2)

    for external_userid in ids:
        refresh(external_userid, checked=recorder)

    checked = ExternalContact.objects.filter(last_refreshed_at__gte=before).values_list("external_userid", flat=True)
    assert set(checked) == set(ids[:2])
    recorder.flush()
    assert ExternalContact.objects.filter(last_refreshed_at__gte=before).count() == 3


def test_a_recorded_check_never_overwrites_a_later_refresh(stored_parent, wecom, seed_answer):
    wecom.answers(seed_answer)
    recorder = CheckedRecorder()
    refresh(checked=recorder)
    later = timezone.now() + dt.timedelta(minutes=5)
    ExternalContact.objects.update(last_refreshed_at=later, last_attempt_at=later)

    recorder.flush()

    assert stored().last_refreshed_at == later


def test_a_run_over_unchanged_parents_reads_each_once_and_writes_their_checks_together(wecom, seed_answer):
    ids = parents_answering_as_stored(wecom, seed_answer, 6)
    before = timezone.now()

    with CaptureQueriesContext(connection) as queries:
        summary = refresh_concurrently(
            external_userids=ids, trigger=RefreshTrigger.JOB, policy=RateLimitPolicy.for_job(), concurrency=1
        )

    assert summary.refreshed == 6
    assert summary.changed == 0
    assert len(queries) == len(ids) + 1
    assert ContactSnapshot.objects.count() == len(ids)
    assert ExternalContact.objects.filter(last_refreshed_at__gte=before, last_trigger=RefreshTrigger.JOB).count() == 6


def tables_read(queries: CaptureQueriesContext) -> set[str]:
    return {
        table
        for query in queries.captured_queries
        if query["sql"].startswith("SELECT")
        for table in ("contacts_followuser", "contacts_externalprofileattribute", "contacts_contactphone")
        if f'FROM "{table}"' in query["sql"]
    }


def test_a_change_of_the_parents_own_fields_reads_no_teacher_or_attribute_rows(stored_parent, wecom, seed_answer):
    renamed = copy.deepcopy(seed_answer)
    renamed["external_contact"]["name"] = "李四四"
    wecom.answers(renamed)

    with CaptureQueriesContext(connection) as queries:
        result = refresh()

    assert result.changes.fields == {"name": ["李四", "李四四"]}
    assert tables_read(queries) == {"contacts_contactphone"}  # the school's remark holds phone numbers too
    assert stored().name == "李四四"


def test_a_teachers_change_reads_no_attribute_rows(stored_parent, wecom, seed_answer):
    changed = copy.deepcopy(seed_answer)
    changed["follow_user"][1]["remark_mobiles"] = ["13900000000"]
    wecom.answers(changed)

    with CaptureQueriesContext(connection) as queries:
        result = refresh()

    assert result.changes.follow_users_changed == {"tommy": {"remark_mobiles": [None, ["13900000000"]]}}
    assert tables_read(queries) == {"contacts_followuser", "contacts_contactphone"}
    assert stored().phones.filter(number="13900000000").exists()


def test_a_change_of_the_external_profile_reads_only_the_attributes(stored_parent, wecom, seed_answer):
    changed = copy.deepcopy(seed_answer)
    changed["external_contact"]["external_profile"]["external_attr"][0]["text"]["value"] = "新文本"
    wecom.answers(changed)

    with CaptureQueriesContext(connection) as queries:
        result = refresh()

    assert list(result.changes.fields) == ["external_profile"]
    assert tables_read(queries) == {"contacts_externalprofileattribute"}
    assert stored().attributes.get(position=0).text_value == "新文本"
