"""Events WeCom pushed to the callback URL, kept whatever became of them."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from contacts.models.parents import ExternalContact


class CallbackStatus(models.TextChoices):
    RECEIVED = "received", _("已接收")
    PROCESSED = "processed", _("已处理")
    IGNORED = "ignored", _("已忽略")
    FAILED = "failed", _("处理失败")


class CallbackEvent(models.Model):
    received_at = models.DateTimeField(_("接收时间"), auto_now_add=True, db_index=True)
    # WeCom retries a delivery it thinks failed; the same decrypted message is one event.
    fingerprint = models.CharField(_("消息指纹"), max_length=64, unique=True)
    event = models.CharField(_("事件"), max_length=64)
    change_type = models.CharField(_("变更类型"), max_length=64, blank=True)
    external_userid = models.CharField(_("external_userid"), max_length=128, blank=True, db_index=True)
    userid = models.CharField(_("成员或家校userid"), max_length=128, blank=True)
    created_at_wecom = models.DateTimeField(_("企业微信发出时间"), null=True, blank=True)
    payload = models.JSONField(_("事件内容"))
    status = models.CharField(_("状态"), max_length=20, choices=CallbackStatus.choices, default=CallbackStatus.RECEIVED)
    # What came of the event, as codes and their values (contacts.callbacks.outcomes.OUTCOMES), one per line.
    result = models.JSONField(_("处理结果"), default=list, blank=True)
    # Text written before outcomes were stored as codes; shown for those events only.
    outcome = models.TextField(_("处理结果"), blank=True)
    processed_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    # The claim of the worker applying the event: renewed while it works, it runs out after
    # JOB_LEASE_SECONDS when the worker died, and the event is queued again (see callbacks.services).
    claimed_at = models.DateTimeField(_("认领时间"), null=True, blank=True, editable=False)
    claimed_by = models.CharField(max_length=32, blank=True, editable=False)
    # How many workers began applying it. (A plain integer: no CHECK constraint to validate on a big table.)
    attempts = models.IntegerField(_("处理次数"), default=0, editable=False)
    # When it was last queued again; once a lease at most.
    requeued_at = models.DateTimeField(null=True, blank=True, editable=False)
    contact = models.ForeignKey(
        ExternalContact,
        verbose_name=pgettext_lazy("one", "家长"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="callback_events",
    )

    class Meta:
        verbose_name = pgettext_lazy("one", "回调事件")
        verbose_name_plural = pgettext_lazy("many", "回调事件")
        ordering = ["-received_at", "-id"]
        # The events still to apply, few among the two years kept, are found without reading the others.
        indexes = [
            models.Index(
                fields=["received_at"],
                name="callback_event_received_idx",
                condition=models.Q(status=CallbackStatus.RECEIVED),
            )
        ]

    def __str__(self) -> str:
        return f"{self.event}/{self.change_type} {self.external_userid or self.userid}"
