"""Parent lists as Excel workbooks (.xlsx): contact sheets.

One sheet writer serves every page that exports parents. A page passes its own queryset, so
its filters, search and the reader's scope apply, and says whether the reader may see full
phone numbers; every text people typed then has its phones masked as on the pages
(contacts.privacy). A sheet is a title and a choice of COLUMNS; the parent list exports all
of them (PARENT_LIST_SHEET). A class page would export its parents, e.g.:

    sheet = ParentSheet(title="三年级 · 1班", columns=("children", "name", "school_phones", "teachers"))
    exported = export_parents_now(user=user, contacts=parents, description="班级：三年级 · 1班",
                                  reveal_phones=may_see_phones, sheet=sheet)

or, for more than EXPORT_INLINE_ROWS parents (`runs_in_background`), `start_parent_export`
with the same arguments. Each export is recorded in the audit log.

A worker writing a file renews the export's heartbeat every quarter lease (JOB_LEASE_SECONDS), from a
thread of its own, so also while the workbook is saved. The
export's watch, a task queued every lease while the export is queued or being written, queues the
writing again when the heartbeat stopped (the worker was killed), at most MAX_EXPORT_ATTEMPTS times in
all; then the export fails, saying so, rather than staying "生成中" until it expires.

Memory stays flat however many parents: the workbook is write-only (openpyxl streams its rows
to a temporary file), and parents are read BATCH_SIZE at a time with a fixed number of
queries per batch.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from contacts import tasks
from contacts.models import (
    EXPORT_ACTIVE_STATUSES,
    AuditAction,
    ConnectionState,
    ContactType,
    Department,
    DepartmentType,
    Export,
    ExportStatus,
    ExternalContact,
    FollowUser,
    FollowUserTag,
    Guardianship,
    class_label,
    member_label,
)
from contacts.privacy import show_phones, shown_text
from contacts.selectors import member_names
from contacts.services.audit import export_result, record_audit
from contacts.services.leases import Renewing, lease_duration, queue_watch
from contacts.services.retention import purge_expired_exports

logger = logging.getLogger(__name__)

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Parents read at once: a handful of queries each time, a few hundred rows in memory.
BATCH_SIZE = 500
# Excel's limits: characters in a cell, characters in a sheet's name.
MAX_CELL_CHARACTERS = 32767
MAX_TITLE_CHARACTERS = 31
# What Excel refuses in a sheet's name, and what a file name cannot hold on Windows.
_NOT_IN_TITLES = re.compile(r'[\[\]:*?/\\"<>|]')

CellValue = str | int | dt.datetime | None

# Tries at writing one export's file; a try ends early only when its worker dies.
MAX_EXPORT_ATTEMPTS = 3
# A queued export no worker began writing in this long is given up: its task was lost, or no worker runs.
QUEUE_PATIENCE = dt.timedelta(hours=1)
NEVER_STARTED = (
    "一小时内没有后台进程开始生成，已放弃；请确认后台进程（db_worker）在运行，然后重新导出。"
    " / No background worker began writing the file within an hour; check that the workers (db_worker) run,"
    " then export again."
)
INTERRUPTED = (
    "生成中断：写文件的后台进程停止了 {attempts} 次，请重新导出；如仍失败，请联系系统管理员检查后台进程（db_worker）。"
    " / Writing the file was interrupted: the background worker stopped {attempts} times. Export again, and if it"
    " fails again, ask the administrator to check the workers (db_worker)."
)


class ExportNotStarted(Exception):
    """The export was recorded but its task could not be queued; it is marked failed."""


class ExportNotReady(Exception):
    """The export's file is still being written, or its writing failed."""


class ExportFileGone(Exception):
    """The export's file is no longer there (expired, or removed from the disk)."""


# -- what a sheet shows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ParentRow:
    """One parent as the reader of a sheet may see them.

    Every text a parent, the school or a teacher typed is already masked here unless the reader may
    see full phone numbers, so no column can show more than the pages do.
    """

    external_userid: str
    name: str
    school_remark: str
    school_phones: str
    children: tuple[str, ...]
    teachers: tuple[str, ...]
    teacher_phones: str
    tags: tuple[str, ...]
    type: str
    subscribed: str
    state: str
    last_refreshed_at: dt.datetime | None


