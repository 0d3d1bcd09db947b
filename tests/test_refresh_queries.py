import copy

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import ExternalContact, RefreshTrigger
from contacts.services.refresh import refresh_contact

pytestmark = pytest.mark.django_db


def answer_with(seed_answer: dict, follow_users: int, remark: str) -> dict:
    answer = copy.deepcopy(seed_answer)
    answer["follow_user"] = [
        {
            "userid": f"teacher{i}",
            "remark": f"{remark}{i}",
            "createtime": 1600000000 + i,
            "remark_mobiles": [13900000000 + i],
            "tags": [
                {"group_name": "年级", "tag_name": f"{remark}{i}", "type": 1},
                {"group_name": "班级", "tag_name": "一班", "type": 2},
            ],
        }
        for i in range(follow_users)
    ]
    return answer


def queries_of_refresh(wecom, answer) -> int:
    wecom.answers(answer)
    with CaptureQueriesContext(connection) as queries:
        refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.COMMAND)
    return len(queries)


def test_creating_a_parent_takes_as_many_queries_for_1_or_50_teachers(wecom, seed_answer):
    small = queries_of_refresh(wecom, answer_with(seed_answer, 1, "新"))
    ExternalContact.objects.all().delete()

    large = queries_of_refresh(wecom, answer_with(seed_answer, 50, "新"))

    assert small == large
    assert large <= 15


def test_updating_a_parent_takes_as_many_queries_for_1_or_50_teachers(wecom, seed_answer):
    queries_of_refresh(wecom, answer_with(seed_answer, 1, "旧"))
    small = queries_of_refresh(wecom, answer_with(seed_answer, 1, "新"))
    ExternalContact.objects.all().delete()
    queries_of_refresh(wecom, answer_with(seed_answer, 50, "旧"))

    large = queries_of_refresh(wecom, answer_with(seed_answer, 50, "新"))

    assert small == large
    assert large <= 20
