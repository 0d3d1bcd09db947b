"""The school's WeCom members (teachers and other staff), what they teach, and the staff
accounts they sign in with.

Members and their places in the department tree come with the roster sync
(contacts.services.roster): names from user/get (doc 90196), the classes each member heads
or teaches from the departments' `department_admins` (doc 92299). As on the rest of the
roster, nothing is deleted: what WeCom no longer lists gets `gone_at`.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from contacts.models.roster import Department, RosterEntry


class MemberStatus(models.IntegerChoices):
    ACTIVE = 1, _("已激活")
    DISABLED = 2, _("已禁用")
    NOT_ACTIVATED = 4, _("未激活")
    LEFT = 5, _("已退出企业")


class StaffMember(RosterEntry):
    userid = models.CharField(_("成员userid"), max_length=128, unique=True)
    name = models.TextField(_("姓名"), null=True, blank=True)
    status = models.SmallIntegerField(_("企业微信状态"), choices=MemberStatus.choices, null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "老师")
        verbose_name_plural = pgettext_lazy("many", "老师")
        ordering = ["name", "userid"]

    def __str__(self) -> str:
        return member_label(self.userid, self.name)


def member_label(userid: str, name: str | None) -> str:
    """How a member is shown everywhere: "张老师 (t007)", or the userid alone while no name is known."""
    return f"{name} ({userid})" if name else userid


class DepartmentAdminType(models.IntegerChoices):
    """`department_admins[].type` (docs 92297, 92299)."""

    SCHOOL_HEAD = 1, _("学校负责人")
    GRADE_HEAD = 2, _("年级负责人")
    HEAD_TEACHER = 3, _("班主任")
    SUBJECT_TEACHER = 4, _("任课老师")
    STAGE_HEAD = 5, _("学段负责人")


# The roles that make a member teach a class: its families are theirs.
TEACHING_TYPES = (DepartmentAdminType.HEAD_TEACHER, DepartmentAdminType.SUBJECT_TEACHER)


class DepartmentAdmin(RosterEntry):
    """One entry of a department's `department_admins`: a member heading or teaching it."""

    department = models.ForeignKey(Department, verbose_name=_("部门"), on_delete=models.CASCADE, related_name="admins")
    userid = models.CharField(_("成员userid"), max_length=128, db_index=True)
    type = models.SmallIntegerField(_("职责"), choices=DepartmentAdminType.choices)
    subject = models.CharField(_("科目"), max_length=64, blank=True, default="")

    class Meta:
        verbose_name = pgettext_lazy("one", "任教")
        verbose_name_plural = pgettext_lazy("many", "任教")
        ordering = ["department", "type", "userid"]
        constraints = [
            models.UniqueConstraint(fields=["department", "userid", "type", "subject"], name="unique_department_admin")
        ]

    def __str__(self) -> str:
        return f"{self.department} · {self.get_type_display()} · {self.userid}"


class WeComAccount(models.Model):
    """The staff account a WeCom member signs in to (one each way)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("账号"), on_delete=models.CASCADE, related_name="wecom_account"
    )
    userid = models.CharField(
        _("企业微信userid"),
        max_length=64,
        unique=True,
        help_text=_("该成员在企业微信通讯录中的账号（userid）。关联后，该成员可用企业微信登录这个账号。"),
    )
    linked_at = models.DateTimeField(_("关联时间"), auto_now_add=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "企业微信账号")
        verbose_name_plural = pgettext_lazy("many", "企业微信账号")

    def __str__(self) -> str:
        return self.userid
