"""The app's models, one module per concern; import them from here."""

from contacts.models.audit import AuditAction, AuditEntry
from contacts.models.callbacks import CallbackEvent, CallbackStatus
from contacts.models.jobs import JobItem, JobItemStatus, JobKind, JobStatus, PauseReason, SyncJob
from contacts.models.parents import (
    PHONE_INDEX_LENGTH,
    AttributeType,
    ConnectionState,
    ContactPhone,
    ContactSnapshot,
    ContactType,
    ExternalContact,
    ExternalProfileAttribute,
    FollowUser,
    FollowUserTag,
    Gender,
    RefreshTrigger,
    TagType,
)
from contacts.models.roster import Department, DepartmentType, Guardian, Guardianship, SchoolClass, Student
from contacts.models.staff import (
    TEACHING_TYPES,
    DepartmentAdmin,
    DepartmentAdminType,
    MemberStatus,
    StaffMember,
    WeComAccount,
    member_label,
)

__all__ = [
    "PHONE_INDEX_LENGTH",
    "TEACHING_TYPES",
    "AttributeType",
    "AuditAction",
    "AuditEntry",
    "CallbackEvent",
    "CallbackStatus",
    "ConnectionState",
    "ContactPhone",
    "ContactSnapshot",
    "ContactType",
    "Department",
    "DepartmentAdmin",
    "DepartmentAdminType",
    "DepartmentType",
    "ExternalContact",
    "ExternalProfileAttribute",
    "FollowUser",
    "FollowUserTag",
    "Gender",
    "Guardian",
    "Guardianship",
    "JobItem",
    "JobItemStatus",
    "JobKind",
    "JobStatus",
    "MemberStatus",
    "PauseReason",
    "RefreshTrigger",
    "SchoolClass",
    "StaffMember",
    "Student",
    "SyncJob",
    "TagType",
    "WeComAccount",
    "member_label",
]
