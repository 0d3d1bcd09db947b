"""The upgrade removes the "no change" records that repeat an answer, and fingerprints every parent."""

import copy
import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from contacts.models import ContactSnapshot, ExternalContact, FollowUser, RefreshTrigger
from contacts.services.refresh import refresh_contact
from contacts.wecom.parsing import answer_fingerprint

pytestmark = pytest.mark.django_db

cleanup = importlib.import_module("contacts.migrations.0011_remove_unchanged_history")

START = dt.datetime(2024, 9, 1, tzinfo=dt.UTC)
NOTHING = {
    "created": False,
    "fields": {},
    "follow_users_added": [],
    "follow_users_removed": [],
    "follow_users_changed": {},
}


def old_record(contact: ExternalContact, day: int, raw: dict, changes: dict | None = None) -> ContactSnapshot:
    """A refresh record as the nightly sync wrote them before: one a night, changed or not."""
    return ContactSnapshot.objects.create(
        contact=contact,
        fetched_at=START + dt.timedelta(days=day),
        trigger=RefreshTrigger.JOB,
        raw=raw,
        changes=changes or NOTHING,
    )


def run_cleanup() -> None:
    cleanup.remove_unchanged_records(apps, None)


@pytest.fixture
def parent_with_old_history(wecom, seed_answer):
    """Nine records like woAAAA's: created, then nightly syncs, one real change, one new unknown key."""
    wecom.answers(seed_answer)
    contact = refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.COMMAND).contact
    ContactSnapshot.objects.update(fetched_at=START)
    renamed = copy.deepcopy(seed_answer)
    renamed["external_contact"]["name"] = "李四四"
    with_new_key = copy.deepcopy(renamed)
    with_new_key["external_contact"]["a_field_wecom_added_later"] = 1
    for day in (1, 2, 3):
        old_record(contact, day, seed_answer)
    old_record(contact, 4, renamed, {**NOTHING, "fields": {"name": ["李四", "李四四"]}})
    old_record(contact, 5, renamed)
    old_record(contact, 6, with_new_key)
    old_record(contact, 7, with_new_key)
    old_record(contact, 8, {**with_new_key, "errmsg": "ok, hint: [1725148800]"})
    ExternalContact.objects.update(answer_hash="", last_changed_at=None, name="李四四")
    return contact, renamed, with_new_key


def test_it_removes_the_records_that_repeat_the_answer_before_them(parent_with_old_history, seed_answer):
    contact, renamed, with_new_key = parent_with_old_history

    run_cleanup()

    kept = list(contact.snapshots.order_by("fetched_at"))
    assert [(record.fetched_at - START).days for record in kept] == [0, 4, 6]
    assert [record.raw for record in kept] == [seed_answer, renamed, with_new_key]


def test_it_fingerprints_the_latest_answer_and_dates_the_last_change(parent_with_old_history):
    contact, _renamed, with_new_key = parent_with_old_history

    run_cleanup()

    contact.refresh_from_db()
    assert contact.answer_hash == answer_fingerprint(with_new_key)
    assert contact.last_changed_at == START + dt.timedelta(days=4)


def test_after_the_upgrade_the_next_identical_answer_is_recognised_at_once(parent_with_old_history, wecom):
    _contact, _renamed, with_new_key = parent_with_old_history
    run_cleanup()
    wecom.answers(with_new_key)

    with CaptureQueriesContext(connection) as queries:
        result = refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.JOB)

    assert result.unchanged
    assert len(queries) == 2


def test_a_parent_whose_teacher_a_callback_ended_is_compared_row_by_row(parent_with_old_history):
    contact, _renamed, _with_new_key = parent_with_old_history
    FollowUser.objects.filter(contact=contact, userid="tommy").update(ended_at=START + dt.timedelta(days=9))

    run_cleanup()

    contact.refresh_from_db()
    assert contact.answer_hash == ""


def test_running_it_twice_changes_nothing_more(parent_with_old_history):
    contact, _renamed, _with_new_key = parent_with_old_history
    run_cleanup()
    after_once = list(contact.snapshots.values_list("pk", flat=True))

    run_cleanup()

    assert list(contact.snapshots.values_list("pk", flat=True)) == after_once


def test_it_deletes_in_batches(wecom, seed_answer, monkeypatch):
    parents = []
    for external_userid in ("woA1", "woA2", "woA3"):
        answer = copy.deepcopy(seed_answer)
        answer["external_contact"]["external_userid"] = external_userid
        wecom.answers(answer)
        parents.append(refresh_contact(external_userid=external_userid, trigger=RefreshTrigger.COMMAND).contact)
        old_record(parents[-1], 1, answer)
        old_record(parents[-1], 2, answer)
    monkeypatch.setattr(cleanup, "BATCH", 3)

    with CaptureQueriesContext(connection) as queries:
        run_cleanup()

    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 2  # the first two parents' four repeats, then the last one's two
    assert [parent.snapshots.count() for parent in parents] == [1, 1, 1]


@pytest.mark.django_db(transaction=True)
def test_the_migration_runs_forwards_and_back():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([("contacts", "0010_history_of_changes_only")])
        executor.loader.build_graph()

        executor.migrate([("contacts", "0011_remove_unchanged_history")])

        assert ("contacts", "0011_remove_unchanged_history") in MigrationExecutor(connection).loader.applied_migrations
    finally:
        # The tests after this one need the latest schema.
        executor = MigrationExecutor(connection)
        executor.migrate(latest)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL storage parameter")
def test_on_postgresql_the_parents_table_leaves_room_for_each_rows_next_version():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [ExternalContact._meta.db_table])
        [options] = cursor.fetchone()

    assert "fillfactor=50" in options
