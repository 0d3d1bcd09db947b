"""A teacher sees their own families only: the parents they follow and the parents of the children
in the classes they teach; every page, search, filter and action keeps to them.

The school is tests/scope_factories.py's: rocky's families are 李四, 赵六 and 孙七.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import DepartmentAdmin, ExternalContact, FollowUser, Guardianship, StaffMember
from contacts.scope import visible_contacts
from tests.admin_factories import (
    TEACHER_GROUP,
    linked,
    list_url,
    listed,
    logged_in,
    lookup_url,
    make_staff,
    parent_answer,
    parent_url,
    refresh_url,
    shown_messages,
    store_parent,
    teacher,
    text_of,
)
from tests.scope_factories import (
    CLASS_3_1,
    CLASS_4_2,
    CLASS_5_1,
    GRADE_3,
    GRADE_4,
    GRADE_5,
    INSIDE,
    OUTSIDE,
    OUTSIDE_FILTERS,
)

pytest_plugins = ["tests.admin_factories", "tests.scope_factories"]
pytestmark = pytest.mark.django_db

MEMBERS_URL = "admin:contacts_staffmember_changelist"
SNAPSHOTS_URL = "admin:contacts_contactsnapshot_changelist"


@pytest.fixture
def rocky_client(school):
    return logged_in(school.rocky)


def outside_texts_in(page: str) -> list[str]:
    return [text for text in OUTSIDE if text in page]


# -- whose families -------------------------------------------------------------------------------


def test_a_teacher_lists_the_parents_they_follow_and_those_of_their_classes(school, rocky_client):
    assert sorted(listed(rocky_client.get(list_url()))) == sorted(INSIDE)


def test_the_office_lists_every_parent(school, viewer_client):
    assert len(listed(viewer_client.get(list_url()))) == len(school.contacts)


def test_a_relation_that_ended_no_longer_makes_a_family(school, rocky_client):
    FollowUser.objects.filter(contact__external_userid="woDDDD", userid="rocky").update(ended_at=timezone.now())

    assert "woDDDD" not in listed(rocky_client.get(list_url()))


def test_a_child_who_leaves_the_class_takes_the_family_along(school, rocky_client):
    Guardianship.objects.filter(student__name="赵小三").update(gone_at=timezone.now())

    assert "woCCCC" not in listed(rocky_client.get(list_url()))


def test_a_teacher_who_stops_teaching_a_class_loses_its_families(school, rocky_client):
    DepartmentAdmin.objects.filter(userid="rocky").update(gone_at=timezone.now())

    assert sorted(listed(rocky_client.get(list_url()))) == ["woAAAA", "woDDDD"]


def test_an_account_linked_to_no_member_sees_no_parent_and_no_teacher(school):
    client = logged_in(make_staff("unlinked", groups=[TEACHER_GROUP]))

    assert listed(client.get(list_url())) == []
    assert client.get(reverse(MEMBERS_URL)).context["cl"].result_count == 0
    assert client.get(parent_url(school.contacts["woAAAA"])).status_code == 404


def test_the_scope_follows_the_permission_not_the_group(school):
    office = make_staff("office", perms=["view_externalcontact", "view_all_parents"])

    assert visible_contacts(user=office).count() == len(school.contacts)
    assert visible_contacts(user=school.rocky).count() == len(INSIDE)


# -- pages of parents outside -------------------------------------------------------------------


def test_another_teachers_parent_is_not_found(school, rocky_client):
    for contact in school.outside():
        snapshot = contact.snapshots.first()
        for url in (
            parent_url(contact),
            reverse("admin:contacts_externalcontact_history", args=[contact.pk]),
            reverse("admin:contacts_contactsnapshot_change", args=[snapshot.pk]),
        ):
            assert rocky_client.get(url).status_code == 404, url


def test_a_parent_outside_is_not_refreshed_and_wecom_is_not_asked(school, rocky_client, wecom):
    calls_before = wecom.contact_calls()

    for contact in school.outside():
        assert rocky_client.post(refresh_url(contact)).status_code == 404

    assert wecom.contact_calls() == calls_before


def test_a_teacher_refreshes_a_parent_of_their_class(school, rocky_client, wecom):
    answer = parent_answer("woCCCC", name="赵六", subscriber_info={"remark": "赵小三-妈妈"})
    answer["follow_user"] = [teacher("dave", "丁老师的新备注")]
    wecom.answers(answer)

    response = rocky_client.post(refresh_url(school.contacts["woCCCC"]), follow=True)

    assert response.status_code == 200
    assert shown_messages(response)[0][0] == "success"
    assert "丁老师的新备注" in text_of(response)


def test_the_office_is_told_who_may_refresh(school, viewer_client, wecom):
    response = viewer_client.post(refresh_url(school.contacts["woBBBB"]))

    assert response.status_code == 403
    assert "从企业微信刷新家长需要“学校管理员”组的权限；“教师”组可以刷新自己的家长。" in text_of(response)


def test_the_bulk_refresh_leaves_a_parent_outside_alone(school, rocky_client, wecom):
    inside, outside = school.contacts["woDDDD"], school.contacts["woBBBB"]
    answer = parent_answer("woDDDD", name="孙七", subscriber_info={"remark": "孙七本人"})
    answer["follow_user"] = [teacher("rocky", "罗老师记的孙七")]
    wecom.answers(answer)
    calls_before = wecom.contact_calls()

    rocky_client.post(list_url(), {"action": "refresh_selected", "_selected_action": [inside.pk, outside.pk]})

    assert wecom.contact_calls() == calls_before + 1
    inside.refresh_from_db()
    outside_before = outside.last_attempt_at
    outside.refresh_from_db()
    assert inside.name == "孙七" and inside.last_attempt_at is not None
    assert outside.last_attempt_at == outside_before


def test_looking_up_new_parents_stays_with_staff_who_see_every_parent(school, wecom):
    # The permission to look up, given by hand to a teacher, still does not open the look-up.
    client = logged_in(linked(make_staff("finder", groups=[TEACHER_GROUP], perms=["lookup_externalcontact"]), "tommy"))

    assert lookup_url() not in text_of(client.get(list_url()))
    assert client.post(lookup_url(), {"external_userid": "woNEW"}).status_code == 403
    assert not ExternalContact.objects.filter(external_userid="woNEW").exists()


# -- searches, filters and the refresh records --------------------------------------------------


@pytest.mark.parametrize(
    "term",
    ["王五", "王小红-妈妈", "王小红", "woBBBB", "un-woBBBB", "alice_wang", "艾老师的备注", "周八", "吴小四", "bob_bao"],
)
def test_a_search_never_finds_a_parent_outside(school, rocky_client, term):
    assert listed(rocky_client.get(list_url(), {"q": term})) == []
    snapshots = rocky_client.get(reverse(SNAPSHOTS_URL), {"q": term}).context["cl"].result_list
    assert [snapshot.contact.external_userid for snapshot in snapshots] == []


def test_a_search_by_a_teachers_userid_finds_only_their_families(school, rocky_client, viewer_client):
    assert sorted(listed(rocky_client.get(list_url(), {"q": "rocky"}))) == ["woAAAA", "woDDDD"]
    assert "woEEEE" in listed(viewer_client.get(list_url(), {"q": "rocky"})), "his relation with 周八 ended"


def test_the_filters_offer_only_the_teachers_tags_classes_and_grades_of_the_families(school, rocky_client):
    page = text_of(rocky_client.get(list_url()))

    assert '?teacher=rocky"' in page and '?teacher=tommy"' in page and '?teacher=dave"' in page
    assert "?teacher=alice_wang" not in page and "?teacher=bob_bao" not in page and "?teacher=carol_ke" not in page
    assert "?tag=" in page
    assert f'?class={CLASS_3_1}"' in page and f'?grade={GRADE_3}"' in page
    for hidden in (f"?class={CLASS_4_2}", f"?class={CLASS_5_1}", f"?grade={GRADE_4}", f"?grade={GRADE_5}"):
        assert hidden not in page
    assert outside_texts_in(page) == []


def test_a_filter_of_the_office_offers_every_teacher_tag_and_class(school, viewer_client):
    page = text_of(viewer_client.get(list_url()))

    assert "?teacher=alice_wang" in page and "家委会成员" in page
    assert f"?class={CLASS_4_2}" in page and f"?grade={GRADE_5}" in page


@pytest.mark.parametrize("params", OUTSIDE_FILTERS)
def test_a_filter_value_from_outside_narrows_the_list_to_nothing(school, rocky_client, params):
    assert listed(rocky_client.get(list_url(), params)) == []


def test_the_refresh_records_of_a_parent_outside_are_not_listed(school, rocky_client):
    outside = school.contacts["woBBBB"]

    response = rocky_client.get(reverse(SNAPSHOTS_URL), {"contact__id__exact": outside.pk})

    assert response.context["cl"].result_count == 0
    everything = rocky_client.get(reverse(SNAPSHOTS_URL)).context["cl"].result_list
    assert {snapshot.contact.external_userid for snapshot in everything} == set(INSIDE)


# -- the teachers page ------------------------------------------------------------------------------


def test_a_teacher_sees_themselves_the_teachers_of_their_families_and_of_their_class(school, rocky_client):
    response = rocky_client.get(reverse(MEMBERS_URL))

    assert sorted(member.userid for member in response.context["cl"].result_list) == ["dave", "rocky", "tommy"]
    page = text_of(response)
    assert "三年级1班 任课老师（数学）" in page
    assert outside_texts_in(page) == [], "tommy's class 五年级1班 is not rocky's"


def test_the_page_of_a_teacher_outside_is_not_found(school, rocky_client):
    alice_wang = StaffMember.objects.get(userid="alice_wang")
    tommy = StaffMember.objects.get(userid="tommy")

    assert rocky_client.get(reverse("admin:contacts_staffmember_change", args=[alice_wang.pk])).status_code == 404
    page = text_of(rocky_client.get(reverse("admin:contacts_staffmember_change", args=[tommy.pk])))
    assert "三年级1班 任课老师（数学）" in page
    assert "五年级1班" not in page


def test_the_office_sees_every_teacher_with_every_class(school, viewer_client):
    page = text_of(viewer_client.get(reverse(MEMBERS_URL)))

    assert "安丽丝" in page and "五年级1班 任课老师（数学）" in page


# -- what is not a teacher's to see -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:contacts_syncjob_changelist",
        "admin:contacts_callbackevent_changelist",
        "admin:contacts_auditentry_changelist",
    ],
)
def test_jobs_events_and_the_audit_log_stay_closed_even_with_their_view_permission(school, url_name):
    client = logged_in(
        linked(make_staff("curious", groups=[TEACHER_GROUP], perms=["view_syncjob", "view_callbackevent"]), "tommy")
    )

    assert client.get(reverse(url_name)).status_code == 403
    index = text_of(client.get(reverse("admin:index")))
    assert reverse(url_name) not in index


def test_no_autocomplete_lists_parents_past_the_pages(school, rocky_client, viewer_client):
    params = {"app_label": "contacts", "model_name": "contactsnapshot", "field_name": "contact", "term": "王"}

    assert rocky_client.get(reverse("admin:autocomplete"), params).status_code == 404
    assert viewer_client.get(reverse("admin:autocomplete"), params).status_code == 404


# -- the cost of a scope ------------------------------------------------------------------------------


def test_a_teachers_list_takes_as_many_queries_for_3_or_40_families(school, rocky_client, wecom):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = rocky_client.get(list_url())
        return len(captured), response

    few, response = queries()
    assert len(listed(response)) == 3
    for number in range(37):
        answer = parent_answer(f"woT{number:03d}", name=f"家长{number}")
        answer["follow_user"] = [teacher("rocky", f"备注{number}")]
        store_parent(wecom, answer)
    many, response = queries()

    assert len(listed(response)) == 40
    assert many == few


def test_the_office_pays_nothing_for_the_scope(school, viewer):
    assert str(visible_contacts(user=viewer).query) == str(ExternalContact.objects.all().query)
