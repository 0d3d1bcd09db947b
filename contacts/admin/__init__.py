from contacts.admin import audit, callbacks, jobs, lockout, parents, snapshots, tasks  # noqa: F401 - registers the admins
