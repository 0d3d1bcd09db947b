"""A simulated school: department tree, teachers, students, parents and their WeCom details.

`build_school(parents=N, seed=S)` is deterministic: every item comes from its own
`random.Random(f"{seed}:<what>:<index>")` (or a BLAKE2 hash for ids), never from the
global generator or `hash()`, so the same seed gives the same JSON in every process.

Only compact structures are kept (arrays of ints, one dict from external_userid to
parent index, the teachers and the department tree). A family, a parent's roster entry
and a parent's externalcontact/get detail are computed from their index on request, so
a school of 20,000 parents stays small.

Fixed points: parent 0 is the seed document's `woAAAA` (李四, 爸爸 of 李小明 in 三年级1班,
followed by `rocky`, the head teacher, and `tommy`, the maths teacher); parent 1 (李小明's
mother) is always "lost" (the school lost the relation: externalcontact/get answers 84061),
so that even a tiny school has one. The stage heads (学段负责人) follow no parent, so their
externalcontact/list answers 84061.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import random
import string
import threading
from array import array
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from . import names, seed_example

# The school year of the roster is fixed, not taken from today's date: the same seed must
# give the same register_year on any day.
SCHOOL_YEAR = 2024
CLASS_SIZE = 45
GRADES = 9  # 九年一贯制: 小学 1-6, 初中 7-9
PRIMARY_GRADES = 6
ROOT_ID, PRIMARY_ID, MIDDLE_ID = 1, 2, 3
FIRST_CLASS_ID = 4 + GRADES  # grade g has id 3 + g; classes follow

# Department types (doc 92299) and department_admins types (doc 92297).
DEPT_CLASS, DEPT_GRADE, DEPT_STAGE, DEPT_SCHOOL = 1, 2, 3, 5
ADMIN_GRADE_HEAD, ADMIN_HEAD_TEACHER, ADMIN_SUBJECT_TEACHER, ADMIN_STAGE_HEAD = 2, 3, 4, 5

# A parent's link with WeCom.
NOT_CONNECTED = 0  # in the roster only: no external_userid anywhere
SUBSCRIBED = 1  # follows 学校通知: external_userid in list_parent, is_subscribe 1 in the detail
CONTACT_ONLY = 2  # a teacher's contact who does not follow 学校通知: only in externalcontact/list

# (relations of a family's guardians, weight)
_GUARDIAN_SETS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("爸爸", "妈妈"), 45),
    (("妈妈", "爸爸"), 15),
    (("妈妈",), 15),
    (("爸爸",), 8),
    (("妈妈", "奶奶"), 4),
    (("爸爸", "外婆"), 3),
    (("爷爷", "奶奶"), 4),
    (("外公", "外婆"), 3),
    (("奶奶",), 2),
    (("爷爷",), 1),
)
_RELATION_SETS = [relations for relations, _ in _GUARDIAN_SETS]
_RELATION_CUM_WEIGHTS = list(itertools.accumulate(weight for _, weight in _GUARDIAN_SETS))
_MALE_RELATIONS = frozenset({"爸爸", "爷爷", "外公"})
# Average children per guardian (1.15 children per family, 1.74 guardians): sizes the classes.
_STUDENTS_PER_PARENT = 0.66

_B62 = string.digits + string.ascii_letters


class NotFound(LookupError):
    """No such contact, or the teacher does not follow that contact."""


@dataclass(frozen=True)
class Guardian:
    name: str
    relation: str


@dataclass(frozen=True)
class Child:
    name: str
    given: str  # the name without the surname: "小明" in "李小明妈妈"
    grade: int  # standard grade 1..9
    klass: int  # 0-based class number in its grade


class _Shape(NamedTuple):
    relations: tuple[str, ...]  # one per guardian
    statuses: tuple[tuple[int, bool], ...]  # (link status, lost) per guardian
    placements: tuple[tuple[int, int], ...]  # (grade, class number) per child


@dataclass(frozen=True)
class Family:
    surname: str
    guardians: tuple[Guardian, ...]
    children: tuple[Child, ...]


@dataclass(frozen=True)
class Admin:
    userid: str
    type: int
    subject: str


def _digest(text: str, size: int) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=size).digest()


# Maps each byte to a letter or digit (a slight bias is harmless for made-up ids).
_ID_TABLE = bytes(ord(_B62[byte % 62]) for byte in range(256))


def _random_id(text: str, length: int) -> str:
    """A deterministic id of `length` letters and digits, derived from `text`."""
    return _digest(text, length).translate(_ID_TABLE).decode()


def _subjects(grade: int) -> tuple[str, ...]:
    """Subjects taught by a subject teacher (语文 is the head teacher's own)."""
    if grade <= PRIMARY_GRADES:
        return ("数学", "英语")
    return ("数学", "英语", "物理" if grade >= 8 else "生物")


def grade_id(grade: int) -> int:
    return 3 + grade


class School:
    """Use `build_school()`. Read methods return fresh dicts and lists; callers may change them."""

    def __init__(self, *, parents: int, seed: int) -> None:
        if parents < 1:
            raise ValueError("a school needs at least one parent")
        self.seed = seed
        self.parent_count = parents
        self.classes_per_grade = max(1, round(parents * _STUDENTS_PER_PARENT / GRADES / CLASS_SIZE))
        rng = random.Random(f"{seed}:school")
        self.name = f"{rng.choice(names.CITIES)}市{rng.choice(names.SCHOOL_NAMES)}"
        # Small caches: a batch of calls for one class reuses its families.
        self._family = lru_cache(maxsize=2048)(self._make_family)
        self._follow_userids = lru_cache(maxsize=4096)(self._make_follow_userids)
        self._lock = threading.Lock()
        self._overrides: dict[tuple[str, str], dict[str, str]] = {}
        self._users: tuple[dict[str, int], dict[str, int]] | None = None
        self._build_staff()
        self._build_roster()
        self._build_departments()

    # ----- construction -------------------------------------------------------------

    def class_id(self, grade: int, klass: int) -> int:
        return FIRST_CLASS_ID + (grade - 1) * self.classes_per_grade + klass

    def _add_teacher(self, key: str) -> str:
        rng = random.Random(f"{self.seed}:teacher:{key}")
        surname, surname_pinyin = rng.choice(names.SURNAMES)
        given, given_pinyin = rng.choice(names.FEMALE_GIVEN if rng.random() < 0.65 else names.MALE_GIVEN)
        userid = base = surname_pinyin + given_pinyin
        number = 2
        while userid in self._staff_names:
            userid = f"{base}{number}"
            number += 1
        self._staff_names[userid] = surname + given
        return userid

    def _build_staff(self) -> None:
        # The seed example's follow users are real staff: rocky heads 三年级1班, tommy teaches it maths.
        self._staff_names: dict[str, str] = {}
        self._stage_heads = {
            PRIMARY_ID: self._add_teacher("stage:primary"),
            MIDDLE_ID: self._add_teacher("stage:middle"),
        }
        self._staff_names["rocky"] = "罗凯"
        self._staff_names["tommy"] = "唐明"
        self._class_admins: dict[int, tuple[Admin, ...]] = {}
        self._staff_classes: dict[str, list[int]] = {}
        for grade in range(1, GRADES + 1):
            shared: dict[tuple[str, int], str] = {}  # a subject teacher teaches two classes
            for klass in range(self.classes_per_grade):
                head = "rocky" if (grade, klass) == (3, 0) else self._add_teacher(f"head:{grade}:{klass}")
                admins = [Admin(head, ADMIN_HEAD_TEACHER, "语文")]
                for subject in _subjects(grade):
                    key = (subject, klass // 2)
                    if key not in shared:
                        is_tommy = (grade, subject, klass // 2) == (3, "数学", 0)
                        shared[key] = "tommy" if is_tommy else self._add_teacher(f"{subject}:{grade}:{klass // 2}")
                    admins.append(Admin(shared[key], ADMIN_SUBJECT_TEACHER, subject))
                class_id = self.class_id(grade, klass)
                self._class_admins[class_id] = tuple(admins)
                for admin in admins:
                    self._staff_classes.setdefault(admin.userid, []).append(class_id)

    def _build_roster(self) -> None:
        self._parent_family = array("I")  # parent index -> family index
        self._family_parent_start = array("I")  # family index -> first parent index (+ sentinel)
        self._family_student_start = array("I")  # family index -> first student index (+ sentinel)
        self._class_parents: dict[int, array[int]] = {cid: array("I") for cid in self._class_admins}
        self._class_students: dict[int, array[int]] = {cid: array("I") for cid in self._class_admins}
        self._status = bytearray()  # parent index -> NOT_CONNECTED / SUBSCRIBED / CONTACT_ONLY
        self._lost: set[int] = set()
        self._index_by_external_userid: dict[str, int] = {}
        parent = student = family_index = 0
        while parent < self.parent_count:
            shape = self._family_shape(family_index)
            count = min(len(shape.relations), self.parent_count - parent)  # the last family may be cut
            self._family_parent_start.append(parent)
            self._family_student_start.append(student)
            for position in range(count):
                index = parent + position
                status, lost = shape.statuses[position]
                self._parent_family.append(family_index)
                self._status.append(status)
                if status != NOT_CONNECTED:
                    self._index_by_external_userid[self._external_userid(index)] = index
                    if lost:
                        self._lost.add(index)
            for number, (grade, klass) in enumerate(shape.placements):
                self._class_parents[self.class_id(grade, klass)].extend(range(parent, parent + count))
                self._class_students[self.class_id(grade, klass)].append(student + number)
            parent += count
            student += len(shape.placements)
            family_index += 1
        self._family_parent_start.append(parent)
        self._family_student_start.append(student)
        self.student_count = student

    def _build_departments(self) -> None:
        stage_names = {PRIMARY_ID: "小学", MIDDLE_ID: "初中"}
        departments: list[dict[str, Any]] = [
            {"id": ROOT_ID, "name": self.name, "parentid": 0, "type": DEPT_SCHOOL, "order": 0, "department_admins": []}
        ]
        for order, (stage_id, stage_name) in enumerate(stage_names.items()):
            departments.append(
                {
                    "id": stage_id,
                    "name": stage_name,
                    "parentid": ROOT_ID,
                    "type": DEPT_STAGE,
                    "order": len(stage_names) - order,  # a larger order comes first
                    "department_admins": [{"userid": self._stage_heads[stage_id], "type": ADMIN_STAGE_HEAD}],
                }
            )
        for grade in range(1, GRADES + 1):
            first_class = self.class_id(grade, 0)
            departments.append(
                {
                    "id": grade_id(grade),
                    "name": names.GRADE_NAMES[grade - 1],
                    "parentid": PRIMARY_ID if grade <= PRIMARY_GRADES else MIDDLE_ID,
                    "type": DEPT_GRADE,
                    "register_year": SCHOOL_YEAR - grade + 1,
                    "standard_grade": grade,
                    "order": GRADES + 1 - grade,
                    "department_admins": [
                        {"userid": self._class_admins[first_class][0].userid, "type": ADMIN_GRADE_HEAD}
                    ],
                    "is_graduated": 0,
                }
            )
            for klass in range(self.classes_per_grade):
                class_id = self.class_id(grade, klass)
                rng = random.Random(f"{self.seed}:class:{class_id}")
                department: dict[str, Any] = {
                    "id": class_id,
                    "name": f"{names.GRADE_NAMES[grade - 1]}{klass + 1}班",
                    "parentid": grade_id(grade),
                    "type": DEPT_CLASS,
                    "order": self.classes_per_grade - klass,
                    "department_admins": [
                        {"userid": admin.userid, "type": admin.type, "subject": admin.subject}
                        for admin in self._class_admins[class_id]
                    ],
                    "open_group_chat": 1 if rng.random() < 0.7 else 0,
                }
                if department["open_group_chat"]:
                    department["group_chat_id"] = "wr" + _random_id(f"{self.seed}:chat:{class_id}", 20)
                departments.append(department)
        self._departments = departments
        self._department_children: dict[int, list[int]] = {d["id"]: [] for d in departments}
        for department in departments[1:]:
            self._department_children[department["parentid"]].append(department["id"])

    # ----- per-item generators ------------------------------------------------------

    def _family_shape(self, index: int) -> _Shape:
        """What the roster needs of a family; cheap, since it runs for every family at start."""
        if index == 0:
            # 李小明's family: woAAAA (爸爸) and a mother who is the school's one sure "lost" parent.
            return _Shape(("爸爸", "妈妈"), ((SUBSCRIBED, False), (SUBSCRIBED, True)), ((3, 0),))
        rng = random.Random(f"{self.seed}:family:{index}")
        relations = rng.choices(_RELATION_SETS, cum_weights=_RELATION_CUM_WEIGHTS)[0]
        statuses = []
        for _ in relations:
            draw = rng.random()
            status = SUBSCRIBED if draw < 0.86 else CONTACT_ONLY if draw < 0.92 else NOT_CONNECTED
            statuses.append((status, status != NOT_CONNECTED and rng.random() < 0.02))
        grades = rng.sample(range(1, GRADES + 1), 2 if rng.random() < 0.15 else 1)  # siblings: other grades
        placements = tuple((grade, rng.randrange(self.classes_per_grade)) for grade in grades)
        return _Shape(relations, tuple(statuses), placements)

    def _make_family(self, index: int) -> Family:
        shape = self._family_shape(index)
        if index == 0:
            guardians = (Guardian(seed_example.PARENT_NAME, seed_example.RELATION), Guardian("王芳", "妈妈"))
            return Family("李", guardians, (Child(seed_example.CHILD_NAME, "小明", 3, 0),))
        rng = random.Random(f"{self.seed}:names:{index}")
        surname = rng.choice(names.SURNAMES)[0]
        children: list[Child] = []
        for grade, klass in shape.placements:
            given = rng.choice(names.CHILD_GIVEN)
            while any(child.given == given for child in children):
                given = rng.choice(names.CHILD_GIVEN)
            children.append(Child(surname + given, given, grade, klass))
        guardians = tuple(
            Guardian(self._guardian_name(rng, surname, relation), relation) for relation in shape.relations
        )
        return Family(surname, guardians, tuple(children))

    @staticmethod
    def _guardian_name(rng: random.Random, surname: str, relation: str) -> str:
        other = rng.choice(names.SURNAMES)[0]
        while other == surname:
            other = rng.choice(names.SURNAMES)[0]
        if relation == "爸爸":
            return surname + rng.choice(names.MALE_GIVEN)[0]
        if relation == "爷爷":
            return surname + rng.choice(names.OLD_MALE_GIVEN)
        if relation == "妈妈":
            return other + rng.choice(names.FEMALE_GIVEN)[0]
        if relation == "外公":
            return other + rng.choice(names.OLD_MALE_GIVEN)
        return other + rng.choice(names.OLD_FEMALE_GIVEN)  # 奶奶, 外婆

    def _external_userid(self, index: int) -> str:
        if index == 0:
            return seed_example.EXTERNAL_USERID
        return "wm" + _random_id(f"{self.seed}:external:{index}", 22)

    def _parent_userid(self, index: int) -> str:
        return "P" + _digest(f"{self.seed}:parent:{index}", 8).hex()

    def _student_userid(self, index: int) -> str:
        return "S" + _digest(f"{self.seed}:student:{index}", 8).hex()

    def _mobile(self, index: int) -> str:
        if index == 0:
            return seed_example.MOBILE
        rng = random.Random(f"{self.seed}:mobile:{index}")
        return rng.choice(names.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"

    def _parent(self, index: int) -> tuple[int, Family, Guardian]:
        family_index = self._parent_family[index]
        family = self._family(family_index)
        return family_index, family, family.guardians[index - self._family_parent_start[family_index]]

    def _make_follow_userids(self, index: int) -> tuple[str, ...]:
        """1-3 teachers of the children's classes, usually with the first child's head teacher."""
        if index == 0:
            return seed_example.FOLLOW_USERIDS
        _, family, _ = self._parent(index)
        candidates: list[str] = []
        for child in family.children:
            for admin in self._class_admins[self.class_id(child.grade, child.klass)]:
                if admin.userid not in candidates:
                    candidates.append(admin.userid)
        rng = random.Random(f"{self.seed}:follow:{index}")
        count = min(rng.choices((1, 2, 3), weights=(50, 35, 15))[0], len(candidates))
        if rng.random() < 0.8:
            return (candidates[0], *rng.sample(candidates[1:], count - 1))
        return tuple(rng.sample(candidates, count))

    def _generated_contact(self, index: int) -> dict[str, Any]:
        _, family, guardian = self._parent(index)
        child = family.children[0]
        mobile = self._mobile(index)
        rng = random.Random(f"{self.seed}:contact:{index}")
        corp = rng.choice(names.CORPS) if rng.random() < 0.08 else None  # a WeCom user of another org

        draw = rng.random()
        if draw < 0.8:
            name = guardian.name
        elif draw < 0.93:
            name = f"{child.given}{guardian.relation}"
        else:
            name = rng.choice(names.NICKNAMES)
        male = guardian.relation in _MALE_RELATIONS
        gender = (1 if male else 2) if rng.random() < 0.9 else 0

        contact: dict[str, Any] = {"external_userid": self._external_userid(index), "name": name}
        position = rng.choice(names.POSITIONS)
        if corp:
            contact["position"] = position
        if rng.random() < 0.9:
            host = "p.qlogo.cn/bizmail" if corp else "wx.qlogo.cn/mmhead"
            contact["avatar"] = f"http://{host}/{_random_id(f'{self.seed}:avatar:{index}', 32)}/0"
        if corp:
            contact["corp_name"] = corp[0]
            contact["corp_full_name"] = corp[1]
        contact["type"] = 2 if corp else 1
        contact["gender"] = gender
        # unionid only when the school bound a WeChat developer ID: most, not all.
        if rng.random() < (0.4 if corp else 0.8):
            contact["unionid"] = "o" + _random_id(f"{self.seed}:unionid:{index}", 27)
        if self._status[index] == SUBSCRIBED:
            contact["is_subscribe"] = 1
            tag_count = rng.choices((0, 1, 2), weights=(50, 35, 15))[0]
            remark_mobiles = [mobile] if rng.random() < 0.8 else []
            contact["subscriber_info"] = {
                "tag_id": [self._school_tag_id(tag) for tag in sorted(rng.sample(range(6), tag_count))],
                "remark_mobiles": remark_mobiles,
                "remark": f"{child.name}-{guardian.relation}",
            }
        if corp:
            contact["external_profile"] = {"external_attr": self._external_attrs(rng, index, corp, position)}
        return {"external_contact": contact, "follow_user": self._generated_follow_users(index, family, guardian, corp)}

    def _school_tag_id(self, tag: int) -> str:
        return "et" + _random_id(f"{self.seed}:tag:{tag}", 20)

    def _external_attrs(
        self, rng: random.Random, index: int, corp: tuple[str, str, str], position: str
    ) -> list[dict[str, Any]]:
        short_name, _, domain = corp
        attrs: list[dict[str, Any]] = [
            {"type": 0, "name": "职务", "text": {"value": position}},
            {"type": 1, "name": "官网", "web": {"url": f"https://www.{domain}.com", "title": short_name}},
            {
                "type": 2,
                "name": "小程序",
                "miniprogram": {
                    "appid": "wx" + _digest(f"{self.seed}:appid:{domain}", 8).hex(),
                    "pagepath": "/pages/index/index",
                    "title": f"{short_name}服务",
                },
            },
        ]
        # A type the docs do not define, so that clients meet one and must not fail on it.
        if rng.random() < 0.4:
            attrs.append({"type": 3, "name": "视频号", "channels": {"nickname": f"{short_name}官方", "status": 1}})
        return attrs

    def _generated_follow_users(
        self, index: int, family: Family, guardian: Guardian, corp: tuple[str, str, str] | None
    ) -> list[dict[str, Any]]:
        child = family.children[0]
        mobile = self._mobile(index)
        follow_users = []
        for userid in self._follow_userids(index):
            rng = random.Random(f"{self.seed}:follow:{index}:{userid}")
            remark = rng.choice(
                (
                    f"{child.name}-{guardian.relation}",
                    f"{child.name}{guardian.relation}",
                    f"{child.given}{guardian.relation}",
                    guardian.name,
                )
            )
            tags = rng.sample(names.FOLLOW_TAGS, rng.choices((0, 1, 2, 3), (30, 35, 25, 10))[0])
            follow_user: dict[str, Any] = {
                "userid": userid,
                "remark": remark,
                "description": rng.choice(names.DESCRIPTIONS),
                # Between the start of the 2021 school year and mid 2024.
                "createtime": 1630425600 + rng.randrange(3 * 365 * 86400),
                "tags": [{"group_name": group, "tag_name": tag, "type": kind} for group, tag, kind in tags],
            }
            if corp and rng.random() < 0.6:
                follow_user["remark_corp_name"] = corp[0]
            draw = rng.random()
            if draw < 0.2:  # printed as numbers in the docs...
                follow_user["remark_mobiles"] = [int(mobile)]
            elif draw < 0.4:  # ...and strings elsewhere: clients must accept both
                follow_user["remark_mobiles"] = [mobile]
            if rng.random() < 0.25:
                follow_user["state"] = rng.choice(names.STATES)
            follow_users.append(follow_user)
        return follow_users

    # ----- public reading API -------------------------------------------------------

    def external_userids(self, *, include_lost: bool = True) -> list[str]:
        """Every external_userid known to WeCom, in roster order: subscribed, contact-only and lost."""
        if include_lost:
            return list(self._index_by_external_userid)
        return [eid for eid, index in self._index_by_external_userid.items() if index not in self._lost]

    def composition(self) -> dict[str, int]:
        """How the roster's parents stand with WeCom; the lost ones are among the first two counts."""
        return {
            "subscribed": self._status.count(SUBSCRIBED),
            "contact_only": self._status.count(CONTACT_ONLY),
            "roster_only": self._status.count(NOT_CONNECTED),
            "lost": len(self._lost),
        }

    def lost_external_userids(self) -> list[str]:
        """The ids whose externalcontact/get answers 84061 (still in list_parent and teachers' lists)."""
        return [self._external_userid(index) for index in sorted(self._lost)]

    def is_lost(self, external_userid: str) -> bool:
        index = self._index_by_external_userid.get(external_userid)
        return index is not None and index in self._lost

    def staff_userids(self) -> list[str]:
        return list(self._staff_names)

    def staff_name(self, userid: str) -> str | None:
        return self._staff_names.get(userid)

    def class_ids(self) -> list[int]:
        return list(self._class_admins)

    def member(self, userid: str) -> dict[str, Any] | None:
        """user/get (doc 90196) of a staff member; None for an unknown userid.

        `department` is the member's place in the school's staff directory (企业通讯录), not the
        家校通讯录 classes: every simulated member sits at its root.
        """
        name = self._staff_names.get(userid)
        if name is None:
            return None
        return {"userid": userid, "name": name, "department": [1], "main_department": 1, "status": 1}

    def teachers(self) -> list[tuple[str, str, str]]:
        """(userid, name, what they do) of every staff member, heads and teachers of 三年级1班 first."""
        roles: dict[str, list[str]] = {userid: [] for userid in self._staff_names}
        class_names = {d["id"]: d["name"] for d in self._departments if d["type"] == DEPT_CLASS}
        for class_id, admins in self._class_admins.items():
            for admin in admins:
                role = "班主任" if admin.type == ADMIN_HEAD_TEACHER else admin.subject
                roles[admin.userid].append(f"{class_names[class_id]}{role}")
        for stage_id, userid in self._stage_heads.items():
            roles[userid].append(f"{'小学' if stage_id == PRIMARY_ID else '初中'}学段负责人")
        order = {"rocky": 0, "tommy": 1}
        userids = sorted(self._staff_names, key=lambda userid: order.get(userid, 2))
        return [(userid, self._staff_names[userid], "、".join(roles[userid])) for userid in userids]

    def departments(self, department_id: int | None = None) -> list[dict[str, Any]] | None:
        """The whole tree, or one department and everything below it; None for an unknown id."""
        by_id = {d["id"]: d for d in self._departments}
        if department_id is None:
            wanted = [d["id"] for d in self._departments]
        elif department_id not in by_id:
            return None
        else:
            wanted, pending = [], [department_id]
            while pending:
                current = pending.pop(0)
                wanted.append(current)
                pending.extend(self._department_children[current])
        return [_copy_department(by_id[i]) for i in wanted]

    def list_parent(self, department_id: int) -> list[dict[str, Any]] | None:
        """The parents of one department, not recursive (only classes hold parents); None if unknown."""
        if department_id not in self._department_children:
            return None
        return [self._roster_entry(index) for index in self._class_parents.get(department_id, ())]

    def list_students(self, department_id: int) -> list[dict[str, Any]] | None:
        """school/user/list (doc 92043): the students of one department, each with their class and
        parents, not recursive (only classes hold students); None if unknown."""
        if department_id not in self._department_children:
            return None
        return [self._student_entry(index) for index in self._class_students.get(department_id, ())]

    def _roster_entry(self, index: int) -> dict[str, Any]:
        family_index, family, guardian = self._parent(index)
        subscribed = self._status[index] == SUBSCRIBED
        entry: dict[str, Any] = {
            "parent_userid": self._parent_userid(index),
            "mobile": self._mobile(index),
            "is_subscribe": 1 if subscribed else 0,
        }
        if subscribed:
            entry["external_userid"] = self._external_userid(index)
        first_student = self._family_student_start[family_index]
        entry["children"] = [
            {
                "student_userid": self._student_userid(first_student + number),
                "relation": guardian.relation,
                "name": child.name,
            }
            for number, child in enumerate(family.children)
        ]
        return entry

    def school_user(self, userid: str) -> dict[str, Any] | None:
        """school/user/get (doc 92337): {"user_type": 2, "parent": ...} or {"user_type": 1, "student": ...};
        None for an unknown userid."""
        parents, students = self._user_indexes()
        if userid in parents:
            return {"user_type": 2, "parent": self._roster_entry(parents[userid])}
        if userid in students:
            return {"user_type": 1, "student": self._student_entry(students[userid])}
        return None

    def _user_indexes(self) -> tuple[dict[str, int], dict[str, int]]:
        """Roster userid -> index, built on first use: most runs never look a single user up."""
        with self._lock:
            if self._users is None:
                self._users = (
                    {self._parent_userid(index): index for index in range(self.parent_count)},
                    {self._student_userid(index): index for index in range(self.student_count)},
                )
            return self._users

    def _student_entry(self, index: int) -> dict[str, Any]:
        family_index = bisect.bisect_right(self._family_student_start, index) - 1
        family = self._family(family_index)
        child = family.children[index - self._family_student_start[family_index]]
        first_parent = self._family_parent_start[family_index]
        parents = []
        for parent in range(first_parent, self._family_parent_start[family_index + 1]):
            subscribed = self._status[parent] == SUBSCRIBED
            entry: dict[str, Any] = {
                "parent_userid": self._parent_userid(parent),
                "relation": family.guardians[parent - first_parent].relation,
                "mobile": self._mobile(parent),
                "is_subscribe": 1 if subscribed else 0,
            }
            if subscribed:
                entry["external_userid"] = self._external_userid(parent)
            parents.append(entry)
        return {
            "student_userid": self._student_userid(index),
            "name": child.name,
            "department": [self.class_id(child.grade, child.klass)],
            "parents": parents,
        }

    def contact(self, external_userid: str) -> dict[str, Any] | None:
        """{"external_contact": ..., "follow_user": [...]} or None for an unknown id (lost ones included)."""
        index = self._index_by_external_userid.get(external_userid)
        if index is None:
            return None
        detail = seed_example.seed_example_contact() if index == 0 else self._generated_contact(index)
        with self._lock:
            for follow_user in detail["follow_user"]:
                follow_user.update(self._overrides.get((external_userid, follow_user["userid"]), {}))
        return detail

    def followed_by(self, userid: str) -> list[str] | None:
        """externalcontact/list of one staff member: None for an unknown userid, [] for none."""
        if userid not in self._staff_names:
            return None
        found: set[int] = set()
        for class_id in self._staff_classes.get(userid, ()):
            for index in self._class_parents[class_id]:
                if self._status[index] != NOT_CONNECTED and userid in self._follow_userids(index):
                    found.add(index)
        return [self._external_userid(index) for index in sorted(found)]

    # ----- changes made "in WeCom" --------------------------------------------------

    def edit_follow_user(
        self, external_userid: str, userid: str, *, remark: str | None = None, description: str | None = None
    ) -> dict[str, Any]:
        """Change one teacher's remark/description of a contact; returns the new follow_user entry."""
        detail = self.contact(external_userid)
        if detail is None:
            raise NotFound(f"unknown external_userid {external_userid}")
        entry = next((follow_user for follow_user in detail["follow_user"] if follow_user["userid"] == userid), None)
        if entry is None:
            raise NotFound(f"{userid} does not follow {external_userid}")
        with self._lock:
            changes = self._overrides.setdefault((external_userid, userid), {})
            if remark is not None:
                changes["remark"] = remark
            if description is not None:
                changes["description"] = description
            entry.update(changes)
        return entry


def _copy_department(department: dict[str, Any]) -> dict[str, Any]:
    copied = dict(department)
    copied["department_admins"] = [dict(admin) for admin in department["department_admins"]]
    return copied


def build_school(*, parents: int = 200, seed: int = 1) -> School:
    """A deterministic school with `parents` parents (at least 1); same seed, same data."""
    return School(parents=parents, seed=seed)
