"""Settings for the test suite: the real settings, with test-only credentials.

DATABASE_URL still comes from the environment, so the same suite runs on SQLite
and on PostgreSQL.
"""

import os
import tempfile
from pathlib import Path

# Set, not defaulted: the tests clear the cache and must never reach a real school's
# WeCom app or a shared Redis because the shell happened to export them.
os.environ.update(
    IGNORE_DOTENV="on",
    SECRET_KEY="test-only-key-" + "k" * 50,
    WECOM_CORP_ID="wwtestcorp",
    WECOM_SECRET="test-app-secret-do-not-leak",  # noqa: S106 - a test value, asserted never to leak
    WECOM_API_BASE="https://wecom.test/cgi-bin",
    WECOM_TIMEOUT="2",
    WECOM_BACKOFF_SECONDS="0",
    CACHE_URL="locmemcache://",
    WECOM_CALLBACK_TOKEN="test-callback-token",  # noqa: S106 - a test value, asserted never to leak
    WECOM_CALLBACK_AES_KEY="kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
    TASK_BACKEND="immediate",
    WECOM_AGENT_ID="1000002",
    WECOM_LOGIN_BASE="https://login.wecom.test",
    WECOM_OAUTH_BASE="https://open.wecom.test",
    WECOM_LOGIN_CREATE_USERS="on",
)

from schoolcontacts.settings import *  # noqa: F403
from schoolcontacts.settings import DATABASES

DEBUG = False
SECURE_SSL_REDIRECT = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not the shared in-memory database, so that tests with threads get
    # real SQLite locking instead of "table is locked" errors.
    # One file per test process, so that two test runs on one machine never share it.
    default_name = Path(tempfile.gettempdir()) / f"schoolcontacts-test-{os.getpid()}.sqlite3"
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("SQLITE_TEST_NAME", str(default_name))}

# Never the project's own var/exports: each test that writes files points EXPORT_ROOT at its own folder.
EXPORT_ROOT = Path(tempfile.gettempdir()) / f"schoolcontacts-test-exports-{os.getpid()}"
