"""A small school where the teacher rocky has some families and not others, for the tests of scope.

Test modules load the fixtures with `pytest_plugins = ["tests.admin_factories", "tests.scope_factories"]`
(PYTEST_DONT_REWRITE: the tests import it before pytest loads it as a plugin).

rocky (罗凯) heads 三年级1班, where tommy (唐明) teaches maths; tommy also teaches 五年级1班.

| parent     | followed by                     | child (class)                | rocky's?       |
|------------|---------------------------------|------------------------------|----------------|
| woAAAA 李四 | rocky, tommy                    | 李小明 (三年级1班)             | yes, both ways |
| woCCCC 赵六 | dave (丁一)                      | 赵小三 (三年级1班)             | yes, his class |
| woDDDD 孙七 | rocky                           | none                         | yes, he follows |
| woBBBB 王五 | alice_wang (安丽丝)              | 王小红 (四年级2班, alice_wang's) | no             |
| woEEEE 周八 | bob_bao (包博文); rocky ended     | 周小五 (五年级1班, bob_bao's)    | no: rocky's relation ended |
| woFFFF 吴九 | carol_ke (柯萝)                  | 吴小四 left 三年级1班           | no: the child left |

Everything named in the last three rows, and their teachers and classes, is OUTSIDE: no page
may show any of it to rocky.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.utils import timezone

from contacts.models import (
    Department,
    DepartmentAdmin,
    DepartmentAdminType,
    DepartmentType,
    ExternalContact,
    Guardian,
    Guardianship,
    StaffMember,
    Student,
)
from tests.admin_factories import (
    TEACHER_GROUP,
    linked,
    make_staff,
    other_parent_answer,
    parent_answer,
    seed,
    store_parent,
    teacher,
    without_teacher,
)

GRADE_3, GRADE_4, GRADE_5 = 3, 4, 5
CLASS_3_1, CLASS_4_2, CLASS_5_1 = 31, 42, 51

INSIDE = ("woAAAA", "woCCCC", "woDDDD")
OUTSIDE_PARENTS = ("woBBBB", "woEEEE", "woFFFF")

# Texts only the parents, teachers and classes outside rocky's scope have. None could turn up in a
# random token of a page (a CSRF token is letters and digits): the teachers' userids hold a "_".
OUTSIDE = (
    *OUTSIDE_PARENTS,
    "王五",
    "王小红",
    "艾老师的备注",
    "家委会成员",
    "alice_wang",
    "安丽丝",
    "四年级",
    "周八",
    "周小五",
    "包老师的备注",
    "罗老师以前的备注",
    "bob_bao",
    "包博文",
    "五年级",
    "吴九",
    "吴小四",
    "carol_ke",
    "柯萝",
    "柯老师的备注",
)
OUTSIDE_TEACHERS = ("alice_wang", "bob_bao", "carol_ke")
# Sidebar filters of the parent list given values from outside rocky's scope.
OUTSIDE_FILTERS = [
    {"teacher": "alice_wang"},
    {"teacher": "bob_bao"},
    {"tag": "家委会成员"},
    {"class": str(CLASS_4_2)},
    {"class": str(CLASS_5_1)},
    {"grade": str(GRADE_4)},
    {"grade": str(GRADE_5)},
]
# Texts of rocky's families that his pages show.
INSIDE_TEXTS = ("李四", "赵六", "孙七", "李小明", "赵小三", "唐明", "丁一", "三年级1班")


@dataclass(frozen=True)
class School:
    rocky: object  # the account of the teacher rocky
    contacts: dict[str, ExternalContact]

    def inside(self) -> list[ExternalContact]:
        return [self.contacts[external_userid] for external_userid in INSIDE]

    def outside(self) -> list[ExternalContact]:
        return [self.contacts[external_userid] for external_userid in OUTSIDE_PARENTS]


def _department(department_id: int, name: str, department_type: DepartmentType, parent: int | None = None):
    return Department.objects.create(
        department_id=department_id,
        parent_department_id=parent,
        name=name,
        type=department_type,
        standard_grade=department_id if department_type == DepartmentType.GRADE else None,
        last_seen_at=timezone.now(),
    )


def _member(userid: str, name: str, *teaches: tuple[Department, DepartmentAdminType, str]) -> None:
    now = timezone.now()
    StaffMember.objects.create(userid=userid, name=name, status=1, last_seen_at=now)
    for department, admin_type, subject in teaches:
        DepartmentAdmin.objects.create(
            department=department, userid=userid, type=admin_type, subject=subject, last_seen_at=now
        )


def _child(external_userid: str, name: str, klass: Department, relation: str, *, left: bool = False) -> None:
    now = timezone.now()
    guardian, _ = Guardian.objects.get_or_create(
        parent_userid=f"p-{external_userid}", defaults={"external_userid": external_userid, "last_seen_at": now}
    )
    student = Student.objects.create(student_userid=f"s-{name}", name=name, department=klass, last_seen_at=now)
    Guardianship.objects.create(
        guardian=guardian, student=student, relation=relation, last_seen_at=now, gone_at=now if left else None
    )


def build_school(wecom) -> School:
    school = _department(1, "实验学校", DepartmentType.SCHOOL)
    grades = {
        number: _department(number, name, DepartmentType.GRADE, school.department_id)
        for number, name in ((GRADE_3, "三年级"), (GRADE_4, "四年级"), (GRADE_5, "五年级"))
    }
    class_3_1 = _department(CLASS_3_1, "三年级1班", DepartmentType.CLASS, GRADE_3)
    class_4_2 = _department(CLASS_4_2, "四年级2班", DepartmentType.CLASS, GRADE_4)
    class_5_1 = _department(CLASS_5_1, "五年级1班", DepartmentType.CLASS, GRADE_5)
    head, subject = DepartmentAdminType.HEAD_TEACHER, DepartmentAdminType.SUBJECT_TEACHER
    _member("rocky", "罗凯", (class_3_1, head, "语文"))
    _member("tommy", "唐明", (class_3_1, subject, "数学"), (class_5_1, subject, "数学"))
    _member("dave", "丁一")
    _member("alice_wang", "安丽丝", (class_4_2, head, "语文"), (grades[GRADE_4], DepartmentAdminType.GRADE_HEAD, ""))
    _member("bob_bao", "包博文", (class_5_1, head, "语文"))
    _member("carol_ke", "柯萝")

    store_parent(wecom, seed())
    contacts = {}
    answer = parent_answer("woCCCC", name="赵六", subscriber_info={"remark": "赵小三-妈妈"})
    answer["follow_user"] = [teacher("dave", "丁老师的备注")]
    contacts["woCCCC"] = store_parent(wecom, answer)
    answer = parent_answer("woDDDD", name="孙七", subscriber_info={"remark": "孙七本人"})
    answer["follow_user"] = [teacher("rocky", "罗老师记的孙七")]
    contacts["woDDDD"] = store_parent(wecom, answer)
    answer = other_parent_answer("woBBBB")
    answer["follow_user"] = [teacher("alice_wang", "艾老师的备注", tags=["家委会成员"])]
    contacts["woBBBB"] = store_parent(wecom, answer)
    answer = parent_answer("woEEEE", name="周八", subscriber_info={"remark": "周小五-爸爸"})
    answer["follow_user"] = [teacher("rocky", "罗老师以前的备注"), teacher("bob_bao", "包老师的备注")]
    store_parent(wecom, answer)
    contacts["woEEEE"] = store_parent(wecom, without_teacher(answer, "rocky"))
    answer = parent_answer("woFFFF", name="吴九", subscriber_info={"remark": "吴小四-奶奶"})
    answer["follow_user"] = [teacher("carol_ke", "柯老师的备注")]
    contacts["woFFFF"] = store_parent(wecom, answer)
    contacts["woAAAA"] = ExternalContact.objects.get(external_userid="woAAAA")

    _child("woAAAA", "李小明", class_3_1, "爸爸")
    _child("woCCCC", "赵小三", class_3_1, "妈妈")
    _child("woBBBB", "王小红", class_4_2, "妈妈")
    _child("woEEEE", "周小五", class_5_1, "爸爸")
    _child("woFFFF", "吴小四", class_3_1, "奶奶", left=True)

    rocky = linked(make_staff("rocky", groups=[TEACHER_GROUP]), "rocky")
    return School(rocky=rocky, contacts=contacts)


@pytest.fixture
def school(wecom) -> School:
    return build_school(wecom)
