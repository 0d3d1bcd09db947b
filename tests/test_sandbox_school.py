"""The simulated school: deterministic, realistic, consistent, and cheap at 20,000 parents."""

import hashlib
import json
import re
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from contacts.sandbox import NotFound, build_school
from contacts.sandbox.school import School

ROOT = Path(__file__).resolve().parent.parent
RELATIONS = {"爸爸", "妈妈", "爷爷", "奶奶", "外公", "外婆"}

# The seed document's example (doc 91670), its JSON mistakes fixed, written out field by field.
SEED_CONTACT = {
    "external_userid": "woAAAA",
    "name": "李四",
    "position": "Mangaer",
    "avatar": "http://p.qlogo.cn/bizmail/IcsdgagqefergqerhewSdage/0",
    "corp_name": "腾讯",
    "corp_full_name": "腾讯科技有限公司",
    "type": 2,
    "gender": 1,
    "unionid": "unAAAAA",
    "is_subscribe": 1,
    "subscriber_info": {
        "tag_id": ["TAG_ID1", "TAG_ID2"],
        "remark_mobiles": ["10000000000", "10000000001"],
        "remark": "李小明-爸爸",
    },
    "external_profile": {
        "external_attr": [
            {"type": 0, "name": "文本名称", "text": {"value": "文本"}},
            {"type": 1, "name": "网页名称", "web": {"url": "http://www.test.com", "title": "标题"}},
            {
                "type": 2,
                "name": "测试app",
                "miniprogram": {"appid": "wxAAAAA", "pagepath": "/index", "title": "my miniprogram"},
            },
        ]
    },
}
SEED_FOLLOW_USERS = [
    {
        "userid": "rocky",
        "remark": "李部长",
        "description": "对接采购事物",
        "createtime": 1525779812,
        "tags": [{"group_name": "标签分组名称", "tag_name": "标签名称", "type": 1}],
        "remark_corp_name": "腾讯科技",
        "remark_mobiles": [10000000003, 10000000004],
    },
    {
        "userid": "tommy",
        "remark": "李总",
        "description": "采购问题咨询",
        "createtime": 1525881637,
        "state": "外联二维码1",
    },
]


def everything(school: School) -> str:
    """All the school serves, as one JSON text."""
    data = {
        "departments": school.departments(),
        "parents": {cid: school.list_parent(cid) for cid in school.class_ids()},
        "contacts": {eid: school.contact(eid) for eid in school.external_userids()},
        "lists": {uid: school.followed_by(uid) for uid in school.staff_userids()},
        "lost": school.lost_external_userids(),
    }
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


@pytest.fixture(scope="module")
def school() -> School:
    return build_school(parents=200, seed=1)


@pytest.fixture(scope="module")
def contacts(school) -> list[dict]:
    return [school.contact(eid) for eid in school.external_userids()]


def test_same_seed_same_data_and_another_seed_other_data():
    first = everything(build_school(parents=120, seed=7))
    assert everything(build_school(parents=120, seed=7)) == first
    assert everything(build_school(parents=120, seed=8)) != first


