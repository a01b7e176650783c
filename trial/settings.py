"""One settings module, configured by the environment (see README, "Configuration")."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF

from trial.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
# The fallback key is for a local demo only; `manage.py check --deploy` flags it (security.W009).
SECRET_KEY = env_str("SECRET_KEY") or "django-insecure-local-demo-key-never-use-in-production-0123456789"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",
    "django_htmx",
    "csp",
    "trial",
    "sites",
    "patients",
    "treatment",
    "transplant",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "trial.middleware.RefuseNulCharacters",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "trial.middleware.NoStore",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "trial.middleware.StudyLocaleMiddleware",  # Django's, with the API's own rule (Accept-Language, else English)
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "trial.middleware.StudyCSPMiddleware",  # django-csp on pages, a constant strict policy on JSON
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "trial.urls"
WSGI_APPLICATION = "trial.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "trial.context_processors.study",
            ],
        },
    },
]

# Database: SQLite file by default (embedded); DATABASE_URL selects PostgreSQL.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    (BASE_DIR / "var").mkdir(exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    # The test database is a file, not shared memory: the browser tests' live server answers each request in its
    # own thread, and an in-memory database would make those threads share one connection (and its transaction).
    # TEST_DATABASE_PATH gives one checkout two test databases, so two test runs can go side by side.
    DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_PATH") or str(BASE_DIR / "var" / "test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "patients:list"
LOGOUT_REDIRECT_URL = "login"

# Lockout after repeated failures, counted per user name (known or not: same answer for both).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_VERBOSE = False
# Counting by IP as well would lock a whole hospital (one NAT address) out after a few typos.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# Idle timeout: the session ends after 30 minutes without a request.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 30) * 60
# API tokens (django-rest-knox): only a hash is stored. A token lasts SESSION_IDLE_MINUTES after its last use, like
# a session, and never more than API_TOKEN_MAX_HOURS after it was issued; a user may revoke theirs.
REST_KNOX = {
    "TOKEN_TTL": timedelta(minutes=env_int("SESSION_IDLE_MINUTES", 30)),
    "AUTO_REFRESH": True,
    "AUTO_REFRESH_MAX_TTL": timedelta(hours=env_int("API_TOKEN_MAX_HOURS", 12)),
    "MIN_REFRESH_INTERVAL": 60,
    "TOKEN_LIMIT_PER_USER": 20,
    "AUTH_HEADER_PREFIX": "Token",
}
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Internationalisation: Spanish (Mexico) by default, English available. Stored in UTC.
LANGUAGE_CODE = "es-mx"
# Each language by its own name, never translated: a reader of the other language still finds theirs.
LANGUAGES = [("es-mx", "Español (México)"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "America/Mexico_City"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "var" / "staticfiles")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", True)

# Security headers (checked by `manage.py check --deploy` with the production environment).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container health check speaks plain HTTP inside the network
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "trial.access.StudyTokenAuthentication",
    ],
    # JSON only; the browsable HTML API only in development (DEBUG), never in production.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer",
                                 *(["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else [])],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated", "trial.access.IsStudyMember"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "trial.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Blinatumomab-HSCT pediatric ALL study — EDC API",
    "DESCRIPTION": "Case report forms, site-scoped. Writes need `version` (optimistic concurrency) "
    "and, once a form has left draft, a `reason` for change.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "trial.api_schema.document_error_responses"],
    # Code lists used by several forms get one name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "YesNoEnum": "patients.models.codes.YesNo",
        "RelapseSiteEnum": "patients.models.diagnosis.RelapseSite",
        "RelapseTimepointEnum": "patients.models.diagnosis.RelapseTimepoint",
        "BfmGroupEnum": "patients.models.diagnosis.BfmGroup",
        "ToxicityGradeEnum": "treatment.models.codes.Grade",
        "CtcaeGradeEnum": "treatment.models.adverse_events.CTCAE_GRADES",
        "CapdAnswerEnum": "treatment.models.toxicity.CapdChoice",
        "ResponseEnum": "treatment.models.response.Response",
        "SexEnum": "patients.models.registration.Sex",
        "MagicGradeEnum": "transplant.models.procedure.MagicGrade",
        "NihSeverityEnum": "transplant.models.procedure.ChronicSeverity",
        "NihOrganScoreEnum": "transplant.models.gvhd.OrganScore",
        "BloodGroupEnum": "transplant.models.donor.BloodGroup",
        "SerostatusEnum": "transplant.models.codes.Positive",
        "CrfStatusEnum": "trial.crf.CrfStatus",
        "QueryStatusEnum": "trial.quality.models.QueryStatus",
        "QualityRunStatusEnum": "trial.quality.models.RunStatus",
        "QuerySeverityEnum": "trial.quality.registry.Severity",
    },
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
}

# Jobs. With no broker, tasks run eagerly in-process (embedded default).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Longer than the longest job, so an unacknowledged job is not handed out twice while it runs.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 6 * 3600)}
# With the broker down a save must not wait: one quick retry, then the re-check waits in trial.PendingCheck.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "nightly-audit-trail-check": {
        "task": "trial.tasks.check_audit_trail",
        "schedule": crontab(hour=2, minute=0),
    },
    "nightly-data-quality-run": {
        "task": "trial.tasks.run_quality_checks",
        "schedule": crontab(hour=1, minute=0),
    },
    "pending-data-quality-rechecks": {
        "task": "trial.tasks.recheck_pending",
        "schedule": crontab(minute="*/10"),
    },
    "daily-notification-digests": {
        "task": "trial.tasks.send_notification_digests",
        "schedule": crontab(hour=12, minute=0),  # 06:00 in Mexico City
    },
}
# Each committed save queues a re-check of the patient's data (trial.quality.hooks).
QUALITY_CHECK_ON_SAVE = env_bool("QUALITY_CHECK_ON_SAVE", True)
# Patients checked per transaction by a data-quality run (a killed worker loses at most one chunk's work).
QUALITY_CHUNK_SIZE = env_int("QUALITY_CHUNK_SIZE", 500)

STUDY_NAME = env_str("STUDY_NAME", "BLINA-HSCT-MX")

# Notifications by email: printed to the console in the embedded default; SMTP when EMAIL_HOST is set.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_BACKEND = ("django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
                 else "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "edc@localhost")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}
