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
    assert ContactSnapshot.objects.count() == 6
    assert ContactSnapshot.objects.filter(changes__created=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_simultaneous_refreshes_of_a_stored_parent_leave_no_duplicate_rows(wecom, seed_answer):
    wecom.answers(seed_answer)
    refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.COMMAND)

    errors = refresh_at_once(6)

    assert errors == []
    assert FollowUser.objects.count() == 2
    assert FollowUserTag.objects.count() == 1
    assert ExternalProfileAttribute.objects.count() == 3