@dataclass(frozen=True)
class Column:
    key: str
    header: str | Promise
    width: int
    value: Callable[[ParentRow], CellValue]


def _lines(values: tuple[str, ...]) -> str:
    return "\n".join(values)


COLUMNS: dict[str, Column] = {
    column.key: column
    for column in (
        Column("name", _("姓名"), 16, lambda row: row.name),
        Column("external_userid", "external_userid", 22, lambda row: row.external_userid),
        Column("school_remark", _("学校备注"), 20, lambda row: row.school_remark),
        Column("school_phones", _("学校备注的手机号"), 18, lambda row: row.school_phones),
        Column("children", _("孩子（班级，关系）"), 28, lambda row: _lines(row.children)),
        Column("teachers", _("跟进老师及其备注"), 30, lambda row: _lines(row.teachers)),
        Column("teacher_phones", _("老师备注的手机号"), 18, lambda row: row.teacher_phones),
        Column("tags", _("老师打的标签"), 20, lambda row: "、".join(row.tags)),
        Column("type", _("类型"), 12, lambda row: row.type),
        Column("subscribed", _("已关注学校通知"), 12, lambda row: row.subscribed),
        Column("state", _("状态"), 10, lambda row: row.state),
        Column("last_refreshed_at", _("最近成功刷新"), 18, lambda row: row.last_refreshed_at),
    )
}


@dataclass(frozen=True)
class ParentSheet:
    """A sheet's name and its columns, by their keys in COLUMNS."""

    title: str | Promise
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        unknown = [key for key in self.columns if key not in COLUMNS]
        if unknown or not self.columns:
            raise ValueError(f"a sheet needs columns among {', '.join(COLUMNS)}; unknown: {unknown}")


PARENT_LIST_SHEET = ParentSheet(title=_("家长名单"), columns=tuple(COLUMNS))


# -- writing a sheet ------------------------------------------------------------------------------


def write_parent_sheet(
    *,
    contacts: QuerySet[ExternalContact],
    reveal_phones: bool,
    stream: BinaryIO,
    sheet: ParentSheet = PARENT_LIST_SHEET,
) -> int:
    """Write the parents of `contacts`, in its order, as an .xlsx workbook to `stream`; returns the rows written.

    Without `reveal_phones` every phone number is masked, also those typed into text.
    """
    contact_ids = contacts.values_list("pk", flat=True).iterator(chunk_size=BATCH_SIZE)
    return _write_sheet(contact_ids=contact_ids, reveal_phones=reveal_phones, stream=stream, sheet=sheet)


def _write_sheet(*, contact_ids: Iterable[int], reveal_phones: bool, stream: BinaryIO, sheet: ParentSheet) -> int:
    columns = [COLUMNS[key] for key in sheet.columns]
    reading = _Reading.now(reveal_phones=reveal_phones)
    rows = (
        [column.value(row) for column in columns]
        for batch in _batches(contact_ids, size=BATCH_SIZE)
        for row in _parent_rows(contact_ids=batch, reading=reading)
    )
    return write_workbook(
        title=str(sheet.title),
        headers=[(str(column.header), column.width) for column in columns],
        rows=rows,
        stream=stream,
    )


def write_workbook(
    *, title: str, headers: list[tuple[str, int]], rows: Iterable[list[CellValue]], stream: BinaryIO
) -> int:
    """Write one sheet, its headers (text, width) then `rows`, as an .xlsx workbook to `stream`; returns the rows.

    Every text is stored as text, never as a formula, whatever it starts with.
    """
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(title=sheet_title(title))
    for number, (_header, width) in enumerate(headers, start=1):
        worksheet.column_dimensions[get_column_letter(number)].width = width
    worksheet.freeze_panes = "A2"
    worksheet.append([_header_cell(worksheet, header) for header, _width in headers])
    written = 0
    for row in rows:
        worksheet.append([_cell(worksheet, value) for value in row])
        written += 1
    workbook.save(stream)
    return written


def sheet_title(title: str) -> str:
    """A name Excel accepts for a sheet, and a file name may start with."""
    return _NOT_IN_TITLES.sub("", title).strip(" '")[:MAX_TITLE_CHARACTERS] or "Sheet1"


