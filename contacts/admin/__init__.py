from contacts.admin import audit, callbacks, classes, jobs, lockout, parents, snapshots, staff, tasks  # noqa: F401 - registers the admins
