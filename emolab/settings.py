"""emolab settings. Everything that differs between machines comes from the environment.

Defaults are chosen so that `make demo` runs on one machine with no extra server:
SQLite under var/ and kombu's filesystem transport under var/ as the Celery broker.
Production sets DATABASE_URL (postgres://...) and CELERY_BROKER_URL (redis://...).
"""

import os
import re
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime state (database, broker folders, uploads, feature caches) lives here, never in git.
VAR_DIR = Path(os.environ.get("EMOLAB_VAR_DIR", BASE_DIR / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# The site is served over HTTPS by a TLS-terminating reverse proxy (docs/deploy.md): turns on
# HSTS, the redirect to https, secure cookies and trusting the proxy's headers, each overridable.
HTTPS = env_bool("HTTPS", False)


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY", "").strip()
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (DEBUG is off, so no key is generated)."
        )
    # DEBUG only: generate once and keep it under var/ so the web server and the worker
    # share it and sessions survive a restart.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # The project's own migrations (the database cache's table).
    "emolab",
    "axes",
    "csp",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "annotation",
    "models_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # API bodies over their limit: a JSON 413 before anything reads them (pages keep HTML errors).
    "emolab.middleware.ApiRequestBodyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Inside the CSP middleware (its header reaches these pages too), after authentication (the nav).
    "emolab.middleware.HtmlErrorPagesMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "emolab.urls"

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
                "emolab.roles.role_context",
            ],
        },
    },
]

WSGI_APPLICATION = "emolab.wsgi.application"

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'emolab.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the Celery worker and the tests' worker share one file; wait for locks
    # instead of failing at once, and keep the test database on disk so a worker can see it.
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_emolab.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Serve static files from the app folders without a collectstatic step (demo, tests).
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media")).resolve()
MEDIA_URL = "media/"  # never served directly: audio goes through permission-checked views

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"

# --- HTTPS (docs/deploy.md) -------------------------------------------------------------------
# HTTPS=1 turns every one of these on; each can be set on its own. A year of HSTS with subdomains
# and preload is what `check --deploy` asks for; start a new domain lower (SECURE_HSTS_SECONDS=3600).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS") or (365 * 24 * 3600 if HTTPS else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# TLS ends at the reverse proxy, which tells Django the scheme in this header. Only safe when the
# proxy sets it on every request (nginx: proxy_set_header X-Forwarded-Proto $scheme), so that a
# client cannot send it; empty turns it off.
_PROXY_SSL_HEADER = os.environ.get("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto" if HTTPS else "").strip()
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https") if _PROXY_SSL_HEADER else None
)

# --- Content-Security-Policy (django-csp) -----------------------------------------------------
# Everything the pages load comes from the site itself: no inline script, no inline style (the
# templates use static files only, figures use SVG presentation attributes), no plug-ins, no
# framing. CSP_MODE: enforce (default, demo and tests included, so a violation shows at once),
# report-only (the browser only reports, e.g. while adding a page), or off. CSP_REPORT_URI: where
# browsers send violation reports.
CSP_MODE = os.environ.get("CSP_MODE", "enforce").strip().lower()
if CSP_MODE not in {"enforce", "report-only", "off"}:
    raise ImproperlyConfigured(f"CSP_MODE={CSP_MODE!r}: use enforce, report-only or off")
_CSP_DIRECTIVES = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    # data: for the images matplotlib embeds in its SVG (heat maps) and Swagger UI's icons.
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "media-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
if os.environ.get("CSP_REPORT_URI"):
    _CSP_DIRECTIVES["report-uri"] = [os.environ["CSP_REPORT_URI"]]
if CSP_MODE == "enforce":
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": _CSP_DIRECTIVES}
elif CSP_MODE == "report-only":
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": _CSP_DIRECTIVES}