def test_same_seed_same_data_in_another_process():
    code = (
        "import hashlib, sys; sys.path.insert(0, '.');"
        "from contacts.sandbox import build_school;"
        "from tests.test_sandbox_school import everything;"
        "print(hashlib.sha256(everything(build_school(parents=60, seed=3)).encode()).hexdigest())"
    )
    here = hashlib.sha256(everything(build_school(parents=60, seed=3)).encode()).hexdigest()
    for hash_seed in ("0", "12345"):
        out = subprocess.run(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={"PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip() == here


def test_wo_aaaa_is_the_seed_documents_example_field_by_field(school):
    detail = school.contact("woAAAA")
    contact = detail["external_contact"]
    assert set(contact) == set(SEED_CONTACT)
    for field, value in SEED_CONTACT.items():
        assert contact[field] == value, field
    assert detail["follow_user"] == SEED_FOLLOW_USERS
    rocky = detail["follow_user"][0]
    assert all(isinstance(number, int) for number in rocky["remark_mobiles"])
    assert all(isinstance(number, str) for number in contact["subscriber_info"]["remark_mobiles"])
    assert "remark_corp_name" not in rocky["tags"][0]


def test_wo_aaaa_is_in_the_roster_and_in_rocky_and_tommys_lists(school):
    entries = [entry for cid in school.class_ids() for entry in school.list_parent(cid)]
    mine = [entry for entry in entries if entry.get("external_userid") == "woAAAA"]
    assert len(mine) == 1
    assert mine[0]["is_subscribe"] == 1
    assert mine[0]["children"][0]["name"] == "李小明"
    assert mine[0]["children"][0]["relation"] == "爸爸"
    assert {"rocky", "tommy"} <= set(school.staff_userids())
    assert "woAAAA" in school.followed_by("rocky")
    assert "woAAAA" in school.followed_by("tommy")


def test_variety_of_contacts(contacts):
    people = [detail["external_contact"] for detail in contacts]
    wechat = [person for person in people if person["type"] == 1]
    corp = [person for person in people if person["type"] == 2]
    assert len(wechat) > len(corp) > 1
    for person in wechat:
        assert not {"position", "corp_name", "corp_full_name", "external_profile"} & set(person)
    for person in corp:
        assert person["corp_name"] and person["corp_full_name"] and person["position"]
        assert {0, 1, 2} <= {attr["type"] for attr in person["external_profile"]["external_attr"]}
    attr_types = {attr["type"] for person in corp for attr in person["external_profile"]["external_attr"]}
    assert attr_types - {0, 1, 2}, "some contact shows an attribute of a type the docs do not define"
    assert any("unionid" not in person for person in people)
    assert any("unionid" in person for person in wechat)
    assert any("avatar" not in person for person in people)
    assert {person["gender"] for person in people} == {0, 1, 2}
    assert any("is_subscribe" not in person for person in people)
    for person in people:
        assert re.fullmatch(r"\w+", person["external_userid"])
        if person.get("is_subscribe") == 1:
            info = person["subscriber_info"]
            assert all(isinstance(mobile, str) for mobile in info["remark_mobiles"])
            assert re.fullmatch(r".+-(爸爸|妈妈|爷爷|奶奶|外公|外婆)", info["remark"])
        else:
            assert "subscriber_info" not in person


def test_variety_of_follow_users(contacts):
    follow_users = [follow_user for detail in contacts for follow_user in detail["follow_user"]]
    assert {len(detail["follow_user"]) for detail in contacts} == {1, 2, 3}
    mobiles = [mobile for follow_user in follow_users for mobile in follow_user.get("remark_mobiles", [])]
    assert any(isinstance(mobile, int) for mobile in mobiles)
    assert any(isinstance(mobile, str) for mobile in mobiles)
    assert any(re.fullmatch(r"\w+-(爸爸|妈妈|爷爷|奶奶|外公|外婆)", fu["remark"]) for fu in follow_users)
    assert any(re.fullmatch(r"\w+(爸爸|妈妈|爷爷|奶奶|外公|外婆)", fu["remark"]) for fu in follow_users)
    assert any("state" in fu for fu in follow_users)
    assert any("remark_corp_name" in fu for fu in follow_users)
    assert {len(fu.get("tags", [])) for fu in follow_users} >= {0, 1, 2, 3}
    for fu in follow_users:
        assert isinstance(fu["createtime"], int)
        for tag in fu.get("tags", []):
            assert tag["type"] in (1, 2) and tag["group_name"] and tag["tag_name"]


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_other_seeds_have_the_same_kinds_of_people(seed):
    school = build_school(parents=200, seed=seed)
    people = [school.contact(eid)["external_contact"] for eid in school.external_userids()]
    assert {person["type"] for person in people} == {1, 2}
    assert school.lost_external_userids()
    assert school.contact("woAAAA")["external_contact"]["name"] == "李四"


def test_follow_users_are_teachers_of_the_childs_class(school):
    for cid in school.class_ids():
        department = school.departments(cid)[0]
        teachers = {admin["userid"] for admin in department["department_admins"]}
        for entry in school.list_parent(cid):
            if "external_userid" not in entry or len(entry["children"]) > 1:
                continue
            follow_users = {fu["userid"] for fu in school.contact(entry["external_userid"])["follow_user"]}
            assert 1 <= len(follow_users) <= 3
            assert follow_users <= teachers


def test_teachers_lists_match_the_details(school):
    for userid in school.staff_userids():
        for eid in school.followed_by(userid):
            assert userid in {fu["userid"] for fu in school.contact(eid)["follow_user"]}
    assert any(school.followed_by(userid) == [] for userid in school.staff_userids())
    assert school.followed_by("nobody") is None


def test_department_tree_like_doc_92299(school):
    departments = school.departments()
    by_id = {d["id"]: d for d in departments}
    root = by_id[1]
    assert root["type"] == 5 and root["parentid"] == 0
    assert {d["name"] for d in departments if d["type"] == 3} == {"小学", "初中"}
    for department in departments[1:]:
        parent = by_id[department["parentid"]]
        assert {1: 2, 2: 3, 3: 5}[department["type"]] == parent["type"]
        assert isinstance(department["order"], int)
        for admin in department["department_admins"]:
            assert admin["userid"] in school.staff_userids()
    grades = [d for d in departments if d["type"] == 2]
    assert [g["name"] for g in grades][:6] == ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级"]
    assert all(g["register_year"] == 2025 - g["standard_grade"] for g in grades)
    for klass in (d for d in departments if d["type"] == 1):
        assert re.fullmatch(r".年级\d+班", klass["name"])
        types = [admin["type"] for admin in klass["department_admins"]]
        assert types[0] == 3 and set(types[1:]) == {4}
        assert all(admin["subject"] for admin in klass["department_admins"])
    subtree = school.departments(grades[0]["id"])
    assert subtree[0]["id"] == grades[0]["id"]
    assert {d["type"] for d in subtree[1:]} == {1}
    assert school.departments(9999) is None


def test_list_parent_shape_per_doc_96741(school):
    entries = [entry for cid in school.class_ids() for entry in school.list_parent(cid)]
    assert {entry["is_subscribe"] for entry in entries} == {0, 1}
    for entry in entries:
        assert re.fullmatch(r"1\d{10}", entry["mobile"])
        assert ("external_userid" in entry) == (entry["is_subscribe"] == 1)
        assert 1 <= len(entry["children"]) <= 2
        for child in entry["children"]:
            assert child["relation"] in RELATIONS
            assert child["student_userid"] and 2 <= len(child["name"]) <= 4
    assert any(len(entry["children"]) == 2 for entry in entries)
    assert school.list_parent(1) == []  # not recursive: parents hang on classes only
    assert school.list_parent(9999) is None
    roster_ids = {entry["external_userid"] for entry in entries if "external_userid" in entry}
    assert roster_ids <= set(school.external_userids())


def test_lost_parents_exist_in_the_roster_and_in_teachers_lists(school):
    lost = school.lost_external_userids()
    assert lost
    listed = {eid for userid in school.staff_userids() for eid in school.followed_by(userid)}
    assert set(lost) <= listed
    assert all(school.is_lost(eid) for eid in lost)
    assert not school.is_lost("woAAAA")


def test_edit_follow_user_changes_only_that_remark():
    school = build_school(parents=20, seed=1)
    changed = school.edit_follow_user("woAAAA", "rocky", remark="李小明爸爸（家委会）", description="新描述")
    assert changed["remark"] == "李小明爸爸（家委会）"
    follow_users = school.contact("woAAAA")["follow_user"]
    assert follow_users[0]["remark"] == "李小明爸爸（家委会）" and follow_users[0]["description"] == "新描述"
    assert follow_users[1]["remark"] == "李总"
    with pytest.raises(NotFound):
        school.edit_follow_user("woAAAA", "nobody", remark="x")
    with pytest.raises(NotFound):
        school.edit_follow_user("wmUnknown", "rocky", remark="x")


def test_a_tiny_school_still_has_the_seed_example():
    school = build_school(parents=1, seed=5)
    assert school.external_userids() == ["woAAAA"]
    assert school.contact("woAAAA")["external_contact"]["name"] == "李四"


def test_twenty_thousand_parents_is_quick_and_small():
    started = time.perf_counter()
    school = build_school(parents=20_000, seed=1)
    elapsed = time.perf_counter() - started
    assert elapsed < 4, f"building took {elapsed:.2f} s"
    assert school.parent_count == 20_000 and len(school.external_userids()) > 15_000

    tracemalloc.start()
    try:
        build_school(parents=20_000, seed=2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"

    some = school.external_userids()[::1000]
    started = time.perf_counter()
    details = [school.contact(eid) for eid in some]
    assert all(details) and time.perf_counter() - started < 1


def test_external_userids_without_the_lost_ones(school):
    reachable = school.external_userids(include_lost=False)
    assert set(reachable) | set(school.lost_external_userids()) == set(school.external_userids())
    assert not set(reachable) & set(school.lost_external_userids())


def test_list_students_shape_per_doc_92043_places_each_sibling_in_their_own_class(school):
    placed: dict[str, int] = {}
    for cid in school.class_ids():
        for student in school.list_students(cid):
            assert student["department"] == [cid]
            assert student["student_userid"] not in placed  # each student in one class only
            placed[student["student_userid"]] = cid
            for entry in student["parents"]:
                assert entry["relation"] in RELATIONS and re.fullmatch(r"1\d{10}", entry["mobile"])
                assert ("external_userid" in entry) == (entry["is_subscribe"] == 1)
    assert len(placed) == school.student_count
    # Siblings: parents listed in two classes, one child in each.
    families = {}
    for cid in school.class_ids():
        for student in school.list_students(cid):
            key = tuple(sorted(entry["parent_userid"] for entry in student["parents"]))
            families.setdefault(key, set()).add(cid)
    assert any(len(classes) == 2 for classes in families.values())
    assert school.list_students(1) == []
    assert school.list_students(9999) is None
