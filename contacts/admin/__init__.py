from contacts.admin import audit, callbacks, exports, jobs, lockout, parents, snapshots, staff, tasks  # noqa: F401 - registers the admins
