"""Settings for the test suite: the real settings, with test-only credentials.

DATABASE_URL still comes from the environment, so the same suite runs on SQLite
and on PostgreSQL.
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-only-key-" + "k" * 50)
os.environ.setdefault("WECOM_CORP_ID", "wwtestcorp")
os.environ.setdefault("WECOM_SECRET", "test-app-secret-do-not-leak")
os.environ.setdefault("WECOM_API_BASE", "https://wecom.test/cgi-bin")
os.environ.setdefault("WECOM_TIMEOUT", "2")
os.environ.setdefault("WECOM_BACKOFF_SECONDS", "0")
os.environ.setdefault("CACHE_URL", "locmemcache://")

from schoolcontacts.settings import *  # noqa: F403
from schoolcontacts.settings import DATABASES

DEBUG = False
SECURE_SSL_REDIRECT = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not the shared in-memory database, so that tests with threads get
    # real SQLite locking instead of "table is locked" errors.
    default_name = Path(tempfile.gettempdir()) / "schoolcontacts-test.sqlite3"
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("SQLITE_TEST_NAME", str(default_name))}
