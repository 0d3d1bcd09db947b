"""Remove the refresh records that said "no change", and fingerprint every parent's stored answer.

A record without a change is kept only when its answer differs from the answer kept
before it (a key this app does not store changed): then it is the only copy of what
WeCom said. Each parent then gets the fingerprint of its latest answer, so the first
sync after the upgrade already recognises unchanged parents. Parents are read one at
a time and records deleted in batches, each batch committed on its own, so a large
history needs little memory and an interrupted run can simply be run again.
"""

from django.db import migrations, transaction

# The same digest as the refresh service, so that the stored fingerprints are the ones it compares.
from contacts.wecom.parsing import answer_fingerprint

BATCH = 1000
CHANGE_KEYS = ("created", "fields", "follow_users_added", "follow_users_removed", "follow_users_changed")


def says_nothing(changes) -> bool:
    return not any((changes or {}).get(key) for key in CHANGE_KEYS)


def remove_unchanged_records(apps, schema_editor) -> None:
    ExternalContact = apps.get_model("contacts", "ExternalContact")
    ContactSnapshot = apps.get_model("contacts", "ContactSnapshot")
    FollowUser = apps.get_model("contacts", "FollowUser")

    # Teachers whose relation a callback ended after the last answer: that parent's rows
    # no longer mirror the answer, and must be compared row by row at the next refresh.
    ended = set(FollowUser.objects.filter(ended_at__isnull=False).values_list("contact_id", "userid"))
    doomed: list[int] = []
    parents: list = []
    for contact_id in list(ExternalContact.objects.order_by("pk").values_list("pk", flat=True)):
        kept_fingerprint, kept_answer, changed_at = "", None, None
        records = ContactSnapshot.objects.filter(contact_id=contact_id, raw__isnull=False).order_by("pk")
        for record_id, raw, changes, fetched_at in records.values_list("pk", "raw", "changes", "fetched_at"):
            fingerprint = answer_fingerprint(raw)
            if says_nothing(changes) and fingerprint == kept_fingerprint:
                doomed.append(record_id)
                continue
            kept_fingerprint, kept_answer = fingerprint, raw
            if not says_nothing(changes):
                changed_at = fetched_at
        if kept_answer is not None:
            listed = {f.get("userid") for f in kept_answer.get("follow_user") or [] if isinstance(f, dict)}
            if any((contact_id, userid) in ended for userid in listed):
                kept_fingerprint = ""
        parents.append(ExternalContact(pk=contact_id, answer_hash=kept_fingerprint, last_changed_at=changed_at))
        if len(doomed) >= BATCH or len(parents) >= BATCH:
            _write(ExternalContact, ContactSnapshot, doomed, parents)
            doomed, parents = [], []
    _write(ExternalContact, ContactSnapshot, doomed, parents)


def _write(ExternalContact, ContactSnapshot, doomed: list[int], parents: list) -> None:
    with transaction.atomic():
        if doomed:
            ContactSnapshot.objects.filter(pk__in=doomed).delete()
        if parents:
            ExternalContact.objects.bulk_update(parents, ["answer_hash", "last_changed_at"])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("contacts", "0010_history_of_changes_only"),
    ]

    operations = [
        migrations.RunPython(remove_unchanged_records, migrations.RunPython.noop, elidable=True),
    ]