def _batches(values: Iterable[int], *, size: int) -> Iterator[list[int]]:
    values = iter(values)
    while batch := list(islice(values, size)):
        yield batch


@dataclass(frozen=True)
class _Reading:
    """What every row of one sheet is read with: the reader's permission, the grades' names and the words of the
    choices in the sheet's language, each translated once rather than once a row."""

    reveal_phones: bool
    grade_names: dict[int, str]
    types: dict[int | None, str]
    subscribed: dict[bool | None, str]
    states: dict[str, str]

    @classmethod
    def now(cls, *, reveal_phones: bool) -> _Reading:
        unknown = gettext("未知")
        return cls(
            reveal_phones=reveal_phones,
            grade_names=dict(Department.objects.filter(type=DepartmentType.GRADE).values_list("department_id", "name")),
            types={**{value: str(label) for value, label in ContactType.choices}, None: unknown},
            subscribed={True: gettext("是"), False: gettext("否"), None: unknown},
            states={value: str(label) for value, label in ConnectionState.choices},
        )

    def text(self, text: str | None) -> str:
        return shown_text(text, reveal=self.reveal_phones) or ""


@dataclass(frozen=True)
class _Teacher:
    userid: str
    remark: str | None
    phones: list


def _parent_rows(*, contact_ids: list[int], reading: _Reading) -> list[ParentRow]:
    """The rows of these parents, in this order; five queries, however many parents, teachers and tags.

    Plain values rather than model instances: a sheet reads tens of thousands of rows.
    """
    contacts = {
        contact.pk: contact
        for contact in ExternalContact.objects.filter(pk__in=contact_ids).only(
            "external_userid",
            "name",
            "subscriber_remark",
            "subscriber_remark_mobiles",
            "type",
            "is_subscribe",
            "state",
            "last_refreshed_at",
        )
    }
    current = FollowUser.objects.filter(contact_id__in=contact_ids, ended_at__isnull=True)
    teachers: dict[int, list[_Teacher]] = {}
    for contact_id, userid, remark, phones in current.order_by("contact_id", "createtime", "userid").values_list(
        "contact_id", "userid", "remark", "remark_mobiles"
    ):
        teachers.setdefault(contact_id, []).append(_Teacher(userid=userid, remark=remark, phones=phones or []))
    tags: dict[int, dict[str, None]] = {}
    for contact_id, tag_name in (
        FollowUserTag.objects.filter(follow_user__in=current)
        .exclude(tag_name__isnull=True)
        .exclude(tag_name="")
        .order_by("follow_user__createtime", "follow_user__userid", "group_name", "tag_name")
        .values_list("follow_user__contact_id", "tag_name")
    ):
        tags.setdefault(contact_id, {})[reading.text(tag_name)] = None
    children = _children(external_userids=[contact.external_userid for contact in contacts.values()], reading=reading)
    names = member_names(userids={teacher.userid for each in teachers.values() for teacher in each})
    # A parent deleted since the list was read is left out.
    return [
        _parent_row(
            contact,
            teachers=teachers.get(contact.pk, []),
            tags=tuple(tags.get(contact.pk, ())),
            children=children.get(contact.external_userid, ()),
            names=names,
            reading=reading,
        )
        for contact in (contacts.get(pk) for pk in contact_ids)
        if contact is not None
    ]


def _children(*, external_userids: list[str], reading: _Reading) -> dict[str, tuple[str, ...]]:
    """Each parent's children still on the roster: "李小明（三年级 · 1班，爸爸）"."""
    links = (
        Guardianship.objects.filter(
            guardian__external_userid__in=external_userids, gone_at__isnull=True, student__gone_at__isnull=True
        )
        .order_by("student__name", "student__student_userid")
        .values_list(
            "guardian__external_userid",
            "student__name",
            "student__student_userid",
            "student__department__name",
            "student__department__parent_department_id",
            "relation",
        )
    )
    children: dict[str, dict[str, None]] = {}
    for external_userid, name, student_userid, class_name, grade_id, relation in links:
        klass = class_label(class_name, reading.grade_names.get(grade_id)) if class_name else ""
        detail = "，".join(part for part in (klass, reading.text(relation)) if part)
        child = reading.text(name or student_userid)
        children.setdefault(external_userid, {})[f"{child}（{detail}）" if detail else child] = None
    return {external_userid: tuple(each) for external_userid, each in children.items()}


