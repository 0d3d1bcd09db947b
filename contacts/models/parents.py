"""Parents (WeCom external contacts) as WeCom last described them.

Fields that map one to one onto the API keep the API's names (doc 91670). A field
WeCom did not send is stored as NULL ("not visible to this app"), never as "".
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ContactType(models.IntegerChoices):
    WECHAT = 1, _("微信用户")
    WECOM = 2, _("企业微信用户")


class Gender(models.IntegerChoices):
    UNKNOWN = 0, _("未知")
    MALE = 1, _("男性")
    FEMALE = 2, _("女性")


class ConnectionState(models.TextChoices):
    ACTIVE = "active", _("正常")
    NOT_CONNECTED = "not_connected", _("已无联系")


class RefreshTrigger(models.TextChoices):
    STAFF = "staff", _("教职工手动")
    COMMAND = "command", _("命令行")
    JOB = "job", _("后台任务")
    CALLBACK = "callback", _("企业微信回调")


class AttributeType(models.IntegerChoices):
    TEXT = 0, _("文本")
    WEB = 1, _("网页")
    MINIPROGRAM = 2, _("小程序")


class TagType(models.IntegerChoices):
    CORP = 1, _("企业设置")
    PERSONAL = 2, _("用户自定义")


class ExternalContact(models.Model):
    external_userid = models.CharField(_("external_userid"), max_length=128, unique=True)
    name = models.TextField(_("姓名"), null=True, blank=True, help_text=_("外部联系人的姓名或别名"))
    position = models.TextField(_("职位"), null=True, blank=True)
    avatar = models.TextField(_("头像"), null=True, blank=True, help_text=_("第三方应用不可获取"))
    corp_name = models.TextField(_("企业简称"), null=True, blank=True)
    corp_full_name = models.TextField(_("企业主体名称"), null=True, blank=True)
    type = models.SmallIntegerField(_("类型"), choices=ContactType.choices, null=True, blank=True)
    gender = models.SmallIntegerField(_("性别"), choices=Gender.choices, null=True, blank=True)
    unionid = models.CharField(_("unionid"), max_length=128, null=True, blank=True, db_index=True)
    is_subscribe = models.BooleanField(
        _("已关注学校通知"),
        null=True,
        blank=True,
        help_text=_("企业微信仅在家长已关注时返回此字段；为空表示未关注或本应用不可见。"),
    )
    subscriber_tag_ids = models.JSONField(_("家长标签ID"), null=True, blank=True, help_text=_("subscriber_info.tag_id"))
    subscriber_remark_mobiles = models.JSONField(
        _("学校备注的手机号"), null=True, blank=True, help_text=_("subscriber_info.remark_mobiles，第三方应用不返回")
    )
    subscriber_remark = models.TextField(
        _("学校备注"),
        null=True,
        blank=True,
        help_text=_("subscriber_info.remark，默认为“学生姓名-关系”"),
    )

    state = models.CharField(_("状态"), max_length=20, choices=ConnectionState.choices, default=ConnectionState.ACTIVE)
    state_changed_at = models.DateTimeField(_("状态变更时间"), null=True, blank=True)
    last_refreshed_at = models.DateTimeField(
        _("最近成功刷新"), null=True, blank=True, help_text=_("最近一次企业微信成功返回这位家长的时间，无论有无变化")
    )
    last_changed_at = models.DateTimeField(
        _("最近变化"), null=True, blank=True, help_text=_("最近一次保存的内容或联系状态发生变化的时间")
    )
    last_attempt_at = models.DateTimeField(_("最近尝试刷新"), null=True, blank=True)
    last_trigger = models.CharField(_("最近触发方式"), max_length=20, choices=RefreshTrigger.choices, blank=True)
    last_triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("最近触发人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The last failure as WeComError.as_record(), shown in the reader's language.
    last_failure = models.JSONField(_("最近错误"), null=True, blank=True)
    # Text written before failures were stored as records; shown for those rows only.
    last_error = models.TextField(_("最近错误"), blank=True)
    last_errcode = models.IntegerField(_("最近错误码"), null=True, blank=True)
    # answer_fingerprint() of the answer stored last; empty until a refresh stores one.
    answer_hash = models.CharField(_("返回内容指纹"), max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "家长")
        verbose_name_plural = pgettext_lazy("many", "家长")
        ordering = ["name", "external_userid"]
        permissions = [
            ("refresh_externalcontact", _("可以从企业微信刷新家长")),
            ("view_phone_numbers", _("可以查看完整手机号")),
            ("view_all_parents", _("可以查看全校家长")),
            ("lookup_externalcontact", _("可以按 external_userid 查找新家长")),
        ]

    def __str__(self) -> str:
        return self.name or self.external_userid


class ExternalProfileAttribute(models.Model):
    """One entry of external_profile.external_attr, in WeCom's order."""

    contact = models.ForeignKey(ExternalContact, on_delete=models.CASCADE, related_name="attributes")
    position = models.PositiveSmallIntegerField(_("顺序"))
    type = models.SmallIntegerField(
        _("类型"), help_text=_("0 文本，1 网页，2 小程序；其他值为企业微信新增的类型，原始内容保存在 raw 中")
    )
    name = models.TextField(_("名称"), null=True, blank=True)
    text_value = models.TextField(_("文本"), null=True, blank=True)
    web_url = models.TextField(_("网页地址"), null=True, blank=True)
    web_title = models.TextField(_("网页标题"), null=True, blank=True)
    miniprogram_appid = models.TextField(_("小程序appid"), null=True, blank=True)
    miniprogram_pagepath = models.TextField(_("小程序页面路径"), null=True, blank=True)
    miniprogram_title = models.TextField(_("小程序标题"), null=True, blank=True)
    raw = models.JSONField(_("原始内容"))

    class Meta:
        verbose_name = pgettext_lazy("one", "对外属性")
        verbose_name_plural = pgettext_lazy("many", "对外属性")
        ordering = ["contact", "position"]
        constraints = [models.UniqueConstraint(fields=["contact", "position"], name="unique_attribute_position")]

    def __str__(self) -> str:
        # Not the name the parent typed: it may hold a phone number, which some staff see masked.
        return str(self.type_label)

    @property
    def type_label(self) -> str:
        if self.type in AttributeType.values:
            return AttributeType(self.type).label
        return _("未知类型 %(type)s") % {"type": self.type}


