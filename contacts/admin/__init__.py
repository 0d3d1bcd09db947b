# Importing each module registers its admins.
from contacts.admin import (  # noqa: F401
    audit,
    callbacks,
    classes,
    exports,
    jobs,
    lockout,
    parents,
    snapshots,
    staff,
    tasks,
)
