"""Which parents a staff member may see.

A placeholder until per-teacher scope: everyone with the permission to view parents sees
every stored parent, everyone else none.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from contacts.models import ExternalContact

VIEW_PERMISSION = "contacts.view_externalcontact"


def visible_contacts(
    *, user: AbstractBaseUser | AnonymousUser, contacts: QuerySet[ExternalContact] | None = None
) -> QuerySet[ExternalContact]:
    """The parents among `contacts` (all stored parents by default) that `user` may see."""
    contacts = ExternalContact.objects.all() if contacts is None else contacts
    if user.is_active and user.has_perm(VIEW_PERMISSION):
        return contacts
    return contacts.none()
