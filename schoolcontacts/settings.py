"""Settings, read from the environment (and from a `.env` file when there is one).

Every variable is documented in `.env.example`. With DEBUG off the app refuses to
start until the secrets it cannot run safely without are set.
"""

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
# share (WeCom allows 10,000 calls a minute per API; stay well below).
WECOM_CONCURRENCY = env.int("WECOM_CONCURRENCY", default=8)
WECOM_RATE_PER_MINUTE = env.int("WECOM_RATE_PER_MINUTE", default=3000)

# Days that refresh records, WeCom's events and finished jobs are kept (0: for ever); the
# nightly sync and `manage.py purge_history` delete what is older.
HISTORY_RETENTION_DAYS = env.int("HISTORY_RETENTION_DAYS", default=730)

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
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
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
TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
TASK_BACKEND = env.str("TASK_BACKEND", default="database")
if TASK_BACKEND not in TASK_BACKENDS:
    raise ImproperlyConfigured(f"TASK_BACKEND must be one of {', '.join(TASK_BACKENDS)}, not {TASK_BACKEND!r}.")
TASKS = {"default": {"BACKEND": TASK_BACKENDS[TASK_BACKEND], "QUEUES": ["default"]}}

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

# Production hardening; each can be relaxed from the environment, e.g. behind a
# TLS-terminating proxy that already redirects.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
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
    },
}
