"""Settings, read from the environment (and from a `.env` file when there is one).

Every variable is documented in `.env.example`. With DEBUG off the app refuses to
start until the secrets it cannot run safely without are set.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# The test suite and the demo bring their own settings and must never pick up a
# real school's database, cache or credentials from .env.
if not env.bool("IGNORE_DOTENV", default=False):
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

WECOM_CORP_ID = env.str("WECOM_CORP_ID", default="")
WECOM_SECRET = env.str("WECOM_SECRET", default="")
WECOM_API_BASE = env.str("WECOM_API_BASE", default="https://qyapi.weixin.qq.com/cgi-bin").rstrip("/")
WECOM_TIMEOUT = env.float("WECOM_TIMEOUT", default=10.0)
WECOM_BACKOFF_SECONDS = env.float("WECOM_BACKOFF_SECONDS", default=1.0)
# Parents refreshed at once by one job or command, and the call budget all workers
# share (WeCom allows 10,000 calls a minute and 150,000 an hour per API; stay well below).
WECOM_CONCURRENCY = env.int("WECOM_CONCURRENCY", default=8)
WECOM_RATE_PER_MINUTE = env.int("WECOM_RATE_PER_MINUTE", default=3000)
WECOM_RATE_PER_HOUR = env.int("WECOM_RATE_PER_HOUR", default=100_000)
# When WeCom answers 45009 (over its limit) every caller pauses for the block's window
# (60 s for a per-minute limit). Limits in a row are waited out this long before a run
# gives up and leaves the rest for later: a command within 2 minutes, a job 10 minutes.
# A web request never waits them out. Not read from the environment: these are promises
# to staff and operators, not tuning; the tests shorten them.
WECOM_RATE_LIMIT_PAUSE = 60.0
WECOM_COMMAND_PATIENCE = 100.0
WECOM_JOB_PATIENCE = 600.0

# Staff sign-in with WeCom (docs 98151, 98152, 91023): the AgentID of the same self-built app
# (应用管理 → the app → AgentId). Unset: the login page offers the password form only.
WECOM_AGENT_ID = env.str("WECOM_AGENT_ID", default="").strip()
if WECOM_AGENT_ID and not (WECOM_AGENT_ID.isascii() and WECOM_AGENT_ID.isdigit()):
    raise ImproperlyConfigured(
        f"WECOM_AGENT_ID must be the app's AgentId, a number such as 1000002 (应用管理 → the app), "
        f"not {WECOM_AGENT_ID!r}."
    )
WECOM_LOGIN_BASE = env.str("WECOM_LOGIN_BASE", default="https://login.work.weixin.qq.com").rstrip("/")
WECOM_OAUTH_BASE = env.str("WECOM_OAUTH_BASE", default="https://open.weixin.qq.com").rstrip("/")
# On: a member signing in for the first time gets an account (role 教师). Off: the school creates
# accounts first and links them to members' userids.
WECOM_LOGIN_CREATE_USERS = env.bool("WECOM_LOGIN_CREATE_USERS", default=True)

# Days that refresh records, WeCom's events and finished jobs are kept (0: for ever); the
# nightly sync and `manage.py purge_history` delete what is older.
HISTORY_RETENTION_DAYS = env.int("HISTORY_RETENTION_DAYS", default=730)

# Parent lists exported to Excel. Up to EXPORT_INLINE_ROWS parents download at once; more are
# written by a background worker into EXPORT_ROOT, a folder no URL serves (only its owner downloads
# a file, through the admin), and deleted after EXPORT_RETENTION_DAYS.
EXPORT_ROOT = env.path("EXPORT_ROOT", default=BASE_DIR / "var" / "exports")
EXPORT_INLINE_ROWS = env.int("EXPORT_INLINE_ROWS", default=2000)
EXPORT_RETENTION_DAYS = env.int("EXPORT_RETENTION_DAYS", default=7)
if EXPORT_INLINE_ROWS < 0 or EXPORT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("EXPORT_INLINE_ROWS must be 0 or more, and EXPORT_RETENTION_DAYS at least 1.")

# WeCom callbacks (应用管理 → the app → 接收消息 → 设置API接收). Both unset: callbacks are off
# and /wecom/callback/ answers 404.
WECOM_CALLBACK_TOKEN = env.str("WECOM_CALLBACK_TOKEN", default="")
WECOM_CALLBACK_AES_KEY = env.str("WECOM_CALLBACK_AES_KEY", default="")
if bool(WECOM_CALLBACK_TOKEN) != bool(WECOM_CALLBACK_AES_KEY):
    raise ImproperlyConfigured(
        "Set both WECOM_CALLBACK_TOKEN and WECOM_CALLBACK_AES_KEY (the Token and EncodingAESKey of the app's "
        "API receiving settings), or neither to turn callbacks off."
    )
if WECOM_CALLBACK_AES_KEY and (
    len(WECOM_CALLBACK_AES_KEY) != 43
    or not WECOM_CALLBACK_AES_KEY.isascii()
    or not WECOM_CALLBACK_AES_KEY.replace("+", "").replace("/", "").isalnum()
):
    raise ImproperlyConfigured(
        f"WECOM_CALLBACK_AES_KEY must be the 43-character EncodingAESKey shown in WeCom "
        f"(letters and digits), not {len(WECOM_CALLBACK_AES_KEY)} characters."
    )

if not DEBUG:
    missing = [
        name
        for name, value in (
            ("SECRET_KEY", SECRET_KEY),
            ("WECOM_CORP_ID", WECOM_CORP_ID),
            ("WECOM_SECRET", WECOM_SECRET),
        )
        if not value
    ]
    if missing:
        raise ImproperlyConfigured(
            f"DEBUG is off and {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set. "
            "Set them in the environment or in .env (see .env.example)."
        )
elif not SECRET_KEY:
    # Only a DEBUG run gets a throwaway key; sessions do not survive a restart.
    SECRET_KEY = "debug-only-" + "x" * 50

INSTALLED_APPS = [
    "schoolcontacts.apps.SchoolAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "schoolcontacts.apps.BackgroundTasksConfig",
    "schoolcontacts.apps.LoginLockoutsConfig",
    "contacts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a refused sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# The lockout check runs before the password check, so a locked-out account is refused
# even with the right password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Password sign-in; WeCom sign-in logs members in with this backend too (contacts.signin).
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "schoolcontacts.urls"
WSGI_APPLICATION = "schoolcontacts.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions make concurrent writers queue instead of failing with
    # "database is locked" halfway through a refresh; WAL lets pages read while a job writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

# The access token must be shared by every process of the app, so the default is the
# database cache (created by `migrate`); production uses Redis.
CACHES = {"default": env.cache_url("CACHE_URL", default="dbcache://schoolcontacts_cache")}

# Background jobs: the database backend needs no broker (run `manage.py db_worker`);
# TASK_BACKEND=immediate runs every task inline, for tests and one-process setups.
# Two queues, each with workers of its own, so that a callback never waits behind a job:
# "default" for the jobs' chunks, "callbacks" for WeCom's events.
TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
TASK_BACKEND = env.str("TASK_BACKEND", default="database")
if TASK_BACKEND not in TASK_BACKENDS:
    raise ImproperlyConfigured(f"TASK_BACKEND must be one of {', '.join(TASK_BACKENDS)}, not {TASK_BACKEND!r}.")
TASKS = {"default": {"BACKEND": TASK_BACKENDS[TASK_BACKEND], "QUEUES": ["default", "callbacks"]}}
# A worker's claim on a job's parents lasts this long and is renewed while the worker lives;
# the parents of a worker that died are taken back by another within about 1.5 times this.
JOB_LEASE_SECONDS = env.int("JOB_LEASE_SECONDS", default=60)
if JOB_LEASE_SECONDS < 1:
    raise ImproperlyConfigured(f"JOB_LEASE_SECONDS must be 1 or more, not {JOB_LEASE_SECONDS}.")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
if Path(EXPORT_ROOT).resolve().is_relative_to(Path(STATIC_ROOT).resolve()):
    raise ImproperlyConfigured(
        f"EXPORT_ROOT ({EXPORT_ROOT}) must not be inside STATIC_ROOT ({STATIC_ROOT}): the web server serves "
        "that folder to anyone, and exports hold parents' personal data."
    )

# Production hardening; each can be relaxed from the environment, e.g. behind a
# TLS-terminating proxy that already redirects.
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers and monitors probe the health check over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Sign-in throttling (django-axes, docs/operations.md): after LOGIN_FAILURE_LIMIT wrong
# passwords in a row, that username is refused from that address for LOGIN_LOCKOUT_MINUTES.
# Username and address together: a school's staff often share one public address, and
# one person's mistakes must not lock out everyone behind it.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
if LOGIN_FAILURE_LIMIT < 1 or LOGIN_LOCKOUT_MINUTES < 1:
    raise ImproperlyConfigured("LOGIN_FAILURE_LIMIT and LOGIN_LOCKOUT_MINUTES must be at least 1.")
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Failures and lockouts are kept in the database, where superusers see them in the admin.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# Successful sign-ins are not recorded: nothing needs them, and they would be one more
# list of who was where.
AXES_DISABLE_ACCESS_LOG = True
AXES_LOCKOUT_CALLABLE = "contacts.admin.lockout.locked_out"
# Registered by contacts.admin.lockout instead, for superusers only: they hold addresses and usernames.
AXES_ENABLE_ADMIN = False
# Behind the proxy every request comes from the proxy; the client's address is in the
# X-Real-IP header the proxy sets (docs/deploy.md). Without a proxy that header could be
# forged, so only the connection's own address counts.
AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_REAL_IP", "REMOTE_ADDR") if BEHIND_TLS_PROXY else ("REMOTE_ADDR",)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_wecom_secrets": {"()": "contacts.wecom.redaction.RedactSecretsFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["redact_wecom_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # urllib3 logs every request URL, and WeCom puts the token in the query string.
        "urllib3": {"level": "WARNING"},
        # Failed sign-ins and lockouts are warnings; its banner and every good sign-in are not worth a line.
        "axes": {"level": "WARNING"},
    },
}
