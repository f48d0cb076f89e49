"""Settings shared by every environment.

Everything configurable comes from the environment through this one module (django-environ).
`local`, `test` and `production` only change defaults; they never read the environment
themselves. A wrong value fails at start-up with a message naming the variable.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()


def env_bool(name: str, default: bool) -> bool:
    try:
        return env.bool(name, default=default)
    except ValueError as exc:  # pragma: no cover - exercised by configuration errors only
        raise ImproperlyConfigured(f"{name} must be a boolean (true/false/1/0)") from exc


def env_int(name: str, default: int) -> int:
    try:
        return env.int(name, default=default)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {env.str(name)!r}") from exc


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off. Generate one with: "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    # A fresh random key per process is fine for development: sessions just do not survive
    # a restart.
    SECRET_KEY = get_random_secret_key()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Public URL of the site, used in e-mails (opt-out links, report links) and Open311 discovery.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
SITE_NAME = env.str("SITE_NAME", default="Відкрите місто")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.humanize",
    "django.forms",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # The apps, lowest first: an app imports only from the ones above it in this list
    # (README "Architecture"; tests/test_architecture.py checks it).
    "layers",
    "basemap",
    "reports",
    "open311",
    "workspace",
    "dashboard",
    "tiles",
    "fixtures",
    # Migration history of the old `issues` app only (no code): an existing database
    # upgrades through it (geocity/legacy_issues/migrations/0007_moved_out.py).
    "geocity.legacy_issues",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Pages in Ukrainian unless the user switched (geocity.languages), minus /tiles/.
    "geocity.languages.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # X-Accel-Expires on anonymous public reads, for nginx (geocity.httpcache).
    "geocity.httpcache.PublicCacheMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "geocity.errors.JsonErrorMiddleware",
]

ROOT_URLCONF = "geocity.urls"
WSGI_APPLICATION = "geocity.wsgi.application"
ASGI_APPLICATION = "geocity.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "geocity" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "geocity.context_processors.site",
            ],
        },
    },
]

# Widgets render through TEMPLATES, so project templates (the offline map widget) are found.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

# --- Database --------------------------------------------------------------------------
# `make run` / `make test` export DATABASE_URL for the private cluster under var/ when the
# caller did not give one.
if not env.str("DATABASE_URL", default=""):
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. Use `make run` (it starts a private PostGIS under var/) "
        "or export DATABASE_URL=postgis://user:pass@host:5432/dbname"
    )
try:
    _db = env.db_url("DATABASE_URL")
except Exception as exc:  # django-environ raises a bare exception on unknown schemes
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
if _db["ENGINE"] not in (
    "django.contrib.gis.db.backends.postgis",
    "django.db.backends.postgresql",
):
    raise ImproperlyConfigured("DATABASE_URL must point to PostgreSQL with PostGIS (postgis://)")
_db["ENGINE"] = "django.contrib.gis.db.backends.postgis"
# The first spatial query on a new connection costs 15-20 ms: keep connections open.
_db["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 600)
_db["CONN_HEALTH_CHECKS"] = True
_db.setdefault("OPTIONS", {})
# Client-side binding, no auto-prepare: generic plans made bbox queries up to 1000x slower
# (see ../shared/reference/platform-notes.md).
_db["OPTIONS"]["server_side_binding"] = False
_db["OPTIONS"]["prepare_threshold"] = None
_db["OPTIONS"].setdefault("connect_timeout", 5)
DATABASES = {"default": _db}

# Read replicas (geocity/dbrouter.py): public reads that tolerate seconds of lag go to one
# whose replay lag is within DATABASE_REPLICA_MAX_LAG seconds; everything else, and every
# read of a client shortly after its own write, goes to the primary.
DATABASE_REPLICA_MAX_LAG = env_int("DATABASE_REPLICA_MAX_LAG", 5)
for _n, _url in enumerate(env.list("DATABASE_REPLICA_URLS", default=[]), start=1):
    try:
        _replica = environ.Env.db_url_config(_url)
    except Exception as exc:
        raise ImproperlyConfigured(
            f"DATABASE_REPLICA_URLS item {_n} is not a valid database URL: {exc}") from exc
    if _replica.get("ENGINE") not in ("django.contrib.gis.db.backends.postgis",
                                      "django.db.backends.postgresql"):
        raise ImproperlyConfigured(
            f"DATABASE_REPLICA_URLS item {_n} must point to PostgreSQL with PostGIS")
    _replica.update(ENGINE=_db["ENGINE"], CONN_MAX_AGE=_db["CONN_MAX_AGE"],
                    CONN_HEALTH_CHECKS=True, OPTIONS=dict(_db["OPTIONS"]),
                    TEST={"MIRROR": "default"})
    DATABASES[f"replica{_n}"] = _replica
if DATABASE_REPLICA_MAX_LAG < 0:
    raise ImproperlyConfigured("DATABASE_REPLICA_MAX_LAG must be 0 or more seconds")
DATABASE_ROUTERS = []
if len(DATABASES) > 1:
    DATABASE_ROUTERS = ["geocity.dbrouter.ReplicaRouter"]
    # Which database a request may read, from its URL and method.
    MIDDLEWARE.insert(1, "geocity.dbrouter.ReplicaMiddleware")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Named projections -----------------------------------------------------------------
# Storage is metric so that distances, buffers and areas need no casts and use the
# spatial index: UCS-2000 / Ukraine TM zone 12 (central meridian 36°E) fits Dnipro.
# Set it before the first migrate; changing it later needs a data migration.
STORAGE_SRID = env_int("STORAGE_SRID", 6386)
API_SRID = 4326  # GeoJSON (RFC 7946) and Open311 lat/long are WGS 84
TILE_SRID = 3857  # Web Mercator, what ST_AsMVT tiles and Leaflet expect

# --- Cache, Celery ---------------------------------------------------------------------
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://geocity")}
# A process-local cache counts entries, not bytes, and Django's default of 300 is a few map
# views of tiles: it would evict tiles as fast as they are rendered. 5,000 gzipped tiles
# are ~100 MB per worker process at a dense city's 20 KB average. A locmem CACHE_URL may
# set its own (`locmemcache://geocity?max_entries=20000`); Redis bounds memory itself.
LOCAL_CACHE_MAX_ENTRIES = 5000
if CACHES["default"]["BACKEND"].endswith(".LocMemCache"):
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", LOCAL_CACHE_MAX_ENTRIES)

# A Redis cache that is down makes reads miss and writes no-ops (geocity/cache.py), with
# short socket timeouts, instead of failing every request.
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "geocity.cache.ResilientRedisCache"
    CACHES["default"].setdefault("OPTIONS", {}).update(
        socket_connect_timeout=1, socket_timeout=2, retry_on_timeout=False)

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
# Without a broker, tasks run in-process (eagerly) so a single `make run` is a full service.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "Europe/Kyiv"
CELERY_TASK_ACKS_LATE = True
# A task whose worker dies mid-task goes back to the queue (with acks_late, its message is
# acknowledged only after it ran); Redis hands an unacknowledged message to another worker
# after the visibility timeout.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    # a broker that is down fails a send within ~1 s (geocity.hooks.enqueue then runs the
    # task in-process) instead of retrying for as long as a request may take
    "max_retries": 1, "interval_start": 0, "interval_step": 0.2,
    "socket_connect_timeout": 1, "socket_timeout": 2,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0,
                                    "interval_step": 0.2, "interval_max": 0.2}
CELERY_BEAT_SCHEDULE = {
    "escalate": {"task": "workspace.jobs.escalate_overdue_reports", "schedule": 3600.0},
    "auto-close": {"task": "reports.jobs.auto_close_resolved_reports", "schedule": 3600.0},
    "digest": {"task": "workspace.jobs.send_assignment_digests", "schedule": 3600.0},
    "dashboard-rollup": {"task": "dashboard.jobs.refresh_dashboard_rollup", "schedule": 300.0},
}

# --- Auth ------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# --- i18n ------------------------------------------------------------------------------
LANGUAGE_CODE = "uk"
LANGUAGES = [("uk", _("Ukrainian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "geocity" / "locale"]
# Pages ignore Accept-Language (geocity.languages): the language switch's choice is remembered
# in this cookie for a year.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Kyiv")
USE_I18N = True
USE_TZ = True

# --- Static and media ------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "var" / "static"))
# Browser libraries come from npm (package.json + lock) and are served from here, never a CDN:
# exactly these files or directories of node_modules, under /static/ (geocity.staticfinders).
NODE_MODULES = BASE_DIR / "node_modules"
NPM_ASSETS = {
    "vendor/leaflet": "leaflet/dist",
    "vendor/ol/dist/ol.js": "ol/dist/ol.js",
    "vendor/ol/dist/ol.js.map": "ol/dist/ol.js.map",
    "vendor/ol/ol.css": "ol/ol.css",
    # ES modules of the vector-tile decoder, resolved by the import map
    # (geocity/templates/includes/importmap.html); vector-tile imports point-geometry.
    "vendor/@mapbox/vector-tile/index.js": "@mapbox/vector-tile/index.js",
    "vendor/@mapbox/point-geometry/index.js": "@mapbox/point-geometry/index.js",
    "vendor/pbf/index.js": "pbf/index.js",
}
STATICFILES_DIRS = [BASE_DIR / "geocity" / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "geocity.staticfinders.NpmFinder",
]

MEDIA_URL = "/media/"
# Django serves MEDIA_URL itself only when this is on (development, tests); production puts
# a web server or S3 in front.
SERVE_MEDIA = env_bool("SERVE_MEDIA", DEBUG)
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
# Originals of photos keep their EXIF (GPS, device) and are for staff only: they live outside
# MEDIA_ROOT and are streamed through a permission-checked view.
PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT", default=str(BASE_DIR / "var" / "private"))

AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="") or None
    AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="") or None
    AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="")
    AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="")
    AWS_DEFAULT_ACL = None
    AWS_QUERYSTRING_AUTH = False
    _public_storage = {"BACKEND": "storages.backends.s3.S3Storage"}
    _private_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"location": "private", "querystring_auth": True, "default_acl": "private"},
    }
else:
    _public_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    _private_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_MEDIA_ROOT), "base_url": "/private-media/"},
    }
STORAGES = {
    "default": _public_storage,
    "private": _private_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Request body limits: photos are checked one by one (PHOTO_MAX_BYTES); the whole body may
# carry five of them plus the form.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # non-file part of a request body
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_BYTES", 55 * 1024 * 1024)

# --- E-mail ----------------------------------------------------------------------------
# smtp://user:pass@host:587/?tls=True, or consolemail:// (prints mail; the default).
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH", "")  # filemail:///path (tests of processes)
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Відкрите місто <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Open311 `jurisdiction_id` this server answers to (default: the host of SITE_URL).
OPEN311_JURISDICTION = env.str("OPEN311_JURISDICTION", default="") or (
    SITE_URL.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0]
)

# --- Map -------------------------------------------------------------------------------
# Empty: the map draws a fallback basemap from the city's own layers (isolated networks).
BASEMAP_URL = env.str("BASEMAP_URL", default="")
BASEMAP_ATTRIBUTION = env.str("BASEMAP_ATTRIBUTION", default="")
MAP_CENTER = (48.4647, 35.0462)  # lat, lon; the demo city (Dnipro)
MAP_ZOOM = 12

# --- Domain ----------------------------------------------------------------------------
# Pre-moderation of new reports, as e-DEM cities do: reports wait in `moderation` until a
# moderator approves them. Hazard reports never wait.
PREMODERATION = env_bool("PREMODERATION", False)
# Days after `resolved` the reporter may reopen; after them a periodic task closes it.
REOPEN_DAYS = env_int("REOPEN_DAYS", 14)
AUTO_CLOSE_DAYS = env_int("AUTO_CLOSE_DAYS", 14)
# «Про звернення громадян» art. 20: 15 days default, 45 days maximum with a logged reason.
SLA_DEFAULT_DAYS = 15
SLA_MAX_DAYS = 45
DUE_SOON_HOURS = env_int("DUE_SOON_HOURS", 48)
# A pin within this many metres of a matching responsibility area goes to it (rule 4).
ROUTING_BORDER_TOLERANCE_M = env_int("ROUTING_BORDER_TOLERANCE_M", 30)
HAZARD_BUFFER_M = 100  # ДСНС: move at least 100 m away
HAZARD_PUBLIC_CELL_M = env_int("HAZARD_PUBLIC_CELL_M", 500)
PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_PIXELS = 40_000_000
PHOTO_MAX_PER_REPORT = 5
PHOTO_DISPLAY_PX = 1600
PHOTO_THUMB_PX = 320

# Throttling of report creation, per client IP and per signed-in user.
REPORT_RATE_IP = env.list("REPORT_RATE_IP", default=["10/min", "100/day"])
REPORT_RATE_USER = env.list("REPORT_RATE_USER", default=["10/min", "100/day"])
# Sign-in attempts on api/v1/auth/token/, per client IP.
AUTH_TOKEN_RATE = env.list("AUTH_TOKEN_RATE", default=["10/min", "100/day"])
# Open311 POSTs (requests, servicerequestupdates), per API client.
OPEN311_RATE = env.list("OPEN311_RATE", default=["60/min", "5000/day"])

# Tile cache: how long a server-cached tile may live. Invalidation is by per-layer version
# counters bumped on commit, so this is only a memory bound, not the staleness bound.
TILE_CACHE_SECONDS = env_int("TILE_CACHE_SECONDS", 3600)
TILE_BROWSER_MAX_AGE = env_int("TILE_BROWSER_MAX_AGE", 60)
# How long the HTTP cache in front (nginx) may keep an anonymous public read (report lists,
# Open311 GET): its staleness bound (geocity/httpcache.py). 0: nothing is kept.
PUBLIC_CACHE_SECONDS = env_int("PUBLIC_CACHE_SECONDS", 5)
if PUBLIC_CACHE_SECONDS < 0:
    raise ImproperlyConfigured("PUBLIC_CACHE_SECONDS must be 0 or more seconds")

# --- Production stack (`make serve`: geocity/stack.py renders deploy/ from these) ---------
# nginx listens on SERVE_HOST:SERVE_PORT (HTTPS unless SERVE_TLS is off, e.g. behind a load
# balancer that ends TLS) and redirects SERVE_HTTP_PORT to it. Without TLS_CERT_FILE and
# TLS_KEY_FILE, `make serve` makes a self-signed certificate under var/tls/.
SERVE_HOST = env.str("SERVE_HOST", default="127.0.0.1")
SERVE_PORT = env_int("SERVE_PORT", 8443)
SERVE_HTTP_PORT = env_int("SERVE_HTTP_PORT", 8080)
SERVE_TLS = env_bool("SERVE_TLS", True)
TLS_CERT_FILE = env.str("TLS_CERT_FILE", default="")
TLS_KEY_FILE = env.str("TLS_KEY_FILE", default="")
if bool(TLS_CERT_FILE) != bool(TLS_KEY_FILE):
    raise ImproperlyConfigured("TLS_CERT_FILE and TLS_KEY_FILE go together: set both or neither")
# gunicorn worker processes; 0: 2 x cores + 1 (gunicorn's own advice for sync workers).
WEB_WORKERS = env_int("WEB_WORKERS", 0)
# nginx's cache of anonymous vector and heat tiles (it keeps them as long as their
# Cache-Control allows, revalidating with the ETag after).
TILE_PROXY_CACHE_MB = env_int("TILE_PROXY_CACHE_MB", 1024)
# Celery worker processes; unset: one per core (Celery's default).
CELERY_WORKER_CONCURRENCY = env_int("CELERY_WORKER_CONCURRENCY", 0) or None

# Demo accounts are created only in DEBUG; their password.
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="demo")

# --- DRF -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "geocity.parsers.SafeJSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "geocity.errors.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {},
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Open City API",
    "DESCRIPTION": "Civic issue reports, routing, layers and Open311 GeoReport v2.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge from validator.swagger.io: nothing may leave the origin.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

# Django 5.2 warns (gis.W001) that GDAL < 3.9 is deprecated. Debian 12 ships GDAL 3.6.2 and
# it is what this service targets, so the warning is silenced on purpose.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
