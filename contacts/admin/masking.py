"""What the admin shows of the text people typed, and the phone searches it records.

Without the permission `contacts.view_phone_numbers`, staff see every phone number masked,
also inside text: names, remarks, descriptions, tags, raw answers (contacts/privacy.py says
what a phone in text is). The querysets of the admin carry the permission on each row
(`reveal_phones_flag`), since a display method receives the row and not the request.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import SEARCH_VAR
from django.db.models import Model

from contacts.admin.permissions import can_see_phones
from contacts.models import ExternalContact
from contacts.privacy import looks_like_phone_search, shown_text
from contacts.services.audit import record_phone_search


def reveals_phones(row: Any) -> bool:
    return bool(getattr(row, "reveal_phones", False))


def parent_label(contact: ExternalContact, *, reveal: bool) -> str:
    """How a parent is named on a page: their name, else their external_userid."""
    return shown_text(str(contact), reveal=reveal)


def masked_text_field(model: type[Model], field_name: str):
    """A read-only field or list column showing a text field of the row, its phones masked unless the reader may
    see them.

    The function is named after the field, so the admin shows the field's own label, help text and CSS class.
    """
    field = model._meta.get_field(field_name)

    @admin.display(description=field.verbose_name, ordering=field_name)
    def show(row):
        text = getattr(row, field_name)
        if text is None:
            # Not sent by WeCom. A read-only page would show the None of a function as "None".
            return admin.site.empty_value_display
        return shown_text(text, reveal=reveals_phones(row))

    show.__name__ = field_name
    return show


class PhoneSearchAuditMixin:
    """Records every search by phone number on a list, by staff who may search by phone.

    Staff without the phone permission find nobody by a phone (contacts.selectors.text_contains),
    so their searches are not recorded. Only a list page shown counts: a repeated search (the next
    page of results) is recorded again, the selection of an action is not.
    """

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        term = request.GET.get(SEARCH_VAR, "")
        if request.method != "GET" or not looks_like_phone_search(term) or not can_see_phones(request):
            return response
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is None:
            # Refused or redirected (a wrong filter): nothing was searched.
            return response
        record_phone_search(
            user=request.user,
            term=term,
            list_model=self.opts.label_lower,
            found=changelist.result_count,
            contact=self.parent_found(changelist),
        )
        return response

    def parent_found(self, changelist) -> ExternalContact | None:
        """The one parent the search found, when a list can tell."""
        return None
