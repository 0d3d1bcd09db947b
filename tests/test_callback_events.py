"""What each WeCom event does once accepted: parents refreshed, relations ended, the roster updated."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from responses import matchers

from contacts.callbacks.outcomes import outcome_text
from contacts.callbacks.services import process_event
from contacts.models import (
    CallbackEvent,
    CallbackStatus,
    ConnectionState,
    Department,
    DepartmentType,
    ExternalContact,
    FollowUser,
    Guardian,
    Guardianship,
    RefreshTrigger,
    Student,
)
from contacts.services.refresh import refresh_contact
from tests.admin_factories import (
    history_of,
    parent_answer,
    parent_url,
    seed,
    text_of,
    with_teacher_remark,
    without_teacher,
)
from tests.conftest import API
from tests.wecom_callbacks import event, post_event

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

CREATE_TIME = 1717200000  # 2024-06-01 08:00 Asia/Shanghai


def the_event() -> CallbackEvent:
    return CallbackEvent.objects.get()


def history_rows(page: str) -> list[list[str]]:
    body = history_of(page).split("<tbody>", 1)[1]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S):
        cells = re.findall(r"<td>(.*?)</td>", row, flags=re.S)
        rows.append([re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip() for cell in cells])
    return rows


# -- change_external_contact ------------------------------------------------------------------


def test_the_parent_deleting_a_teacher_ends_that_relation_and_keeps_it(stored_parent, wecom, client):
    calls_before = len(wecom.rsps.calls)

    post_event(client, event("del_follow_user", external_userid="woAAAA", userid="tommy", create_time=CREATE_TIME))

    tommy = FollowUser.objects.get(contact=stored_parent, userid="tommy")
    assert tommy.ended_at == dt.datetime.fromtimestamp(CREATE_TIME, tz=dt.UTC)
    assert tommy.remark == "李总"  # kept as it was
    assert FollowUser.objects.get(contact=stored_parent, userid="rocky").ended_at is None
    stored = the_event()
    assert stored.status == CallbackStatus.PROCESSED
    assert stored.contact == stored_parent
    assert "家长删除了老师 tommy" in outcome_text(stored)
    assert len(wecom.rsps.calls) == calls_before  # nothing to ask WeCom


def test_a_teacher_deleting_the_parent_ends_that_relation(stored_parent, wecom, client):
    post_event(client, event("del_external_contact", external_userid="woAAAA", userid="rocky"))

    assert FollowUser.objects.get(contact=stored_parent, userid="rocky").ended_at is not None
    assert FollowUser.objects.get(contact=stored_parent, userid="tommy").ended_at is None
    assert "老师 rocky 删除了这位家长" in outcome_text(the_event())


def test_an_ended_relation_shows_in_the_parents_history(stored_parent, wecom, client, viewer_client):
    post_event(client, event("del_follow_user", external_userid="woAAAA", userid="tommy", create_time=CREATE_TIME))

    page = text_of(viewer_client.get(parent_url(stored_parent)))

    newest = history_rows(page)[0]
    assert newest[1] == "企业微信回调：家长删除了老师"
    assert "家长删除了老师 tommy，该跟进关系已结束（记录保留）。" in newest[2]
    assert "已结束于 2024-06-01 08:00" in page  # the teacher's row says when


def test_the_parent_page_queries_do_not_grow_with_the_events(stored_parent, wecom, client, viewer_client):
    def page_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert viewer_client.get(parent_url(stored_parent)).status_code == 200
        return len(captured)

    post_event(client, event("transfer_fail", external_userid="woAAAA", userid="amy"))
    with_one = page_queries()
    for number in range(8):
        post_event(client, event("transfer_fail", external_userid="woAAAA", userid=f"teacher{number}"))

    assert page_queries() == with_one


def test_a_teacher_wecom_still_lists_after_the_event_follows_again_on_the_next_refresh(stored_parent, wecom, client):
    post_event(client, event("del_follow_user", external_userid="woAAAA", userid="tommy"))
    wecom.answers(seed())  # the answer stored before the event, tommy still in it

    result = refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.JOB)

    assert result.changes.follow_users_added == ["tommy"]
    assert FollowUser.objects.get(contact=stored_parent, userid="tommy").ended_at is None


def test_a_relation_already_ended_is_left_as_it_was(stored_parent, wecom, client):
    ended = timezone.now() - dt.timedelta(days=3)
    FollowUser.objects.filter(contact=stored_parent, userid="tommy").update(ended_at=ended)

    post_event(client, event("del_follow_user", external_userid="woAAAA", userid="tommy"))

    assert FollowUser.objects.get(contact=stored_parent, userid="tommy").ended_at == ended
    assert the_event().status == CallbackStatus.PROCESSED
    assert "无需更新" in outcome_text(the_event())


def test_a_deletion_for_a_parent_not_stored_yet_stores_them(wecom, client):
    wecom.answers(without_teacher(seed(), "tommy"))

    post_event(client, event("del_follow_user", external_userid="woAAAA", userid="tommy"))

    contact = ExternalContact.objects.get(external_userid="woAAAA")
    assert list(contact.follow_users.values_list("userid", flat=True)) == ["rocky"]
    assert the_event().status == CallbackStatus.PROCESSED
    assert the_event().contact == contact


def test_an_added_parent_is_stored(wecom, client):
    wecom.answers(parent_answer("wmNEW1", name="新家长"))

    post_event(client, event("add_external_contact", external_userid="wmNEW1", userid="rocky"))

    contact = ExternalContact.objects.get(external_userid="wmNEW1")
    assert contact.name == "新家长"
    assert contact.last_trigger == RefreshTrigger.CALLBACK
    assert the_event().contact == contact
    assert outcome_text(the_event()).startswith("已刷新家长：新家长，首次保存")


def test_a_failed_transfer_is_recorded(stored_parent, wecom, client):
    calls_before = len(wecom.rsps.calls)

    post_event(client, event("transfer_fail", external_userid="woAAAA", userid="amy", fail_reason="customer_refused"))

    stored = the_event()
    assert stored.status == CallbackStatus.PROCESSED
    assert stored.contact == stored_parent
    assert outcome_text(stored) == "接替老师 amy 接替失败：家长拒绝了接替（customer_refused）"
    assert len(wecom.rsps.calls) == calls_before


def test_a_failing_refresh_fails_the_event_and_changes_nothing(stored_parent, wecom, client):
    wecom.fails("woAAAA", 48002)

    response = post_event(client, event("edit_external_contact", external_userid="woAAAA", userid="rocky"))

    assert response.status_code == 200  # WeCom delivered; the failure is ours to show
    stored = the_event()
    assert stored.status == CallbackStatus.FAILED
    assert "48002" in outcome_text(stored)
    assert "家校沟通" in outcome_text(stored)  # the hint says what to grant
    assert stored.contact == stored_parent
    assert FollowUser.objects.get(contact=stored_parent, userid="rocky").remark == "李部长"
    assert stored_parent.snapshots.filter(raw__isnull=False).count() == 1


def test_a_parent_no_longer_connected_is_marked_and_kept(stored_parent, wecom, client):
    wecom.fails("woAAAA", 84061)

    post_event(client, event("edit_external_contact", external_userid="woAAAA", userid="rocky"))

    assert the_event().status == CallbackStatus.FAILED
    stored_parent.refresh_from_db()
    assert stored_parent.state == ConnectionState.NOT_CONNECTED
    assert stored_parent.follow_users.count() == 2


def test_an_event_without_the_parent_is_ignored(client):
    message = (
        "<xml><MsgType>event</MsgType><Event>change_external_contact</Event>"
        "<ChangeType>edit_external_contact</ChangeType><UserID>rocky</UserID></xml>"
    )
    post_event(client, message)

    assert the_event().status == CallbackStatus.IGNORED


def test_an_unknown_change_type_is_ignored(client):
    message = (
        "<xml><MsgType>event</MsgType><Event>change_external_contact</Event>"
        "<ChangeType>msg_audit_approved</ChangeType><UserID>rocky</UserID></xml>"
    )
    post_event(client, message)

    assert the_event().status == CallbackStatus.IGNORED
    assert outcome_text(the_event()) == "本系统不处理此类事件。"


def test_an_event_is_applied_only_once(stored_parent, wecom, client):
    wecom.answers(with_teacher_remark(seed(), "rocky", "李主任"))
    post_event(client, event("edit_external_contact", external_userid="woAAAA", userid="rocky"))
    calls = wecom.contact_calls()

    again = process_event(event_id=the_event().pk)

    assert again.status == CallbackStatus.PROCESSED
    assert wecom.contact_calls() == calls


def test_an_unexpected_error_fails_the_event(db):
    class BrokenClient:
        def get_school_user(self, userid):
            raise RuntimeError("boom")

    stored = CallbackEvent.objects.create(
        fingerprint="f" * 64, event="change_school_contact", change_type="update_parent", userid="P1", payload={}
    )

    process_event(event_id=stored.pk, client=BrokenClient())

    stored.refresh_from_db()
    assert stored.status == CallbackStatus.FAILED
    assert outcome_text(stored) == "处理时出现内部错误，详见服务器日志。"
    assert stored.processed_at is not None


# -- change_school_contact, against the simulator ---------------------------------------------


def subscribed_parent(school) -> dict:
    """A roster entry of a parent who subscribed and whose details WeCom still gives."""
    lost = set(school.lost_external_userids())
    for class_id in school.class_ids():
        for entry in school.list_parent(class_id):
            if entry.get("external_userid") and entry["external_userid"] not in lost:
                return entry
    raise AssertionError("the simulated school has no subscribed parent")


def test_a_new_parent_joins_the_roster_with_their_children_and_is_refreshed(sandbox, client):
    entry = subscribed_parent(sandbox.school)

    post_event(client, event("create_parent", userid=entry["parent_userid"]))

    guardian = Guardian.objects.get(parent_userid=entry["parent_userid"])
    assert (guardian.external_userid, guardian.mobile, guardian.is_subscribe) == (
        entry["external_userid"],
        entry["mobile"],
        True,
    )
    links = {(g.student.student_userid, g.student.name, g.relation) for g in guardian.guardianships.all()}
    assert links == {(c["student_userid"], c["name"], c["relation"]) for c in entry["children"]}
    contact = ExternalContact.objects.get(external_userid=entry["external_userid"])
    assert contact.last_trigger == RefreshTrigger.CALLBACK
    stored = the_event()
    assert stored.status == CallbackStatus.PROCESSED
    assert stored.contact == contact
    assert "花名册已新增家长" in outcome_text(stored)


def test_an_updated_parent_is_corrected_and_a_child_no_longer_listed_is_gone(sandbox, client):
    entry = subscribed_parent(sandbox.school)
    now = timezone.now()
    guardian = Guardian.objects.create(parent_userid=entry["parent_userid"], mobile="10000000000", last_seen_at=now)
    stranger = Student.objects.create(student_userid="S-not-theirs", name="别人家的孩子", last_seen_at=now)
    Guardianship.objects.create(guardian=guardian, student=stranger, relation="爸爸", last_seen_at=now)

    post_event(client, event("update_parent", userid=entry["parent_userid"]))

    guardian.refresh_from_db()
    assert guardian.mobile == entry["mobile"]
    assert Guardianship.objects.get(guardian=guardian, student=stranger).gone_at is not None
    assert Student.objects.filter(pk=stranger.pk).exists()
    current = Guardianship.objects.filter(guardian=guardian, gone_at__isnull=True)
    assert {g.student.student_userid for g in current} == {c["student_userid"] for c in entry["children"]}
    assert "花名册已更新家长" in outcome_text(the_event())


def test_a_roster_parent_no_longer_connected_is_news_not_a_failure(sandbox, client):
    lost = sandbox.school.lost_external_userids()[0]
    entry = next(
        e for c in sandbox.school.class_ids() for e in sandbox.school.list_parent(c) if e.get("external_userid") == lost
    )

    post_event(client, event("update_parent", userid=entry["parent_userid"]))

    stored = the_event()
    assert stored.status == CallbackStatus.PROCESSED
    assert "家长已无联系" in outcome_text(stored) and "84061" in outcome_text(stored)
    assert Guardian.objects.get(parent_userid=entry["parent_userid"]).external_userid == lost


def test_a_deleted_parent_is_marked_gone_and_kept(sandbox, client):
    entry = subscribed_parent(sandbox.school)
    post_event(client, event("create_parent", userid=entry["parent_userid"]))

    post_event(client, event("delete_parent", userid=entry["parent_userid"]))

    guardian = Guardian.objects.get(parent_userid=entry["parent_userid"])
    assert guardian.gone_at is not None
    assert not guardian.guardianships.filter(gone_at__isnull=True).exists()
    deleted = CallbackEvent.objects.get(change_type="delete_parent")
    assert deleted.status == CallbackStatus.PROCESSED
    assert "已标记为离开花名册" in outcome_text(deleted)


def test_a_new_student_is_placed_in_their_class_with_their_parents(sandbox, client):
    entry = subscribed_parent(sandbox.school)
    child = entry["children"][0]
    user = sandbox.school.school_user(child["student_userid"])["student"]
    [class_id] = user["department"]
    klass = Department.objects.create(
        department_id=class_id, name="三年级1班", type=DepartmentType.CLASS, last_seen_at=timezone.now()
    )

    post_event(client, event("create_student", userid=child["student_userid"]))

    student = Student.objects.get(student_userid=child["student_userid"])
    assert (student.name, student.department) == (user["name"], klass)
    parents = {(g.guardian.parent_userid, g.relation) for g in student.guardianships.all()}
    assert parents == {(p["parent_userid"], p["relation"]) for p in user["parents"]}
    subscribed = [p["external_userid"] for p in user["parents"] if p.get("external_userid")]
    assert set(ExternalContact.objects.values_list("external_userid", flat=True)) >= {
        e for e in subscribed if e not in sandbox.school.lost_external_userids()
    }


def test_a_deleted_student_is_marked_gone_with_their_links(sandbox, client):
    entry = subscribed_parent(sandbox.school)
    student_userid = entry["children"][0]["student_userid"]
    post_event(client, event("create_student", userid=student_userid))

    post_event(client, event("delete_student", userid=student_userid))

    student = Student.objects.get(student_userid=student_userid)
    assert student.gone_at is not None
    assert not student.guardianships.filter(gone_at__isnull=True).exists()
    assert Guardian.objects.filter(parent_userid=entry["parent_userid"], gone_at__isnull=True).exists()


def test_an_unknown_roster_user_fails_the_event(sandbox, client):
    post_event(client, event("update_parent", userid="P-nobody"))

    stored = the_event()
    assert stored.status == CallbackStatus.FAILED
    assert "60111" in outcome_text(stored)
    assert not Guardian.objects.exists()


# -- change_school_contact, with answers written out --------------------------------------------


def school_user_answers(wecom, userid: str, parent: dict) -> None:
    wecom.rsps.get(
        f"{API}/school/user/get",
        match=[matchers.query_param_matcher({"userid": userid}, strict_match=False)],
        json={"errcode": 0, "errmsg": "ok", "user_type": 2, "parent": parent},
    )


def test_an_unsubscribed_parent_loses_the_link_and_is_refreshed(stored_parent, wecom, client):
    Guardian.objects.create(
        parent_userid="P-li", external_userid="woAAAA", is_subscribe=True, last_seen_at=timezone.now()
    )
    school_user_answers(wecom, "P-li", {"parent_userid": "P-li", "mobile": "13800000001", "is_subscribe": 0})
    answer = seed()
    del answer["external_contact"]["is_subscribe"]
    wecom.answers(answer)

    post_event(client, event("unsubscribe", userid="P-li"))

    guardian = Guardian.objects.get(parent_userid="P-li")
    assert (guardian.is_subscribe, guardian.external_userid) == (False, None)
    stored_parent.refresh_from_db()
    assert stored_parent.is_subscribe is None
    assert the_event().status == CallbackStatus.PROCESSED
    assert the_event().contact == stored_parent


def test_a_subscribing_parent_gets_the_link(stored_parent, wecom, client):
    Guardian.objects.create(parent_userid="P-li", is_subscribe=False, last_seen_at=timezone.now())
    school_user_answers(
        wecom, "P-li", {"parent_userid": "P-li", "is_subscribe": 1, "external_userid": "woAAAA", "children": []}
    )
    wecom.answers(seed())

    post_event(client, event("subscribe", userid="P-li"))

    guardian = Guardian.objects.get(parent_userid="P-li")
    assert (guardian.is_subscribe, guardian.external_userid) == (True, "woAAAA")
    assert the_event().contact == stored_parent


def test_a_changed_roster_userid_keeps_the_row_and_its_links(wecom, client):
    now = timezone.now()
    guardian = Guardian.objects.create(parent_userid="P-old", last_seen_at=now)
    student = Student.objects.create(student_userid="S1", name="李小明", last_seen_at=now)
    Guardianship.objects.create(guardian=guardian, student=student, relation="爸爸", last_seen_at=now)
    school_user_answers(
        wecom,
        "P-new",
        {
            "parent_userid": "P-new",
            "is_subscribe": 0,
            "children": [{"student_userid": "S1", "relation": "爸爸", "name": "李小明"}],
        },
    )

    post_event(client, event("update_parent", userid="P-old", new_id="P-new"))

    renamed = Guardian.objects.get(pk=guardian.pk)
    assert renamed.parent_userid == "P-new"
    assert renamed.guardianships.get().gone_at is None
    assert not Guardian.objects.filter(parent_userid="P-old").exists()


def test_a_department_event_is_ignored(client):
    message = (
        "<xml><MsgType>event</MsgType><Event>change_school_contact</Event>"
        "<ChangeType>create_department</ChangeType><Id>99</Id></xml>"
    )
    post_event(client, message)

    assert the_event().status == CallbackStatus.IGNORED
