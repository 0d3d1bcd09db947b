"""The parent list, the read-only parent page, and the refresh and look-up views.

The data belongs to WeCom: nobody edits a parent here. Every list, page, search, filter and
action shows only the parents the reader may see (contacts.scope): a teacher's own families, or
every parent. Staff with the permission `contacts.refresh_externalcontact` may ask WeCom again
about those; looking up a parent not stored yet needs `contacts.lookup_externalcontact`. Phone
numbers, also those typed into names, remarks, descriptions and tags, are masked and cannot be
searched for unless the staff member has `contacts.view_phone_numbers` (contacts/admin/masking.py).
The list exports what it shows to Excel (contacts/admin/exports.py).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from contacts.admin.exports import ParentExportMixin
from contacts.admin.filters import ClassFilter, GradeFilter, StaleFilter, TagFilter, TeacherFilter
from contacts.admin.masking import (
    PhoneSearchAuditMixin,
    masked_text_field,
    parent_label,
    reveals_phones,
    shown_text,
)
from contacts.admin.permissions import (
    NotFoundAdminMixin,
    ReadOnlyAdminMixin,
    SidebarFiltersOnlyMixin,
    can_look_up,
    can_refresh,
    can_see_phones,
    reveal_phones_flag,
    staff_name,
)
from contacts.admin_site import NotAllowed
from contacts.callbacks.events import change_label
from contacts.callbacks.outcomes import outcome_text
from contacts.callbacks.selectors import history_events
from contacts.models import (
    AuditAction,
    ExternalContact,
    ExternalProfileAttribute,
    FollowUser,
    RefreshTrigger,
    member_label,
)
from contacts.privacy import mask_phones_in_data, show_phones
from contacts.scope import visible_contacts
from contacts.selectors import (
    children_of,
    current_children,
    follow_users_in_order,
    member_names,
    search_contacts,
    with_teacher_count,
)
from contacts.services.audit import record_audit, refresh_contact_for_staff, refresh_result
from contacts.services.changes import ContactChanges, record_lines
from contacts.services.ratelimit import CallsHeldBack, clock_time
from contacts.services.refresh import looks_like_external_userid
from contacts.services.runner import RateLimitPolicy, refresh_concurrently
from contacts.sharedcache import SharedCacheUnavailable
from contacts.texts import error_text
from contacts.wecom.errors import WeComError

HISTORY_ROWS = 30
MAX_SELECTED_FOR_REFRESH = 200


def _safe_link(url: str | None, text: str | None = None):
    """A link only for http(s) URLs; anything else (javascript:, data:) is shown as text."""
    if not url:
        return text or ""
    if url.lower().startswith(("http://", "https://")):
        return format_html('<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>', url, text or url)
    return f"{text} ({url})" if text else url


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    # A table on a wide screen, a card per row on a phone (contacts/static/contacts/phone.css).
    template = "admin/contacts/readonly_tabular.html"
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False


class ExternalProfileInline(ReadOnlyInline):
    model = ExternalProfileAttribute
    verbose_name = _("对外属性")
    verbose_name_plural = _("对外属性（external_profile）")
    fields = ("type_display", masked_text_field(ExternalProfileAttribute, "name"), "value_display")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(reveal_phones=reveal_phones_flag(request))

    @admin.display(description=_("类型"))
    def type_display(self, attribute: ExternalProfileAttribute) -> str:
        return attribute.type_label

    @admin.display(description=_("内容"))
    def value_display(self, attribute: ExternalProfileAttribute):
        reveal = reveals_phones(attribute)
        if attribute.type == 0:
            return shown_text(attribute.text_value, reveal=reveal) or ""
        if attribute.type == 1:
            title = shown_text(attribute.web_title, reveal=reveal)
            url = shown_text(attribute.web_url, reveal=reveal)
            if url != attribute.web_url:
                # The address held a phone number (tel:…): the masked one leads nowhere, so it is text.
                return f"{title} ({url})" if title else url
            return _safe_link(url, title)
        if attribute.type == 2:
            return format_html(
                "{} · appid {} · {}",
                shown_text(attribute.miniprogram_title, reveal=reveal) or "",
                attribute.miniprogram_appid or "",
                shown_text(attribute.miniprogram_pagepath, reveal=reveal) or "",
            )
        return format_html("<code>{}</code>", attribute.raw if reveal else mask_phones_in_data(attribute.raw))


class FollowUserInline(ReadOnlyInline):
    model = FollowUser
    verbose_name = _("跟进老师")
    verbose_name_plural = _("跟进老师及其备注（follow_user）")
    fields = (
        "teacher_display",
        masked_text_field(FollowUser, "remark"),
        masked_text_field(FollowUser, "description"),
        "createtime",
        "tags_display",
        masked_text_field(FollowUser, "remark_corp_name"),
        "phones_display",
        masked_text_field(FollowUser, "state"),
        "relation_display",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return follow_users_in_order(super().get_queryset(request)).annotate(reveal_phones=reveal_phones_flag(request))

    @admin.display(description=_("老师"))
    def teacher_display(self, follow_user: FollowUser) -> str:
        return member_label(follow_user.userid, getattr(follow_user, "teacher_name", None))

    @admin.display(description=_("标签（分组 / 名称 / 类型）"))
    def tags_display(self, follow_user: FollowUser):
        reveal = reveals_phones(follow_user)
        return format_html_join(
            "",
            '<div class="tag">{} / {} / {}</div>',
            (
                (
                    shown_text(tag.group_name, reveal=reveal) or "—",
                    shown_text(tag.tag_name, reveal=reveal) or "—",
                    tag.get_type_display() or "—",
                )
                for tag in follow_user.tags.all()
            ),
        )

    @admin.display(description=_("备注手机号"))
    def phones_display(self, follow_user: FollowUser) -> str:
        return show_phones(follow_user.remark_mobiles, reveal=getattr(follow_user, "reveal_phones", False))

    @admin.display(description=_("关系"))
    def relation_display(self, follow_user: FollowUser) -> str:
        if follow_user.ended_at is None:
            return gettext("跟进中")
        return gettext("已结束于 %(time)s") % {
            "time": timezone.localtime(follow_user.ended_at).strftime("%Y-%m-%d %H:%M")
        }


class LookupForm(forms.Form):
    external_userid = forms.CharField(
        label=_("external_userid"),
        max_length=128,
        help_text=_("家长在企业微信中的 external_userid，例如 wmXXXXXXXX。"),
        widget=forms.TextInput(attrs={"autofocus": True, "size": 40, "autocomplete": "off"}),
    )

    def clean_external_userid(self) -> str:
        value = self.cleaned_data["external_userid"].strip()
        if not looks_like_external_userid(value):
            # Most likely a name typed in the wrong box: the parent list's search finds names.
            search_url = reverse("admin:contacts_externalcontact_changelist") + "?" + urlencode({"q": value})
            raise forms.ValidationError(
                format_html(
                    '{} <a href="{}">{}</a>',
                    gettext("「%(value)s」不是 external_userid：它只由字母、数字和 _-@. 组成，例如 wmXXXXXXXX。")
                    % {"value": value},
                    search_url,
                    gettext("在家长列表中搜索「%(value)s」（姓名、学生姓名、备注或手机号）") % {"value": value},
                ),
                code="not_an_external_userid",
            )
        return value


# Texts a parent or the school typed, shown with their phones masked unless the reader may see them.
PARENT_TEXTS = {
    name: masked_text_field(ExternalContact, name)
    for name in ("name", "position", "corp_name", "corp_full_name", "subscriber_remark")
}


class ParentList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        # The children of the whole page in one query, not one per row.
        contacts = list(self.result_list)
        children = current_children(external_userids=(contact.external_userid for contact in contacts))
        for contact in contacts:
            contact.current_children = children.get(contact.external_userid, [])


@admin.register(ExternalContact)
class ExternalContactAdmin(
    ParentExportMixin,
    PhoneSearchAuditMixin,
    SidebarFiltersOnlyMixin,
    NotFoundAdminMixin,
    ReadOnlyAdminMixin,
    admin.ModelAdmin,
):
    list_display = (
        "avatar_thumbnail",
        "name_display",
        PARENT_TEXTS["subscriber_remark"],
        "children_display",
        "type",
        "teacher_count_display",
        "state",
        "refreshed_display",
    )
    list_display_links = ("name_display",)
    list_filter = (
        "type",
        "gender",
        "is_subscribe",
        "state",
        GradeFilter,
        ClassFilter,
        TeacherFilter,
        TagFilter,
        StaleFilter,
    )
    # The search itself is search_contacts(); this only turns the search box on.
    search_fields = ("external_userid",)
    search_help_text = _(
        "external_userid、姓名、学生姓名、学校备注、unionid、老师 userid 或备注、手机号（需有查看完整手机号的权限）"
    )
    list_per_page = 50
    actions = ["refresh_selected"]
    # The teachers' remarks before the profile the parent set up for themselves: staff come for the remarks.
    inlines = [FollowUserInline, ExternalProfileInline]
    fieldsets = (
        (
            _("基本信息"),
            {
                "fields": (
                    ("avatar_display", PARENT_TEXTS["name"], "external_userid"),
                    ("type", "gender", "is_subscribe"),
                    "unionid",
                    (PARENT_TEXTS["position"], PARENT_TEXTS["corp_name"], PARENT_TEXTS["corp_full_name"]),
                )
            },
        ),
        (
            _("学校备注（subscriber_info）"),
            {
                "fields": (
                    PARENT_TEXTS["subscriber_remark"],
                    ("subscriber_phones_display", "subscriber_tag_ids_display"),
                )
            },
        ),
        (
            _("同步状态"),
            {
                "classes": ("collapse",),
                "fields": (
                    ("state", "state_changed_at"),
                    ("last_refreshed_at", "last_changed_at", "last_attempt_at"),
                    ("last_trigger", "last_triggered_by_name"),
                    "last_error_display",
                ),
            },
        ),
    )
    readonly_fields = (
        *PARENT_TEXTS.values(),
        "external_userid",
        "avatar_display",
        "type",
        "gender",
        "unionid",
        "is_subscribe",
        "subscriber_phones_display",
        "subscriber_tag_ids_display",
        "state",
        "state_changed_at",
        "last_refreshed_at",
        "last_changed_at",
        "last_attempt_at",
        "last_trigger",
        "last_triggered_by_name",
        "last_error_display",
    )

    # -- permissions: read-only, refresh is separate ------------------------------------

    def has_refresh_permission(self, request):
        return can_refresh(request) and self.has_view_permission(request)

    def has_lookup_permission(self, request):
        return can_look_up(request) and self.has_view_permission(request)

    # -- list -------------------------------------------------------------------------

    def get_queryset(self, request):
        # Every list, page, search, action and extra view of parents starts from here.
        contacts = visible_contacts(user=request.user, contacts=super().get_queryset(request))
        return with_teacher_count(contacts.select_related("last_triggered_by")).annotate(
            reveal_phones=reveal_phones_flag(request)
        )

    def get_search_results(self, request, queryset, search_term):
        found = search_contacts(contacts=queryset, term=search_term, may_search_phones=can_see_phones(request))
        return found, False

    def get_changelist(self, request, **kwargs):
        return ParentList

    def parent_found(self, changelist) -> ExternalContact | None:
        return changelist.result_list[0] if changelist.result_count == 1 else None

    def action_checkbox(self, contact: ExternalContact):
        # Django's own names the row by str(contact), the name unmasked, for screen readers.
        label = format_html(gettext("Select this object for an action - {}"), self.name_display(contact))
        checkbox = forms.CheckboxInput({"class": "action-select", "aria-label": label}, lambda value: False)
        return checkbox.render(ACTION_CHECKBOX_NAME, str(contact.pk))

    @admin.display(description=_("最近触发人"))
    def last_triggered_by_name(self, contact: ExternalContact) -> str:
        return staff_name(contact.last_triggered_by)

    @admin.display(description=_("头像"))
    def avatar_thumbnail(self, contact: ExternalContact):
        return self._avatar(contact, 32)

    @admin.display(description=_("头像"))
    def avatar_display(self, contact: ExternalContact):
        return self._avatar(contact, 96)

    def _avatar(self, contact: ExternalContact, size: int):
        initial = self.name_display(contact)[:1]
        url = contact.avatar or ""
        if not url.lower().startswith(("http://", "https://")):
            return format_html('<span class="avatar" style="--size: {}px">{}</span>', size, initial)
        # The initial shows when the image cannot load; WeCom's image servers refuse
        # requests that carry a foreign Referer, hence no-referrer.
        return format_html(
            '<span class="avatar" style="--size: {}px">{}<img src="{}" alt="" loading="lazy" '
            'referrerpolicy="no-referrer" onerror="this.remove()"></span>',
            size,
            initial,
            url,
        )

    @admin.display(description=_("姓名"), ordering="name")
    def name_display(self, contact: ExternalContact) -> str:
        return parent_label(contact, reveal=reveals_phones(contact))

    @admin.display(description=_("子女"))
    def children_display(self, contact: ExternalContact):
        reveal = reveals_phones(contact)
        children = (
            (shown_text(str(link.student), reveal=reveal), link.student.department or "")
            for link in contact.current_children
        )
        return format_html_join("", '<div class="child">{} <span class="quiet">{}</span></div>', children)

    @admin.display(description=_("跟进老师数"), ordering="teacher_count")
    def teacher_count_display(self, contact: ExternalContact) -> int:
        return contact.teacher_count

    @admin.display(description=_("最近刷新"), ordering="last_refreshed_at")
    def refreshed_display(self, contact: ExternalContact):
        if contact.last_refreshed_at is None:
            return gettext("从未")
        exact = timezone.localtime(contact.last_refreshed_at).strftime("%Y-%m-%d %H:%M:%S")
        return format_html('<span title="{}">{}</span>', exact, naturaltime(contact.last_refreshed_at))

    # -- parent page ---------------------------------------------------------------------

    @admin.display(description=_("学校备注的手机号"))
    def subscriber_phones_display(self, contact: ExternalContact) -> str:
        return show_phones(contact.subscriber_remark_mobiles, reveal=getattr(contact, "reveal_phones", False))

    @admin.display(description=_("家长标签ID"))
    def subscriber_tag_ids_display(self, contact: ExternalContact) -> str:
        return ", ".join(contact.subscriber_tag_ids or [])

    @admin.display(description=_("最近错误"))
    def last_error_display(self, contact: ExternalContact) -> str:
        return error_text(contact.last_failure, legacy=contact.last_error) or self.get_empty_value_display()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        contact = self.get_object(request, unquote(object_id))
        extra_context = extra_context or {}
        if contact is not None and self.has_view_permission(request, contact):
            reveal = can_see_phones(request)
            label = parent_label(contact, reveal=reveal)
            extra_context.update(
                subtitle=label,
                shown_label=label,
                can_refresh=self.has_refresh_permission(request),
                refresh_url=reverse("admin:contacts_externalcontact_refresh", args=[contact.pk]),
                history=self._history(contact, reveal_phones=reveal),
                history_total=contact.snapshots.count(),
                history_url=reverse("admin:contacts_contactsnapshot_changelist") + f"?contact__id__exact={contact.pk}",
                children=self._children(contact, reveal_phones=reveal),
            )
            if reveal and request.method == "GET" and contact.phones.exists():
                record_audit(user=request.user, action=AuditAction.VIEW_PHONES, contact=contact)
        return super().change_view(request, object_id, form_url, extra_context)

    def _children(self, contact: ExternalContact, *, reveal_phones: bool) -> list[dict]:
        """The parent's children on the school roster, current ones first; one query."""
        links = children_of(external_userid=contact.external_userid)
        return [
            {
                "name": shown_text(str(link.student), reveal=reveal_phones),
                "class_name": link.student.department.name if link.student.department else "",
                "relation": shown_text(link.relation, reveal=reveal_phones) or "",
                "gone_at": link.gone_at or link.student.gone_at,
            }
            for link in links
        ]

    def _history(self, contact: ExternalContact, *, reveal_phones: bool) -> list[dict]:
        # Refreshes that found nothing new leave no record: the history is what happened.
        snapshots = list(contact.snapshots.select_related("triggered_by").defer("raw")[:HISTORY_ROWS])
        changes = [ContactChanges.from_json(snapshot.changes) for snapshot in snapshots]
        names = member_names(userids=(userid for change in changes for userid in change.teacher_userids))
        refreshes = [
            {
                "fetched_at": snapshot.fetched_at,
                "trigger": snapshot.get_trigger_display(),
                "by": snapshot.triggered_by.get_username() if snapshot.triggered_by else "",
                "changes": record_lines(
                    changes=change,
                    error=error_text(snapshot.failure, legacy=snapshot.error),
                    reveal_phones=reveal_phones,
                    names=names,
                ),
                "failed": snapshot.failed,
            }
            for snapshot, change in zip(snapshots, changes, strict=True)
        ]
        # What WeCom reported without a refresh (a teacher and the parent parted, a failed transfer)
        # belongs in the same story; one more query, however many there are.
        reported = [
            {
                "fetched_at": event.received_at,
                "trigger": gettext("企业微信回调：%(change)s") % {"change": change_label(event.change_type)},
                "by": "",
                "changes": [shown_text(line, reveal=reveal_phones) for line in outcome_text(event).splitlines()],
                "failed": False,
            }
            for event in history_events(contact=contact, limit=HISTORY_ROWS)
        ]
        if not reported:
            return refreshes
        return sorted([*refreshes, *reported], key=lambda entry: entry["fetched_at"], reverse=True)[:HISTORY_ROWS]

    # -- refresh and look-up --------------------------------------------------------------

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("lookup/", self.admin_site.admin_view(self.lookup_view), name=f"{prefix}_lookup"),
            path(
                "<path:object_id>/refresh/",
                self.admin_site.admin_view(self.refresh_view),
                name=f"{prefix}_refresh",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_refresh": self.has_refresh_permission(request),
            "can_look_up": self.has_lookup_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def refresh_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_refresh_permission(request):
            raise NotAllowed(gettext("从企业微信刷新家长需要“学校管理员”组的权限；“教师”组可以刷新自己的家长。"))
        contact = self.get_object(request, unquote(object_id))
        if contact is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        change_url = reverse("admin:contacts_externalcontact_change", args=[contact.pk])
        try:
            result = refresh_contact_for_staff(external_userid=contact.external_userid, user=request.user)
        except WeComError as error:
            self._report_failure(request, error)
            return HttpResponseRedirect(change_url)
        except (CallsHeldBack, SharedCacheUnavailable) as error:
            self._report_not_done(request, error)
            return HttpResponseRedirect(change_url)
        reveal = can_see_phones(request)
        summary = result.changes.summary(
            reveal_phones=reveal, names=member_names(userids=result.changes.teacher_userids)
        )
        name = parent_label(result.contact, reveal=reveal)
        self.message_user(
            request,
            gettext("已从企业微信刷新「%(name)s」：%(summary)s") % {"name": name, "summary": summary},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(change_url)

    def _report_failure(self, request: HttpRequest, error: WeComError) -> None:
        text = gettext("刷新失败：%(error)s") % {"error": error.for_reader()}
        if error.not_connected:
            text += " " + gettext("已标记为“已无联系”，本地数据已保留。")
        else:
            text += " " + gettext("本地数据未改动。")
        self.message_user(request, text, messages.ERROR)

    def _report_not_done(self, request: HttpRequest, error: CallsHeldBack | SharedCacheUnavailable) -> None:
        """WeCom was not asked: its limit holds calls back, or the shared cache is down."""
        text = error.describe(language=get_language()) + " " + gettext("本地数据未改动。")
        self.message_user(request, text, messages.ERROR)

    def lookup_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_lookup_permission(request):
            raise NotAllowed(gettext("按 external_userid 查找家长需要“学校管理员”组的权限。"))
        form = LookupForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            external_userid = form.cleaned_data["external_userid"]
            try:
                result = refresh_contact_for_staff(
                    external_userid=external_userid, user=request.user, action=AuditAction.LOOKUP
                )
            except WeComError as error:
                form.add_error("external_userid", self._lookup_error(error))
            except (CallsHeldBack, SharedCacheUnavailable) as error:
                form.add_error("external_userid", error.describe(language=get_language()))
            else:
                found = gettext("已找到并保存「%(name)s」。") if result.created else gettext("已刷新「%(name)s」。")
                name = parent_label(result.contact, reveal=can_see_phones(request))
                self.message_user(request, found % {"name": name}, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:contacts_externalcontact_change", args=[result.contact.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("按 external_userid 查找家长"),
            "form": form,
        }
        return TemplateResponse(request, "admin/contacts/externalcontact/lookup.html", context)

    def _lookup_error(self, error: WeComError) -> str:
        if error.errcode == 40096:
            return gettext("企业微信中没有这个 external_userid，请核对后再试。")
        if error.errcode == 84061:
            return gettext("学校与这位家长已无联系（家长已删除学校或被移出），企业微信不再提供其信息。")
        return error.for_reader()

    # -- bulk action ------------------------------------------------------------------------

    @admin.action(description=_("刷新所选家长"), permissions=["refresh"])
    def refresh_selected(self, request, queryset):
        external_userids = list(queryset.values_list("external_userid", flat=True)[: MAX_SELECTED_FOR_REFRESH + 1])
        if len(external_userids) > MAX_SELECTED_FOR_REFRESH:
            self.message_user(
                request,
                gettext("一次最多刷新 %(max)d 位家长；更多家长请使用命令 refresh_contacts。")
                % {"max": MAX_SELECTED_FOR_REFRESH},
                messages.WARNING,
            )
            return
        failures: list[str] = []
        user = request.user

        def note(outcome):
            record_audit(
                user=user,
                action=AuditAction.REFRESH,
                contact=outcome.result.contact if outcome.result else None,
                external_userid=outcome.external_userid,
                result=refresh_result(outcome),
            )
            if outcome.error:
                failures.append(f"{outcome.external_userid}: {outcome.error.for_reader()}")

        try:
            # In the request's own thread: a page waits for no pool, and never for a limit.
            summary = refresh_concurrently(
                external_userids=external_userids,
                trigger=RefreshTrigger.STAFF,
                policy=RateLimitPolicy.for_staff(),
                triggered_by=user,
                concurrency=1,
                on_outcome=note,
            )
        except SharedCacheUnavailable as error:
            self._report_not_done(request, error)
            return
        text = gettext("已刷新 %(refreshed)d 位家长，其中 %(changed)d 位有变化，%(failed)d 位失败。") % {
            "refreshed": summary.refreshed,
            "changed": summary.changed + summary.created,
            "failed": summary.failed + summary.left,
        }
        self.message_user(request, text, messages.ERROR if failures or summary.left else messages.SUCCESS)
        for failure in failures[:5]:
            self.message_user(request, failure, messages.ERROR)
        if summary.gave_up_on_limits:
            self.message_user(
                request,
                gettext("企业微信限制了调用频率，其余 %(n)d 位家长未刷新，请在 %(time)s（北京时间）之后再试。")
                % {"n": summary.left, "time": clock_time(summary.next_try)},
                messages.ERROR,
            )
        elif summary.left:
            self.message_user(
                request, gettext("遇到配置错误，其余 %(n)d 位家长未尝试。") % {"n": summary.left}, messages.ERROR
            )