# Uploads: larger files stream to disk instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Emotion timeline uploads (/timeline/, POST /api/predict/): largest file and longest recording
# (measured: an hour of 16 kHz audio takes 0.9 GB of memory beyond the process's own at its peak,
# and 4.5 s on one core).
EMOLAB_PREDICT_MAX_BYTES = int(os.environ.get("EMOLAB_PREDICT_MAX_BYTES") or 100_000_000)
EMOLAB_PREDICT_MAX_SECONDS = float(os.environ.get("EMOLAB_PREDICT_MAX_SECONDS") or 3600)
# Samples to decode (frames x channels), what decoding time grows with: an hour of 48 kHz stereo
# by default. A 3 MB FLAC of silence can announce an hour of 192 kHz stereo (1.3 billion samples).
EMOLAB_PREDICT_MAX_SAMPLES = int(os.environ.get("EMOLAB_PREDICT_MAX_SAMPLES") or 3600 * 48_000 * 2)
# Web processes only read the header; a Celery task decodes and runs the model. POST /api/predict/
# waits up to EMOLAB_PREDICT_WAIT_S for a short clip's task (then 200 with the result, else 202): a
# 10 s clip takes well under a second on a free worker. Each wait holds a web worker, so 0 turns
# it off on a site with few web workers.
EMOLAB_PREDICT_WAIT_S = float(os.environ.get("EMOLAB_PREDICT_WAIT_S") or 5)
# Requests waiting at once, site-wide (the others answer 202 at once): each holds a web worker, so
# keep it well under gunicorn's worker count (4 by default on 2 cores: one may wait).
EMOLAB_PREDICT_MAX_WAITING = int(os.environ.get("EMOLAB_PREDICT_MAX_WAITING") or 1)
# Predictions queued or running at once per user (429 beyond): a user cannot fill the queue alone.
EMOLAB_PREDICT_MAX_ACTIVE = int(os.environ.get("EMOLAB_PREDICT_MAX_ACTIVE") or 2)
# Uploads are removed as soon as their timeline is drawn; results are deleted after this.
EMOLAB_PREDICT_KEEP_HOURS = float(os.environ.get("EMOLAB_PREDICT_KEEP_HOURS") or 24)
# The task's soft time limit (the prediction is failed with the reason); the hard limit is a
# minute later. An hour of 48 kHz stereo (the sample limit) decodes and runs in about a minute
# on a quiet core: ten times that is a stuck task, not a slow one.
EMOLAB_PREDICT_TIME_LIMIT_S = int(os.environ.get("EMOLAB_PREDICT_TIME_LIMIT_S") or 600)
# torch's intra-op threads for one timeline: one leaves the other cores to the web workers on a
# machine that runs both (a 10-minute recording takes 0.65 s of network time on one thread).
EMOLAB_PREDICT_TORCH_THREADS = int(os.environ.get("EMOLAB_PREDICT_TORCH_THREADS") or 1)
# Corpus imports from the browser (docs/corpora.md). Server folders may be imported only from under
# these roots (os.pathsep-separated; none by default: uploads only). An uploaded archive may hold
# at most this many files and bytes once unpacked: IEMOCAP_full_release, the largest corpus we
# know, is about 12 GB in some 60,000 files; the defaults leave room above it and stop an
# archive bomb long before the disk fills.
EMOLAB_IMPORT_ROOTS = [
    Path(root).resolve() for root in (os.environ.get("EMOLAB_IMPORT_ROOTS") or "").split(os.pathsep) if root.strip()
]
EMOLAB_IMPORT_MAX_BYTES = int(os.environ.get("EMOLAB_IMPORT_MAX_BYTES") or 20_000_000_000)
EMOLAB_IMPORT_MAX_FILES = int(os.environ.get("EMOLAB_IMPORT_MAX_FILES") or 200_000)
# The upload itself (compressed); unpacked, the limits above apply.
EMOLAB_IMPORT_MAX_UPLOAD_BYTES = int(os.environ.get("EMOLAB_IMPORT_MAX_UPLOAD_BYTES") or 15_000_000_000)

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes DRF answer 401 (not 403) to anonymous calls.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "emolab.authentication.TokenAuthentication",  # DRF's, with repeated bad tokens throttled
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: the API is browsed in Swagger UI at /api/docs/. DRF's browsable HTML pages carry
    # inline styles, which the Content-Security-Policy refuses.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's parsers, with JSON nested too deeply for the decoder answered 400 instead of 500.
    "DEFAULT_PARSER_CLASSES": [
        "emolab.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Domain errors (unknown job, no model yet, bad recording, ...) answer with their own status.
    "EXCEPTION_HANDLER": "emolab.errors.api_exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "emolab API",
    "DESCRIPTION": "Speech emotion recognition: corpora, relabelling campaigns, training jobs, reports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two "status" choice sets (training jobs, timeline predictions): each its own enum name.
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "models_app.models.jobs.TrainingJob.Status",  # jobs and their units
        "PredictionStatusEnum": "models_app.models.predictions.Prediction.Status",
    },
}

