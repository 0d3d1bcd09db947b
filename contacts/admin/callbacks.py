"""Every event WeCom sent to the callback URL and what became of it; read-only.

Phone numbers in an event's content and outcome are masked unless the reader may see them.
Events are about the whole school: only staff who see every parent read them.
"""

import json

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, linebreaks
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from contacts.admin.masking import PhoneSearchAuditMixin, parent_label, reveals_phones, shown_text
from contacts.admin.permissions import (
    NotFoundAdminMixin,
    ReadOnlyAdminMixin,
    SidebarFiltersOnlyMixin,
    WholeSchoolAdminMixin,
    can_see_phones,
    reveal_phones_flag,
)
from contacts.callbacks.events import change_label, event_label
from contacts.callbacks.outcomes import outcome_text
from contacts.callbacks.selectors import search_callback_events
from contacts.models import CallbackEvent
from contacts.privacy import mask_phones_in_data

OUTCOME_LIST_LENGTH = 80


@admin.register(CallbackEvent)
class CallbackEventAdmin(
    PhoneSearchAuditMixin,
    SidebarFiltersOnlyMixin,
    WholeSchoolAdminMixin,
    NotFoundAdminMixin,
    ReadOnlyAdminMixin,
    admin.ModelAdmin,
):
    list_display = (
        "received_at",
        "event_display",
        "change_type_display",
        "contact_display",
        "userid",
        "status",
        "outcome_display",
    )
    list_filter = ("status", "event", "change_type")
    list_select_related = ("contact",)
    # The search itself is search_callback_events(); this only turns the search box on.
    search_fields = ("external_userid",)
    search_help_text = _("external_userid、老师或花名册 userid，或按家长查找（与家长列表的搜索相同）")
    date_hierarchy = "received_at"
    list_per_page = 50
    fields = (
        ("received_at", "created_at_wecom", "processed_at"),
        ("event_display", "change_type_display", "status"),
        ("claimed_at", "attempts"),
        ("contact_display", "external_userid", "userid"),
        "outcome_full_display",
        "payload_display",
        "fingerprint",
    )
    readonly_fields = (
        "received_at",
        "created_at_wecom",
        "processed_at",
        "event_display",
        "change_type_display",
        "status",
        "claimed_at",
        "attempts",
        "contact_display",
        "external_userid",
        "userid",
        "outcome_full_display",
        "payload_display",
        "fingerprint",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(reveal_phones=reveal_phones_flag(request))

    def get_search_results(self, request, queryset, search_term):
        found = search_callback_events(
            callback_events=queryset, term=search_term, may_search_phones=can_see_phones(request)
        )
        return found, False

    @admin.display(description=_("事件"), ordering="event")
    def event_display(self, event: CallbackEvent) -> str:
        return event_label(event.event)

    @admin.display(description=_("变更类型"), ordering="change_type")
    def change_type_display(self, event: CallbackEvent):
        if not event.change_type:
            return "—"
        label = change_label(event.change_type)
        if label == event.change_type:
            return label
        return format_html('{} <span class="quiet">{}</span>', label, event.change_type)

    @admin.display(description=_("家长"), ordering="contact__name")
    def contact_display(self, event: CallbackEvent):
        if event.contact is None:
            return event.external_userid or "—"
        url = reverse("admin:contacts_externalcontact_change", args=[event.contact.pk])
        return format_html('<a href="{}">{}</a>', url, parent_label(event.contact, reveal=reveals_phones(event)))

    @admin.display(description=_("处理结果"))
    def outcome_display(self, event: CallbackEvent) -> str:
        return Truncator(self._outcome(event)).chars(OUTCOME_LIST_LENGTH)

    @admin.display(description=_("处理结果"))
    def outcome_full_display(self, event: CallbackEvent):
        # A roster change and the refreshes it caused are one line each.
        return linebreaks(self._outcome(event), autoescape=True)

    def _outcome(self, event: CallbackEvent) -> str:
        return shown_text(outcome_text(event), reveal=reveals_phones(event))

    @admin.display(description=_("事件内容"))
    def payload_display(self, event: CallbackEvent):
        payload = event.payload if reveals_phones(event) else mask_phones_in_data(event.payload)
        return format_html('<pre class="raw-json">{}</pre>', json.dumps(payload, ensure_ascii=False, indent=2))
