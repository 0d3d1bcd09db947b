from contacts.admin import audit, callbacks, jobs, parents, snapshots, tasks  # noqa: F401 - registers the admins