# Celery. The filesystem transport needs no server: producers and the worker exchange
# messages through files under var/celery (one machine only).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://"


def filesystem_broker_options(folder: Path) -> dict:
    """kombu's filesystem transport: one folder that producers write and the worker reads."""
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "control_folder": str(folder / "control"),
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
    }


# Hard time limits (seconds) of a training job's tasks, per unit kind (models_app/tasks/jobs.py;
# the soft limit sits EMOLAB_SOFT_LIMIT_MARGIN_S below). They also bound how long the watchdog
# waits: a unit silent for longer than its limit has certainly lost its worker.
EMOLAB_JOB_TIME_LIMITS_S = {
    "prepare": int(os.environ.get("EMOLAB_PREPARE_TIME_LIMIT_S") or 2 * 3600 + 120),
    "fold": int(os.environ.get("EMOLAB_FOLD_TIME_LIMIT_S") or 3 * 3600 + 120),
    "finalize": int(os.environ.get("EMOLAB_FINALIZE_TIME_LIMIT_S") or 4 * 3600 + 120),
}
EMOLAB_SOFT_LIMIT_MARGIN_S = 120  # room to record the soft limit's failure before the hard kill
# How often Celery beat runs the jobs' watchdog (models_app.jobs.watchdog).
EMOLAB_WATCHDOG_INTERVAL_S = int(os.environ.get("EMOLAB_WATCHDOG_INTERVAL_S") or 60)
# The longest task of the project (the feature tasks' limits are minutes, below these).
LONGEST_TASK_S = max(EMOLAB_JOB_TIME_LIMITS_S.values())


def redis_transport_options() -> dict:
    return {
        # An unacknowledged message (its worker died) comes back after this long: just longer
        # than the longest task, so a slow task still running is not handed out twice, and a
        # dead worker's message not held for hours beyond (the watchdog re-sends it sooner).
        "visibility_timeout": LONGEST_TASK_S + 300,
        # An unreachable Redis fails a send in seconds, instead of hanging the web request.
        "socket_connect_timeout": 3,
    }


if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(VAR_DIR / "celery")
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = redis_transport_options()
# A send retries briefly (a broker restarting), then fails: the job is marked failed with the reason.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.3, "interval_max": 0.5}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# Celery beat's periodic tasks (`celery -A emolab beat`, or a worker started with -B).
CELERY_BEAT_SCHEDULE = {
    "jobs-watchdog": {
        "task": "models_app.jobs.watchdog",
        "schedule": EMOLAB_WATCHDOG_INTERVAL_S,
        # A run that waited longer than one interval (no worker free) is dropped: the next one comes.
        "options": {"expires": EMOLAB_WATCHDOG_INTERVAL_S},
    },
    # Timeline predictions older than EMOLAB_PREDICT_KEEP_HOURS are deleted with their files, and
    # ones whose worker vanished are failed (services/predictions.py: predictions_clean_up).
    "predictions-clean-up": {"task": "models_app.predictions.clean_up", "schedule": 15 * 60.0},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The Celery queue of the units that train networks on a GPU (a job whose device is not "cpu"):
# GPU workers consume it (celery -A emolab worker -Q gpu), CPU workers the default queue, so both
# share one deployment (docs/methods.md, "GPU"). Empty: every unit goes to the default queue.
EMOLAB_GPU_QUEUE = os.environ.get("EMOLAB_GPU_QUEUE", "")
# Results live in the database through services; Celery's own result backend is not used.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"no_traceback_for_403": {"()": "emolab.log_filters.NoTracebackForForbidden"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "console_requests": {"class": "logging.StreamHandler", "filters": ["no_traceback_for_403"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # django-axes says every sign-in it looks at at INFO; failures and lock-outs are warnings.
        "axes": {"level": "WARNING"},
        # A refused page is one line, not a traceback (5xx keep theirs).
        "django.request": {"handlers": ["console_requests"], "propagate": False},
    },
}


