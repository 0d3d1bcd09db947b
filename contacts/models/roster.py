"""The school roster as WeCom's 家校通讯录 describes it (docs 92299, 92043).

Classes, students, and the parents (guardians) linked to them. Nothing here is ever
deleted: what leaves the roster gets `gone_at`, and comes back when seen again.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class DepartmentType(models.IntegerChoices):
    CLASS = 1, _("班级")
    GRADE = 2, _("年级")
    STAGE = 3, _("学段")
    CAMPUS = 4, _("校区")
    SCHOOL = 5, _("学校")


class RosterEntry(models.Model):
    first_seen_at = models.DateTimeField(_("首次同步"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("最近同步"))
    gone_at = models.DateTimeField(
        _("已离开花名册"), null=True, blank=True, help_text=_("最近一次同步时企业微信已不再列出")
    )

    class Meta:
        abstract = True


class Department(RosterEntry):
    department_id = models.BigIntegerField(_("部门ID"), unique=True)
    parent_department_id = models.BigIntegerField(_("上级部门ID"), null=True, blank=True)
    name = models.TextField(_("名称"))
    type = models.SmallIntegerField(_("类型"), choices=DepartmentType.choices, null=True, blank=True)
    register_year = models.IntegerField(_("入学年份"), null=True, blank=True)
    standard_grade = models.IntegerField(_("标准年级"), null=True, blank=True)
    order = models.BigIntegerField(_("排序"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "部门")
        verbose_name_plural = pgettext_lazy("many", "部门")
        ordering = ["type", "order", "department_id"]

    def __str__(self) -> str:
        return self.name


def class_label(class_name: str, grade_name: str | None) -> str:
    """A class as staff name it: "三年级 · 2班", or its own name when that already says the grade."""
    if not grade_name or grade_name in class_name:
        return class_name
    return f"{grade_name} · {class_name}"


class SchoolClass(Department):
    """A class of the roster, as the class page (班级) shows it: a department of type 1."""

    class Meta:
        proxy = True
        verbose_name = pgettext_lazy("one", "班级")
        verbose_name_plural = pgettext_lazy("many", "班级")


class Student(RosterEntry):
    student_userid = models.CharField(_("学生userid"), max_length=128, unique=True)
    name = models.TextField(_("姓名"), null=True, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("班级"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="students",
    )

    class Meta:
        verbose_name = pgettext_lazy("one", "学生")
        verbose_name_plural = pgettext_lazy("many", "学生")
        ordering = ["name", "student_userid"]

    def __str__(self) -> str:
        return self.name or self.student_userid


class Guardian(RosterEntry):
    """A parent as the roster lists them; linked to an ExternalContact by external_userid once subscribed.

    Parents who never joined WeCom are listed too (no external_userid): the roster is the only
    place they appear, marked as not connected."""

    parent_userid = models.CharField(_("家长userid"), max_length=128, unique=True)
    external_userid = models.CharField(_("external_userid"), max_length=128, null=True, blank=True, db_index=True)
    mobile = models.TextField(_("手机号"), null=True, blank=True)
    is_subscribe = models.BooleanField(_("已关注学校通知"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "花名册家长")
        verbose_name_plural = pgettext_lazy("many", "花名册家长")

    def __str__(self) -> str:
        return self.parent_userid

    @property
    def is_connected(self) -> bool:
        """Subscribed to the school's notices, so WeCom gave an external_userid (which it gives only then)."""
        return bool(self.external_userid) and self.is_subscribe is not False


class Guardianship(RosterEntry):
    guardian = models.ForeignKey(Guardian, on_delete=models.CASCADE, related_name="guardianships")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="guardianships")
    relation = models.TextField(_("关系"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "亲属关系")
        verbose_name_plural = pgettext_lazy("many", "亲属关系")
        constraints = [models.UniqueConstraint(fields=["guardian", "student"], name="unique_guardianship")]

    def __str__(self) -> str:
        return f"{self.student} · {self.relation or ''}"
