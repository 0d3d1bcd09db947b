"""Every event WeCom sent to the callback URL and what became of it; read-only."""

import json

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, linebreaks
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from contacts.admin.permissions import ReadOnlyAdminMixin
from contacts.callbacks.events import change_label, event_label
from contacts.callbacks.outcomes import outcome_text
from contacts.models import CallbackEvent

OUTCOME_LIST_LENGTH = 80


@admin.register(CallbackEvent)
class CallbackEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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
    search_fields = ("external_userid", "userid", "contact__name")
    search_help_text = _("external_userid、老师或花名册 userid、家长姓名")
    date_hierarchy = "received_at"
    list_per_page = 50
    fields = (
        ("received_at", "created_at_wecom", "processed_at"),
        ("event_display", "change_type_display", "status"),
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
        "contact_display",
        "external_userid",
        "userid",
        "outcome_full_display",
        "payload_display",
        "fingerprint",
    )

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
        return format_html('<a href="{}">{}</a>', url, event.contact)

    @admin.display(description=_("处理结果"))
    def outcome_display(self, event: CallbackEvent) -> str:
        return Truncator(outcome_text(event)).chars(OUTCOME_LIST_LENGTH)

    @admin.display(description=_("处理结果"))
    def outcome_full_display(self, event: CallbackEvent):
        # A roster change and the refreshes it caused are one line each.
        return linebreaks(outcome_text(event), autoescape=True)

    @admin.display(description=_("事件内容"))
    def payload_display(self, event: CallbackEvent):
        return format_html('<pre class="raw-json">{}</pre>', json.dumps(event.payload, ensure_ascii=False, indent=2))