# --- Caches ---------------------------------------------------------------------------------
# The throttles' histories and the report figures live in Django's default cache. Production
# needs one cache that every gunicorn worker on every machine shares: Redis (CACHE_URL or
# REDIS_URL = redis://...), else the database's cache table (created by `migrate`). A per-process
# cache (locmem) would let each worker allow the full rate on its own: demo (DEBUG) and tests only.
CACHE_URL = (os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL") or "").strip()


def cache_settings(url: str, debug: bool) -> dict:
    # Django's Redis cache, reusing one client per pool (emolab/cache.py says why).
    redis = {"BACKEND": "emolab.cache.ReusedClientRedisCache", "LOCATION": url}
    database = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "emolab_cache"}
    local = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "emolab"}
    if url.startswith(("redis://", "rediss://", "unix://")):
        return {"default": redis}
    if url in ("db://", "locmem://"):
        return {"default": database if url == "db://" else local}
    if url:
        raise ImproperlyConfigured(f"CACHE_URL={url!r}: use redis://host:6379/1, db:// or locmem://")
    return {"default": local if debug else database}


CACHES = cache_settings(CACHE_URL, DEBUG)

# --- Throttling and login lock-out ----------------------------------------------------------
# DRF rate strings ("120/min"; periods s, min, hour, day), from the environment; "off" turns a
# scope off. The defaults leave a real assessor far below every limit: a fast one answers about
# every 2 s (30 answers and 30 next-item calls a minute) and the answer limit allows 4 times that.
EMOLAB_THROTTLE_DEFAULTS = {
    "anon": "60/min",  # unauthenticated calls per address (the schema, the docs page)
    "user": "600/min",  # every API call of one user: 10 a second sustained
    "answers": "120/min",  # POST .../answers/ per user: an answer every half second
    "predict": "120/hour",  # POST /api/predict/ per user (each decodes and scores a recording)
    "bad_token": "20/min",  # failed token authentications per address, then 429 until the minute is over
}
_THROTTLE_ENV = {
    "anon": "EMOLAB_THROTTLE_ANON",
    "user": "EMOLAB_THROTTLE_USER",
    "answers": "EMOLAB_THROTTLE_ANSWERS",
    "predict": "EMOLAB_THROTTLE_PREDICT",
    "bad_token": "EMOLAB_THROTTLE_BAD_TOKENS",
}
_RATE = re.compile(r"[0-9]+/(s|sec|second|m|min|minute|h|hour|d|day)")


def throttle_rate(name: str, default: str) -> str | None:
    value = os.environ.get(name, "").strip().replace(" ", "") or default
    if value.lower() in {"off", "none"}:
        return None
    if not _RATE.fullmatch(value):
        raise ImproperlyConfigured(f"{name}={value!r}: use a rate such as 120/min (periods s, min, hour, day) or off")
    return value


EMOLAB_THROTTLE_RATES = {
    scope: throttle_rate(_THROTTLE_ENV[scope], default) for scope, default in EMOLAB_THROTTLE_DEFAULTS.items()
}
# Reverse proxies in front of the site, each appending one X-Forwarded-For entry (emolab/client_ip.py):
# 1 behind one nginx (assumed with HTTPS=1), 0 when clients connect directly.
EMOLAB_PROXY_COUNT = int(os.environ.get("EMOLAB_PROXY_COUNT") or (1 if HTTPS else 0))
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["emolab.throttling.AnonThrottle", "emolab.throttling.UserThrottle"]
REST_FRAMEWORK["NUM_PROXIES"] = EMOLAB_PROXY_COUNT

# django-axes locks sign-in (the login page and the admin's) for one username from one address
# after EMOLAB_LOGIN_FAILURE_LIMIT failures in a row, for EMOLAB_LOGIN_COOLOFF_MINUTES after the
# last one. Username and address together: a classroom behind one address is not locked out by
# one student's typos, and nobody can lock another user out from elsewhere.
AUTHENTICATION_BACKENDS = [
    "emolab.lockout.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("EMOLAB_LOGIN_FAILURE_LIMIT") or 5)
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("EMOLAB_LOGIN_COOLOFF_MINUTES") or 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "emolab.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "emolab.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
# Tries during the lock-out do not extend it, so the time the page shows is the time to wait.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_VERBOSE = False
