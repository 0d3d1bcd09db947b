import copy
import threading

import pytest
from django.db import connection

from contacts.models import (
    ContactSnapshot,
    ExternalContact,
    ExternalProfileAttribute,
    FollowUser,
    FollowUserTag,
    RefreshTrigger,
)
from contacts.services.refresh import refresh_contact


def refresh_at_once(count: int) -> list[BaseException]:
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def worker():
        try:
            start.wait(timeout=10)
            refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.JOB)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.django_db(transaction=True)
def test_simultaneous_refreshes_of_a_new_parent_leave_no_duplicate_rows(wecom, seed_answer):
    wecom.answers(seed_answer)

    errors = refresh_at_once(6)

    assert errors == []
    assert ExternalContact.objects.count() == 1
    assert FollowUser.objects.count() == 2
    assert FollowUserTag.objects.count() == 1
    assert ExternalProfileAttribute.objects.count() == 3
    # The same answer six times is one answer: kept once.
    assert ContactSnapshot.objects.count() == 1
    assert ContactSnapshot.objects.filter(changes__created=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_simultaneous_refreshes_that_all_write_leave_one_consistent_parent(wecom, seed_answer):
    wecom.answers(seed_answer)
    refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.COMMAND)
    # Each refresh gets a different answer, so each one rewrites tags, teachers and attributes.
    for i in range(6):
        answer = copy.deepcopy(seed_answer)
        answer["follow_user"][0]["tags"] = [{"group_name": "轮次", "tag_name": f"第{i}次", "type": 1}]
        answer["follow_user"][1]["tags"] = [{"group_name": "轮次", "tag_name": f"第{i}次", "type": 2}]
        answer["follow_user"].append({"userid": f"teacher{i}", "remark": f"老师{i}", "createtime": 1600000000})
        answer["external_contact"]["external_profile"]["external_attr"][0]["text"]["value"] = f"文本{i}"
        wecom.answers(answer)

    errors = refresh_at_once(6)

    assert errors == []
    contact = ExternalContact.objects.get()
    last = ContactSnapshot.objects.order_by("-id").first().raw
    assert FollowUserTag.objects.filter(follow_user__userid="rocky").count() == 1
    assert FollowUserTag.objects.filter(follow_user__userid="tommy").count() == 1
    rocky_tag = FollowUserTag.objects.get(follow_user__userid="rocky").tag_name
    assert rocky_tag == last["follow_user"][0]["tags"][0]["tag_name"]
    assert ExternalProfileAttribute.objects.filter(contact=contact).count() == 3
    assert FollowUser.objects.filter(contact=contact, ended_at__isnull=True).count() == 3
    assert FollowUser.objects.filter(contact=contact).count() == 2 + 6
