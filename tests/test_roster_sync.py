"""sync_roster stores the school roster from WeCom, marks what left it as gone, and writes all or nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import (
    Department,
    DepartmentAdmin,
    DepartmentAdminType,
    DepartmentType,
    FollowUser,
    Guardian,
    Guardianship,
    MemberStatus,
    RefreshTrigger,
    StaffMember,
    Student,
)
from contacts.selectors import classes_taught, member_names
from contacts.services.refresh import refresh_contact
from contacts.services.roster import RosterSync, sync_roster
from contacts.wecom.client import get_client
from contacts.wecom.errors import WeComError
from tests.admin_factories import seed, store_parent
from tests.conftest import API

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

SCHOOL, GRADE_3, GRADE_4 = 1, 3, 4
CLASS_3_1, CLASS_4_2 = 31, 42


# -- a small school answered by the `wecom` fake -------------------------------------------------


def parent(parent_userid: str, *children: tuple[str, str, str], external_userid: str | None = None) -> dict:
    """A list_parent entry; each child is (student_userid, name, relation)."""
    entry: dict = {"parent_userid": parent_userid, "mobile": "13800000000", "is_subscribe": 0}
    if external_userid:
        entry.update(is_subscribe=1, external_userid=external_userid)
    else:
        entry["external_userid"] = None
    entry["children"] = [{"student_userid": s, "name": n, "relation": r} for s, n, r in children]
    return entry


def departments(*, class_admins: tuple[str, ...] = ()) -> list[dict]:
    return [
        {"id": SCHOOL, "name": "实验学校", "parentid": 0, "type": 5, "order": 0, "department_admins": []},
        {"id": GRADE_3, "name": "三年级", "parentid": SCHOOL, "type": 2, "standard_grade": 3, "register_year": 2023},
        {"id": GRADE_4, "name": "四年级", "parentid": SCHOOL, "type": 2, "standard_grade": 4, "register_year": 2022},
        {
            "id": CLASS_3_1,
            "name": "三年级1班",
            "parentid": GRADE_3,
            "type": 1,
            "order": 2,
            "department_admins": [{"userid": userid, "type": 3} for userid in class_admins],
        },
        {"id": CLASS_4_2, "name": "2班", "parentid": GRADE_4, "type": 1, "order": 1, "department_admins": []},
    ]


@dataclass
class FakeRoster:
    """What school/department/list, school/user/list, externalcontact/list and user/get answer;
    tests edit it. A member not in `members` is unknown to WeCom (user/get answers 60111).

    The roster is written as list_parent lists it (`parents`: per class, each parent with all
    their children); school/user/list answers, per class, the children in it: a child is in
    the class `placement` says, else in the first class that lists them."""

    departments: list[dict] = field(default_factory=departments)
    parents: dict[int, list[dict]] = field(default_factory=dict)
    placement: dict[str, int] = field(default_factory=dict)  # student_userid -> class id
    followed: dict[str, list[str]] = field(default_factory=dict)  # staff userid -> external_userids
    failing: dict[int, int | str] = field(default_factory=dict)  # class id -> errcode, or "html"
    asked_staff: list[str] = field(default_factory=list)
    members: dict[str, str] = field(default_factory=dict)  # staff userid -> name
    member_failure: int | None = None  # an errcode every user/get answers

    def install(self, wecom) -> FakeRoster:
        wecom.rsps.add_callback("GET", f"{API}/school/department/list", callback=self._departments)
        wecom.rsps.add_callback("GET", f"{API}/school/user/list", callback=self._list_students)
        wecom.rsps.add_callback("GET", f"{API}/externalcontact/list", callback=self._list)
        wecom.rsps.add_callback("GET", f"{API}/user/get", callback=self._user_get)
        return self

    @staticmethod
    def _param(request, name: str) -> str:
        return parse_qs(urlparse(request.url).query)[name][0]

    @staticmethod
    def _ok(**fields):
        return 200, {"Content-Type": "application/json"}, json.dumps({"errcode": 0, "errmsg": "ok", **fields})

    @staticmethod
    def _error(errcode: int):
        return 200, {"Content-Type": "application/json"}, json.dumps({"errcode": errcode, "errmsg": "simulated"})

    def _departments(self, request):
        return self._ok(departments=self.departments)

    def _list_students(self, request):
        department_id = int(self._param(request, "department_id"))
        failure = self.failing.get(department_id)
        if failure == "html":
            return 502, {"Content-Type": "text/html"}, "<html><body>502 Bad Gateway</body></html>"
        if failure is not None:
            return self._error(int(failure))
        return self._ok(students=self.students_of(department_id))

    def class_of(self, student_userid: str) -> int:
        if student_userid in self.placement:
            return self.placement[student_userid]
        return next(
            class_id
            for class_id, entries in self.parents.items()
            if any(child["student_userid"] == student_userid for entry in entries for child in entry["children"])
        )

    def students_of(self, class_id: int) -> list[dict]:
        """The school/user/list answer (doc 92043) for one class."""
        students: dict[str, dict] = {}
        for entry in self.parents.get(class_id, []):
            for child in entry["children"]:
                if self.class_of(child["student_userid"]) != class_id:
                    continue
                student = students.setdefault(
                    child["student_userid"],
                    {"student_userid": child["student_userid"], "name": child["name"], "department": [class_id]},
                )
                listed = {key: entry[key] for key in ("parent_userid", "mobile", "is_subscribe", "external_userid")}
                student.setdefault("parents", []).append({**listed, "relation": child["relation"]})
        return list(students.values())

    def _user_get(self, request):
        userid = self._param(request, "userid")
        if self.member_failure is not None:
            return self._error(self.member_failure)
        if userid not in self.members:
            return self._error(60111)
        return self._ok(userid=userid, name=self.members[userid], department=[1], status=1)

    def _list(self, request):
        userid = self._param(request, "userid")
        self.asked_staff.append(userid)
        if userid not in self.followed:
            return self._error(84061)
        return self._ok(external_userid=self.followed[userid])


def family_roster(wecom, per_class: int = 2) -> FakeRoster:
    """`per_class` one-child families in each of the two classes; the first parent of each is subscribed."""
    roster = FakeRoster()
    for class_id in (CLASS_3_1, CLASS_4_2):
        roster.parents[class_id] = [
            parent(
                f"p{class_id}-{i}",
                (f"s{class_id}-{i}", f"学生{class_id}-{i}", "妈妈"),
                external_userid=f"wm{class_id}-{i}" if i == 0 else None,
            )
            for i in range(per_class)
        ]
    return roster.install(wecom)


def counts() -> tuple[int, int, int, int]:
    return (
        Department.objects.count(),
        Student.objects.count(),
        Guardian.objects.count(),
        Guardianship.objects.count(),
    )


def sync() -> RosterSync:
    return sync_roster(client=get_client())


# -- against the simulator ------------------------------------------------------------------------


def test_the_simulated_school_is_stored_whole(sandbox):
    school = sandbox.school
    result = sync()

    tree = school.departments()
    assert result.departments == len(tree) == Department.objects.count()
    stored = {d.department_id: d for d in Department.objects.all()}
    for department in tree:
        row = stored[department["id"]]
        assert (row.name, row.type, row.parent_department_id) == (
            department["name"],
            department["type"],
            department["parentid"],
        )
        assert row.standard_grade == department.get("standard_grade")
        assert row.last_seen_at is not None and row.gone_at is None
    assert result.classes == len(school.class_ids())

    subscribed: list[str] = []
    links: dict[tuple[str, str], tuple[str, str]] = {}
    listed_in: dict[str, set[int]] = {}
    for class_id in school.class_ids():
        for entry in school.list_parent(class_id):
            listed_in.setdefault(entry["parent_userid"], set()).add(class_id)
            if entry.get("external_userid") and entry["external_userid"] not in subscribed:
                subscribed.append(entry["external_userid"])
            for child in entry["children"]:
                links[(entry["parent_userid"], child["student_userid"])] = (child["relation"], child["name"])

    stored_links = {
        (link.guardian.parent_userid, link.student.student_userid): (link.relation, link.student.name)
        for link in Guardianship.objects.select_related("guardian", "student")
    }
    assert stored_links == links
    assert result.links == len(links)
    assert result.students == Student.objects.count() == len({student for _, student in links})
    assert result.guardians == Guardian.objects.count() == len(listed_in)

    # The roster's subscribed parents come first, in roster order.
    assert result.external_userids[: len(subscribed)] == subscribed
    guardians = list(Guardian.objects.all())
    assert {g.external_userid for g in guardians if g.external_userid} == set(subscribed)
    assert all(g.is_subscribe == bool(g.external_userid) for g in guardians)

    # Each student is in the class school/user/list lists them in; siblings included.
    listed_class = {s["student_userid"]: c for c in school.class_ids() for s in school.list_students(c)}
    assert dict(Student.objects.values_list("student_userid", "department__department_id")) == listed_class

    # Every class a parent is listed in holds one of their children.
    classes_of: dict[str, set[int]] = {}
    for link in Guardianship.objects.select_related("guardian", "student__department"):
        classes_of.setdefault(link.guardian.parent_userid, set()).add(link.student.department.department_id)
    assert classes_of == listed_in
    assert all(s.department.type == DepartmentType.CLASS for s in Student.objects.select_related("department"))


def test_the_parents_that_teachers_added_are_included(sandbox):
    school = sandbox.school
    refresh_contact(external_userid=school.external_userids()[0], trigger=RefreshTrigger.COMMAND)
    teachers = list(FollowUser.objects.values_list("userid", flat=True))
    assert teachers

    result = sync()

    for teacher in teachers:
        assert set(school.followed_by(teacher)) <= set(result.external_userids)
    contact_only = set(school.external_userids()) - set(Guardian.objects.values_list("external_userid", flat=True))
    assert contact_only & set(result.external_userids), "parents known only from a teacher's list are included"
    assert len(result.external_userids) == len(set(result.external_userids))


# -- with the fake ----------------------------------------------------------------------------------


def test_staff_from_follow_users_and_department_admins_are_asked_once_each(wecom):
    store_parent(wecom, seed())  # followed by rocky and tommy
    FollowUser.objects.filter(userid="tommy").update(ended_at="2024-01-01T00:00:00Z")
    roster = FakeRoster(departments=departments(class_admins=("head3", "rocky")))
    roster.parents[CLASS_3_1] = [parent("p1", ("s1", "张小明", "爸爸"), external_userid="wmROSTER")]
    roster.followed = {"rocky": ["wmROCKY", "wmROSTER"], "head3": ["wmHEAD"]}
    roster.install(wecom)

    result = sync()

    assert roster.asked_staff == ["rocky", "head3"], "active follow users first, then admins; tommy stopped"
    assert result.external_userids == ["wmROSTER", "wmROCKY", "wmHEAD"]
    assert result.staff == 2


def test_a_teacher_with_no_parents_adds_nothing(wecom):
    roster = FakeRoster(departments=departments(class_admins=("newteacher",)))
    roster.parents[CLASS_3_1] = [parent("p1", ("s1", "张小明", "爸爸"), external_userid="wm1")]
    roster.install(wecom)
    assert sync().external_userids == ["wm1"]


def test_what_leaves_the_roster_is_marked_gone_and_kept_and_comes_back(wecom):
    roster = family_roster(wecom)
    first = sync()
    assert (first.students, first.guardians, first.links) == (4, 4, 4)
    assert (first.students_gone, first.guardians_gone, first.links_gone) == (0, 0, 0)

    left = roster.parents[CLASS_3_1].pop()  # p31-1 and their only child s31-1 leave
    second = sync()
    assert (second.students_gone, second.guardians_gone, second.links_gone) == (1, 1, 1)
    assert counts() == (5, 4, 4, 4), "nothing is deleted"
    gone_student = Student.objects.get(student_userid="s31-1")
    assert gone_student.gone_at is not None
    assert Guardian.objects.get(parent_userid="p31-1").gone_at == gone_student.gone_at
    assert Guardianship.objects.filter(gone_at__isnull=False).count() == 1
    assert Student.objects.filter(gone_at__isnull=True).count() == 3

    third = sync()
    assert (third.students_gone, third.guardians_gone, third.links_gone) == (0, 0, 0), "gone only once"
    assert Student.objects.get(student_userid="s31-1").gone_at == gone_student.gone_at

    roster.parents[CLASS_3_1].append(left)
    back = sync()
    assert (back.students_back, back.guardians_back, back.links_back) == (1, 1, 1)
    assert not Student.objects.filter(gone_at__isnull=False).exists()
    assert not Guardian.objects.filter(gone_at__isnull=False).exists()
    assert not Guardianship.objects.filter(gone_at__isnull=False).exists()
    again = Student.objects.get(student_userid="s31-1")
    assert again.first_seen_at == gone_student.first_seen_at and again.last_seen_at > gone_student.last_seen_at


def test_a_link_that_ends_is_gone_while_parent_and_child_stay(wecom):
    roster = FakeRoster()
    roster.parents[CLASS_3_1] = [
        parent("dad", ("s1", "张小明", "爸爸")),
        parent("mum", ("s1", "张小明", "妈妈")),
    ]
    roster.install(wecom)
    sync()
    # school/user/list lists parents under their children: mum stays on the roster through another child.
    roster.parents[CLASS_3_1] = [parent("dad", ("s1", "张小明", "爸爸")), parent("mum", ("s2", "张小红", "妈妈"))]

    result = sync()

    assert (result.students_gone, result.guardians_gone, result.links_gone) == (0, 0, 1)
    link = Guardianship.objects.get(guardian__parent_userid="mum", student__student_userid="s1")
    assert link.gone_at is not None and link.relation == "妈妈"


def test_what_changes_in_wecom_is_updated(wecom):
    roster = FakeRoster()
    roster.parents[CLASS_3_1] = [parent("p1", ("s1", "张小明", "爸爸"))]
    roster.install(wecom)
    sync()
    roster.parents[CLASS_3_1] = [parent("p1", ("s1", "张晓明", "父亲"), external_userid="wmNEW")]
    roster.departments[3]["name"] = "三年级一班"

    sync()

    assert Student.objects.get().name == "张晓明"
    assert Guardianship.objects.get().relation == "父亲"
    guardian = Guardian.objects.get()
    assert (guardian.external_userid, guardian.is_subscribe) == ("wmNEW", True)
    assert Department.objects.get(department_id=CLASS_3_1).name == "三年级一班"


def test_a_departed_class_is_gone(wecom):
    roster = family_roster(wecom)
    sync()
    roster.departments = [d for d in roster.departments if d["id"] != CLASS_4_2]
    roster.parents.pop(CLASS_4_2)

    result = sync()

    assert result.departments_gone == 1
    assert Department.objects.get(department_id=CLASS_4_2).gone_at is not None
    assert result.students_gone == 2


@pytest.mark.parametrize("failure", [60011, "html"])
def test_a_failing_class_raises_and_writes_nothing(wecom, failure):
    roster = family_roster(wecom)
    sync()
    before = {
        model: list(model.objects.order_by("pk").values()) for model in (Department, Student, Guardian, Guardianship)
    }
    roster.parents[CLASS_3_1].pop()
    roster.parents[CLASS_4_2].append(parent("new", ("snew", "新同学", "妈妈"), external_userid="wmNEW"))
    roster.failing[CLASS_4_2] = failure

    with pytest.raises(WeComError):
        sync()

    assert {model: list(model.objects.order_by("pk").values()) for model in before} == before


def test_a_failing_teacher_list_raises_and_writes_nothing(wecom):
    store_parent(wecom, seed())
    family_roster(wecom)
    wecom.rsps.replace("GET", f"{API}/externalcontact/list", json={"errcode": 60011, "errmsg": "no privilege"})

    with pytest.raises(WeComError):
        sync()

    assert counts() == (0, 0, 0, 0)


def test_the_first_sync_of_a_school_writes_nothing_if_a_class_fails(wecom):
    roster = family_roster(wecom)
    roster.failing[CLASS_4_2] = 60011
    with pytest.raises(WeComError):
        sync()
    assert counts() == (0, 0, 0, 0)


def test_the_query_count_does_not_grow_with_the_roster(wecom):
    def queries_for(per_class: int) -> int:
        for model in (Guardianship, Student, Guardian, Department):
            model.objects.all().delete()
        family_roster(wecom, per_class=per_class)
        with CaptureQueriesContext(connection) as first:
            sync()
        with CaptureQueriesContext(connection) as second:
            sync()
        assert Guardian.objects.count() == 2 * per_class
        return len(first), len(second)

    small = queries_for(2)
    large = queries_for(40)
    assert small == large


def test_siblings_in_two_classes_are_each_placed_in_their_own(wecom):
    """list_parent lists a parent with all their children in each child's class; school/user/list tells
    which child is in which class, even when both have the same parents."""
    roster = FakeRoster(placement={"s-elder": CLASS_3_1, "s-younger": CLASS_4_2})
    both = [("s-elder", "王大宝", "妈妈"), ("s-younger", "王小宝", "妈妈")]
    roster.parents[CLASS_3_1] = [parent("mum", *both)]
    roster.parents[CLASS_4_2] = [parent("mum", *both)]
    roster.install(wecom)

    sync()

    placed = dict(Student.objects.values_list("student_userid", "department__department_id"))
    assert placed == {"s-elder": CLASS_3_1, "s-younger": CLASS_4_2}
    assert set(Guardianship.objects.values_list("student__student_userid", flat=True)) == {"s-elder", "s-younger"}


def test_twins_in_two_classes_are_each_placed_in_their_own(wecom):
    roster = FakeRoster(placement={"t1": CLASS_4_2, "t2": CLASS_3_1})
    twins = [("t1", "李一", "爸爸"), ("t2", "李二", "爸爸")]
    roster.parents[CLASS_3_1] = [parent("dad", *twins)]
    roster.parents[CLASS_4_2] = [parent("dad", *twins)]
    roster.install(wecom)

    sync()

    placed = dict(Student.objects.values_list("student_userid", "department__department_id"))
    assert placed == {"t1": CLASS_4_2, "t2": CLASS_3_1}


def test_guardians_not_on_wecom_are_stored_as_not_subscribed_without_external_userid(wecom):
    roster = FakeRoster()
    roster.parents[CLASS_3_1] = [
        parent("mum", ("s1", "周一", "妈妈"), external_userid="wm-mum"),
        parent("grandpa", ("s1", "周一", "爷爷")),
    ]
    roster.install(wecom)

    result = sync()

    grandpa = Guardian.objects.get(parent_userid="grandpa")
    assert (grandpa.external_userid, grandpa.is_subscribe, grandpa.mobile) == (None, False, "13800000000")
    assert grandpa.guardianships.get().relation == "爷爷"
    assert result.external_userids == ["wm-mum"]


def test_only_classes_are_asked_for_parents(wecom):
    family_roster(wecom)
    sync()
    asked = [
        int(parse_qs(urlparse(call.request.url).query)["department_id"][0])
        for call in wecom.rsps.calls
        if "/school/user/list?" in call.request.url
    ]
    assert sorted(asked) == [CLASS_3_1, CLASS_4_2]


# -- the staff: names and what each member teaches ---------------------------------------------------


def staffed_departments() -> list[dict]:
    """rocky heads 三年级1班 and teaches it 语文; tommy teaches maths in both classes; head4 heads 四年级 2班."""
    tree = departments()
    tree[1]["department_admins"] = [{"userid": "gradehead", "type": 2}]
    tree[3]["department_admins"] = [
        {"userid": "rocky", "type": 3, "subject": "语文"},
        {"userid": "tommy", "type": 4, "subject": "数学"},
    ]
    tree[4]["department_admins"] = [{"userid": "head4", "type": 3}, {"userid": "tommy", "type": 4, "subject": "数学"}]
    return tree


def staffed_roster(wecom) -> FakeRoster:
    roster = FakeRoster(departments=staffed_departments())
    roster.members = {"rocky": "罗凯", "tommy": "唐明", "head4": "何老师", "gradehead": "高主任"}
    return roster.install(wecom)


def test_each_members_name_is_read_and_kept(wecom):
    roster = staffed_roster(wecom)

    result = sync()

    assert dict(StaffMember.objects.values_list("userid", "name")) == roster.members
    assert set(StaffMember.objects.values_list("status", flat=True)) == {MemberStatus.ACTIVE}
    assert result.members == 4
    assert member_names(userids=["rocky", "tommy", "nobody"]) == {"rocky": "罗凯", "tommy": "唐明"}


def test_the_follow_users_are_read_as_members_too(wecom):
    store_parent(wecom, seed())  # followed by rocky and tommy
    roster = FakeRoster()
    roster.members = {"rocky": "罗凯", "tommy": "唐明"}
    roster.install(wecom)

    sync()

    assert set(StaffMember.objects.values_list("userid", flat=True)) == {"rocky", "tommy"}


def test_who_heads_and_teaches_each_class_is_stored(wecom):
    staffed_roster(wecom)

    sync()

    stored = {
        (admin.department.department_id, admin.userid, admin.type, admin.subject)
        for admin in DepartmentAdmin.objects.select_related("department")
    }
    assert stored == {
        (GRADE_3, "gradehead", DepartmentAdminType.GRADE_HEAD, ""),
        (CLASS_3_1, "rocky", DepartmentAdminType.HEAD_TEACHER, "语文"),
        (CLASS_3_1, "tommy", DepartmentAdminType.SUBJECT_TEACHER, "数学"),
        (CLASS_4_2, "head4", DepartmentAdminType.HEAD_TEACHER, ""),
        (CLASS_4_2, "tommy", DepartmentAdminType.SUBJECT_TEACHER, "数学"),
    }
    assert list(classes_taught(userid="rocky").values_list("department_id", flat=True)) == [CLASS_3_1]
    assert sorted(classes_taught(userid="tommy").values_list("department_id", flat=True)) == [CLASS_3_1, CLASS_4_2]
    assert not classes_taught(userid="gradehead").exists(), "a grade head teaches no class by that alone"


def test_a_teacher_who_stops_teaching_a_class_no_longer_has_it_and_a_member_who_left_is_gone(wecom):
    roster = staffed_roster(wecom)
    sync()
    roster.departments[4]["department_admins"] = [{"userid": "head4", "type": 3}]
    del roster.members["gradehead"]  # left the school: user/get answers 60111

    result = sync()

    assert list(classes_taught(userid="tommy").values_list("department_id", flat=True)) == [CLASS_3_1]
    ended = DepartmentAdmin.objects.get(userid="tommy", department__department_id=CLASS_4_2)
    assert ended.gone_at is not None, "kept, marked gone"
    assert StaffMember.objects.get(userid="gradehead").gone_at is not None
    assert (result.members, result.members_gone) == (3, 1)


def test_a_renamed_member_is_renamed(wecom):
    roster = staffed_roster(wecom)
    sync()
    roster.members["rocky"] = "罗凯文"

    sync()

    assert StaffMember.objects.get(userid="rocky").name == "罗凯文"


def test_a_failing_member_read_raises_and_writes_nothing(wecom):
    roster = staffed_roster(wecom)
    roster.member_failure = 60011

    with pytest.raises(WeComError):
        sync()

    assert counts() == (0, 0, 0, 0)
    assert not StaffMember.objects.exists() and not DepartmentAdmin.objects.exists()


def test_an_admin_entry_without_a_type_is_not_stored_but_its_member_is_read(wecom):
    roster = FakeRoster(departments=departments(class_admins=("rocky",)))
    roster.departments[3]["department_admins"] = [{"userid": "rocky"}]
    roster.members = {"rocky": "罗凯"}
    roster.install(wecom)

    sync()

    assert not DepartmentAdmin.objects.exists()
    assert StaffMember.objects.get().name == "罗凯"


def test_the_simulated_schools_staff_are_stored_with_their_names_and_classes(sandbox):
    school = sandbox.school

    result = sync()

    assert result.members == len(school.staff_userids()) == StaffMember.objects.count()
    assert StaffMember.objects.get(userid="rocky").name == "罗凯"
    assert StaffMember.objects.get(userid="tommy").name == "唐明"
    class_3_1 = Department.objects.get(name="三年级1班")
    assert class_3_1 in classes_taught(userid="rocky")
    assert class_3_1 in classes_taught(userid="tommy")
