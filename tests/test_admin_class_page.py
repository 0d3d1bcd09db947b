"""The class page (班级): each class's students with their guardians, connected to WeCom or not, walked as each role."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.class_roster import class_roster
from contacts.models import AuditAction, AuditEntry, Department, Guardian, Guardianship, Student
from contacts.services.audit import audit_result_text
from tests.admin_factories import TEACHER_GROUP, linked, logged_in, make_staff, text_of
from tests.scope_factories import CLASS_3_1, CLASS_4_2, CLASS_5_1

pytest_plugins = ["tests.admin_factories", "tests.scope_factories"]
pytestmark = pytest.mark.django_db

GRANDMA_PHONE, WANG_DAD_PHONE, LI_PHONE = "13912345678", "13700001111", "13800004321"


def guardian(parent_userid: str, student_name: str, relation: str, mobile: str, external_userid=None) -> Guardian:
    now = timezone.now()
    found, _ = Guardian.objects.update_or_create(
        parent_userid=parent_userid,
        defaults={
            "external_userid": external_userid,
            "is_subscribe": external_userid is not None,
            "mobile": mobile,
            "last_seen_at": now,
        },
    )
    student = Student.objects.get(name=student_name)
    Guardianship.objects.create(guardian=found, student=student, relation=relation, last_seen_at=now)
    return found


@pytest.fixture
def classes(school):
    """The scope school, with 李小明's grandma and 王小红's father on the roster but not on WeCom."""
    Guardian.objects.filter(external_userid="woAAAA").update(mobile=LI_PHONE, is_subscribe=True)
    guardian("p-grandma", "李小明", "奶奶", GRANDMA_PHONE)
    guardian("p-wang-dad", "王小红", "爸爸", WANG_DAD_PHONE)
    return school


def class_url(class_id: int) -> str:
    pk = Department.objects.get(department_id=class_id).pk
    return reverse("admin:contacts_schoolclass_change", args=[pk])


def list_url() -> str:
    return reverse("admin:contacts_schoolclass_changelist")


def listed_classes(response) -> set[str]:
    assert response.status_code == 200
    return {school_class.name for school_class in response.context["cl"].result_list}


def students_on(response) -> dict[str, list[tuple[str, bool]]]:
    assert response.status_code == 200
    return {
        row.name: [(line.relation, line.connected) for line in row.guardians] for row in response.context["students"]
    }


# -- the office and the administrators see every class -------------------------------------------


@pytest.mark.parametrize("client_fixture", ["superuser_client", "manager_client", "viewer_client"])
def test_staff_who_see_every_parent_see_every_class(request, classes, client_fixture):
    client = request.getfixturevalue(client_fixture)

    assert listed_classes(client.get(list_url())) == {"三年级1班", "四年级2班", "五年级1班"}
    assert students_on(client.get(class_url(CLASS_4_2))) == {"王小红": [("妈妈", True), ("爸爸", False)]}


def test_the_class_list_counts_students_and_guardians_not_connected(viewer_client, classes):
    response = viewer_client.get(list_url())

    counts = {c.name: (c.students_on_roster, c.guardians_not_connected) for c in response.context["cl"].result_list}
    assert counts == {"三年级1班": (3, 1), "四年级2班": (1, 1), "五年级1班": (1, 0)}
    assert "未连接的家长" in text_of(response)


def test_the_class_page_lists_students_guardians_and_who_is_not_connected(viewer_client, classes):
    response = viewer_client.get(class_url(CLASS_3_1))

    assert students_on(response) == {"李小明": [("爸爸", True), ("奶奶", False)], "赵小三": [("妈妈", True)]}
    html = text_of(response)
    assert "未连接企业微信" in html and "已连接企业微信" in html
    assert "吴小四" not in html  # left the class


def test_connected_guardians_show_every_teachers_remark_by_name(viewer_client, classes):
    response = viewer_client.get(class_url(CLASS_3_1))

    li = next(row for row in response.context["students"] if row.name == "李小明")
    dad, grandma = li.guardians
    assert [(remark.teacher, remark.remark) for remark in dad.remarks] == [("罗凯", "李部长"), ("唐明", "李总")]
    assert grandma.remarks == () and grandma.contact_id is None
    assert dad.contact_id == classes.contacts["woAAAA"].pk
    assert reverse("admin:contacts_externalcontact_change", args=[dad.contact_id]) in text_of(response)


def test_phones_are_masked_without_the_phone_permission(viewer_client, classes):
    html = text_of(viewer_client.get(class_url(CLASS_3_1)))

    assert "139****5678" in html and "138****4321" in html
    assert GRANDMA_PHONE not in html and LI_PHONE not in html


def test_phones_are_shown_whole_with_the_phone_permission(manager_client, classes):
    html = text_of(manager_client.get(class_url(CLASS_3_1)))

    assert GRANDMA_PHONE in html and LI_PHONE in html


def test_the_not_connected_filter_lists_only_the_guardians_to_chase(viewer_client, classes):
    response = viewer_client.get(class_url(CLASS_3_1), {"not_connected": "1"})

    assert students_on(response) == {"李小明": [("奶奶", False)]}


def test_the_search_keeps_students_by_name(viewer_client, classes):
    response = viewer_client.get(class_url(CLASS_3_1), {"q": "赵"})

    assert set(students_on(response)) == {"赵小三"}


def test_staff_who_may_see_phones_find_a_guardian_not_on_wecom_by_phone_and_it_is_audited(manager_client, classes):
    response = manager_client.get(class_url(CLASS_3_1), {"q": GRANDMA_PHONE[-6:]})

    assert students_on(response) == {"李小明": [("爸爸", True), ("奶奶", False)]}
    entry = AuditEntry.objects.get(action=AuditAction.PHONE_SEARCH)
    assert entry.user.username == "manager"
    assert GRANDMA_PHONE[-6:] in audit_result_text(entry)


def test_without_the_phone_permission_a_phone_finds_no_guardian(viewer_client, classes):
    response = viewer_client.get(class_url(CLASS_3_1), {"q": GRANDMA_PHONE[-6:]})

    assert students_on(response) == {}
    assert not AuditEntry.objects.exists()


def test_the_search_and_filter_together_can_find_nobody(viewer_client, classes):
    response = viewer_client.get(class_url(CLASS_3_1), {"q": "赵", "not_connected": "1"})

    assert students_on(response) == {}
    assert "没有符合条件的学生。" in text_of(response)


# -- a teacher sees their own classes -------------------------------------------------------------


def test_a_teacher_sees_only_the_classes_they_teach(classes):
    client = logged_in(classes.rocky)

    assert listed_classes(client.get(list_url())) == {"三年级1班"}
    assert students_on(client.get(class_url(CLASS_3_1))) == {
        "李小明": [("爸爸", True), ("奶奶", False)],
        "赵小三": [("妈妈", True)],
    }


@pytest.mark.parametrize("class_id", [CLASS_4_2, CLASS_5_1])
def test_a_class_outside_a_teachers_scope_is_not_found(classes, class_id):
    response = logged_in(classes.rocky).get(class_url(class_id))

    assert response.status_code == 404
    assert "王小红" not in text_of(response) and WANG_DAD_PHONE[-4:] not in text_of(response)


def test_a_teacher_sees_phones_masked(classes):
    html = text_of(logged_in(classes.rocky).get(class_url(CLASS_3_1)))

    assert "139****5678" in html and GRANDMA_PHONE not in html


def test_a_teacher_account_linked_to_no_member_sees_no_class(classes):
    client = logged_in(make_staff("newcomer", groups=[TEACHER_GROUP]))

    assert listed_classes(client.get(list_url())) == set()
    assert client.get(class_url(CLASS_3_1)).status_code == 404


def test_a_teacher_following_one_family_of_a_class_sees_that_family_only(classes):
    # 丁一 follows 赵六 (赵小三's mother) and teaches nothing.
    client = logged_in(linked(make_staff("dave", groups=[TEACHER_GROUP]), "dave"))

    assert listed_classes(client.get(list_url())) == {"三年级1班"}
    assert students_on(client.get(class_url(CLASS_3_1))) == {"赵小三": [("妈妈", True)]}


# -- the rows an export reads, and the cost of the page -------------------------------------------


def test_the_rows_of_a_class_are_what_the_page_shows(classes):
    school_class = Department.objects.get(department_id=CLASS_3_1)

    rows = class_roster(user=classes.rocky, school_class=school_class, reveal_phones=False)

    assert [(row.name, [(g.relation, g.phone, g.connected) for g in row.guardians]) for row in rows] == [
        ("李小明", [("爸爸", "138****4321", True), ("奶奶", "139****5678", False)]),
        ("赵小三", [("妈妈", "", True)]),
    ]


def test_the_class_page_costs_the_same_queries_for_2_or_12_students(viewer_client, classes):
    url = class_url(CLASS_3_1)
    viewer_client.get(url)
    with CaptureQueriesContext(connection) as small:
        viewer_client.get(url)
    klass = Department.objects.get(department_id=CLASS_3_1)
    now = timezone.now()
    for number in range(10):
        student = Student.objects.create(
            student_userid=f"s-more-{number}", name=f"陈{number}", department=klass, last_seen_at=now
        )
        parent = Guardian.objects.create(parent_userid=f"p-more-{number}", mobile="13600000000", last_seen_at=now)
        Guardianship.objects.create(guardian=parent, student=student, relation="妈妈", last_seen_at=now)
    with CaptureQueriesContext(connection) as large:
        response = viewer_client.get(url)

    assert len(students_on(response)) == 12
    assert len(large) == len(small)


def test_the_class_page_speaks_english_to_an_english_reader(viewer_client, classes):
    html = text_of(viewer_client.get(class_url(CLASS_3_1), HTTP_ACCEPT_LANGUAGE="en"))

    assert "Not yet on WeCom" in html and "Students: 2; parents: 3." in html
