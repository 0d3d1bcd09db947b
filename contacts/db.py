"""Database utilities shared by the services."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections

_sqlite_writers = threading.RLock()


@contextmanager
def one_writer_at_a_time(*, using: str = "default") -> Iterator[None]:
    """On SQLite, let this process's threads write one after another.

    SQLite admits one writer; the others sleep and retry with naps that grow to 100 ms,
    so concurrent refreshes spend most of their time asleep. A lock in the process hands
    the turn over at once. Other databases lock rows, not the whole file: no-op there.
    """
    if connections[using].vendor != "sqlite":
        yield
        return
    with _sqlite_writers:
        yield