def _parent_row(
    contact: ExternalContact,
    *,
    teachers: list[_Teacher],
    tags: tuple[str, ...],
    children: tuple[str, ...],
    names: dict[str, str],
    reading: _Reading,
) -> ParentRow:
    teacher_lines = []
    for teacher in teachers:
        label = member_label(teacher.userid, names.get(teacher.userid))
        remark = reading.text(teacher.remark)
        teacher_lines.append(f"{label}：{remark}" if remark else label)
    teacher_phones = dict.fromkeys(str(phone) for teacher in teachers for phone in teacher.phones)
    return ParentRow(
        external_userid=contact.external_userid,
        name=reading.text(contact.name),
        school_remark=reading.text(contact.subscriber_remark),
        school_phones=show_phones(contact.subscriber_remark_mobiles, reveal=reading.reveal_phones),
        children=children,
        teachers=tuple(teacher_lines),
        teacher_phones=show_phones(list(teacher_phones), reveal=reading.reveal_phones),
        tags=tags,
        type=reading.types.get(contact.type, str(contact.type)),
        subscribed=reading.subscribed[contact.is_subscribe],
        state=reading.states.get(contact.state, contact.state),
        last_refreshed_at=contact.last_refreshed_at,
    )


_BOLD = Font(bold=True)
_WRAPPED = Alignment(wrap_text=True, vertical="top")