class FollowUser(models.Model):
    """A staff member (teacher) who added the parent, with what they noted about them."""

    contact = models.ForeignKey(ExternalContact, on_delete=models.CASCADE, related_name="follow_users")
    userid = models.CharField(_("成员userid"), max_length=128)
    remark = models.TextField(_("备注"), null=True, blank=True)
    description = models.TextField(_("描述"), null=True, blank=True)
    createtime = models.DateTimeField(_("添加时间"), null=True, blank=True)
    remark_corp_name = models.TextField(_("备注企业名称"), null=True, blank=True)
    remark_mobiles = models.JSONField(_("备注手机号"), null=True, blank=True, help_text=_("第三方应用不可获取"))
    state = models.TextField(_("添加渠道"), null=True, blank=True)
    ended_at = models.DateTimeField(
        _("关系结束时间"),
        null=True,
        blank=True,
        help_text=_("该老师不再出现在企业微信返回的跟进人中的时间；记录予以保留。"),
    )

    class Meta:
        verbose_name = pgettext_lazy("one", "跟进老师")
        verbose_name_plural = pgettext_lazy("many", "跟进老师")
        ordering = ["contact", "createtime", "userid"]
        constraints = [models.UniqueConstraint(fields=["contact", "userid"], name="unique_follow_user_per_contact")]
        indexes = [models.Index(fields=["userid"])]

    def __str__(self) -> str:
        # Not the remark: it may hold a phone number, which some staff see masked.
        return self.userid


class FollowUserTag(models.Model):
    follow_user = models.ForeignKey(FollowUser, on_delete=models.CASCADE, related_name="tags")
    group_name = models.TextField(_("标签分组"), null=True, blank=True)
    tag_name = models.TextField(_("标签名称"), null=True, blank=True)
    type = models.SmallIntegerField(_("标签类型"), choices=TagType.choices, null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "跟进标签")
        verbose_name_plural = pgettext_lazy("many", "跟进标签")
        ordering = ["follow_user", "group_name", "tag_name"]

    def __str__(self) -> str:
        return f"{self.group_name or ''}/{self.tag_name or ''}"


class ContactSnapshot(models.Model):
    """One refresh worth remembering: an answer that differed from the stored one, or a new failure.

    A successful refresh keeps WeCom's raw answer, so nothing fetched is ever lost, and
    what it changed. A failed one keeps the error (and the change of connection state it
    caused), without an answer. A refresh that found everything as stored leaves no record:
    the parent's last_refreshed_at says when it was checked.
    """

    contact = models.ForeignKey(ExternalContact, on_delete=models.CASCADE, related_name="snapshots")
    fetched_at = models.DateTimeField(_("获取时间"), db_index=True)
    trigger = models.CharField(_("触发方式"), max_length=20, choices=RefreshTrigger.choices)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("触发人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    raw = models.JSONField(_("企业微信原始返回"), null=True, blank=True, help_text=_("刷新失败时为空"))
    changes = models.JSONField(_("变更"), default=dict, blank=True)
    # The failure as WeComError.as_record(), shown in the reader's language.
    failure = models.JSONField(_("错误"), null=True, blank=True)
    # Text written before failures were stored as records; shown for those records only.
    error = models.TextField(_("错误"), blank=True, help_text=_("刷新失败时企业微信的错误及处理建议"))
    errcode = models.IntegerField(_("错误码"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "刷新记录")
        verbose_name_plural = pgettext_lazy("many", "刷新记录")
        ordering = ["-fetched_at", "-id"]
        indexes = [models.Index(fields=["contact", "fetched_at"], name="snapshot_contact_time")]

    def __str__(self) -> str:
        return self.titled(str(self.contact))

    def titled(self, parent: str) -> str:
        """The page title: the parent as shown, and the time in the school's time zone as every other page shows it."""
        return f"{parent} · {timezone.localtime(self.fetched_at):%Y-%m-%d %H:%M}"

    @property
    def failed(self) -> bool:
        return bool(self.failure or self.error)


PHONE_INDEX_LENGTH = 64


class ContactPhone(models.Model):
    """Every phone number noted for a parent, indexed so a full number finds the parent at once."""

    contact = models.ForeignKey(ExternalContact, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(_("手机号"), max_length=PHONE_INDEX_LENGTH, db_index=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "手机号")
        verbose_name_plural = pgettext_lazy("many", "手机号")
        constraints = [models.UniqueConstraint(fields=["contact", "number"], name="unique_phone_per_contact")]

    def __str__(self) -> str:
        return self.number
