"""The events WeCom sends that this app acts on (docs 92277, 92032), and their names for staff."""

from django.utils.translation import gettext_lazy as _

CHANGE_EXTERNAL_CONTACT = "change_external_contact"
CHANGE_SCHOOL_CONTACT = "change_school_contact"

# change_external_contact
ADD_EXTERNAL_CONTACT = "add_external_contact"
ADD_HALF_EXTERNAL_CONTACT = "add_half_external_contact"
EDIT_EXTERNAL_CONTACT = "edit_external_contact"
DEL_EXTERNAL_CONTACT = "del_external_contact"  # a teacher deleted the parent
DEL_FOLLOW_USER = "del_follow_user"  # the parent deleted the teacher
TRANSFER_FAIL = "transfer_fail"

EXTERNAL_CONTACT_CHANGES = (
    ADD_EXTERNAL_CONTACT,
    ADD_HALF_EXTERNAL_CONTACT,
    EDIT_EXTERNAL_CONTACT,
    DEL_EXTERNAL_CONTACT,
    DEL_FOLLOW_USER,
    TRANSFER_FAIL,
)
REFRESHING_CHANGES = (ADD_EXTERNAL_CONTACT, ADD_HALF_EXTERNAL_CONTACT, EDIT_EXTERNAL_CONTACT)
ENDING_CHANGES = (DEL_EXTERNAL_CONTACT, DEL_FOLLOW_USER)
# The events a parent's refresh history lists itself: the others show as the refresh they caused.
HISTORY_CHANGES = (*ENDING_CHANGES, TRANSFER_FAIL)

# change_school_contact (Id is the student's or parent's roster userid)
CREATE_STUDENT = "create_student"
UPDATE_STUDENT = "update_student"
DELETE_STUDENT = "delete_student"
CREATE_PARENT = "create_parent"
UPDATE_PARENT = "update_parent"
DELETE_PARENT = "delete_parent"
SUBSCRIBE = "subscribe"
UNSUBSCRIBE = "unsubscribe"

STUDENT_CHANGES = (CREATE_STUDENT, UPDATE_STUDENT, DELETE_STUDENT)
PARENT_CHANGES = (CREATE_PARENT, UPDATE_PARENT, DELETE_PARENT, SUBSCRIBE, UNSUBSCRIBE)
SCHOOL_CONTACT_CHANGES = (*STUDENT_CHANGES, *PARENT_CHANGES)

EVENT_LABELS = {
    CHANGE_EXTERNAL_CONTACT: _("家长（外部联系人）变更"),
    CHANGE_SCHOOL_CONTACT: _("家校通讯录变更"),
}

CHANGE_LABELS = {
    ADD_EXTERNAL_CONTACT: _("老师添加了家长"),
    ADD_HALF_EXTERNAL_CONTACT: _("家长免验证添加了老师"),
    EDIT_EXTERNAL_CONTACT: _("老师编辑了家长"),
    DEL_EXTERNAL_CONTACT: _("老师删除了家长"),
    DEL_FOLLOW_USER: _("家长删除了老师"),
    TRANSFER_FAIL: _("家长接替失败"),
    CREATE_STUDENT: _("新增学生"),
    UPDATE_STUDENT: _("编辑学生"),
    DELETE_STUDENT: _("删除学生"),
    CREATE_PARENT: _("新增家长"),
    UPDATE_PARENT: _("编辑家长"),
    DELETE_PARENT: _("删除家长"),
    SUBSCRIBE: _("家长关注学校通知"),
    UNSUBSCRIBE: _("家长取消关注学校通知"),
}

TRANSFER_FAIL_REASONS = {
    "customer_refused": _("家长拒绝了接替"),
    "customer_limit_exceed": _("接替老师的家长数已达上限"),
}


def change_label(change_type: str) -> str:
    label = CHANGE_LABELS.get(change_type)
    return str(label) if label is not None else change_type


def event_label(event: str) -> str:
    label = EVENT_LABELS.get(event)
    return str(label) if label is not None else event