def _header_cell(worksheet: WriteOnlyWorksheet, header: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(worksheet, value=header)
    cell.font = _BOLD
    return cell


def _cell(worksheet: WriteOnlyWorksheet, value: CellValue) -> CellValue | WriteOnlyCell:
    if isinstance(value, dt.datetime):
        # Excel knows no time zones: the school's local time, as the pages show it.
        cell = WriteOnlyCell(worksheet, value=timezone.localtime(value).replace(tzinfo=None, microsecond=0))
        cell.number_format = "yyyy-mm-dd hh:mm"
        return cell
    if not isinstance(value, str):
        return value
    # Control characters cannot be stored in a workbook; WeCom's texts may hold some.
    text = ILLEGAL_CHARACTERS_RE.sub("", value)[:MAX_CELL_CHARACTERS]
    if not text.startswith("=") and "\n" not in text:
        return text
    cell = WriteOnlyCell(worksheet, value=text)
    # What people typed is never a formula, even when it starts with "=".
    cell.data_type = "s"
    if "\n" in text:
        cell.alignment = _WRAPPED
    return cell


# -- exports for staff, recorded in the audit log ---------------------------------------------------


@dataclass(frozen=True)
class ExportedSheet:
    """A workbook to download: `file` is open at its start, for the response to send and close."""

    file: BinaryIO
    rows: int
    filename: str


def runs_in_background(*, rows: int) -> bool:
    """Whether an export of this many parents is written by a worker rather than in the request."""
    return rows > settings.EXPORT_INLINE_ROWS


def export_parents_now(
    *,
    user: AbstractBaseUser,
    contacts: QuerySet[ExternalContact],
    description: str,
    reveal_phones: bool,
    sheet: ParentSheet = PARENT_LIST_SHEET,
) -> ExportedSheet:
    """Write the parents of `contacts` into a temporary workbook for `user` to download, and record it."""
    exported = temporary_sheet(
        title=str(sheet.title),
        write=partial(write_parent_sheet, contacts=contacts, reveal_phones=reveal_phones, sheet=sheet),
    )
    record_export(user=user, rows=exported.rows, description=description, reveal_phones=reveal_phones)
    return exported


def temporary_sheet(*, title: str, write: Callable[..., int]) -> ExportedSheet:
    """A workbook written by `write(stream=...)` into a temporary file, to download at once."""
    file = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    try:
        rows = write(stream=file)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    return ExportedSheet(file=file, rows=rows, filename=download_name(title=title, at=timezone.now()))


def start_parent_export(
    *,
    user: AbstractBaseUser,
    contacts: QuerySet[ExternalContact],
    description: str,
    reveal_phones: bool,
    sheet: ParentSheet = PARENT_LIST_SHEET,
) -> Export:
    """Record an export of the parents of `contacts` for `user`, and queue its writing; records it in the audit log.

    The parents are those `contacts` holds now, in its order. With the immediate task backend the file
    is written when this returns. Raises ExportNotStarted when the task cannot be queued.
    """
    contact_ids = list(contacts.values_list("pk", flat=True))
    export = Export.objects.create(
        user=user,
        username=user.get_username(),
        description=description,
        title=sheet_title(str(sheet.title)),
        columns=list(sheet.columns),
        reveal_phones=reveal_phones,
        language=get_language() or "",
        row_count=len(contact_ids),
        contact_ids=contact_ids,
        file_name=f"{uuid.uuid4().hex}.xlsx",
    )
    record_export(user=user, rows=len(contact_ids), description=description, reveal_phones=reveal_phones, export=export)
    try:
        transaction.on_commit(partial(_queue_writing, export_id=export.pk))
    except Exception as exc:
        logger.exception("queueing %s failed", export)
        _end_export(
            export_id=export.pk,
            status=ExportStatus.FAILED,
            error=f"无法加入任务队列（{type(exc).__name__}），请联系系统管理员检查 TASK_BACKEND。"
            " / The export could not be queued; check TASK_BACKEND.",
        )
        raise ExportNotStarted(str(export)) from exc
    export.refresh_from_db()
    return export


def write_export(*, export_id: int) -> Export | None:
    """Write a queued export's file under EXPORT_ROOT (the worker's task); once per try.

    Expired exports are deleted first, so files do not pile up where no nightly sync runs.
    """
    purge_expired_exports()
    claimed = Export.objects.filter(pk=export_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, heartbeat_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    export = Export.objects.get(pk=export_id)
    attempt = export.attempts
    # A file of its own for each try: a writer thought dead that wakes up never writes into another's.
    unfinished = _unfinished_file(export, attempt=attempt)
    sheet = ParentSheet(title=export.title, columns=tuple(export.columns))
    beat = partial(_renew_heartbeat, export_id=export_id, attempt=attempt)
    try:
        export.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with (
            Renewing(beat, what=f"export {export_id}"),
            translation.override(export.language or None),
            unfinished.open("wb") as stream,
        ):
            rows = _write_sheet(
                contact_ids=export.contact_ids, reveal_phones=export.reveal_phones, stream=stream, sheet=sheet
            )
        _finish_try(export=export, attempt=attempt, unfinished=unfinished, rows=rows)
    except Exception as exc:
        logger.exception("writing export %s failed", export_id)
        with suppress(OSError):
            unfinished.unlink(missing_ok=True)
        name = type(exc).__name__
        _end_export(
            export_id=export_id,
            status=ExportStatus.FAILED,
            error=f"生成失败（{name}），请重新导出；如仍失败，请联系系统管理员（详见服务器日志）。"
            f" / Writing the file failed ({name}); export again, and if it fails again, ask the administrator.",
            attempt=attempt,
        )
    return Export.objects.get(pk=export_id)


def _finish_try(*, export: Export, attempt: int, unfinished: Path, rows: int) -> None:
    """Put the written file in place and mark the export finished, if this try still holds it.

    A try that lost its hold (its heartbeat stopped too long and the export was given to another)
    leaves the file and the record to the other: its own file may be older, or empty.
    """
    with transaction.atomic():
        held = Export.objects.select_for_update().filter(pk=export.pk, status=ExportStatus.RUNNING, attempts=attempt)
        if held.first() is None:
            logger.warning(
                "export %s: try %d finished after the export was given to another; its file is dropped", export, attempt
            )
            unfinished.unlink(missing_ok=True)
            return
        # Whole or not at all: a download never finds half a file.
        unfinished.replace(export.path)
        _end_export(export_id=export.pk, status=ExportStatus.FINISHED, row_count=rows, attempt=attempt)


def watch_export(*, export_id: int, now: dt.datetime | None = None) -> Export | None:
    """Queue the writing of an export again when its writer stopped renewing the heartbeat (the watch's task).

    After MAX_EXPORT_ATTEMPTS tries the export fails instead, as does one that no worker began
    writing within QUEUE_PATIENCE of being queued. While the export is queued or being written, the
    watch queues itself again for a lease later.
    """
    export = Export.objects.filter(pk=export_id).first()
    if export is None or not export.is_active:
        return export
    now = now or timezone.now()
    # Queued: heartbeat_at is when it was queued again, if it was.
    since = export.heartbeat_at or export.created_at
    if export.status == ExportStatus.QUEUED and since < now - QUEUE_PATIENCE:
        logger.error("export %s: no worker began writing it within %s; it fails", export, QUEUE_PATIENCE)
        _end_export(export_id=export_id, status=ExportStatus.FAILED, error=NEVER_STARTED, only_from=ExportStatus.QUEUED)
        return Export.objects.get(pk=export_id)
    if export.status == ExportStatus.RUNNING and since < now - lease_duration():
        if export.attempts >= MAX_EXPORT_ATTEMPTS:
            logger.error("export %s: its writer stopped %d times; it fails", export, export.attempts)
            _end_export(
                export_id=export_id,
                status=ExportStatus.FAILED,
                error=INTERRUPTED.format(attempts=export.attempts),
                attempt=export.attempts,
            )
            return Export.objects.get(pk=export_id)
        requeued = Export.objects.filter(pk=export_id, status=ExportStatus.RUNNING, attempts=export.attempts).update(
            status=ExportStatus.QUEUED, heartbeat_at=now
        )
        if requeued:
            logger.warning("export %s: its writer stopped renewing its heartbeat; it is written again", export)
            with suppress(OSError):
                _unfinished_file(export, attempt=export.attempts).unlink(missing_ok=True)
            _queue_writing(export_id=export_id)
            return Export.objects.get(pk=export_id)
    _queue_watch(export_id=export_id)
    return Export.objects.get(pk=export_id)


def _unfinished_file(export: Export, *, attempt: int) -> Path:
    return export.path.with_name(f"{export.path.name}.{attempt}.part")


def _renew_heartbeat(*, export_id: int, attempt: int) -> None:
    Export.objects.filter(pk=export_id, status=ExportStatus.RUNNING, attempts=attempt).update(
        heartbeat_at=timezone.now()
    )


def _queue_writing(*, export_id: int) -> None:
    """Queue the writing of the file, and the watch that writes it again if its worker dies."""
    tasks.write_parent_export.enqueue(export_id)
    _queue_watch(export_id=export_id)


def _queue_watch(*, export_id: int) -> None:
    queue_watch(tasks.watch_parent_export, export_id, after=lease_duration())


def open_export_file(*, export: Export) -> ExportedSheet:
    """The finished file of an export, to download; raises ExportNotReady or ExportFileGone."""
    if export.status != ExportStatus.FINISHED:
        raise ExportNotReady(str(export))
    try:
        file = export.path.open("rb")
    except FileNotFoundError as exc:
        raise ExportFileGone(str(export)) from exc
    filename = download_name(title=export.title, at=export.created_at)
    return ExportedSheet(file=file, rows=export.row_count, filename=filename)


def download_name(*, title: str, at: dt.datetime) -> str:
    return f"{sheet_title(title)}-{timezone.localtime(at):%Y%m%d-%H%M}.xlsx"


def _end_export(
    *,
    export_id: int,
    status: ExportStatus,
    error: str = "",
    attempt: int | None = None,
    only_from: ExportStatus | None = None,
    **fields,
) -> bool:
    """End an active export (one `only_from` that status); with `attempt`, only while that try still holds it.

    True if it was ended.
    """
    active = Export.objects.filter(pk=export_id, status__in=[only_from] if only_from else EXPORT_ACTIVE_STATUSES)
    if attempt is not None:
        active = active.filter(status=ExportStatus.RUNNING, attempts=attempt)
    return bool(active.update(status=status, error=error, finished_at=timezone.now(), contact_ids=[], **fields))


def record_export(
    *, user: AbstractBaseUser, rows: int, description: str, reveal_phones: bool, export: Export | None = None
) -> None:
    result = export_result(
        rows=rows, reveal_phones=reveal_phones, filters=description, export=str(export) if export is not None else None
    )
    record_audit(user=user, action=AuditAction.EXPORT, result=result)
