"""Who refreshed which parent, who saw unmasked phone numbers and who searched by one."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from contacts.models.parents import ExternalContact


class AuditAction(models.TextChoices):
    REFRESH = "refresh", _("从企业微信刷新")
    LOOKUP = "lookup", _("按 external_userid 查找")
    VIEW_PHONES = "view_phones", _("查看完整手机号")
    PHONE_SEARCH = "phone_search", _("按手机号搜索")


class AuditEntry(models.Model):
    """Who refreshed which parent and who saw unmasked phone numbers."""

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("教职工"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(_("用户名"), max_length=150, help_text=_("保留用户名，即使账号之后被删除"))
    action = models.CharField(_("操作"), max_length=20, choices=AuditAction.choices)
    contact = models.ForeignKey(
        ExternalContact, verbose_name=_("家长"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    external_userid = models.CharField(_("external_userid"), max_length=128, blank=True)
    # What came of it, as a code and its values (contacts.services.audit.AUDIT_RESULTS).
    result = models.JSONField(_("结果"), null=True, blank=True)
    # Text written before results were stored as codes; shown for those entries only.
    outcome = models.TextField(_("结果"), blank=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "审计日志")
        verbose_name_plural = pgettext_lazy("many", "审计日志")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.username} {self.get_action_display()} {self.external_userid}"
